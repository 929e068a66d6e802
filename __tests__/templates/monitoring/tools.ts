import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

/** A temp directory for one test file, removed when it is done (the run must leave nothing behind). */
export function tempDirPerFile(prefix: string): () => string {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    dir ??= mkdtempSync(join(tmpdir(), prefix));
    return dir;
  };
}

/** Writes `files` (name → text) into a fresh directory under `parent` and runs `command` there. */
export function runIn(parent: string, files: Record<string, string>, command: string, args: string[]) {
  const dir = mkdtempSync(join(parent, "run-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const result = spawnSync(command, args, { cwd: dir, encoding: "utf8" });
  rmSync(dir, { recursive: true, force: true });
  return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? String(result.error) : ""}` };
}
