import { execFileSync } from "child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";

const repo = resolve(__dirname, "..", "..");

/** The README's usage example, exactly as a new user would copy it. */
function readmeUsageExample(): string {
  const readme = readFileSync(join(repo, "README.md"), "utf8");
  const block = /<!-- usage-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- usage-example:end -->/.exec(readme);
  if (!block) throw new Error("README.md has no usage-example block");
  return block[1];
}

/**
 * `npm pack`s the library, installs the tarball into a throwaway cdktf project
 * (peer dependencies at the versions we support), type-checks the README's usage
 * example against the packed .d.ts files and synthesizes it.
 */
let work = "";
afterAll(() => work && rmSync(work, { recursive: true, force: true }));

test("the packed tarball works in a separate cdktf project", () => {
  work = mkdtempSync(join(tmpdir(), "pack-test-"));
  const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 240000 });

  // npm test has just built dist/: pack it as it is (prepack would build again).
  run("npm", ["pack", "--pack-destination", work, "--silent", ...(existsSync(join(repo, "dist", "lib", "index.js")) ? ["--ignore-scripts"] : [])], repo);
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
  expect(tarball).toMatch(/^cdktf-ha-web-\d+\.\d+\.\d+\.tgz$/);

  const project = join(work, "project");
  const devVersions = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).devDependencies as Record<string, string>;
  const peers = ["cdktf", "constructs", "@cdktf/provider-docker", "@cdktf/provider-random"];
  execFileSync("mkdir", ["-p", project]);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, dependencies: { "cdktf-ha-web": `file:../${tarball}`, ...Object.fromEntries(peers.map((p) => [p, devVersions[p]])) } }, null, 2),
  );
  writeFileSync(join(project, "cdktf.json"), JSON.stringify({ language: "typescript", app: "node main.js" }));
  writeFileSync(join(project, "main.ts"), readmeUsageExample());
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], project);

  // The published types must be enough to compile the example (strict).
  run(process.execPath, [join(repo, "node_modules", "typescript", "bin", "tsc"), "main.ts", "--strict", "--module", "commonjs", "--target", "es2022", "--skipLibCheck"], project);
  run(process.execPath, ["main.js"], project);

  const stackDir = join(project, "cdktf.out", "stacks", "local");
  const stack = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  const names = Object.values(stack.resource.docker_container as Record<string, { name: string }>).map((c) => c.name).sort();
  expect(names).toEqual(["haweb-db-primary", "haweb-db-replica-1", "haweb-lb-1", "haweb-web-1", "haweb-web-1-app", "haweb-web-2", "haweb-web-2-app"]);
  expect(stack.output.url.value).toBe("http://127.0.0.1:8080");
  // The demo app bundle travels inside the package and is copied next to the stack.
  const app = Object.values(stack.resource.docker_container as Record<string, { name: string; upload: { source?: string }[] }>).find((c) => c.name === "haweb-web-1-app")!;
  const source = app.upload.find((u) => u.source)!.source!;
  expect(existsSync(join(stackDir, source))).toBe(true);
}, 300000);
