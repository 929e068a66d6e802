import { spawnOffline } from "./binaries";

/**
 * `haproxy -c -f file`, offline (spawnOffline: no DNS query leaves the machine), with its warnings
 * other than those of checking a config away from its stack: web nodes that do not resolve here, and,
 * in the offline namespace, the `resolvers system` section's nameserver out of reach.
 */
export function haproxyConfigCheck(file: string): { status: number | null; stderr: string; warnings: string[] } {
  const result = spawnOffline("haproxy", ["-c", "-f", file], { encoding: "utf8" });
  const stderr = result.stderr ?? String(result.error);
  const offline = ["could not resolve address", "can't connect socket for nameserver"];
  const warnings = stderr.split("\n").filter((l) => l.includes("[WARNING]") && !offline.some((o) => l.includes(o)));
  return { status: result.status, stderr, warnings };
}
