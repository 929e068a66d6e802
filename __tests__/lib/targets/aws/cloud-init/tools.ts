import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
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
  return cloudInitSchemaEach({ [name]: userData })[name];
}

/**
 * What `cloud-init schema --config-file` says of each user data (name -> text), from one Python
 * process instead of one cloud-init start (1-2 s on a loaded machine) per file: cloud-init's own
 * code path for that command (handle_schema_args: get_schema once, validate_cloudconfig_file per
 * file), run by the interpreter the cloud-init command uses, with the command's exit status (1 on
 * a schema error) and output (what validation prints, then "Valid cloud-config: <file>" or
 * "Error:" and the errors).
 */
export function cloudInitSchemaEach(userData: Record<string, string>): Record<string, { status: number | null; output: string }> {
  return inTempDir("cloud-init-", (dir) => {
    const files = Object.fromEntries(
      Object.entries(userData).map(([name, text], i) => {
        const file = join(dir, `${i}-${name}.yaml`);
        writeFileSync(file, text);
        return [name, file];
      }),
    );
    const program = [
      "import contextlib, io, json, sys",
      "from cloudinit.config.schema import SchemaValidationError, get_schema, validate_cloudconfig_file",
      "schema = get_schema()",
      "results = {}",
      "for name, path in json.load(sys.stdin).items():",
      "    out = io.StringIO()",
      "    try:",
      "        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):",
      "            validate_cloudconfig_file(path, schema, False)",
      "    except (SchemaValidationError, RuntimeError) as e:",
      "        results[name] = {'status': 1, 'output': out.getvalue() + 'Error:\\n' + str(e)}",
      "    else:",
      "        results[name] = {'status': 0, 'output': out.getvalue() + 'Valid cloud-config: ' + path}",
      "with open(sys.argv[1], 'w') as f:",
      "    json.dump(results, f)",
    ].join("\n");
    const resultFile = join(dir, "results.json");
    const result = spawnSync(cloudInitPython(), ["-c", program, resultFile], { input: JSON.stringify(files), encoding: "utf8" });
    if (result.status !== 0) throw new Error(`cloud-init's schema validation did not run: ${result.stderr}${result.error ?? ""}`);
    const results = JSON.parse(readFileSync(resultFile, "utf8")) as Record<string, { status: number; output: string }>;
    return Object.fromEntries(Object.entries(results).map(([name, r]) => [name, { status: r.status, output: r.output.trim() }]));
  });
}

/** The interpreter of the `cloud-init` command (its #! line): the one that has the cloudinit package. */
function cloudInitPython(): string {
  const command = spawnSync("sh", ["-c", "command -v cloud-init"], { encoding: "utf8" }).stdout.trim();
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(command, "utf8").split("\n")[0]);
  if (!shebang) throw new Error(`${command} has no #! line naming its interpreter`);
  return shebang[1];
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
