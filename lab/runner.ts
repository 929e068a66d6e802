/**
 * The runner: runs a synthesized Docker stack on this machine, as root, with the
 * host's binaries standing in for the images. It knows containers, networks,
 * volumes, ports and health checks, and nothing about what runs in them (what a
 * container is for is read from its labels by lab/stack.ts).
 *
 *  - one "switch" network namespace holds one Linux bridge per docker_network,
 *    so no interface is ever added to the host's own namespace;
 *  - one network namespace per container, one veth per attached network
 *    (eth0, eth1, ... in network order), a static address: the network's
 *    `ipam_config` (a fixed `ipv4_address`, else the next free one of its
 *    `ip_range`), else 10.231.<n>.0/24;
 *  - in each container namespace, before its process starts, the stack's host
 *    firewall (nftables, from the container's flow labels: lab/firewall.ts);
 *  - per container: private mount, UTS and PID namespaces and an overlay root
 *    (lab/rootfs.ts); a dnsmasq as Docker's embedded DNS (lab/dns.ts); published
 *    ports forwarded from the host's 127.0.0.1 (lab/forwarder.ts).
 *
 * Everything created is recorded in a state file before it is created
 * (lab/state.ts), so `down` removes exactly that, also after a crash.
 */
import { execFile, spawn } from "child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { dnsHosts, startDns } from "./dns";
import { firewallRuleset } from "./firewall";
import { startForwarder } from "./forwarder";
import { assertPortFree, listNetns, mapUser, repoRoot, requireRoot, tail } from "./host";
import { checkPrereqs, IMAGE_BINARIES, prereqMessage } from "./prereqs";
import { hostAddresses, ipv4InCidr, parseCidr } from "./ipv4";
import { layerDirs, startScript, writeEtcFiles, writeUploads } from "./rootfs";
import { LabContainer, LabPlan, loadPlan } from "./spec";
import { ContainerState, LabState, NetworkState, readState, stateFileOf, STATE_VERSION, writeState } from "./state";
import { alive, catchesSignal, childPids, CmdResult, ipBatch, procRef, ProcRef, procStat, sh, signalRef, sleep, waitUntil } from "./sys";

export interface LabOptions {
  /** Short id (letters/digits, at most 4) in every namespace name: two labs can coexist. @default "a" */
  instance?: string;
  /** Where the state file, logs, container layers and volumes live. @default <repo>/.lab/<instance> */
  stateDir?: string;
  /** Added to every published host port (tests avoid clashing with a running `lab up`). @default 0 */
  portOffset?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /**
   * Docker's embedded DNS answers for running containers only: a stopped or
   * killed container's name and aliases stop resolving (NXDOMAIN) until it starts
   * again. With this set, the lab does the same (the records are added when a
   * container starts, before its process; removed when `stop` or `kill` has
   * ended it); otherwise every container's names resolve all the time. A
   * container whose process exits on its own keeps its records until the next
   * `start`/`stop`/`kill` (the lab has no daemon watching it). Recorded in the
   * state by `up`. @default false
   */
  dnsRunningOnly?: boolean;
}

/** What `stop` did: the signal sent, how long the container took to exit, whether the stop timeout ran out (SIGKILL). */
export interface StopResult {
  signal: NodeJS.Signals;
  ms: number;
  killed: boolean;
}

/** One row of `status()`: what the runner knows about a container, nothing about its software. */
export interface ContainerStatus {
  name: string;
  hostname: string;
  running: boolean;
  healthy: boolean;
  addresses: Record<string, string>;
  ports: string[];
  pid?: number;
}

/** The output of a command run in a namespace without blocking the event loop. */
export interface AsyncCmdResult {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** How long waitHealthy waits after a container's failed check before it runs the check again. */
const HEALTH_POLL_MS = 250;
/**
 * How many health checks waitHealthy runs at once. Each is a few processes (nsenter, a shell, the probe):
 * all of a stack's at once, every 250 ms, would take a small machine's CPUs (2 here) from the very
 * containers they wait for, and slow checks would then time out and pile up.
 */
const HEALTH_CHECKS_AT_ONCE = 2;

/** A lab instance: its state file, and the operations of a Docker engine on it. */
export class Lab {
  readonly instance: string;
  readonly stateDir: string;
  readonly portOffset: number;
  private readonly dnsRunningOnlyOption: boolean;
  private readonly log: (line: string) => void;
  state?: LabState;

  constructor(opts: LabOptions = {}) {
    this.instance = opts.instance ?? "a";
    if (!/^[a-z0-9]{1,4}$/.test(this.instance)) throw new Error(`instance "${this.instance}": use 1-4 lower-case letters or digits`);
    this.stateDir = opts.stateDir ?? join(repoRoot(), ".lab", this.instance);
    this.portOffset = opts.portOffset ?? 0;
    this.dnsRunningOnlyOption = opts.dnsRunningOnly ?? false;
    this.log = opts.log ?? (() => undefined);
    this.state = readState(this.stateDir);
  }

  /** LabOptions.dnsRunningOnly as the lab was brought up with (recorded in its state), else as given now. */
  get dnsRunningOnly(): boolean {
    return this.state?.dnsRunningOnly ?? this.dnsRunningOnlyOption;
  }

  get stateFile(): string {
    return stateFileOf(this.stateDir);
  }

  private save(): void {
    writeState(this.stateDir, this.state);
  }

  /** Any recorded process still alive, or any recorded namespace still present. */
  isRunning(): boolean {
    const s = this.state;
    if (!s) return false;
    const existing = new Set(listNetns());
    if (s.netns.some((n) => existing.has(n))) return true;
    return Object.values(s.containers).some((c) => alive(c.proc) || alive(c.init) || alive(c.dns) || c.forwarders.some(alive));
  }

  /** The lab was left behind by a process that no longer exists (a crashed test run). */
  isStale(): boolean {
    return !!this.state?.owner && !alive(this.state.owner);
  }

  // ---------------------------------------------------------------- up

