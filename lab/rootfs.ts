/**
 * A container's file system: an overlay of the host's / with the container's own
 * writable layer, the uploads and the files Docker writes, and the shell script
 * that mounts it all and execs the entrypoint chrooted.
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "fs";
import { dirname, join } from "path";
import { RunAs, shellQuote as q } from "./host";
import { LabContainer } from "./spec";

/** The directories of a container's layer under its state dir. */
export function layerDirs(containerDir: string): { upper: string; work: string; root: string } {
  return { upper: join(containerDir, "upper"), work: join(containerDir, "work"), root: join(containerDir, "root") };
}

/** Docker copies uploads into the container when it is created (once, not at every start). */
export function writeUploads(upper: string, c: LabContainer): void {
  for (const u of c.uploads) {
    const target = join(upper, u.file);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    if (u.sourcePath) copyFileSync(u.sourcePath, target);
    else writeFileSync(target, u.content ?? "");
    chmodSync(target, u.mode ?? (u.executable ? 0o755 : 0o644));
  }
}

/** Docker writes /etc/hosts, /etc/resolv.conf and /etc/hostname at every start. */
export function writeEtcFiles(upper: string, hostname: string, ownAddresses: string[]): void {
  mkdirSync(join(upper, "etc"), { recursive: true, mode: 0o755 });
  writeFileSync(
    join(upper, "etc", "hosts"),
    `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${ownAddresses.map((a) => `${a}\t${hostname}`).join("\n")}\n`,
  );
  writeFileSync(join(upper, "etc", "resolv.conf"), "nameserver 127.0.0.11\noptions ndots:0\n");
  writeFileSync(join(upper, "etc", "hostname"), `${hostname}\n`);
}

/**
 * The script run inside fresh mount, UTS and PID namespaces: overlay root, /dev,
 * /proc, /sys, fresh tmpfs on /tmp, /run and /dev/shm, named volumes, hostname
 * (a sidecar's: its network owner's),
 * then `exec chroot` into the entrypoint + command (passed as "$@").
 */
export function startScript(
  c: LabContainer,
  dirs: { upper: string; work: string; root: string },
  volumeDir: (name: string) => string,
  runAs: RunAs,
  hostname: string = c.hostname,
): string {
  const lines = [
    "set -e",
    `R=${q(dirs.root)}`,
    `mount -t overlay overlay -o ${q(`lowerdir=/,upperdir=${dirs.upper},workdir=${dirs.work}`)} "$R"`,
    'mount --rbind /dev "$R/dev"',
    'mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"',
    'mount -t proc proc "$R/proc"',
    'mount --rbind /sys "$R/sys"',
    'mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"',
    'mount -t tmpfs -o mode=755 tmpfs "$R/run"',
  ];
  for (const v of c.volumes) {
    lines.push(`mkdir -p "$R"${q(v.containerPath)}`, `mount --bind ${q(volumeDir(v.volume))} "$R"${q(v.containerPath)}`);
    if (v.readOnly) lines.push(`mount -o remount,bind,ro "$R"${q(v.containerPath)}`);
  }
  lines.push(`hostname ${q(hostname)}`);
  const userspec = runAs.uid === 0 ? "" : `--userspec=${runAs.uid}:${runAs.gid} --groups=${runAs.gid} `;
  lines.push(`exec chroot ${userspec}"$R" "$@"`);
  return lines.join("\n");
}
