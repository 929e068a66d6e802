/**
 * The runner's state file: everything a lab created, recorded before it is
 * created, so `down` removes exactly that, also after a crash.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "fs";
import { dirname, join, resolve } from "path";
import { RunAs } from "./host";
import { LabPlan } from "./spec";
import { alive, ProcRef, procRef } from "./sys";

export const STATE_VERSION = 1;

/** A docker_network: a bridge inside the switch namespace. */
export interface NetworkState {
  name: string;
  internal: boolean;
  bridge: string;
  subnet: string;
  /** The subnet's prefix length (24 for the lab's own 10.231.<n>.0/24). */
  prefixLength?: number;
  /** Networks without ipam_config: `10.231.<n>`, addresses `10.231.<n>.<10 + container index>`. */
  prefix?: string;
  /** Networks with ipam_config: where dynamic addresses come from (the ip_range, else the subnet). */
  ipRange?: string;
}

/** A namespace a test attached to a network (Lab.attach): a client outside the stack. */
export interface ClientState {
  netns: string;
  network: string;
  address: string;
  /** Its veth's end in the switch namespace. */
  veth: string;
  /** DNS names besides its own (attach's `aliases`): the containers on its network resolve them to `address`. */
  aliases?: string[];
}

/** A published port: the forwarder process and the ports it joins. */
export type ForwarderState = ProcRef & { external: number; internal: number };

export interface ContainerState {
  name: string;
  hostname: string;
  netns: string;
  dir: string;
  /** Address per docker network name. */
  addresses: Record<string, string>;
  /** The `ip netns exec ... unshare` process, and the PID-namespace init it forked. */
  proc?: ProcRef;
  init?: ProcRef;
  dns?: ProcRef;
  forwarders: ForwarderState[];
  /** The nftables ruleset loaded into its namespace (lab/firewall.ts), if it has one. */
  firewall?: string;
  created: boolean;
  startedAt?: string;
  stoppedAt?: string;
  /** How the container's `user` was mapped onto this host. */
  runAs: RunAs;
}

export interface LabState {
  version: number;
  instance: string;
  stateDir: string;
  createdAt: string;
  /** A process whose death makes this lab stale (tests); none for the CLI. */
  owner?: ProcRef;
  switchNetns?: string;
  /** Every network namespace created, in creation order. */
  netns: string[];
  networks: NetworkState[];
  volumes: { name: string; dir: string }[];
  containers: Record<string, ContainerState>;
  plan: LabPlan;
  portOffset: number;
  /** DNS answers for running containers only (LabOptions.dnsRunningOnly); absent in older state files: false. */
  dnsRunningOnly?: boolean;
  /** Aliases moved to another container (Lab.moveAlias, a database promotion): alias -> container name. */
  movedAliases?: Record<string, string>;
  /** Namespaces attached to a network by Lab.attach, by name (also listed in `netns`). */
  clients?: Record<string, ClientState>;
}

/** `<stateDir>/state.json`. */
export function stateFileOf(stateDir: string): string {
  return join(stateDir, "state.json");
}

/** The recorded state, if any; a state of another version fails instead of being misread. */
export function readState(stateDir: string): LabState | undefined {
  const file = stateFileOf(stateDir);
  if (!existsSync(file)) return undefined;
  const s = JSON.parse(readFileSync(file, "utf8")) as LabState;
  if (s.version !== STATE_VERSION) throw new Error(`${file}: state version ${s.version}, expected ${STATE_VERSION}`);
  return s;
}

/**
 * Writes the state atomically, mode 0600: it holds the generated passwords, like Terraform state.
 * The temporary file is this process's own: two writers sharing one would rename each other's away.
 */
export function writeState(stateDir: string, state: LabState | undefined): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = stateFileOf(stateDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 1), { mode: 0o600 });
  renameSync(tmp, file);
}

// ---------------------------------------------------------------- the state lock