  /** Creates networks, volumes and containers of `stackFile`, starts them in depends_on order and waits for their health checks. */
  async up(stackFile: string, opts: { owner?: number; healthTimeoutMs?: number } = {}): Promise<LabState> {
    requireRoot();
    // Where the time goes (one progress line per phase; the health wait logs each container).
    let phaseStarted = Date.now();
    const phase = (what: string) => {
      this.log(`  ${what}: ${((Date.now() - phaseStarted) / 1000).toFixed(1)} s`);
      phaseStarted = Date.now();
    };
    if (this.state) {
      if (this.isRunning() && !this.isStale()) {
        throw new Error(
          `a lab is already running (instance "${this.instance}", state ${this.stateFile}, created ${this.state.createdAt}): run \`npm run lab -- down\` first`,
        );
      }
      this.log(`removing the remains of an earlier lab recorded in ${this.stateFile}`);
      await this.down();
    }
    const early = checkPrereqs([]);
    if (!early.ok) throw new Error(prereqMessage(early));
    // A fresh state dir first: the plan's TLS material is generated into it (kept until `down`).
    rmSync(this.stateDir, { recursive: true, force: true });
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    let plan: LabPlan;
    try {
      plan = loadPlan(stackFile, { tlsDir: join(this.stateDir, "tls") });
    } catch (error) {
      rmSync(this.stateDir, { recursive: true, force: true });
      throw error;
    }
    const report = checkPrereqs(
      plan.containers.map((c) => c.image),
      { packages: plan.containers.flatMap((c) => c.packages) },
    );
    if (!report.ok) {
      rmSync(this.stateDir, { recursive: true, force: true });
      throw new Error(prereqMessage(report));
    }
    for (const c of plan.containers) for (const p of c.ports) await assertPortFree(p.external + this.portOffset);
    for (const c of plan.containers) {
      if (c.entrypoint.length + c.command.length === 0)
        throw new Error(`${c.name}: neither entrypoint nor command is set; the lab has no image default to fall back on`);
      if (c.hostname.length > 40) throw new Error(`${c.name}: hostname too long for a namespace name`);
    }

    const owner = opts.owner ? procRef(opts.owner) : undefined;
    this.state = {
      version: STATE_VERSION,
      instance: this.instance,
      stateDir: this.stateDir,
      createdAt: new Date().toISOString(),
      owner,
      netns: [],
      networks: [],
      volumes: [],
      containers: {},
      plan,
      portOffset: this.portOffset,
      dnsRunningOnly: this.dnsRunningOnlyOption,
      clients: {},
    };
    this.save();
    mkdirSync(join(this.stateDir, "logs"), { recursive: true });
    phase("prerequisites and plan");
    this.createNetworks(plan);
    this.createVolumes(plan);
    this.createContainerNetns(plan);
    phase("networks, namespaces and links");
    // Every address is known now: each namespace's firewall, before any process of the stack runs.
    for (const c of plan.containers) this.applyFirewall(c);
    phase("firewalls");
    // The DNS servers are independent of each other: started together, each waited for (dnsReady).
    await Promise.all(plan.containers.map((c) => this.startContainerDns(c)));
    this.save();
    phase("DNS servers");

    // Start in depends_on order (Terraform creates a container once its dependencies are created and running).
    for (const c of plan.containers) await this.startContainer(c.name, { sidecars: false });
    phase("container processes started");
    // The published ports (each forwarder takes its socket over in about 150 ms) while the containers start:
    // nothing in a container needs them, and `up` returns once both are done.
    const published = Promise.all(plan.containers.flatMap((c) => c.ports.map((p) => this.publishPort(c, p))));
    // Awaited below: this only keeps a failure that comes first from counting as an unhandled rejection.
    published.catch(() => undefined);
    try {
      await this.waitHealthy(
        plan.containers.map((c) => c.name),
        opts.healthTimeoutMs ?? 180_000,
      );
    } finally {
      await published;
      this.save();
    }
    return this.state;
  }

  /** Networks: bridges inside the switch namespace. */
  private createNetworks(plan: LabPlan) {
    const s = this.state!;
    const sw = `hwl-${this.instance}-sw`;
    s.switchNetns = sw;
    this.addNetns(sw);
    const bridges: string[] = [];
    plan.networks.forEach((n, i) => {
      if (i > 250) throw new Error("too many networks");
      const bridge = `hwlbr${i}`;
      const subnet = n.subnet ?? `10.231.${i}.0/24`;
      for (const other of s.networks) {
        if (ipv4InCidr(parseCidr(subnet).network, other.subnet) || ipv4InCidr(parseCidr(other.subnet).network, subnet))
          throw new Error(`network ${n.name}: subnet ${subnet} overlaps ${other.name}'s ${other.subnet}`);
      }
      s.networks.push({
        name: n.name,
        internal: n.internal,
        bridge,
        subnet,
        prefixLength: parseCidr(subnet).prefixLength,
        ...(n.subnet ? { ipRange: n.ipRange ?? n.subnet } : { prefix: `10.231.${i}` }),
      });
      bridges.push(`link add ${bridge} type bridge`, `link set ${bridge} up`);
    });
    this.save();
    ipBatch(bridges, sw);
  }

  /** Volumes: directories that outlive a container restart. */
  private createVolumes(plan: LabPlan) {
    for (const v of plan.volumes) {
      const dir = join(this.stateDir, "volumes", v.name);
      this.state!.volumes.push({ name: v.name, dir });
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    }
    this.save();
  }

