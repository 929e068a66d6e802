/**
 * The lab: runs a synthesized Docker stack on this machine, as root, with the
 * host's binaries standing in for the images.
 *
 *  - one "switch" network namespace holds one Linux bridge per docker_network,
 *    so no interface is ever added to the host's own namespace;
 *  - one network namespace per container, one veth per attached network
 *    (eth0, eth1, ... in network order), a static address in 10.231.<n>.0/24;
 *  - per container: a private mount, UTS and PID namespace; the root file
 *    system is an overlay (lower = the host's /, upper = the container's own
 *    writable layer, kept across kill/start like Docker's); uploads, /etc/hosts,
 *    /etc/resolv.conf and /etc/hostname are written into that layer; named
 *    volumes are directories bind-mounted at their container_path;
 *  - a dnsmasq per container network namespace on 127.0.0.11 answering the
 *    names and aliases of the containers on the networks it shares (Docker's
 *    embedded DNS);
 *  - published ports: a listening socket on the host's 127.0.0.1, handed to a
 *    small Node forwarder that runs inside the container's network namespace.
 *
 * Everything created is recorded in a state file before it is created, so
 * `down` removes exactly that, also after a crash.
 */
import { execFile, spawn } from "child_process";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "fs";
import * as net from "net";
import { dirname, join } from "path";
import { LabContainer, LabPlan, loadPlan } from "./spec";
import { checkPrereqs, prereqMessage } from "./prereqs";
import { alive, childPids, CmdResult, procRef, ProcRef, sh, signalRef, sleep, waitUntil } from "./sys";

export const STATE_VERSION = 1;

export interface NetworkState { name: string; internal: boolean; bridge: string; subnet: string; prefix: string }
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
  forwarders: (ProcRef & { external: number; internal: number })[];
  created: boolean;
  startedAt?: string;
  stoppedAt?: string;
  /** How the container's `user` was mapped onto this host. */
  runAs: { uid: number; gid: number; name: string; note?: string };
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
}

export interface LabOptions {
  /** Short id (letters/digits, at most 4) in every namespace name: two labs can coexist. @default "a" */
  instance?: string;
  /** Where the state file, logs, container layers and volumes live. @default <repo>/.lab/<instance> */
  stateDir?: string;
  /** Added to every published host port (tests avoid clashing with a running `lab up`). @default 0 */
  portOffset?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const FORWARDER_SOURCE = `
const net = require("net");
const host = process.argv[1], port = Number(process.argv[2]);
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ host, port, allowHalfOpen: true });
  client.setNoDelay(true); upstream.setNoDelay(true);
  const end = () => { client.destroy(); upstream.destroy(); };
  client.on("error", end); upstream.on("error", end);
  client.on("close", end); upstream.on("close", end);
  client.pipe(upstream); upstream.pipe(client);
});
server.on("error", (e) => { console.error("forwarder:", e.message); process.exit(1); });
server.listen({ fd: 3 }, () => console.error("forwarding to " + host + ":" + port));
process.on("SIGTERM", () => process.exit(0));
`;

export function repoRoot(): string {
  // lab/ (ts-jest) or dist-lab/lab/ (compiled)
  for (const candidate of [join(__dirname, ".."), join(__dirname, "..", "..")]) {
    if (existsSync(join(candidate, "package.json")) && existsSync(join(candidate, "lab"))) return candidate;
  }
  return process.cwd();
}

export class Lab {
  readonly instance: string;
  readonly stateDir: string;
  readonly portOffset: number;
  private readonly log: (line: string) => void;
  state?: LabState;

  constructor(opts: LabOptions = {}) {
    this.instance = opts.instance ?? "a";
    if (!/^[a-z0-9]{1,4}$/.test(this.instance)) throw new Error(`instance "${this.instance}": use 1-4 lower-case letters or digits`);
    this.stateDir = opts.stateDir ?? join(repoRoot(), ".lab", this.instance);
    this.portOffset = opts.portOffset ?? 0;
    this.log = opts.log ?? (() => undefined);
    this.state = this.readState();
  }

  get stateFile(): string {
    return join(this.stateDir, "state.json");
  }

