import { execFile, execFileSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";

/**
 * The README's "Use it in your project", followed as written, in an empty
 * directory, with the library `npm pack`ed from this checkout: the README's
 * commands (the package name `cdktf-ha-web` replaced by the tarball, `npm
 * install` told to prefer the npm cache), the files it lists with its contents,
 * then its `cdktf synth`. The steps are read from the README itself, never
 * copied here: a README that does not work fails this test.
 *
 * README markers: `<!-- project-commands -->` before a ```sh block (run in
 * order), `<!-- project-file: NAME -->` before a block (written to NAME), and
 * `<!-- project-commands: aws -->` for the optional AWS install, run here only
 * for the subpath type check.
 */
const repo = resolve(__dirname, "..", "..");
const README = readFileSync(join(repo, "README.md"), "utf8");
const PACKAGE = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { name: string; exports: Record<string, unknown> };

interface Step {
  kind: "commands" | "file";
  /** The file name, or the commands' variant ("" for the main path). */
  label: string;
  body: string;
}

/** The marked blocks of "## Use it in your project" (up to its first subsection), in order. */
function projectSteps(): Step[] {
  const start = README.indexOf("\n## Use it in your project\n");
  if (start < 0) throw new Error('README.md has no "## Use it in your project" section');
  const next = README.slice(start + 1).search(/\n#{2,3} /);
  const section = next < 0 ? README.slice(start) : README.slice(start, start + 1 + next);
  const marker = /<!-- project-(commands|file)(?::\s*([^>]*?))?\s*-->\n(?:<!-- usage-example:start -->\n)?```\w*\n([\s\S]*?)\n```/g;
  return [...section.matchAll(marker)].map((m) => ({ kind: m[1] as Step["kind"], label: (m[2] ?? "").trim(), body: m[3] }));
}

/** The README's usage example (the block other docs refer to). */
function usageExample(): string {
  const block = /<!-- usage-example:start -->\s*```ts\n([\s\S]*?)\n```\s*<!-- usage-example:end -->/.exec(README);
  if (!block) throw new Error("README.md has no usage-example block");
  return block[1];
}

/** The README's commands as this test runs them: the packed tarball for the package, the npm cache first. */
function offline(commands: string, tarball: string): { script: string; libraryInstalls: number } {
  let libraryInstalls = 0;
  const script = commands
    .split("\n")
    .map((line) => {
      if (!/^\s*npm (install|i)\b/.test(line)) return line;
      const withTarball = line.replace(new RegExp(`(^|\\s)${PACKAGE.name}(?=\\s|$)`, "g"), (_, before: string) => {
        libraryInstalls++;
        return `${before}'file:${tarball}'`;
      });
      return withTarball.replace(/\bnpm (install|i)\b/, "npm install --prefer-offline --no-audit --no-fund --loglevel=error");
    })
    .join("\n");
  return { script, libraryInstalls };
}

let work = "";
let project = "";
let tarball = "";
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * The commands' environment: not npm's own variables (npm_config_*, npm_package_*
 * when jest runs under `npm test`), so they see what a user's shell has; a TMPDIR
 * inside `work` for what the tools leave there (v8-compile-cache-0, say); and no
 * plugin cache directory in $HOME from the cdktf CLI.
 */
function env(): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== "INIT_CWD")),
    TMPDIR: join(work, "tmp"),
    CDKTF_DISABLE_PLUGIN_CACHE_ENV: "1",
  };
}