  /**
   * The containers' network namespaces: 127.0.0.11 for its DNS, one veth per network, its net.* sysctls.
   * All recorded first; then a few `ip -batch` runs instead of a process per namespace, link and address
   * (the namespaces, every veth from the switch's side, each namespace's addresses), and one sysctl each.
   */
  private createContainerNetns(plan: LabPlan) {
    const s = this.state!;
    const switchLines: string[] = [];
    const inside: { netns: string; lines: string[]; sysctls: string[] }[] = [];
    plan.containers.forEach((c, index) => {
      if (c.networkOf !== undefined) {
        // A sidecar (`network_mode = "container:X"`): X's namespace, which plan order created first; nothing of its own.
        const owner = s.containers[c.networkOf];
        if (!owner) throw new Error(`${c.name}: joins the network of ${c.networkOf}, which the lab has not created (start order)`);
        s.containers[c.name] = {
          name: c.name,
          hostname: c.hostname,
          netns: owner.netns,
          dir: join(this.stateDir, "containers", c.name),
          addresses: {},
          forwarders: [],
          created: false,
          runAs: mapUser(c.user),
        };
        return;
      }
      const netns = `hwl-${this.instance}-${c.hostname}`;
      const cs: ContainerState = {
        name: c.name,
        hostname: c.hostname,
        netns,
        dir: join(this.stateDir, "containers", c.name),
        addresses: {},
        forwarders: [],
        created: false,
        runAs: mapUser(c.user),
      };
      s.containers[c.name] = cs;
      s.netns.push(netns);
      const lines = ["link set lo up", "addr add 127.0.0.11/32 dev lo"];
      c.networks.forEach((attachment, ni) => {
        const nw = s.networks.find((n) => n.name === attachment.network)!;
        const address = this.allocateAddress(nw, c, attachment.ipv4Address, index);
        cs.addresses[nw.name] = address;
        const outer = `hwl${index}n${ni}`;
        switchLines.push(`link add ${outer} type veth peer name eth${ni} netns ${netns}`, `link set ${outer} master ${nw.bridge} up`);
        lines.push(`addr add ${address}/${nw.prefixLength ?? 24} dev eth${ni}`, `link set eth${ni} up`);
      });
      // Docker (20.10+) sets this in every container network namespace by default.
      const sysctls: Record<string, string> = { "net.ipv4.ip_unprivileged_port_start": "0", ...c.sysctls };
      for (const key of Object.keys(sysctls)) {
        if (!key.startsWith("net.")) throw new Error(`${c.name}: sysctl ${key} is not namespaced per network namespace; the lab cannot apply it`);
      }
      inside.push({ netns, lines, sysctls: Object.entries(sysctls).map(([key, value]) => `${key}=${value}`) });
    });
    // Recorded before anything is created: `down` removes whatever of it exists.
    this.save();
    ipBatch(inside.map((n) => `netns add ${n.netns}`));
    ipBatch(switchLines, s.switchNetns!);
    for (const n of inside) {
      ipBatch(n.lines, n.netns);
      sh("ip", ["netns", "exec", n.netns, "sysctl", "-q", "-w", ...n.sysctls]);
    }
  }

  /** Addresses of `network` the lab has given out or that a container asks for (`ipv4_address`), plus those of attached namespaces. */
  private takenAddresses(network: string): Set<string> {
    const s = this.state!;
    const taken = new Set<string>();
    for (const c of s.plan.containers) for (const a of c.networks) if (a.network === network && a.ipv4Address) taken.add(a.ipv4Address);
    for (const cs of Object.values(s.containers)) if (cs.addresses[network]) taken.add(cs.addresses[network]);
    for (const cl of Object.values(s.clients ?? {})) if (cl.network === network) taken.add(cl.address);
    return taken;
  }

  /**
   * A container's address on a network: its `ipv4_address` (inside the subnet,
   * not taken); else, on a network with `ipam_config`, the lowest free address of
   * its ip_range (Docker's IPAM); else 10.231.<n>.<10 + container index>.
   */
  private allocateAddress(nw: NetworkState, c: LabContainer, fixed: string | undefined, index: number): string {
    const taken = this.takenAddresses(nw.name);
    if (fixed) {
      if (!ipv4InCidr(fixed, nw.subnet)) throw new Error(`${c.name}: ipv4_address ${fixed} is outside ${nw.name}'s subnet ${nw.subnet}`);
      const owner = Object.values(this.state!.containers).find((x) => x.addresses[nw.name] === fixed);
      if (owner) throw new Error(`${c.name}: ipv4_address ${fixed} on ${nw.name} is already ${owner.name}'s`);
      return fixed;
    }
    if (!nw.ipRange) return `${nw.prefix}.${10 + index}`;
    const free = hostAddresses(nw.subnet, nw.ipRange).find((a) => !taken.has(a));
    if (!free) throw new Error(`${c.name}: no free address left in ${nw.name}'s ip_range ${nw.ipRange}`);
    return free;
  }

  /**
   * Loads the container's firewall (lab/firewall.ts: its flow labels rendered by
   * templates/nftables.ts) into its network namespace with `nft -f`; the file is
   * kept as `<container dir>/nftables.conf`. A container without a role label gets none.
   */
  private applyFirewall(c: LabContainer) {
    const s = this.state!;
    const cs = s.containers[c.name];
    // A sidecar's flows are in its owner's ruleset (lab/firewall.ts): one ruleset per namespace.
    if (c.networkOf !== undefined) return;
    const ruleset = firewallRuleset(s.plan, (name) => s.containers[name].addresses, c);
    if (ruleset === undefined) return;
    mkdirSync(cs.dir, { recursive: true });
    const file = join(cs.dir, "nftables.conf");
    writeFileSync(file, ruleset);
    sh("ip", ["netns", "exec", cs.netns, "nft", "-f", file]);
    cs.firewall = file;
    this.save();
  }

