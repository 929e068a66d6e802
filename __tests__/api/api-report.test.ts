/**
 * The public API is checked in as a report (etc/api/*.api.md, by API Extractor):
 * a change of any exported name or signature fails here until the report is
 * updated on purpose (`npm run api:report`), so the API never changes by accident.
 */
import { spawnSync } from "child_process";
import { existsSync } from "fs";
import { join } from "path";

const repo = join(__dirname, "..", "..");

test("the public API matches the checked-in report (etc/api)", () => {
  if (!existsSync(join(repo, "dist", "lib", "index.d.ts"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  const run = spawnSync(process.execPath, [join(repo, "scripts", "api-report.mjs")], { cwd: repo, encoding: "utf8", timeout: 120_000 });
  const output = `${run.stdout}${run.stderr}`;
  expect({ status: run.status, changed: output.split("\n").filter((l) => l.endsWith(": CHANGED")) }).toEqual({ status: 0, changed: [] });
}, 150_000);
