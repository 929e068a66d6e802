import { spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
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

/**
 * `promtool test rules` over many test suites in one process (one promtool start, not one per case).
 * Each suite (name → its files, among them `test.yml`) gets a directory of its own, so its
 * rule_files resolve to its own rules. Returns the exit status and each suite's part of the output:
 * promtool prints `Unit Testing:  <file>` before each file, then `SUCCESS` or `FAILED:` and why
 * (the why on stderr, here merged into stdout in the order written).
 */
export function promtoolTestRules(parent: string, suites: Record<string, Record<string, string>>) {
  const dir = mkdtempSync(join(parent, "batch-"));
  try {
    const names = Object.keys(suites);
    for (const name of names) {
      mkdirSync(join(dir, name));
      for (const [file, text] of Object.entries(suites[name])) writeFileSync(join(dir, name, file), text);
    }
    const args = names.map((name) => `${name}/test.yml`);
    const result = spawnSync("sh", ["-c", 'exec promtool test rules "$@" 2>&1', "sh", ...args], { cwd: dir, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    const output = `${result.stdout ?? ""}${result.error ? String(result.error) : ""}`;
    const sections: Record<string, string> = {};
    const heads = [...output.matchAll(/^Unit Testing: +(\S+)\/test\.yml$/gm)];
    heads.forEach((head, i) => {
      sections[head[1]] = output.slice((head.index ?? 0) + head[0].length, heads[i + 1]?.index ?? output.length).trim();
    });
    return { status: result.status, output, sections };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