  private readState(): LabState | undefined {
    if (!existsSync(this.stateFile)) return undefined;
    const s = JSON.parse(readFileSync(this.stateFile, "utf8")) as LabState;
    if (s.version !== STATE_VERSION) throw new Error(`${this.stateFile}: state version ${s.version}, expected ${STATE_VERSION}`);
    return s;
  }

  private save(): void {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1), { mode: 0o600 }); // holds the generated passwords
    renameSync(tmp, this.stateFile);
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

  async up(stackFile: string, opts: { owner?: number; healthTimeoutMs?: number } = {}): Promise<LabState> {
    requireRoot();
    if (this.state) {
      if (this.isRunning() && !this.isStale()) {
        throw new Error(`a lab is already running (instance "${this.instance}", state ${this.stateFile}, created ${this.state.createdAt}): run \`npm run lab -- down\` first`);
      }
      this.log(`removing the remains of an earlier lab recorded in ${this.stateFile}`);
      await this.down();
    }
    const early = checkPrereqs([]);
    if (!early.ok) throw new Error(prereqMessage(early));
    const plan = loadPlan(stackFile);
    const report = checkPrereqs(plan.containers.map((c) => c.image));
    if (!report.ok) throw new Error(prereqMessage(report));
    for (const c of plan.containers) for (const p of c.ports) await assertPortFree(p.external + this.portOffset);
    for (const c of plan.containers) {
      if (c.entrypoint.length + c.command.length === 0) throw new Error(`${c.name}: neither entrypoint nor command is set; the lab has no image default to fall back on`);
      if (c.hostname.length > 40) throw new Error(`${c.name}: hostname too long for a namespace name`);
    }

    const owner = opts.owner ? procRef(opts.owner) : undefined;
    this.state = {
      version: STATE_VERSION, instance: this.instance, stateDir: this.stateDir, createdAt: new Date().toISOString(),
      owner, netns: [], networks: [], volumes: [], containers: {}, plan, portOffset: this.portOffset,
    };
    rmSync(this.stateDir, { recursive: true, force: true });
    this.save();
    mkdirSync(join(this.stateDir, "logs"), { recursive: true });
    const s = this.state;

    // Networks: bridges inside the switch namespace.
    s.switchNetns = `hwl-${this.instance}-sw`;
    this.addNetns(s.switchNetns);
    plan.networks.forEach((n, i) => {
      if (i > 250) throw new Error("too many networks");
      const bridge = `hwlbr${i}`;
      s.networks.push({ name: n.name, internal: n.internal, bridge, subnet: `10.231.${i}.0/24`, prefix: `10.231.${i}` });
      this.save();
      sh("ip", ["-n", s.switchNetns!, "link", "add", bridge, "type", "bridge"]);
      sh("ip", ["-n", s.switchNetns!, "link", "set", bridge, "up"]);
    });
    // Volumes: directories that outlive a container restart.
    for (const v of plan.volumes) {
      const dir = join(this.stateDir, "volumes", v.name);
      s.volumes.push({ name: v.name, dir });
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    }
    this.save();
    // Containers: namespace, interfaces, DNS.
    plan.containers.forEach((c, ci) => {
      const netns = `hwl-${this.instance}-${c.hostname}`;
      const cs: ContainerState = {
        name: c.name, hostname: c.hostname, netns, dir: join(this.stateDir, "containers", c.name), addresses: {}, forwarders: [], created: false,
        runAs: mapUser(c.user),
      };
      s.containers[c.name] = cs;
      this.addNetns(netns);
      sh("ip", ["-n", netns, "addr", "add", "127.0.0.11/32", "dev", "lo"]);
      c.networks.forEach((attachment, ni) => {
        const nw = s.networks.find((n) => n.name === attachment.network)!;
        const address = `${nw.prefix}.${10 + ci}`;
        cs.addresses[nw.name] = address;
        const outer = `hwl${ci}n${ni}`;
        sh("ip", ["-n", s.switchNetns!, "link", "add", outer, "type", "veth", "peer", "name", `eth${ni}`, "netns", netns]);
        sh("ip", ["-n", s.switchNetns!, "link", "set", outer, "master", nw.bridge, "up"]);
        sh("ip", ["-n", netns, "addr", "add", `${address}/24`, "dev", `eth${ni}`]);
        sh("ip", ["-n", netns, "link", "set", `eth${ni}`, "up"]);
      });
      // Docker (20.10+) sets this in every container network namespace by default.
      const sysctls: Record<string, string> = { "net.ipv4.ip_unprivileged_port_start": "0", ...c.sysctls };
      for (const [key, value] of Object.entries(sysctls)) {
        if (!key.startsWith("net.")) throw new Error(`${c.name}: sysctl ${key} is not namespaced per network namespace; the lab cannot apply it`);
        sh("ip", ["netns", "exec", netns, "sysctl", "-q", "-w", `${key}=${value}`]);
      }
      this.save();
    });
    for (const c of plan.containers) this.startDns(c);
    this.save();

    // Start in depends_on order (Terraform creates a container once its dependencies are created and running).
    for (const c of plan.containers) {
      await this.startContainer(c.name);
    }
    for (const c of plan.containers) for (const p of c.ports) await this.startForwarder(c, p);
    this.save();
    await this.waitHealthy(plan.containers.map((c) => c.name), opts.healthTimeoutMs ?? 180_000);
    return s;
  }

