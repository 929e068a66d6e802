/** What the runner needs from the host: root, users, network namespaces, free ports, paths. */
import { existsSync, readFileSync } from "fs";
import * as net from "net";
import { join } from "path";
import { sh } from "./sys";

/** The repository root: lab/ (ts-jest) or dist-lab/lab/ (compiled) sit one or two levels below it. */
export function repoRoot(): string {
  for (const candidate of [join(__dirname, ".."), join(__dirname, "..", "..")]) {
    if (existsSync(join(candidate, "package.json")) && existsSync(join(candidate, "lab"))) return candidate;
  }
  return process.cwd();
}

/** Throws unless this process is root (namespaces, bridges and mounts need it). */
export function requireRoot(): void {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    throw new Error("the lab must run as root: it creates network namespaces, bridges and mounts (run it with sudo)");
  }
}

/** How a container's `user` is run on this host. */
export interface RunAs {
  uid: number;
  gid: number;
  name: string;
  note?: string;
}

/** Maps a container's `user` onto this host; an unknown name runs as nobody (the image's users do not exist here). */
export function mapUser(user: string): RunAs {
  const [u, g] = user.split(":");
  if (u === "root" || u === "0") return { uid: 0, gid: 0, name: "root" };
  if (/^\d+$/.test(u)) return { uid: Number(u), gid: g && /^\d+$/.test(g) ? Number(g) : Number(u), name: u };
  const r = sh("getent", ["passwd", u], { check: false });
  if (r.status === 0) {
    const f = r.stdout.trim().split(":");
    return { uid: Number(f[2]), gid: Number(f[3]), name: u };
  }
  return { uid: 65534, gid: 65534, name: "nobody", note: `user "${user}" does not exist on this host: runs as nobody` };
}

/** Names of the network namespaces that exist now (`ip netns list`). */
export function listNetns(): string[] {
  const r = sh("ip", ["netns", "list"], { check: false });
  return r.stdout
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean);
}

/** Fails with a helpful message if 127.0.0.1:`port` cannot be bound. */
export async function assertPortFree(port: number): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new Error(`127.0.0.1:${port} is already in use (${e.code}): stop whatever listens there (another lab? \`npm run lab -- status\`) or set a port offset`),
      ),
    );
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve());
  });
  await new Promise<void>((r) => server.close(() => r()));
}

/** Quotes `s` for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The last `lines` lines of a file, or "(no log)". */
export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