  /**
   * Attaches a namespace of the caller's to a network, as `docker run --network`
   * would a client: `hwl-<instance>-<name>`, one veth `eth0` into the network's
   * bridge, `address` (default: the highest free address of the network's
   * ip_range, else of its subnet; never one of `avoid`). No firewall, no route
   * beyond the subnet. Recorded in the state before it is created, so `down`
   * removes it too; `detach` removes it earlier.
   */
  attach(
    name: string,
    network: string,
    opts: { address?: string; avoid?: string[]; aliases?: string[] } = {},
  ): { netns: string; address: string; prefixLength: number } {
    const s = this.requireState();
    if (!/^[a-z0-9-]{1,20}$/.test(name)) throw new Error(`attach: "${name}": use 1-20 lower-case letters, digits or -`);
    if (s.plan.containers.some((c) => c.hostname === name)) throw new Error(`attach: "${name}" is a container's hostname`);
    s.clients ??= {};
    if (s.clients[name]) throw new Error(`attach: "${name}" is already attached`);
    const nw = s.networks.find((n) => n.name === network);
    if (!nw) throw new Error(`attach: no network "${network}" (have: ${s.networks.map((n) => n.name).join(", ")})`);
    const taken = this.takenAddresses(network);
    for (const a of opts.avoid ?? []) taken.add(a);
    const address = opts.address ?? hostAddresses(nw.subnet, nw.ipRange ?? nw.subnet, true).find((a) => !taken.has(a));
    if (!address || !ipv4InCidr(address, nw.subnet)) throw new Error(`attach: no usable address for ${name} on ${network} (${nw.subnet})`);
    if (taken.has(address)) throw new Error(`attach: ${address} on ${network} is taken`);
    const aliases = opts.aliases ?? [];
    for (const a of aliases) if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(a)) throw new Error(`attach: alias "${a}" is not a DNS label`);
    const netns = `hwl-${this.instance}-${name}`;
    const veth = `hwlc${Object.keys(s.clients).length}`;
    s.clients[name] = { netns, network, address, veth, ...(aliases.length > 0 ? { aliases } : {}) };
    this.addNetns(netns);
    sh("ip", ["-n", s.switchNetns!, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    sh("ip", ["-n", s.switchNetns!, "link", "set", veth, "master", nw.bridge, "up"]);
    sh("ip", ["-n", netns, "addr", "add", `${address}/${nw.prefixLength ?? 24}`, "dev", "eth0"]);
    sh("ip", ["-n", netns, "link", "set", "eth0", "up"]);
    if (aliases.length > 0) this.rewriteDnsHosts();
    return { netns, address, prefixLength: nw.prefixLength ?? 24 };
  }

  /**
   * The attached namespaces that have DNS names (attach's `aliases`): the
   * containers on the same network resolve `<name>` and each alias to its
   * address, as Docker's DNS answers a `docker run --network N --network-alias A` client.
   */
  private dnsClients(): { network: string; address: string; names: string[] }[] {
    return Object.entries(this.state?.clients ?? {})
      .filter(([, cl]) => (cl.aliases ?? []).length > 0)
      .map(([name, cl]) => ({ network: cl.network, address: cl.address, names: [name, ...(cl.aliases ?? [])] }));
  }

  /**
   * Rewrites every running DNS server's hosts file now (after attach/detach of a
   * client with aliases) and makes it re-read it (SIGHUP, sent only to a dnsmasq
   * that has its handler: every one has by then, `up` waited for it). The caller
   * waits for the name to resolve (probes.lookupFrom), bounded.
   */
  private rewriteDnsHosts(): void {
    const s = this.requireState();
    const listed = this.dnsListed();
    for (const c of s.plan.containers) {
      const cs = s.containers[c.name];
      if (!cs?.dns || !alive(cs.dns)) continue;
      writeFileSync(
        join(cs.dir, "dns.hosts"),
        dnsHosts(s.plan, (name) => s.containers[name].addresses, c, listed, this.dnsClients(), s.movedAliases),
      );
      if (catchesSignal(cs.dns, "SIGHUP")) signalRef(cs.dns, "SIGHUP");
    }
  }

  /**
   * Gives a network alias (the database writer's) to another container, as
   * `docker network disconnect` and `connect --alias` would: every container's
   * DNS answers with the new owner's address from now on (dnsmasq re-reads on
   * SIGHUP; TTL 0, nothing caches). Recorded in the state.
   */
  moveAlias(alias: string, toNameOrHost: string): void {
    const s = this.requireState();
    const { spec } = this.container(toNameOrHost);
    const declared = s.plan.containers.filter((c) => c.networks.some((n) => n.aliases.includes(alias)));
    if (declared.length === 0) throw new Error(`moveAlias: no container declares the alias "${alias}"`);
    const networks = new Set(declared.flatMap((c) => c.networks.filter((n) => n.aliases.includes(alias)).map((n) => n.network)));
    if (!spec.networks.some((n) => networks.has(n.network))) {
      throw new Error(`moveAlias: ${spec.hostname} is on none of the networks where "${alias}" is declared (${[...networks].join(", ")})`);
    }
    s.movedAliases = { ...(s.movedAliases ?? {}), [alias]: spec.name };
    this.save();
    this.rewriteDnsHosts();
  }

  /** Who answers to `alias` now: the container it was moved to, else the one that declares it. */
  aliasOwner(alias: string): string | undefined {
    const s = this.requireState();
    return s.movedAliases?.[alias] ?? s.plan.containers.find((c) => c.networks.some((n) => n.aliases.includes(alias)))?.name;
  }

  /** Removes an attached namespace (its veth goes with it), after killing anything still running in it. */
  async detach(name: string): Promise<void> {
    const s = this.requireState();
    const cl = s.clients?.[name];
    if (!cl) return;
    if (listNetns().includes(cl.netns)) {
      const refs = sh("ip", ["netns", "pids", cl.netns], { check: false })
        .stdout.split("\n")
        .filter(Boolean)
        .map((p) => procRef(Number(p)));
      for (const r of refs) signalRef(r, "SIGKILL");
      await waitUntil(`processes in ${cl.netns} to exit`, () => refs.every((r) => !alive(r)), { timeoutMs: 5000, intervalMs: 20 });
      sh("ip", ["netns", "delete", cl.netns]);
    }
    s.netns = s.netns.filter((n) => n !== cl.netns);
    delete s.clients![name];
    this.save();
    if ((cl.aliases ?? []).length > 0) this.rewriteDnsHosts();
  }

  private addNetns(name: string) {
    this.state!.netns.push(name);
    this.save();
    sh("ip", ["netns", "add", name]);
    sh("ip", ["-n", name, "link", "set", "lo", "up"]);
  }

  private async startContainerDns(c: LabContainer) {
    const s = this.state!;
    const cs = s.containers[c.name];
    // A sidecar asks its owner's DNS server (127.0.0.11 of the namespace it joins).
    if (c.networkOf !== undefined) return;
    mkdirSync(cs.dir, { recursive: true });
    const hosts = dnsHosts(s.plan, (name) => s.containers[name].addresses, c, this.dnsListed(), this.dnsClients(), s.movedAliases);
    cs.dns = startDns(cs.netns, hosts, join(cs.dir, "dns.hosts"), join(this.stateDir, "logs", `${c.hostname}.dns.log`));
    this.save();
    await this.dnsReady(c.name);
  }

  /**
   * Waits (bounded) until a container's dnsmasq is running with its signal
   * handlers installed: a SIGHUP before that (while `ip netns exec` still execs
   * it) would kill it, and the container would have no DNS at all.
   */
  private async dnsReady(name: string): Promise<void> {
    const cs = this.requireState().containers[name];
    await waitUntil(
      `the DNS server of ${cs.hostname} (pid ${cs.dns?.pid})`,
      () => {
        if (!alive(cs.dns)) throw new Error(`the DNS server of ${cs.hostname} exited; see ${join(this.stateDir, "logs", `${cs.hostname}.dns.log`)}`);
        return catchesSignal(cs.dns, "SIGHUP");
      },
      { timeoutMs: 5000, intervalMs: 10 },
    );
  }

  /** Which containers' names the DNS servers answer for (all, or the running ones plus `starting`). */
  private dnsListed(starting?: string): (name: string) => boolean {
    return this.dnsRunningOnly ? (name) => name === starting || this.isUp(name) : () => true;
  }

  /**
   * With dnsRunningOnly: rewrites every container's hosts file for the
   * containers running now (plus `starting`) and makes its dnsmasq re-read it
   * (SIGHUP; its cache is off, so the next query sees the change).
   */
  private async refreshDns(starting?: string): Promise<void> {
    if (!this.dnsRunningOnly) return;
    const s = this.requireState();
    const listed = this.dnsListed(starting);
    for (const c of s.plan.containers) {
      const cs = s.containers[c.name];
      if (!cs?.dns) continue;
      writeFileSync(
        join(cs.dir, "dns.hosts"),
        dnsHosts(s.plan, (name) => s.containers[name].addresses, c, listed, this.dnsClients(), s.movedAliases),
      );
      await this.dnsReady(c.name);
      signalRef(cs.dns, "SIGHUP");
    }
    // dnsmasq re-reads on its next turn of the event loop: give it that turn.
    await sleep(50);
  }

  /** Publishes one port on the host's 127.0.0.1, forwarded to the container's first non-internal network (its log: forwarderEvents). */
  private async publishPort(c: LabContainer, p: LabContainer["ports"][number]) {
    const s = this.state!;
    const cs = s.containers[c.name];
    const external = p.external + this.portOffset;
    const firstPublic = c.networks.find((n) => !s.networks.find((x) => x.name === n.network)!.internal) ?? c.networks[0];
    const target = firstPublic ? cs.addresses[firstPublic.network] : "127.0.0.1";
    const ref = await startForwarder({
      netns: cs.netns,
      external,
      target,
      internal: p.internal,
      logFile: join(this.stateDir, "logs", `${c.hostname}.port-${external}.log`),
    });
    if (ref) cs.forwarders.push({ ...ref, external, internal: p.internal });
    this.save();
  }

  // ---------------------------------------------------------------- containers

  /** A container by hostname or container name: its plan entry and its recorded state. */
  container(nameOrHost: string): { spec: LabContainer; state: ContainerState } {
    const s = this.requireState();
    const spec = s.plan.containers.find((c) => c.name === nameOrHost || c.hostname === nameOrHost);
    if (!spec) throw new Error(`no container "${nameOrHost}" in this lab (have: ${s.plan.containers.map((c) => c.hostname).join(", ")})`);
    return { spec, state: s.containers[spec.name] };
  }

  isUp(nameOrHost: string): boolean {
    const { state } = this.container(nameOrHost);
    return alive(state.init) || alive(state.proc);
  }

  /**
   * `docker start`: the container's entrypoint + command as PID 1 of fresh PID,
   * mount and UTS namespaces. A sidecar (`network_mode = "container:X"`) runs in
   * X's network namespace, with X's hostname, and needs X running. Starting X also
   * starts its sidecars that are not running (they were stopped with it: stop, kill),
   * after X, unless `sidecars` is false.
   */
  async startContainer(nameOrHost: string, opts: { sidecars?: boolean } = {}): Promise<void> {
    const { spec: c, state: cs } = this.container(nameOrHost);
    if (this.isUp(c.name)) throw new Error(`${c.hostname} is already running`);
    if (c.networkOf !== undefined && !this.isUp(c.networkOf))
      throw new Error(`${c.hostname}: cannot start: it joins the network of ${c.networkOf}, which is not running (Docker refuses it too)`);
    const uts = this.utsHostname(c);
    const dirs = layerDirs(cs.dir);
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o755 });
    if (!cs.created) {
      writeUploads(dirs.upper, c);
      cs.created = true;
    }
    writeEtcFiles(dirs.upper, uts, Object.values(this.addressesOf(c.name)));
    // Docker registers the container's names with its DNS when it starts, before the process runs.
    if (c.networkOf === undefined) await this.refreshDns(c.name);
    const script = startScript(c, dirs, (volume) => this.state!.volumes.find((x) => x.name === volume)!.dir, cs.runAs, uts);