  private addNetns(name: string) {
    this.state!.netns.push(name);
    this.save();
    sh("ip", ["netns", "add", name]);
    sh("ip", ["-n", name, "link", "set", "lo", "up"]);
  }

  /** The names a container can resolve: every member (name and aliases) of every network it is on. */
  dnsHosts(c: LabContainer): string {
    const s = this.state!;
    const lines: string[] = [];
    for (const attachment of c.networks) {
      for (const peer of s.plan.containers) {
        const on = peer.networks.find((n) => n.network === attachment.network);
        if (!on) continue;
        const address = s.containers[peer.name].addresses[attachment.network];
        lines.push(`${address} ${[...new Set([...on.aliases, peer.name])].join(" ")}`);
      }
    }
    return lines.join("\n") + "\n";
  }

  private startDns(c: LabContainer) {
    const cs = this.state!.containers[c.name];
    mkdirSync(cs.dir, { recursive: true });
    const hostsFile = join(cs.dir, "dns.hosts");
    writeFileSync(hostsFile, this.dnsHosts(c));
    const logFd = openSync(join(this.stateDir, "logs", `${c.hostname}.dns.log`), "a");
    const child = spawn("ip", ["netns", "exec", cs.netns, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", `--addn-hosts=${hostsFile}`,
      "--listen-address=127.0.0.11", "--bind-interfaces", "--user=root", "--group=root", "--pid-file=", "--local=/#/", "--log-facility=-", "--cache-size=0"], {
      detached: true, stdio: ["ignore", logFd, logFd],
    });
    closeSync(logFd);
    child.unref();
    cs.dns = procRef(child.pid!);
  }