function run(file: string, args: string[], cwd: string, timeout = 240_000): string {
  try {
    return execFileSync(file, args, { cwd, env: env(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout, maxBuffer: 64 << 20 });
  } catch (error) {
    const e = error as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${[file, ...args].join(" ")} (in ${cwd}) failed: ${e.message}\n--- stdout\n${e.stdout ?? ""}\n--- stderr\n${e.stderr ?? ""}`);
  }
}

const sh = (script: string, cwd: string) => run("sh", ["-e", "-c", script], cwd);

/** Like run, without blocking: resolves with the error's message (stdout and stderr included), or undefined when it succeeded. */
function runAsync(file: string, args: string[], cwd: string, timeout: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: env(), encoding: "utf8", timeout, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve(error ? `${[file, ...args].join(" ")} (in ${cwd}) failed: ${error.message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}` : undefined),
    );
  });
}

test("the README's 'Use it in your project', run as written with the packed tarball, synthesizes the stack", () => {
  const steps = projectSteps();
  const files = steps.filter((s) => s.kind === "file");
  expect(files.map((f) => f.label)).toEqual(["cdktf.json", "tsconfig.json", "main.ts"]);
  expect(files.find((f) => f.label === "main.ts")!.body).toBe(usageExample());
  expect(steps.filter((s) => s.kind === "commands" && s.label === "").length).toBeGreaterThanOrEqual(2);

  work = mkdtempSync(join(tmpdir(), "pack-test-"));
  mkdirSync(join(work, "tmp"));
  // `npm test` has just built dist/: pack it as it is (prepack would build again).
  run("npm", ["pack", "--pack-destination", work, "--silent", ...(existsSync(join(repo, "dist", "lib", "index.js")) ? ["--ignore-scripts"] : [])], repo);
  const packed = readdirSync(work).find((f) => f.endsWith(".tgz"));
  expect(packed).toMatch(/^cdktf-ha-web-\d+\.\d+\.\d+\.tgz$/);
  tarball = join(work, packed!);

  project = join(work, "my-stack"); // the empty directory (a name `npm init -y` accepts)
  mkdirSync(project);
  let libraryInstalls = 0;
  for (const step of steps) {
    if (step.kind === "file") {
      writeFileSync(join(project, step.label), `${step.body}\n`);
    } else if (step.label === "") {
      const commands = offline(step.body, tarball);
      libraryInstalls += commands.libraryInstalls;
      sh(commands.script, project);
    }
  }
  expect(libraryInstalls).toBe(1);

  // The README's tsconfig.json is cdktf init's, byte for byte, and its cdktf.json runs the app the same way.
  const template = join(project, "node_modules", "cdktf-cli", "bundle", "templates", "typescript");
  expect(files.find((f) => f.label === "tsconfig.json")!.body).toBe(readFileSync(join(template, "tsconfig.json"), "utf8").trimEnd());
  const initApp = /"app":\s*("[^"]*")/.exec(readFileSync(join(template, "cdktf.json"), "utf8"))![1];
  expect(JSON.parse(files.find((f) => f.label === "cdktf.json")!.body).app).toBe(JSON.parse(initApp));

  const stackDir = join(project, "cdktf.out", "stacks", "local");
  const stack = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  const containers = stack.resource.docker_container as Record<string, { name: string; upload: { source?: string }[] }>;
  expect(
    Object.values(containers)
      .map((c) => c.name)
      .sort(),
  ).toEqual([
    "haweb-db-primary",
    "haweb-db-primary-exporter",
    "haweb-db-replica-1",
    "haweb-db-replica-1-exporter",
    // The backup source's backup metrics (backups are on by default).
    "haweb-db-replica-1-textfile-exporter",
    "haweb-lb-1",
    "haweb-lb-2",
    "haweb-monitoring",
    "haweb-monitoring-alertmanager",
    "haweb-web-1",
    "haweb-web-1-app",
    "haweb-web-1-nginx-exporter",
    "haweb-web-2",
    "haweb-web-2-app",
    "haweb-web-2-nginx-exporter",
  ]);
  expect(stack.output.url.value).toBe("https://10.213.0.10");
  expect(stack.output.prometheus.value).toBe("http://127.0.0.1:8084");
  // The built images (HAProxy plus keepalived, the monitoring programs) come from a context that travels inside the package.
  const builds = Object.values(stack.resource.docker_image as Record<string, { build?: { context: string } }>).filter((i) => i.build);
  // HAProxy + keepalived; Prometheus, Alertmanager, the two exporters and the backup metrics' node exporter (Debian + their package)
  expect(builds.length).toBe(6);
  for (const built of builds) expect(existsSync(join(stackDir, built.build!.context, "Dockerfile"))).toBe(true);
  // The demo app bundle travels inside the package and is copied next to the stack.
  const app = Object.values(containers).find((c) => c.name === "haweb-web-1-app")!;
  const source = app.upload.find((u) => u.source)!.source!;
  expect(existsSync(join(stackDir, source))).toBe(true);
}, 300_000);

/** A name each subpath must export: proof that its types, not an empty module, were found. */
const SUBPATH_EXPORTS: Record<string, string> = {
  ".": "DockerTarget",
  "./aws": "AwsTarget",
  "./policy": "HaWebPolicyChecks",
  "./templates": "renderHaproxyConfig",
};

/**
 * Every subpath in package.json's `exports` type-checks from the project above
 * with cdktf init's tsconfig.json (module CommonJS: classic `node` resolution,
 * which ignores `exports` and needs `typesVersions`), and with `node16` and
 * `bundler`, which read `exports`.
 *
 * The `/aws` types import `@cdktf/provider-aws` modules, so the project gets it
 * the README's way (its `aws` commands), not by a path or symlink to this
 * repo's copy: the check is then what a user gets. It is ~400 MB unpacked, but
 * the repo's own devDependency puts the same version in the npm cache, and
 * `--prefer-offline` unpacks it from there in about 5 s. The tsconfig keeps
 * cdktf init's `skipLibCheck`, under which an import a .d.ts cannot resolve
 * silently becomes `any`: the `@ts-expect-error` line fails when it does.
 */
test("every documented subpath type-checks under moduleResolution node, node16 and bundler", async () => {
  if (!project || !existsSync(join(project, "node_modules", PACKAGE.name))) throw new Error("the project of the previous test was not set up");
  const subpaths = Object.keys(PACKAGE.exports).filter((p) => !p.endsWith(".json"));
  expect(Object.keys(SUBPATH_EXPORTS).sort()).toEqual(subpaths.sort()); // a new subpath: add a name it exports above
  const specifiers = subpaths.map((p) => (p === "." ? PACKAGE.name : `${PACKAGE.name}/${p.slice(2)}`));
  for (const s of specifiers) expect(README).toContain(s);

  for (const step of projectSteps().filter((s) => s.kind === "commands" && s.label === "aws")) sh(offline(step.body, tarball).script, project);
  expect(existsSync(join(project, "node_modules", "@cdktf", "provider-aws", "package.json"))).toBe(true);

  writeFileSync(
    join(project, "subpaths.ts"),
    [
      ...specifiers.map((s, i) => `import * as m${i} from "${s}";`),
      `export const used = [${subpaths.map((p, i) => `m${i}.${SUBPATH_EXPORTS[p]}`).join(", ")}];`,
      "// @ts-expect-error AwsTarget.zone is @cdktf/provider-aws's Route53Zone, not the `any` of an unresolved import",
      `export const zone: m${subpaths.indexOf("./aws")}.AwsTarget["zone"] = 1;`,
      "",
    ].join("\n"),
  );
  const variants: Record<string, { module: string; moduleResolution: string } | undefined> = {
    "tsconfig.json": undefined, // cdktf init's, as the README writes it
    "tsconfig.node16.json": { module: "node16", moduleResolution: "node16" },
    "tsconfig.bundler.json": { module: "esnext", moduleResolution: "bundler" },
    "tsconfig.preserve.json": { module: "preserve", moduleResolution: "bundler" },
  };
  const tsc = join(project, "node_modules", "typescript", "bin", "tsc"); // the README's TypeScript
  for (const [file, options] of Object.entries(variants)) {
    if (options) writeFileSync(join(project, file), JSON.stringify({ extends: "./tsconfig.json", compilerOptions: options }, null, 2));
  }
  // Two type-checks at a time (each is one busy core for a few seconds): the four in about half the time on 2 cores.
  const queue = Object.entries(variants);
  const failures: string[] = [];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [file, options] = next;
      const failed = await runAsync(process.execPath, [tsc, "--noEmit", "-p", file], project, 120_000);
      if (failed) failures.push(`${file} ${JSON.stringify(options ?? "cdktf init")}: ${failed}`);
    }
  };
  await Promise.all([worker(), worker()]);
  expect(failures.sort()).toEqual([]);
}, 180_000);
