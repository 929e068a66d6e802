import { SpawnSyncOptionsWithStringEncoding, SpawnSyncReturns, spawnSync } from "child_process";

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

/**
 * spawnSync for a validator that must not reach the network (`haproxy -c`, `nginx -t`): as root it runs in
 * a network namespace of its own (`unshare --net`: only a loopback that is down), so a name it looks up
 * fails at once. On this machine's network `haproxy -c` sent DNS queries for the configs' server names
 * (web-1, web-2) off the machine and sometimes waited 5 s for an answer: 10 s of haproxy.test.ts.
 * Not root, or no namespace allowed: the command as it is.
 */
export function spawnOffline(command: string, args: string[], options: SpawnSyncOptionsWithStringEncoding): SpawnSyncReturns<string> {
  return canUnshareNet() ? spawnSync("unshare", ["--net", "--", command, ...args], options) : spawnSync(command, args, options);
}

let unshareNet: boolean | undefined;
/** Root that may create a network namespace (not so in an unprivileged container): probed once per test file. */
function canUnshareNet(): boolean {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  unshareNet ??= root && spawnSync("unshare", ["--net", "--", "true"], { stdio: "ignore" }).status === 0;
  return unshareNet;
}
