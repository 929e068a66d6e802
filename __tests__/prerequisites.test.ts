/**
 * What the suite needs from the machine, checked up front: every program the
 * tests, the lab and its benchmark run (`helpers/prerequisites.ts`) must be on
 * PATH. A missing one FAILS here, always, naming its Debian package, even where
 * the tests that use it would skip (hasBinary outside CI). And the installer
 * and the README's quick start stay what that list says.
 */
import { spawnSync } from "child_process";
import { readFileSync } from "fs";
import { join, resolve } from "path";
import { BASE_BINARIES, BENCH_BINARIES, IMAGE_BINARIES } from "../lab/prereqs";
import { missingPrerequisite, packagesToInstall, PREREQUISITES } from "./helpers/prerequisites";

const repo = resolve(__dirname, "..");
const read = (file: string) => readFileSync(join(repo, file), "utf8");

describe("every program the tests and the lab run is installed", () => {
  test.each(PREREQUISITES.map((p) => [[p.binary, ...(p.check ?? [])].join(" "), p] as const))("%s", (_, prerequisite) => {
    const problem = missingPrerequisite(prerequisite);
    if (problem) throw new Error(problem);
  });

  test("Node.js 20 or newer, with npm", () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(20);
    const npm = spawnSync("npm", ["--version"], { encoding: "utf8" });
    if (npm.status !== 0) throw new Error(`npm is not on PATH (the pack test runs it): install Node.js 20 with its npm (${npm.error ?? npm.stderr})`);
  });
});

describe("scripts/install-test-deps.sh", () => {
  const script = read("scripts/install-test-deps.sh");

  test("installs exactly the packages of helpers/prerequisites.ts that Debian does not always have", () => {
    const list = /^pkgs="([^"$]*)"$/m.exec(script);
    if (!list) throw new Error('scripts/install-test-deps.sh has no pkgs="..." line');
    const conditional = [...script.matchAll(/\|\| pkgs="\$pkgs ([^"]*)"/g)].flatMap((m) => m[1].split(/\s+/));
    const installed = [...list[1].split(/\s+/), ...conditional].filter(Boolean).sort();
    expect(installed).toEqual(packagesToInstall());
  });

  test("keeps services from starting and apt's recommends out", () => {
    expect(script).toContain("--no-install-recommends");
    expect(script).toMatch(/policy-rc\.d/);
    expect(script).not.toMatch(/\bsudo \$0\b/);
  });

  test("is valid sh", () => {
    expect(spawnSync("sh", ["-n", join(repo, "scripts", "install-test-deps.sh")], { encoding: "utf8" }).stderr).toBe("");
  });
});

test("the lab's own prerequisite check asks for nothing the list lacks", () => {
  const lab: [string, string[]][] = [
    ...Object.entries({ ...BASE_BINARIES, ...BENCH_BINARIES }).map(([binary, pkg]) => [binary, pkg.split(" ")] as [string, string[]]),
    ...IMAGE_BINARIES.flatMap((image) => image.binaries.map((binary) => [binary, image.packages] as [string, string[]])),
  ];
  const unlisted = lab.filter(([binary, packages]) => !PREREQUISITES.some((p) => p.binary === binary && !p.check && packages.includes(p.package)));
  expect(unlisted).toEqual([]);
});

describe("the README's quick start", () => {
  const readme = read("README.md");
  const section = /\n## Quick start\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  const commands = (blocks[0] ?? "")
    .split("\n")
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);

  test("is one sh block of two commands a root user runs as written (no sudo)", () => {
    expect(blocks).toHaveLength(1);
    expect(commands).toHaveLength(2);
    for (const command of commands) expect(command).not.toMatch(/\bsudo\b/);
    expect(commands[1]).toContain("scripts/install-test-deps.sh");
    expect(commands[1]).toMatch(/\bnpm test$/);
  });

  test(".ci/run runs those two commands as written", () => {
    const ci = read(".ci/run")
      .split("\n")
      .map((line) => line.trim());
    for (const command of commands) expect(ci).toContain(command);
  });
});