    const logFile = this.logFile(c.hostname);
    writeFileSync(logFile, `--- ${new Date().toISOString()} lab: starting ${c.name}\n`, { flag: "a" });
    const logFd = openSync(logFile, "a");
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        cs.netns,
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount",
        "--uts",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        script,
        "sh",
        ...c.entrypoint,
        ...c.command,
      ],
      {
        detached: true,
        stdio: ["ignore", logFd, logFd],
        env: this.containerEnv(c),
      },
    );
    closeSync(logFd);
    child.unref();
    cs.proc = procRef(child.pid!);
    cs.init = undefined;
    this.save();
    // Record the PID namespace's init (the container's PID 1), bounded.
    for (let i = 0; i < 50 && !cs.init; i++) {
      const kids = childPids(child.pid!);
      if (kids.length > 0) cs.init = procRef(kids[0]);
      else await sleep(20);
    }
    cs.startedAt = new Date().toISOString();
    cs.stoppedAt = undefined;
    this.save();
    if (!cs.init) throw new Error(`${c.hostname}: the container process did not start (see ${logFile})`);
    if (opts.sidecars !== false) for (const sc of this.sidecarsOf(c.name)) if (!this.isUp(sc)) await this.startContainer(sc);
  }

  /** Container names of the sidecars of `nameOrHost` (`network_mode = "container:<it>"`), in start order. */
  sidecarsOf(nameOrHost: string): string[] {
    const { spec } = this.container(nameOrHost);
    return this.requireState()
      .plan.containers.filter((x) => x.networkOf === spec.name)
      .map((x) => x.name);
  }

  /** A container's addresses by network: a sidecar's are those of the container whose network it joins. */
  addressesOf(nameOrHost: string): Record<string, string> {
    const { spec, state } = this.container(nameOrHost);
    return spec.networkOf === undefined ? state.addresses : this.container(spec.networkOf).state.addresses;
  }

  /** The host name a container sees (UTS, /etc/hostname, $HOSTNAME): a sidecar has its network owner's, as on Docker. */
  private utsHostname(c: LabContainer): string {
    return c.networkOf === undefined ? c.hostname : this.container(c.networkOf).spec.hostname;
  }

  /**
   * What the published-port forwarders of a container could not pass on, from
   * their logs: `refused`, a connection the container did not accept (nothing
   * listening: the client's connection is closed, as docker-proxy does);
   * `dropped`, a connection it accepted and closed or reset before answering a
   * byte. `atMs` is the wall-clock time (Date.now()).
   */
  forwarderEvents(nameOrHost: string): { kind: "refused" | "dropped"; atMs: number; error: string; external: number }[] {
    const { spec, state: cs } = this.container(nameOrHost);
    return cs.forwarders.flatMap((f) => {
      let text = "";
      try {
        text = readFileSync(join(this.stateDir, "logs", `${spec.hostname}.port-${f.external}.log`), "utf8");
      } catch {
        return [];
      }
      return [...text.matchAll(/^upstream-(refused|dropped) (\d+) (\S+)$/gm)].map((m) => ({
        kind: m[1] as "refused" | "dropped",
        atMs: Number(m[2]),
        error: m[3],
        external: f.external,
      }));
    });
  }

  /** stdout + stderr of a container, across its starts. */
  logFile(hostname: string): string {
    return join(this.stateDir, "logs", `${hostname}.log`);
  }

  /** The container's `env`, plus what Docker adds (PATH, HOSTNAME, HOME). */
  containerEnv(c: LabContainer): NodeJS.ProcessEnv {
    const cs = this.state!.containers[c.name];
    const env: NodeJS.ProcessEnv = { PATH: DEFAULT_PATH, HOSTNAME: this.utsHostname(c), HOME: cs.runAs.uid === 0 ? "/root" : "/nonexistent" };
    for (const kv of c.env) {
      const i = kv.indexOf("=");
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return env;
  }

  /** `docker kill`: SIGKILL to the container's PID 1, which takes its whole PID namespace down. */
  async kill(nameOrHost: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const { spec, state: cs } = this.container(nameOrHost);
    if (signal !== "SIGKILL") {
      signalRef(cs.init, signal);
      return;
    }
    // Its sidecars with it, at the same moment: on Docker they would be left in a namespace without its
    // network; the lab keeps the namespace, so a sidecar left running would go on answering.
    const sidecars = Promise.all(
      this.sidecarsOf(spec.name)
        .filter((sc) => this.isUp(sc))
        .map((sc) => this.kill(sc)),
    );
    signalRef(cs.init, "SIGKILL");
    await waitUntil(`${spec.hostname} to exit`, () => !alive(cs.init), { timeoutMs: 10_000, intervalMs: 20 }).catch(() => signalRef(cs.proc, "SIGKILL"));
    await waitUntil(`${spec.hostname}'s namespace holder to exit`, () => !alive(cs.proc), { timeoutMs: 5_000, intervalMs: 20 }).catch(() => {
      signalRef(cs.proc, "SIGKILL");
    });
    await sidecars;
    if (alive(cs.init) || alive(cs.proc)) throw new Error(`${spec.hostname} survived SIGKILL (pid ${cs.init?.pid}/${cs.proc?.pid})`);
    cs.stoppedAt = new Date().toISOString();
    this.save();
    // Docker drops a container's names from its DNS once it has exited.
    await this.refreshDns();
  }

  /**
   * The signal `docker stop` sends: the container's stop_signal, else its image's
   * STOPSIGNAL (IMAGE_BINARIES in lab/prereqs.ts: SIGUSR1 for haproxy, SIGQUIT for
   * nginx), else SIGTERM.
   */
  stopSignalOf(nameOrHost: string): NodeJS.Signals {
    const { spec } = this.container(nameOrHost);
    return spec.stopSignal ?? IMAGE_BINARIES.find((i) => i.match.test(spec.image))?.stopSignal ?? "SIGTERM";
  }

  /**
   * The processes of a running container (`docker top`): every process in its PID
   * namespace, by host PID (with its start time, so a signal never reaches a reused
   * PID: signalRef), command name and parent.
   */
  processes(nameOrHost: string): { ref: ProcRef; comm: string; ppid: number }[] {
    const { spec, state: cs } = this.container(nameOrHost);
    if (!alive(cs.init)) throw new Error(`${spec.hostname} is not running`);
    const nsOf = (pid: number | string) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/pid`);
      } catch {
        return undefined;
      }
    };
    const own = nsOf(cs.init!.pid);
    const out: { ref: ProcRef; comm: string; ppid: number }[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry) || nsOf(entry) !== own) continue;
      const ref = procRef(Number(entry));
      const stat = procStat(Number(entry));
      let comm = "";
      try {
        comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      } catch {
        continue;
      }
      if (ref && stat) out.push({ ref, comm, ppid: stat.ppid });
    }
    return out;
  }

  /**
   * `docker kill --signal`, but to every process of the container (its PID
   * namespace), not only PID 1, as `docker pause` freezes a container's cgroup:
   * SIGSTOP freezes the whole container with its connections open (a hung node),
   * SIGCONT thaws it. Returns the processes the signal reached, each by its PID
   * and start time (signalRef): thaw exactly those with `signalRef(p.ref,
   * "SIGCONT")`, so a later signal never reaches a reused PID.
   */
  signalContainer(nameOrHost: string, signal: NodeJS.Signals): { ref: ProcRef; comm: string; ppid: number }[] {
    return this.processes(nameOrHost).filter((p) => signalRef(p.ref, signal));
  }

  /** `docker stop`: the stop signal (stopSignalOf), then SIGKILL after the container's stop_timeout. */
  async stop(nameOrHost: string): Promise<StopResult> {
    const { spec, state: cs } = this.container(nameOrHost);
    const signal = this.stopSignalOf(spec.name);
    const started = Date.now();
    // Its sidecars are stopped with it, at the same moment (each with its own stop signal and timeout); the result is the container's own.
    const sidecars = Promise.all(
      this.sidecarsOf(spec.name)
        .filter((sc) => this.isUp(sc))
        .map((sc) => this.stop(sc)),
    );
    signalRef(cs.init, signal);
    const exited = await waitUntil(`${spec.hostname} to stop`, () => !alive(cs.init), { timeoutMs: spec.stopTimeoutSeconds * 1000, intervalMs: 50 }).then(
      () => true,
      () => false,
    );
    const ms = Date.now() - started;
    await sidecars;
    await this.kill(spec.name);
    return { signal, ms, killed: !exited };
  }

  /** `docker restart`: stop, then start. */
  async restart(nameOrHost: string): Promise<void> {
    await this.stop(nameOrHost);
    await this.startContainer(nameOrHost);
  }

  /** Runs a command inside a running container (its mount, UTS, network and PID namespaces, its root). */
  exec(nameOrHost: string, command: string[], opts: { timeoutMs?: number; input?: string; check?: boolean } = {}): CmdResult {
    const { spec, state: cs } = this.container(nameOrHost);
    if (!alive(cs.init)) throw new Error(`${spec.hostname} is not running`);
    return sh("nsenter", ["-t", String(cs.init!.pid), "-m", "-u", "-n", "-p", "-r", "-w", "--", ...command], {
      timeoutMs: opts.timeoutMs ?? 20_000,
      input: opts.input,
      check: opts.check ?? true,
      env: this.containerEnv(spec),
    });
  }

  /** Like exec, without blocking the event loop: resolves when the command ends, SIGKILLed after `timeoutMs`. */
  execAsync(nameOrHost: string, command: string[], opts: { timeoutMs: number }): Promise<AsyncCmdResult> {
    const { spec, state: cs } = this.container(nameOrHost);
    if (!alive(cs.init)) throw new Error(`${spec.hostname} is not running`);
    return new Promise((resolve) => {
      execFile(
        "nsenter",
        ["-t", String(cs.init!.pid), "-m", "-u", "-n", "-p", "-r", "-w", "--", ...command],
        { timeout: opts.timeoutMs, killSignal: "SIGKILL", maxBuffer: 8 << 20, env: this.containerEnv(spec) },
        (error, stdout, stderr) => {
          resolve({
            status: error ? (typeof error.code === "number" ? error.code : null) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
            error: error?.message,
          });
        },
      );
    });
  }

  /** Runs a host command inside a container's network namespace only (the host's files). */
  netExec(nameOrHost: string, command: string[], opts: { timeoutMs?: number; check?: boolean } = {}): CmdResult {
    return sh("ip", ["netns", "exec", this.netnsOf(nameOrHost), ...command], { timeoutMs: opts.timeoutMs ?? 20_000, check: opts.check ?? false });
  }

  /**
   * Like netExec, without blocking the event loop: resolves when the command ends,
   * SIGKILLed after `timeoutMs`. `onStdout` sees the output as it arrives.
   */
  netSpawn(
    nameOrHost: string,
    command: string[],
    opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; onStdout?: (chunk: string) => void },
  ): Promise<AsyncCmdResult> {
    return this.netnsSpawn(this.netnsOf(nameOrHost), command, opts);
  }

  /** The network namespace of a container (hostname or name) or of an attached namespace (attach). */
  netnsOf(nameOrHost: string): string {
    const cl = this.requireState().clients?.[nameOrHost];
    return cl ? cl.netns : this.container(nameOrHost).state.netns;
  }

  /** Like netSpawn, in a namespace of this lab given by its name (`hwl-<instance>-...`). */
  netnsSpawn(
    netns: string,
    command: string[],
    opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; onStdout?: (chunk: string) => void },
  ): Promise<AsyncCmdResult> {
    if (!this.requireState().netns.includes(netns)) throw new Error(`${netns} is not a namespace of this lab`);
    return new Promise((resolve) => {
      const child = execFile(
        "ip",
        ["netns", "exec", netns, ...command],
        { timeout: opts.timeoutMs, killSignal: "SIGKILL", maxBuffer: 8 << 20, env: opts.env ?? process.env },
        (error, stdout, stderr) => {
          resolve({
            status: error ? (typeof error.code === "number" ? error.code : null) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
            error: error?.message,
          });
        },
      );
      if (opts.onStdout) child.stdout?.on("data", (d) => opts.onStdout!(String(d)));
    });
  }

  /** HTTP GET from inside a container's network namespace (bounded; does not block the event loop). */
  async nsHttpGet(nameOrHost: string, url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
    const script = `const u=process.argv[1];require("http").get(u,{timeout:${timeoutMs}},r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>{process.stdout.write(JSON.stringify({status:r.statusCode,body:b}))})}).on("error",e=>{process.stdout.write(JSON.stringify({status:0,body:e.message}))}).on("timeout",function(){this.destroy(new Error("timeout"))})`;
    const r = await this.netSpawn(nameOrHost, [process.execPath, "-e", script, url], { timeoutMs: timeoutMs + 3000 });
    try {
      return JSON.parse(r.stdout) as { status: number; body: string };
    } catch {
      return { status: 0, body: r.error ?? r.stderr };
    }
  }

  /** The command of a container's healthcheck.test (CMD, CMD-SHELL), undefined when it has none (or NONE). */
  private healthCommand(spec: LabContainer): string[] | undefined {
    const hc = spec.healthcheck;
    if (!hc || hc.test[0] === "NONE") return undefined;
    return hc.test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", hc.test[1]] : hc.test[0] === "CMD" ? hc.test.slice(1) : hc.test;
  }

  /** The container's healthcheck.test, run once inside it. */
  healthy(nameOrHost: string): boolean {
    const { spec } = this.container(nameOrHost);
    if (!this.isUp(spec.name)) return false;
    const cmd = this.healthCommand(spec);
    if (!cmd) return true;
    try {
      return this.exec(spec.name, cmd, { timeoutMs: spec.healthcheck!.timeoutMs, check: false }).status === 0;
    } catch {
      return false;
    }
  }

  /**
   * Like healthy, without blocking the event loop (waitHealthy runs the checks of several containers side by
   * side). A check that outlives its timeout is SIGKILLed with everything it started (its process group:
   * nsenter's child in the container and the check's own processes), so slow checks never pile up.
   */
  healthyAsync(nameOrHost: string): Promise<boolean> {
    const { spec, state: cs } = this.container(nameOrHost);
    if (!alive(cs.init)) return Promise.resolve(false);
    const cmd = this.healthCommand(spec);
    if (!cmd) return Promise.resolve(true);
    return new Promise((resolve) => {
      const child = spawn("nsenter", ["-t", String(cs.init!.pid), "-m", "-u", "-n", "-p", "-r", "-w", "--", ...cmd], {
        detached: true,
        stdio: "ignore",
        env: this.containerEnv(spec),
      });
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // Already gone.
        }
      }, spec.healthcheck!.timeoutMs);
      child.on("error", () => {
        clearTimeout(timer);
        resolve(false);
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
    });
  }

  /**
   * Polls the health checks of `names` until all pass; fails early if one exits. Returns the time it took.
   * Each container is polled on its own (HEALTH_POLL_MS after its last check ended), side by side: one
   * slow check (an exporter waiting out its timeout for a database still starting) delays no other.
   */
  async waitHealthy(names: string[], timeoutMs: number): Promise<number> {
    const started = Date.now();
    const pending = new Set(names.map((n) => this.container(n).spec.name));
    let failed = false;
    // A turn to run a check: at most HEALTH_CHECKS_AT_ONCE at a time, first come first served.
    let running = 0;
    const queue: (() => void)[] = [];
    const check = async (n: string): Promise<boolean> => {
      if (running < HEALTH_CHECKS_AT_ONCE) running++;
      else await new Promise<void>((r) => queue.push(r));
      try {
        return await this.healthyAsync(n);
      } finally {
        // The turn goes straight to the next in line, else it is free.
        const next = queue.shift();
        if (next) next();
        else running--;
      }
    };
    const attempts = Math.ceil(timeoutMs / HEALTH_POLL_MS) + 1;
    const poll = async (n: string) => {
      const { hostname } = this.container(n).spec;
      for (let i = 0; i < attempts && !failed && Date.now() - started <= timeoutMs; i++) {
        if (!this.isUp(n)) {
          const log = this.logFile(hostname);
          throw new Error(`${n} exited while starting; see ${log}:\n${tail(log, 15)}`);
        }
        if (await check(n)) {
          pending.delete(n);
          this.log(`  ${hostname} healthy after ${((Date.now() - started) / 1000).toFixed(1)} s`);
          return;
        }
        await sleep(HEALTH_POLL_MS);
      }
      if (!failed) throw new Error(`timed out after ${timeoutMs} ms waiting for health of ${[...pending].join(", ")}`);
    };
    try {
      await Promise.all([...pending].map((n) => poll(n)));
    } finally {
      // A failure ends the other polls at their next turn.
      failed = true;
    }
    return Date.now() - started;
  }

  // ---------------------------------------------------------------- down

  /** Removes exactly what the state file records: processes (by PID and start time), namespaces (by name), then the state dir. */
  async down(): Promise<string[]> {
    const s = this.state;
    if (s) requireRoot();
    const removed: string[] = [];
    if (!s) return removed;
    for (const c of Object.values(s.containers).reverse()) {
      if (alive(c.init) || alive(c.proc)) {
        signalRef(c.init, "SIGKILL");
        signalRef(c.proc, "SIGKILL");
        removed.push(`process ${c.hostname} (pid ${c.proc?.pid})`);
      }
      for (const f of c.forwarders) if (signalRef(f, "SIGKILL")) removed.push(`port forwarder 127.0.0.1:${f.external} (pid ${f.pid})`);
      if (signalRef(c.dns, "SIGKILL")) removed.push(`dnsmasq ${c.hostname} (pid ${c.dns?.pid})`);
    }
    const refs = Object.values(s.containers).flatMap((c) => [c.init, c.proc, c.dns, ...c.forwarders]);
    await waitUntil("lab processes to exit", () => refs.every((r) => !alive(r)), { timeoutMs: 15_000, intervalMs: 50 });
    const existing = new Set(listNetns());
    // Anything else still inside one of this lab's namespaces was started by this lab too
    // (a crash between spawn and the state write): `ip netns pids` finds it by namespace.
    for (const n of s.netns.filter((x) => existing.has(x))) {
      for (const pid of sh("ip", ["netns", "pids", n], { check: false }).stdout.split("\n").filter(Boolean).map(Number)) {
        const ref = procRef(pid);
        if (ref && signalRef(ref, "SIGKILL")) removed.push(`process ${pid} found in netns ${n}`);
      }
    }
    const stray = s.netns
      .filter((x) => existing.has(x))
      .flatMap((n) =>
        sh("ip", ["netns", "pids", n], { check: false })
          .stdout.split("\n")
          .filter(Boolean)
          .map((p) => procRef(Number(p))),
      );
    await waitUntil("processes in the lab's namespaces to exit", () => stray.every((r) => !alive(r)), { timeoutMs: 10_000, intervalMs: 50 });
    for (const n of [...s.netns].reverse()) {
      if (!existing.has(n)) continue;
      sh("ip", ["netns", "delete", n]);
      removed.push(`netns ${n}`);
    }
    rmSync(this.stateDir, { recursive: true, force: true });
    this.state = undefined;
    return removed;
  }

  // ---------------------------------------------------------------- queries

  /** The recorded state; throws if no lab is up. */
  requireState(): LabState {
    if (!this.state) throw new Error(`no lab is running (no ${this.stateFile}): run \`npm run lab -- up\``);
    return this.state;
  }

  /** `<scheme>://127.0.0.1:<external>` of the port a container publishes for `internal`. */
  publishedUrl(nameOrHost: string, internal: number, scheme = "http"): string {
    const s = this.requireState();
    const { spec } = this.container(nameOrHost);
    const p = spec.ports.find((x) => x.internal === internal);
    if (!p) throw new Error(`${spec.hostname} publishes no port for ${internal} (it publishes ${spec.ports.map((x) => x.internal).join(", ") || "none"})`);
    return `${scheme}://127.0.0.1:${p.external + s.portOffset}`;
  }

  /** Every container: running, healthy (its health check run now), addresses, published ports. */
  status(): ContainerStatus[] {
    const s = this.requireState();
    return s.plan.containers.map((c) => {
      const cs = s.containers[c.name];
      const running = this.isUp(c.name);
      return {
        name: c.name,
        hostname: c.hostname,
        running,
        healthy: running && this.healthy(c.name),
        addresses: this.addressesOf(c.name),
        ports: cs.forwarders.map((f) => `127.0.0.1:${f.external}->${f.internal}${alive(f) ? "" : " (forwarder dead)"}`),
        pid: cs.init?.pid,
      };
    });
  }
}
