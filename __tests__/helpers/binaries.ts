import { spawnSync } from "child_process";

/**
 * True when `binary` is on PATH. In CI (CI=true) a missing binary is an error,
 * never a silent skip: .ci/run installs every validator the tests use.
 */
export function hasBinary(binary: string): boolean {
  const found = spawnSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).status === 0;
  if (!found && process.env.CI) {
    throw new Error(`${binary} is not installed, and CI must run the real validators: add its package to .ci/run`);
  }
  if (!found) console.warn(`${binary} is not installed: skipping the real validator (run .ci/run's apt-get line to enable it)`);
  return found;
}

/** True when running as root (namespaces, nginx -t's state dirs). Under CI not being root is an error. */
export function isRoot(): boolean {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root && process.env.CI) throw new Error("CI runs the real validators and servers, which need root: run .ci/run as root");
  if (!root) console.warn("not root: skipping the tests that need network namespaces or nginx's state directories");
  return root;
}
