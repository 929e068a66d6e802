/**
 * The runner: runs a synthesized Docker stack on this machine, as root, with the
 * host's binaries standing in for the images. It knows containers, networks,
 * volumes, ports and health checks, and nothing about what runs in them (what a
 * container is for is read from its labels by lab/stack.ts).
 *
 *  - one "switch" network namespace holds one Linux bridge per docker_network,
 *    so no interface is ever added to the host's own namespace;
 *  - one network namespace per container, one veth per attached network
 *    (eth0, eth1, ... in network order), a static address in 10.231.<n>.0/24;
 *  - per container: private mount, UTS and PID namespaces and an overlay root
 *    (lab/rootfs.ts); a dnsmasq as Docker's embedded DNS (lab/dns.ts); published
 *    ports forwarded from the host's 127.0.0.1 (lab/forwarder.ts).
 *
 * Everything created is recorded in a state file before it is created
 * (lab/state.ts), so `down` removes exactly that, also after a crash.
 */
import { execFile, spawn } from "child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { dnsHosts, startDns } from "./dns";
import { startForwarder } from "./forwarder";
import { assertPortFree, listNetns, mapUser, repoRoot, requireRoot, tail } from "./host";
import { checkPrereqs, IMAGE_BINARIES, prereqMessage } from "./prereqs";
import { layerDirs, startScript, writeEtcFiles, writeUploads } from "./rootfs";
import { LabContainer, LabPlan, loadPlan } from "./spec";
import { ContainerState, LabState, readState, stateFileOf, STATE_VERSION, writeState } from "./state";
import { alive, catchesSignal, childPids, CmdResult, procRef, sh, signalRef, sleep, waitUntil } from "./sys";

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
    const plan = loadPlan(stackFile);
    const report = checkPrereqs(plan.containers.map((c) => c.image));
    if (!report.ok) throw new Error(prereqMessage(report));
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
    };
    rmSync(this.stateDir, { recursive: true, force: true });
    this.save();
    mkdirSync(join(this.stateDir, "logs"), { recursive: true });
    this.createNetworks(plan);
    this.createVolumes(plan);
    plan.containers.forEach((c, i) => {
      this.createContainerNetns(c, i);
    });
    for (const c of plan.containers) await this.startContainerDns(c);
    this.save();

    // Start in depends_on order (Terraform creates a container once its dependencies are created and running).
    for (const c of plan.containers) await this.startContainer(c.name);
    for (const c of plan.containers) for (const p of c.ports) await this.publishPort(c, p);
    this.save();
    await this.waitHealthy(
      plan.containers.map((c) => c.name),
      opts.healthTimeoutMs ?? 180_000,
    );
    return this.state;
  }

  /** Networks: bridges inside the switch namespace. */
  private createNetworks(plan: LabPlan) {
    const s = this.state!;
    const sw = `hwl-${this.instance}-sw`;
    s.switchNetns = sw;
    this.addNetns(sw);
    plan.networks.forEach((n, i) => {
      if (i > 250) throw new Error("too many networks");
      const bridge = `hwlbr${i}`;
      s.networks.push({ name: n.name, internal: n.internal, bridge, subnet: `10.231.${i}.0/24`, prefix: `10.231.${i}` });
      this.save();
      sh("ip", ["-n", sw, "link", "add", bridge, "type", "bridge"]);
      sh("ip", ["-n", sw, "link", "set", bridge, "up"]);
    });
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

  /** A container's network namespace: 127.0.0.11 for its DNS, one veth per network, its net.* sysctls. */
  private createContainerNetns(c: LabContainer, index: number) {
    const s = this.state!;
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
    this.addNetns(netns);
    sh("ip", ["-n", netns, "addr", "add", "127.0.0.11/32", "dev", "lo"]);
    c.networks.forEach((attachment, ni) => {
      const nw = s.networks.find((n) => n.name === attachment.network)!;
      const address = `${nw.prefix}.${10 + index}`;
      cs.addresses[nw.name] = address;
      const outer = `hwl${index}n${ni}`;
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
    mkdirSync(cs.dir, { recursive: true });
    const hosts = dnsHosts(s.plan, (name) => s.containers[name].addresses, c, this.dnsListed());
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
        dnsHosts(s.plan, (name) => s.containers[name].addresses, c, listed),
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

  /** `docker start`: the container's entrypoint + command as PID 1 of fresh PID, mount and UTS namespaces. */
  async startContainer(nameOrHost: string): Promise<void> {
    const { spec: c, state: cs } = this.container(nameOrHost);
    if (this.isUp(c.name)) throw new Error(`${c.hostname} is already running`);
    const dirs = layerDirs(cs.dir);
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o755 });
    if (!cs.created) {
      writeUploads(dirs.upper, c);
      cs.created = true;
    }
    writeEtcFiles(dirs.upper, c.hostname, Object.values(cs.addresses));
    // Docker registers the container's names with its DNS when it starts, before the process runs.
    await this.refreshDns(c.name);
    const script = startScript(c, dirs, (volume) => this.state!.volumes.find((x) => x.name === volume)!.dir, cs.runAs);

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

  /** `docker stop`: the stop signal (stopSignalOf), then SIGKILL after the container's stop_timeout. */
  async stop(nameOrHost: string): Promise<StopResult> {
    const { spec, state: cs } = this.container(nameOrHost);
    const signal = this.stopSignalOf(spec.name);
    const started = Date.now();
    signalRef(cs.init, signal);
    const exited = await waitUntil(`${spec.hostname} to stop`, () => !alive(cs.init), { timeoutMs: spec.stopTimeoutSeconds * 1000, intervalMs: 50 }).then(
      () => true,
      () => false,
    );
    const ms = Date.now() - started;
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

  /** Runs a host command inside a container's network namespace only (the host's files). */
  netExec(nameOrHost: string, command: string[], opts: { timeoutMs?: number; check?: boolean } = {}): CmdResult {
    const { state: cs } = this.container(nameOrHost);
    return sh("ip", ["netns", "exec", cs.netns, ...command], { timeoutMs: opts.timeoutMs ?? 20_000, check: opts.check ?? false });
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
    const { state: cs } = this.container(nameOrHost);
    return new Promise((resolve) => {
      const child = execFile(
        "ip",
        ["netns", "exec", cs.netns, ...command],
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

  /** Polls the health checks of `names` until all pass; fails early if one exits. Returns the time it took. */
  async waitHealthy(names: string[], timeoutMs: number): Promise<number> {
    const started = Date.now();
    const pending = new Set(names.map((n) => this.container(n).spec.name));
    await waitUntil(
      `health of ${[...pending].join(", ")}`,
      () => {
        for (const n of [...pending]) {
          const log = this.logFile(this.container(n).spec.hostname);
          if (!this.isUp(n)) throw new Error(`${n} exited while starting; see ${log}:\n${tail(log, 15)}`);
          if (this.healthy(n)) {
            pending.delete(n);
            this.log(`  ${this.container(n).spec.hostname} healthy after ${((Date.now() - started) / 1000).toFixed(1)} s`);
          }
        }
        return pending.size === 0;
      },
      { timeoutMs, intervalMs: 500 },
    );
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

  /** http://127.0.0.1:<port> of the first published port. */
  entryUrl(): string {
    const s = this.requireState();
    for (const c of s.plan.containers) for (const p of c.ports) return `http://127.0.0.1:${p.external + s.portOffset}`;
    throw new Error("the stack publishes no port");
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
        addresses: cs.addresses,
        ports: cs.forwarders.map((f) => `127.0.0.1:${f.external}->${f.internal}${alive(f) ? "" : " (forwarder dead)"}`),
        pid: cs.init?.pid,
      };
    });
  }
}