/** Who holds a state lock: the process (PID and start time, so a reused PID is not mistaken for it), the command, since when. */
export interface StateLockHolder extends ProcRef {
  command: string;
  since: string;
}

/** A state lock held by this process. */
export interface StateLock {
  file: string;
  /** Removes the lock file, if it is still ours (a takeover after we died would have replaced it). */
  release(): void;
}

/**
 * `<stateDir>.lock`, next to the state dir rather than in it: `up` and `down`
 * remove the state dir while they hold the lock.
 */
export function lockFileOf(stateDir: string): string {
  return `${resolve(stateDir)}.lock`;
}

function readHolder(file: string): StateLockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, "utf8")) as StateLockHolder;
    return typeof h.pid === "number" ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the lock file only while it still holds `holder` (its PID and start time). */
function removeIfHeldBy(file: string, holder: StateLockHolder): void {
  const now = readHolder(file);
  if (now && now.pid === holder.pid && now.start === holder.start) rmSync(file, { force: true });
}

/**
 * A stale lock (its holder is dead, or its PID now belongs to another process) is
 * replaced under a second, short-lived lock file, so two processes that both find
 * it stale cannot both take it: the one that holds `<lock>.takeover` re-reads the
 * lock and removes it only if it is still the dead holder's. A takeover file left
 * by a process that died within those few microseconds is removed after 5 s.
 */
function takeOverStale(file: string, stale: StateLockHolder): void {
  const takeover = `${file}.takeover`;
  try {
    writeFileSync(takeover, String(process.pid), { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    try {
      if (Date.now() - statSync(takeover).mtimeMs > 5_000) rmSync(takeover, { force: true });
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    const now = readHolder(file);
    if (now && now.pid === stale.pid && now.start === stale.start && !alive(now)) rmSync(file, { force: true });
  } finally {
    rmSync(takeover, { force: true });
  }
}

/**
 * Takes the exclusive lock of a state dir: every command that reads, changes and
 * rewrites `state.json` holds it, so two commands run at once cannot lose each
 * other's changes (a container started by one and recorded as stopped by the other).
 * The lock file appears atomically with its content (written to a temporary file,
 * then hard-linked into place, which fails if the lock exists). A lock whose holder
 * is dead is taken over; a live holder is waited for, at most `timeoutMs`, then
 * this fails naming the holder.
 */
export async function lockState(stateDir: string, command: string, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<StateLock> {
  const file = lockFileOf(stateDir);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const interval = opts.intervalMs ?? 50;
  const me = procRef(process.pid);
  if (!me) throw new Error(`cannot read /proc/${process.pid}/stat`);
  const holder: StateLockHolder = { ...me, command, since: new Date().toISOString() };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(holder), { mode: 0o600 });
  const started = Date.now();
  let last: StateLockHolder | undefined;
  try {
    for (let i = 0; i < Math.ceil(timeoutMs / interval) + 1 && Date.now() - started <= timeoutMs; i++) {
      try {
        linkSync(tmp, file);
        return { file, release: () => removeIfHeldBy(file, holder) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      last = readHolder(file);
      if (last && !alive(last)) {
        takeOverStale(file, last);
        continue;
      }
      if (!last && existsSync(file)) {
        // Unreadable (not written by lockState): treat as stale once it is older than 5 s.
        try {
          if (Date.now() - statSync(file).mtimeMs > 5_000) rmSync(file, { force: true });
        } catch {
          // gone meanwhile
        }
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  const who = last ? `pid ${last.pid} (\`${last.command}\`, since ${last.since})` : "another process";
  throw new Error(
    `the lab's state is locked by ${who}: waited ${Math.round(timeoutMs / 1000)} s for ${file}. Wait for that command to finish, or raise --lock-wait; a lock whose holder has died is taken over by itself.`,
  );
}

/** Runs `fn` holding the state lock (lockState); releases it however `fn` ends. */
export async function withStateLock<T>(stateDir: string, command: string, fn: () => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
  const lock = await lockState(stateDir, command, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
