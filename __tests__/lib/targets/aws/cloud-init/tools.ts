import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { hasBinary } from "../../../../helpers/binaries";

/** Parses YAML documents with PyYAML (cloud-init's own parser), in one process, returning plain JSON values. */
export function parseYamlAll(texts: readonly string[]): unknown[] {
  const program = "import json, sys, yaml; print(json.dumps([yaml.safe_load(t) for t in json.load(sys.stdin)]))";
  const result = spawnSync("python3", ["-c", program], { input: JSON.stringify(texts), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`YAML does not parse: ${result.stderr}`);
  return JSON.parse(result.stdout) as unknown[];
}

export function parseYaml(text: string): unknown {
  return parseYamlAll([text])[0];
}

/** `cloud-init schema --config-file` on `userData`: status and output. */
export function cloudInitSchema(userData: string, name = "user-data"): { status: number | null; output: string } {
  return inTempDir("cloud-init-", (dir) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, userData);
    const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
  });
}

/** Messages of `systemd-analyze verify` on unit files (empty when they are clean). */
export function systemdVerify(units: Record<string, string>): { status: number | null; output: string } {
  return inTempDir("units-", (dir) => {
    const files = Object.entries(units).map(([name, content]) => {
      writeFileSync(join(dir, name), content);
      return join(dir, name);
    });
    const result = spawnSync("systemd-analyze", ["verify", "--man=no", ...files], { encoding: "utf8", env: { ...process.env, SYSTEMD_LOG_LEVEL: "notice" } });
    return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
  });
}

/** Runs `use` with a fresh temp dir, removed afterwards whatever happens. */
function inTempDir<T>(prefix: string, use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `sh -n` (or bash -n) on a script: syntax errors, or "". */
export function shellSyntax(script: string): string {
  const shell = script.startsWith("#!/bin/bash") ? "bash" : "sh";
  return spawnSync(shell, ["-n"], { input: script, encoding: "utf8" }).stderr;
}

export interface WriteFile {
  path: string;
  content: string;
  permissions?: string;
  owner?: string;
}

export interface CloudConfigDoc {
  hostname?: string;
  fqdn?: string;
  bootcmd?: string[][];
  packages: string[];
  package_update: boolean;
  users?: (string | { name: string; system?: boolean })[];
  write_files: WriteFile[];
  runcmd: string[][];
}

export const hasCloudInit = () => hasBinary("cloud-init");
export const hasSystemdAnalyze = () => hasBinary("systemd-analyze");
