import { ChildProcess, spawn, spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";

/** Host files a container runtime bind-mounts over the image's: shown read-only inside when they are mount points here. */
const RUNTIME_FILES = ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"];

/**
 * Runs start scripts the way a container would see them: each process in a
 * private mount namespace, chrooted into an overlay of the host's root (writes
 * land in the overlay's upper directory under `root`, never on the host), with
 * its files bind-mounted at their real paths, inside a network namespace this
 * test creates. Mount points are made inside the overlay, so not even an empty
 * directory appears on the host. Everything created is recorded and removed by
 * `cleanup()`: processes by PID, the namespace by name, the files with `root`.
 * A constructor that fails removes what it had made before throwing.
 */
export class NamespaceSandbox {
  readonly netns: string;
  readonly root: string;
  private readonly processes: ChildProcess[] = [];
  private netnsAdded = false;

  constructor(label: string) {
    this.netns = `hwt-${label}-${process.pid}`;
    this.root = mkdtempSync(join(tmpdir(), `hwt-${label}-`));
    try {
      run("ip", ["netns", "add", this.netns]);
      // Only a namespace this sandbox added is ever deleted (a failed add may mean the name is someone else's).
      this.netnsAdded = true;
      run("ip", ["-n", this.netns, "link", "set", "lo", "up"]);
    } catch (error) {
      this.removeNamespaceAndFiles();
      throw error;
    }
  }

  /**
   * Starts `command` with `files` (absolute path -> content) visible at their
   * paths, and `mounts` (absolute path -> host directory) bind-mounted.
   */
  start(
    name: string,
    opts: { files: Record<string, { content: string; executable?: boolean }>; mounts: Record<string, string>; command: string[]; env: Record<string, string> },
  ): ChildProcess {
    const base = join(this.root, name);
    const mounts: Record<string, string> = { ...opts.mounts };
    for (const [path, file] of Object.entries(opts.files)) {
      const dir = dirname(path);
      mounts[dir] ??= join(base, "files", dir);
      mkdirSync(mounts[dir], { recursive: true });
      writeFileSync(join(mounts[dir], path.slice(dir.length + 1)), file.content, { mode: file.executable ? 0o755 : 0o644 });
    }
    // Like the lab's containers (lab/rootfs.ts (the lab runner's container root)): an overlay of / whose upper layer is ours.
    const overlay = { upper: join(base, "overlay", "upper"), work: join(base, "overlay", "work"), root: join(base, "overlay", "root") };
    for (const dir of Object.values(overlay)) mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const source of Object.values(mounts)) mkdirSync(source, { recursive: true });
    const q = shellQuote;
    const lines = [
      "set -e",
      `R=${q(overlay.root)}`,
      `mount -t overlay overlay -o ${q(`lowerdir=/,upperdir=${overlay.upper},workdir=${overlay.work}`)} "$R"`,
      'mount --rbind /dev "$R/dev"',
      'mount --rbind /proc "$R/proc"',
      'mount --rbind /sys "$R/sys"',
      'mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"',
      'mount -t tmpfs -o mode=755 tmpfs "$R/run"',
      ...RUNTIME_FILES.map((f) => `if mountpoint -q ${q(f)}; then mount --bind ${q(f)} "$R"${q(f)} && mount -o remount,bind,ro "$R"${q(f)}; fi`),
      // The mount point is created in the overlay (its upper layer), not on the host.
      ...Object.entries(mounts).flatMap(([target, source]) => [`mkdir -p "$R"${q(target)}`, `mount --bind ${q(source)} "$R"${q(target)}`]),
      'exec chroot "$R" "$@"',
    ];
    const child = spawn(
      "ip",
      ["netns", "exec", this.netns, "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", lines.join("\n"), "sh", ...opts.command],
      {
        env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...opts.env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
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
    this.removeNamespaceAndFiles();
  }

  private removeNamespaceAndFiles() {
    if (this.netnsAdded) spawnSync("ip", ["netns", "delete", this.netns]);
    this.netnsAdded = false;
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function outputOf(child: ChildProcess): string {
  return (child as ChildProcess & { output?: () => string }).output?.() ?? "";
}

function run(cmd: string, args: string[]) {
  // This test's environment (its PATH), as `start` uses: jest's process.env is a copy of the runner's.
  const result = spawnSync(cmd, args, { encoding: "utf8", env: process.env });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${result.stderr ?? result.error}`);
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Polls `check` every `intervalMs` until it returns true; bounded by `attempts`. */
export async function waitFor(what: string, check: () => boolean, attempts = 120, intervalMs = 500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
