import { ChildProcess } from "child_process";
import { readFileSync } from "fs";
import { NamespaceSandbox, outputOf, waitFor } from "../helpers/namespace-sandbox";

/**
 * A start script run the way a container runs its entrypoint: as PID 1 of its
 * own PID namespace (`unshare --pid --fork`), inside a NamespaceSandbox. That
 * matters for stopping: the kernel drops a signal sent to a namespace's PID 1
 * from outside unless PID 1 handles it, so an untrapped SIGTERM is ignored, as
 * under `docker stop`. `--kill-child`: SIGKILL to the unshare parent kills PID 1,
 * and with it every process of the namespace (what Docker does after the stop
 * timeout).
 */
export interface Pid1Node {
  readonly child: ChildProcess;
  /** Host PID of the namespace's PID 1 (the start script, then the server it execs). */
  pid1(): Promise<number>;
  /** `docker stop`: `signal` to PID 1, then SIGKILL after `timeoutMs`. */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<StopResult>;
  /** SIGKILL, like Docker after the stop timeout, or a crash. */
  kill(): Promise<void>;
  output(): string;
  running(): boolean;
}

export interface StopResult {
  /** True when PID 1 ended by itself, before the SIGKILL. */
  readonly exitedInTime: boolean;
  readonly code: number | null;
  readonly elapsedMs: number;
}

export function startAsPid1(
  sandbox: NamespaceSandbox,
  name: string,
  opts: {
    files: Record<string, { content: string; executable?: boolean }>;
    mounts: Record<string, string>;
    command: string[];
    env: Record<string, string>;
    prelude?: string;
  },
): Pid1Node {
  const script = `${opts.prelude ?? ""}\nexec unshare --pid --fork --kill-child "$@"`;
  const child = sandbox.start(name, { ...opts, command: ["/bin/sh", "-c", script, "sh", ...opts.command] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  let pid: number | undefined;
  const pid1 = async () => {
    if (pid !== undefined) return pid;
    // The sandbox's setup runs commands as children first: PID 1 is the child once the process is `unshare --pid`.
    await waitFor(
      `PID 1 of ${name}`,
      () => {
        if (!running()) throw new Error(`${name} exited before its PID 1 could be found: ${outputOf(child)}`);
        const cmdline = read(`/proc/${child.pid}/cmdline`).split("\0");
        const children = read(`/proc/${child.pid}/task/${child.pid}/children`).trim();
        if (cmdline[0] !== "unshare" || !cmdline.includes("--pid") || children === "") return false;
        pid = Number(children.split(/\s+/)[0]);
        return true;
      },
      200,
      25,
    );
    return pid!;
  };
  const kill = async () => {
    if (!running()) return;
    // SIGKILL to PID 1 ends every process of the namespace, as Docker's kill does. Killing only unshare is not
    // enough: --kill-child's parent-death signal is cleared when PID 1 execs a server that changes its uid.
    const cmdline = read(`/proc/${child.pid}/cmdline`).split("\0");
    const first = read(`/proc/${child.pid}/task/${child.pid}/children`).trim().split(/\s+/)[0];
    if (cmdline[0] === "unshare" && first) {
      try {
        process.kill(Number(first), "SIGKILL");
      } catch {
        // already gone
      }
    }
    child.kill("SIGKILL");
    await exited;
  };
  return {
    child,
    pid1,
    output: () => outputOf(child),
    running,
    kill,
    async stop(signal, timeoutMs) {
      const started = Date.now();
      if (running()) {
        process.kill(await pid1(), signal);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
        const late = await Promise.race([exited.then(() => false), timedOut]);
        clearTimeout(timer);
        if (late) {
          await kill();
          return { exitedInTime: false, code: child.exitCode, elapsedMs: Date.now() - started };
        }
      }
      return { exitedInTime: true, code: child.exitCode, elapsedMs: Date.now() - started };
    },
  };
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
