import { ChildProcess, spawn, spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";

/**
 * Runs start scripts the way a container would see them: each process in a
 * private mount namespace (its files bind-mounted at their real paths) inside a
 * network namespace this test creates. Everything created is recorded and
 * removed by `cleanup()`: processes by PID, the namespace by name.
 */
export class NamespaceSandbox {
  readonly netns: string;
  readonly root: string;
  private readonly processes: ChildProcess[] = [];

  constructor(label: string) {
    this.netns = `hwt-${label}-${process.pid}`;
    this.root = mkdtempSync(join(tmpdir(), `hwt-${label}-`));
    run("ip", ["netns", "add", this.netns]);
    run("ip", ["-n", this.netns, "link", "set", "lo", "up"]);
  }

  /**
   * Starts `command` with `files` (absolute path -> content) visible at their
   * paths, and `mounts` (absolute path -> host directory) bind-mounted.
   */
  start(name: string, opts: { files: Record<string, { content: string; executable?: boolean }>; mounts: Record<string, string>; command: string[]; env: Record<string, string> }): ChildProcess {
    const base = join(this.root, name);
    const mounts: Record<string, string> = { ...opts.mounts };
    for (const [path, file] of Object.entries(opts.files)) {
      const dir = dirname(path);
      mounts[dir] ??= join(base, "files", dir);
      mkdirSync(mounts[dir], { recursive: true });
      writeFileSync(join(mounts[dir], path.slice(dir.length + 1)), file.content, { mode: file.executable ? 0o755 : 0o644 });
    }
    const script = Object.entries(mounts)
      .map(([target, source]) => {
        mkdirSync(source, { recursive: true });
        mkdirSync(target, { recursive: true }); // an empty mount point on the host
        return `mount --bind ${source} ${target}`;
      })
      .join(" && ");
    const child = spawn("ip", ["netns", "exec", this.netns, "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", `${script} && exec "$@"`, "sh", ...opts.command], {
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (d) => (output += d));
    child.stderr?.on("data", (d) => (output += d));
    (child as ChildProcess & { output: () => string }).output = () => output;
    this.processes.push(child);
    return child;
  }

  /** Runs a command inside the network namespace. */
  exec(command: string[], input?: string) {
    return spawnSync("ip", ["netns", "exec", this.netns, ...command], { encoding: "utf8", input, timeout: 20000 });
  }

  async stop(child: ChildProcess, timeoutMs = 30000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  async cleanup(): Promise<void> {
    for (const child of this.processes) await this.stop(child);
    spawnSync("ip", ["netns", "delete", this.netns]);
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function outputOf(child: ChildProcess): string {
  return (child as ChildProcess & { output?: () => string }).output?.() ?? "";
}

function run(cmd: string, args: string[]) {
  const result = spawnSync(cmd, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${result.stderr}`);
}

/** Polls `check` every `intervalMs` until it returns true; bounded by `attempts`. */
export async function waitFor(what: string, check: () => boolean, attempts = 120, intervalMs = 500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
