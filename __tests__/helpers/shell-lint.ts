import { spawnSync } from "child_process";

/**
 * What is wrong with a rendered POSIX sh script: `sh -n`'s syntax errors, then
 * shellcheck's findings (a test prerequisite: scripts/install-test-deps.sh);
 * "" when it is clean.
 */
export function shellProblems(script: string): string {
  const syntax = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
  if (syntax.status !== 0 || syntax.stderr) return `sh -n: ${syntax.stderr}`;
  const lint = spawnSync("shellcheck", ["-s", "sh", "-"], { input: script, encoding: "utf8" });
  if (lint.error) return `shellcheck could not run (${lint.error.message}): install it with scripts/install-test-deps.sh`;
  return lint.status === 0 ? "" : `shellcheck: ${lint.stdout}${lint.stderr}`;
}
