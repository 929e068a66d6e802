/** Small process and command helpers: every wait is bounded in count and time. */
import { spawnSync, SpawnSyncOptions } from "child_process";
import { accessSync, constants as fsConstants, readFileSync, statSync } from "fs";
import { join } from "path";
import { constants as osConstants } from "os";

export interface CmdResult {
  status: number | null;
  stdout: string;
  stderr: string;
  signal: NodeJS.Signals | null;
}

/** Runs a command synchronously (bounded by `timeoutMs`); throws on a non-zero exit unless `check` is false. */
export function sh(cmd: string, args: string[], opts: { check?: boolean; timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): CmdResult {
  const o: SpawnSyncOptions = { encoding: "utf8", timeout: opts.timeoutMs ?? 20_000, input: opts.input, env: opts.env ?? process.env, killSignal: "SIGKILL" };
  const r = spawnSync(cmd, args, o);
  const result: CmdResult = { status: r.status, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), signal: r.signal };
  if (r.error && (opts.check ?? true)) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if ((opts.check ?? true) && r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result;
}

/**
 * Runs `ip` commands (one per line, as `ip -batch` reads them) in one process
 * instead of one each, inside network namespace `netns` if given. `ip` stops at
 * the first command that fails: the error names it.
 */
export function ipBatch(lines: string[], netns?: string): void {
  if (lines.length === 0) return;
  const args = [...(netns === undefined ? [] : ["-n", netns]), "-batch", "-"];
  const r = sh("ip", args, { input: `${lines.join("\n")}\n`, check: false });
  if (r.status === 0) return;
  const failed = /Command failed -:(\d+)/.exec(r.stderr);
  const what = failed ? `ip ${netns === undefined ? "" : `-n ${netns} `}${lines[Number(failed[1]) - 1]}` : `ip ${args.join(" ")}`;
  throw new Error(`${what} exited ${r.status ?? r.signal ?? "without a status (could not run)"}: ${r.stderr.replace(/Command failed -:\d+/, "").trim()}`);
}

/** A process identity that survives PID reuse: the PID plus its start time (clock ticks since boot). */
export interface ProcRef {
  pid: number;
  start: string;
}

export function procStat(pid: number): { state: string; start: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields after "comm": state(3) ppid(4) ... starttime(22)
    return { state: rest[0], ppid: Number(rest[1]), start: rest[19] };
  } catch {
    return undefined;
  }
}

export function procRef(pid: number): ProcRef | undefined {
  const s = procStat(pid);
  return s ? { pid, start: s.start } : undefined;
}

/** True while the recorded process (same PID and start time) exists and is not a zombie. */
export function alive(ref: ProcRef | undefined): boolean {
  if (!ref) return false;
  const s = procStat(ref.pid);
  return !!s && s.start === ref.start && s.state !== "Z" && s.state !== "X";
}

/** Sends `signal` to the recorded process only if it is still that process. */
export function signalRef(ref: ProcRef | undefined, signal: NodeJS.Signals): boolean {
  if (!alive(ref)) return false;
  try {
    process.kill(ref!.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * True once the recorded process has a handler for `signal` (SigCgt in
 * /proc/PID/status). Before that, a signal whose default is to terminate (SIGHUP)
 * kills it: e.g. a dnsmasq still being exec'd by `ip netns exec`.
 */
export function catchesSignal(ref: ProcRef | undefined, signal: NodeJS.Signals): boolean {
  if (!alive(ref)) return false;
  const number = osConstants.signals[signal];
  try {
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${ref!.pid}/status`, "utf8"));
    return !!m && ((BigInt(`0x${m[1]}`) >> BigInt(number - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `intervalMs` until true; bounded by `attempts` and `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, opts: { timeoutMs: number; intervalMs?: number }): Promise<number> {
  const started = Date.now();
  const interval = opts.intervalMs ?? 200;
  const attempts = Math.ceil(opts.timeoutMs / interval) + 1;
  for (let i = 0; i < attempts && Date.now() - started <= opts.timeoutMs; i++) {
    if (await check()) return Date.now() - started;
    await sleep(interval);
  }
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}`);
}

/**
 * True if `name` is an executable file in a PATH directory (what `command -v` finds for a program), or,
 * with a slash, is itself one. Looked up in this process: `up` checks about twenty programs, and a shell
 * for each cost 0.6 s on the shared 2-core machine.
 */
export function hasCommand(name: string): boolean {
  const executable = (file: string) => {
    try {
      if (!statSync(file).isFile()) return false;
      accessSync(file, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes("/")) return executable(name);
  if (name === "") return false;
  // sh's own default when PATH is unset.
  const path = process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  return path.split(":").some((dir) => executable(join(dir === "" ? "." : dir, name)));
}

/** True while a process with this PID exists (a PID of another user's process counts: EPERM). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