  private async startForwarder(c: LabContainer, p: LabContainer["ports"][number]) {
    const cs = this.state!.containers[c.name];
    const external = p.external + this.portOffset;
    const firstPublic = c.networks.find((n) => !this.state!.networks.find((x) => x.name === n.network)!.internal) ?? c.networks[0];
    const target = firstPublic ? cs.addresses[firstPublic.network] : "127.0.0.1";
    // Only loopback: whatever the JSON says, the lab never listens on the host's real interfaces.
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port: external, exclusive: true }, () => resolve());
    });
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const logFd = openSync(join(this.stateDir, "logs", `${c.hostname}.port-${external}.log`), "a");
    const child = spawn("ip", ["netns", "exec", cs.netns, process.execPath, "-e", FORWARDER_SOURCE, target, String(p.internal)], {
      detached: true, stdio: ["ignore", logFd, logFd, fd],
    });
    closeSync(logFd);
    child.unref();
    const ref = procRef(child.pid!);
    if (ref) cs.forwarders.push({ ...ref, external, internal: p.internal });
    this.save();
    // Give the child a moment to take the socket over before the parent closes its copy.
    await sleep(150);
    server.close();
  }

  // ---------------------------------------------------------------- containers

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

  async startContainer(nameOrHost: string): Promise<void> {
    const { spec: c, state: cs } = this.container(nameOrHost);
    if (this.isUp(c.name)) throw new Error(`${c.hostname} is already running`);
    const upper = join(cs.dir, "upper");
    const work = join(cs.dir, "work");
    const root = join(cs.dir, "root");
    for (const d of [upper, work, root]) mkdirSync(d, { recursive: true, mode: 0o755 });
    if (!cs.created) {
      // Docker copies uploads into the container when it is created.
      for (const u of c.uploads) {
        const target = join(upper, u.file);
        mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
        if (u.sourcePath) copyFileSync(u.sourcePath, target);
        else writeFileSync(target, u.content ?? "");
        chmodSync(target, u.executable ? 0o755 : 0o644);
      }
      cs.created = true;
    }
    // Docker writes these on every start.
    mkdirSync(join(upper, "etc"), { recursive: true, mode: 0o755 });
    const ownAddresses = Object.values(cs.addresses);
    writeFileSync(join(upper, "etc", "hosts"), `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${ownAddresses.map((a) => `${a}\t${c.hostname}`).join("\n")}\n`);
    writeFileSync(join(upper, "etc", "resolv.conf"), "nameserver 127.0.0.11\noptions ndots:0\n");
    writeFileSync(join(upper, "etc", "hostname"), `${c.hostname}\n`);

    const q = shellQuote;
    const lines = [
      "set -e",
      `R=${q(root)}`,
      `mount -t overlay overlay -o ${q(`lowerdir=/,upperdir=${upper},workdir=${work}`)} "$R"`,
      'mount --rbind /dev "$R/dev"',
      'mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"',
      'mount -t proc proc "$R/proc"',
      'mount --rbind /sys "$R/sys"',
      'mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"',
      'mount -t tmpfs -o mode=755 tmpfs "$R/run"',
    ];
    for (const v of c.volumes) {
      const vol = this.state!.volumes.find((x) => x.name === v.volume)!;
      lines.push(`mkdir -p "$R"${q(v.containerPath)}`, `mount --bind ${q(vol.dir)} "$R"${q(v.containerPath)}`);
      if (v.readOnly) lines.push(`mount -o remount,bind,ro "$R"${q(v.containerPath)}`);
    }
    lines.push(`hostname ${q(c.hostname)}`);
    const userspec = cs.runAs.uid === 0 ? "" : `--userspec=${cs.runAs.uid}:${cs.runAs.gid} --groups=${cs.runAs.gid} `;
    lines.push(`exec chroot ${userspec}"$R" "$@"`);

    const logFd = openSync(join(this.stateDir, "logs", `${c.hostname}.log`), "a");
    writeFileSync(join(this.stateDir, "logs", `${c.hostname}.log`), `--- ${new Date().toISOString()} lab: starting ${c.name}\n`, { flag: "a" });
    const child = spawn("ip", ["netns", "exec", cs.netns, "unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--propagation", "private", "--",
      "/bin/sh", "-c", lines.join("\n"), "sh", ...c.entrypoint, ...c.command], {
      detached: true, stdio: ["ignore", logFd, logFd], env: this.containerEnv(c),
    });
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
    if (!cs.init) throw new Error(`${c.hostname}: the container process did not start (see ${this.logFile(c.hostname)})`);
  }

  logFile(hostname: string): string {
    return join(this.stateDir, "logs", `${hostname}.log`);
  }

  containerEnv(c: LabContainer): NodeJS.ProcessEnv {
    const cs = this.state!.containers[c.name];
    const env: NodeJS.ProcessEnv = { PATH: DEFAULT_PATH, HOSTNAME: c.hostname, HOME: cs.runAs.uid === 0 ? "/root" : "/nonexistent" };
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
    signalRef(cs.init, "SIGKILL");
    await waitUntil(`${spec.hostname} to exit`, () => !alive(cs.init), { timeoutMs: 10_000, intervalMs: 20 }).catch(() => signalRef(cs.proc, "SIGKILL"));
    await waitUntil(`${spec.hostname}'s namespace holder to exit`, () => !alive(cs.proc), { timeoutMs: 5_000, intervalMs: 20 }).catch(() => {
      signalRef(cs.proc, "SIGKILL");
    });
    if (alive(cs.init) || alive(cs.proc)) throw new Error(`${spec.hostname} survived SIGKILL (pid ${cs.init?.pid}/${cs.proc?.pid})`);
    cs.stoppedAt = new Date().toISOString();
    this.save();
  }

  /** `docker stop`: SIGTERM, then SIGKILL after the container's stop_timeout. */
  async stop(nameOrHost: string): Promise<void> {
    const { spec, state: cs } = this.container(nameOrHost);
    signalRef(cs.init, "SIGTERM");
    await waitUntil(`${spec.hostname} to stop`, () => !alive(cs.init), { timeoutMs: spec.stopTimeoutSeconds * 1000, intervalMs: 100 }).catch(() => undefined);
    await this.kill(spec.name);
  }

  async restart(nameOrHost: string): Promise<void> {
    await this.stop(nameOrHost);
    await this.startContainer(nameOrHost);
  }

  /** Runs a command inside a running container (its mount, UTS, network and PID namespaces, its root). */
  exec(nameOrHost: string, command: string[], opts: { timeoutMs?: number; input?: string; check?: boolean } = {}): CmdResult {
    const { spec, state: cs } = this.container(nameOrHost);
    if (!alive(cs.init)) throw new Error(`${spec.hostname} is not running`);
    return sh("nsenter", ["-t", String(cs.init!.pid), "-m", "-u", "-n", "-p", "-r", "-w", "--", ...command], {
      timeoutMs: opts.timeoutMs ?? 20_000, input: opts.input, check: opts.check ?? true, env: this.containerEnv(spec),
    });
  }

  /** Runs a host command inside a container's network namespace only (the host's files). */
  netExec(nameOrHost: string, command: string[], opts: { timeoutMs?: number; check?: boolean } = {}): CmdResult {
    const { state: cs } = this.container(nameOrHost);
    return sh("ip", ["netns", "exec", cs.netns, ...command], { timeoutMs: opts.timeoutMs ?? 20_000, check: opts.check ?? false });
  }

  /** The container's healthcheck.test, run once inside it. */
  healthy(nameOrHost: string): boolean {
    const { spec } = this.container(nameOrHost);
    if (!this.isUp(spec.name)) return false;
    const hc = spec.healthcheck;
    if (!hc || hc.test[0] === "NONE") return true;
    const cmd = hc.test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", hc.test[1]] : hc.test[0] === "CMD" ? hc.test.slice(1) : hc.test;
    try {
      return this.exec(spec.name, cmd, { timeoutMs: hc.timeoutMs, check: false }).status === 0;
    } catch {
      return false;
    }
  }

  async waitHealthy(names: string[], timeoutMs: number): Promise<number> {
    const started = Date.now();
    const pending = new Set(names.map((n) => this.container(n).spec.name));
    await waitUntil(`health of ${[...pending].join(", ")}`, () => {
      for (const n of [...pending]) {
        if (!this.isUp(n)) throw new Error(`${n} exited while starting; see ${this.logFile(this.container(n).spec.hostname)}:\n${tail(this.logFile(this.container(n).spec.hostname), 15)}`);
        if (this.healthy(n)) {
          pending.delete(n);
          this.log(`  ${this.container(n).spec.hostname} healthy after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
      }
      return pending.size === 0;
    }, { timeoutMs, intervalMs: 500 });
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
    const stray = s.netns.filter((x) => existing.has(x)).flatMap((n) => sh("ip", ["netns", "pids", n], { check: false }).stdout.split("\n").filter(Boolean).map((p) => procRef(Number(p))));
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

  requireState(): LabState {
    if (!this.state) throw new Error(`no lab is running (no ${this.stateFile}): run \`npm run lab -- up\``);
    return this.state;
  }

  /** http://127.0.0.1:<port> of the first published port. */
  entryUrl(): string {
    const s = this.requireState();
    for (const c of s.plan.containers) for (const p of c.ports) return `http://127.0.0.1:${p.external + s.portOffset}`;
    throw new Error("the stack publishes no port");
  }

  /** Role of each container, from the stack itself (its image and the app's writer/reader env). */
  roles(): Record<string, string> {
    const s = this.requireState();
    const writers = new Set<string>();
    const readers = new Set<string>();
    for (const c of s.plan.containers) {
      for (const kv of c.env) {
        const [k, v] = [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)];
        if (k === "DB_WRITER_HOST") writers.add(v.split(":")[0]);
        if (k === "DB_READER_HOSTS") v.split(",").filter(Boolean).forEach((h) => readers.add(h.split(":")[0]));
      }
    }
    const out: Record<string, string> = {};
    for (const c of s.plan.containers) {
      const aliases = new Set([c.hostname, ...c.networks.flatMap((n) => n.aliases)]);
      const software = c.image.split(":")[0].split("/").pop();
      let role = { haproxy: "load balancer (HAProxy)", nginx: "web (Nginx)", node: "app server (Node.js)", mariadb: "database (MariaDB)", mysql: "database (MySQL)" }[software ?? ""] ?? software ?? "?";
      if ([...aliases].some((a) => writers.has(a))) role = "database primary (MariaDB)";
      else if ([...aliases].some((a) => readers.has(a))) role = "database replica (MariaDB)";
      out[c.name] = role;
    }
    return out;
  }

  /** HTTP GET from inside a container's network namespace (bounded; does not block the event loop). */
  nsHttpGet(nameOrHost: string, url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
    const { state: cs } = this.container(nameOrHost);
    const script = `const u=process.argv[1];require("http").get(u,{timeout:${timeoutMs}},r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>{process.stdout.write(JSON.stringify({status:r.statusCode,body:b}))})}).on("error",e=>{process.stdout.write(JSON.stringify({status:0,body:e.message}))}).on("timeout",function(){this.destroy(new Error("timeout"))})`;
    return new Promise((resolve) => {
      execFile("ip", ["netns", "exec", cs.netns, process.execPath, "-e", script, url], { timeout: timeoutMs + 3000, killSignal: "SIGKILL", maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout) as { status: number; body: string });
        } catch {
          resolve({ status: 0, body: error?.message ?? stderr });
        }
      });
    });
  }

  /** HAProxy's CSV stats of a load-balancer container (its stats listener, from inside its namespace). */
  async haproxyStats(lbNameOrHost: string, statsPort?: number): Promise<Record<string, string>[]> {
    const port = statsPort ?? this.haproxyCheckTiming(lbNameOrHost).statsPort;
    const r = await this.nsHttpGet(lbNameOrHost, `http://127.0.0.1:${port}/stats;csv`);
    if (r.status !== 200) throw new Error(`HAProxy stats on ${lbNameOrHost}:${port}: ${r.status} ${r.body}`);
    const lines = r.body.trim().split("\n");
    const header = lines[0].replace(/^# /, "").split(",");
    return lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [header[i], v])));
  }

  /**
   * Watches HAProxy's stats from inside the load balancer's namespace (every 25 ms,
   * one long-lived process) until `server` has a status starting with `prefix`.
   * `ready` resolves once the first poll answered; `seenAt` is the wall-clock time
   * (Date.now()) of the first matching poll. Bounded by `timeoutMs`.
   */
  watchServerStatus(lbNameOrHost: string, server: string, prefix: string, timeoutMs: number): { ready: Promise<void>; seenAt: Promise<number> } {
    const { state: cs } = this.container(lbNameOrHost);
    const { statsPort } = this.haproxyCheckTiming(lbNameOrHost);
    const script = `const http=require("http");const [url,server,prefix,ms]=process.argv.slice(1);const end=Date.now()+Number(ms);let first=true;
function poll(){if(Date.now()>end){console.log("timeout");process.exit(2)}
http.get(url,{timeout:1000},r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>{const lines=b.trim().split("\\n");const h=lines[0].replace(/^# /,"").split(",");const px=h.indexOf("pxname"),sv=h.indexOf("svname"),st=h.indexOf("status");
for(const l of lines.slice(1)){const f=l.split(",");if(f[px]!=="stats"&&f[sv]===server&&f[st].startsWith(prefix)){console.log("seen "+Date.now());process.exit(0)}}
if(first){first=false;console.log("ready")}setTimeout(poll,25)})}).on("error",()=>setTimeout(poll,25)).on("timeout",function(){this.destroy()})}
poll();`;
    let out = "";
    let readyResolve: () => void = () => undefined;
    const ready = new Promise<void>((r) => (readyResolve = r));
    const seenAt = new Promise<number>((resolve, reject) => {
      const child = execFile("ip", ["netns", "exec", cs.netns, process.execPath, "-e", script, `http://127.0.0.1:${statsPort}/stats;csv`, server, prefix, String(timeoutMs)], { timeout: timeoutMs + 5000, killSignal: "SIGKILL" }, () => {
        const m = /seen (\d+)/.exec(out);
        readyResolve();
        if (m) resolve(Number(m[1]));
        else reject(new Error(`HAProxy on ${lbNameOrHost} did not report ${server} ${prefix} within ${timeoutMs} ms`));
      });
      child.stdout?.on("data", (d) => {
        out += d;
        if (/ready|seen/.test(out)) readyResolve();
      });
    });
    return { ready, seenAt };
  }

  /** Runs SQL as root over the container's local socket; rows of tab-separated columns. */
  sql(nameOrHost: string, query: string, timeoutMs = 10_000): string[][] {
    const r = this.exec(nameOrHost, ["mariadb", "--user=root", "--batch", "--skip-column-names", "-e", query], { timeoutMs });
    return r.stdout.split("\n").filter((l) => l.length > 0).map((l) => l.split("\t"));
  }

  /** HAProxy health-check timing of a load-balancer container, read from its uploaded config. */
  haproxyCheckTiming(lbNameOrHost: string): { interMs: number; fall: number; rise: number; statsPort: number } {
    const { spec } = this.container(lbNameOrHost);
    const cfg = spec.uploads.find((u) => u.content && /\bbackend\b/.test(u.content) && /\bbalance\b/.test(u.content))?.content;
    if (!cfg) throw new Error(`${spec.hostname} has no HAProxy config among its uploads`);
    const num = (re: RegExp, dflt: number) => {
      const m = re.exec(cfg);
      if (!m) return dflt;
      return Number(m[1]) * (m[2] === "s" ? 1000 : m[2] === "m" ? 60_000 : 1);
    };
    const statsPort = Number(/frontend stats[\s\S]*?bind [^:\n]*:(\d+)/.exec(cfg)?.[1] ?? 8404);
    // HAProxy defaults: inter 2s, fall 3, rise 2 (a bare number is milliseconds).
    return { interMs: num(/\binter (\d+)(ms|s|m)?\b/, 2000), fall: num(/\bfall (\d+)()/, 3), rise: num(/\brise (\d+)()/, 2), statsPort };
  }

  /** status per server of HAProxy backends (UP, DOWN, "UP 1/2", MAINT, ...), plus counters. */
  async backendServers(lbNameOrHost: string): Promise<Record<string, Record<string, string>>> {
    const rows = (await this.haproxyStats(lbNameOrHost)).filter((r) => r.svname !== "FRONTEND" && r.svname !== "BACKEND" && r.pxname !== "stats");
    return Object.fromEntries(rows.map((r) => [r.svname, r]));
  }

  status(): { name: string; hostname: string; role: string; running: boolean; healthy: boolean; addresses: Record<string, string>; ports: string[]; pid?: number }[] {
    const s = this.requireState();
    const roles = this.roles();
    return s.plan.containers.map((c) => {
      const cs = s.containers[c.name];
      const running = this.isUp(c.name);
      return {
        name: c.name, hostname: c.hostname, role: roles[c.name], running, healthy: running && this.healthy(c.name), addresses: cs.addresses,
        ports: cs.forwarders.map((f) => `127.0.0.1:${f.external}->${f.internal}${alive(f) ? "" : " (forwarder dead)"}`), pid: cs.init?.pid,
      };
    });
  }
}

function requireRoot() {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    throw new Error("the lab must run as root: it creates network namespaces, bridges and mounts (run it with sudo)");
  }
}

function mapUser(user: string): ContainerState["runAs"] {
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

export function listNetns(): string[] {
  const r = sh("ip", ["netns", "list"], { check: false });
  return r.stdout.split("\n").map((l) => l.split(" ")[0]).filter(Boolean);
}

async function assertPortFree(port: number): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => reject(new Error(`127.0.0.1:${port} is already in use (${e.code}): stop whatever listens there (another lab? \`npm run lab -- status\`) or set a port offset`)));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve());
  });
  await new Promise<void>((r) => server.close(() => r()));
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
