/**
 * The runner's state file: everything a lab created, recorded before it is
 * created, so `down` removes exactly that, also after a crash.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "fs";
import { join } from "path";
import { RunAs } from "./host";
import { LabPlan } from "./spec";
import { ProcRef } from "./sys";

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

/** Writes the state atomically, mode 0600: it holds the generated passwords, like Terraform state. */
export function writeState(stateDir: string, state: LabState | undefined): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = stateFileOf(stateDir);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 1), { mode: 0o600 });
  renameSync(tmp, file);
}
