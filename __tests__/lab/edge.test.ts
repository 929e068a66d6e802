/**
 * End-to-end: the edge of issue 9 ("The edge without a single point of
 * failure: a load-balancer pair, HTTPS, and a firewall on every host"), run for
 * real by the lab: two HAProxy nodes with keepalived holding the virtual address,
 * HTTPS at HAProxy, and the nftables ruleset in every namespace.
 *
 * Traffic goes only to loopback or to the lab's namespaces, and only from inside
 * one: the host's own namespace has no route to the lab's addresses. A "client"
 * namespace outside the stack is attached to the edge network's bridge
 * (Lab.attach), with a free address from the top of the network's ip_range; the
 * load loop, port probes, curl and openssl run in it. Its own lab: instance `e`,
 * published ports at LAB_PORT_OFFSET + 200; it takes turns with the other lab
 * files (take-turns.ts). The scenarios run in order: 2 and 3 on the stack as it
 * came up, 1 (which kills and freezes HAProxy), and it ends with the stack as
 * it began (lb-1 holding the address, every container healthy); then 4 and 5 of
 * issue 13 (an app killed under POSTs, an app frozen), each bringing the app back.
 */
import { randomBytes } from "crypto";
import { existsSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { clientFixedRate, ClientLoadSummary, probePorts, PYTHON, sniffHttpRequest } from "../../lab/client";
import { listNetns } from "../../lab/host";
import { fixedRate, LoadSummary, request } from "../../lab/load";
import { ipv4InCidr } from "../../lab/ipv4";
import { entryUrl, haproxyStats, haproxyStatsUrl, holdersOf, stackOf, watchServerStatus } from "../../lab/probes";
import { Lab } from "../../lab/runner";
import { StackFacts } from "../../lab/stack";
import { alive, signalRef, sleep, waitUntil } from "../../lab/sys";
import { bringUpLocalStack, describeWhenLabRuns, tearDown } from "./bring-up";
import { takeLabTurn } from "./take-turns";

const INSTANCE = "e";
const STATE_DIR = join(tmpdir(), `hwl-lab-${INSTANCE}`);
const PORT_OFFSET = Number(process.env.LAB_PORT_OFFSET ?? 0) + 200;
const TURN_WAIT_MS = 420_000;
const CLIENT = "client";
/** What test 5 allows beyond the detection bound (see there). */
const FROZEN_SLACK_MS = 250;

/** Polls HAProxy's stats CSV (argv: url, server, ms): prints "ready", then "result {backends, downAt}". */
const EVERY_BACKEND_WATCHER = `const http=require("http");const [url,server,ms]=process.argv.slice(1);const end=Date.now()+Number(ms);let first=true;
const downAt={};const backends=new Set();const done=()=>{console.log("result "+JSON.stringify({backends:[...backends],downAt}));process.exit(0)};
function poll(){if(Date.now()>end)done();
http.get(url,{timeout:1000},r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>{const now=Date.now();const lines=b.trim().split("\\n");const h=lines[0].replace(/^# /,"").split(",");const px=h.indexOf("pxname"),sv=h.indexOf("svname"),st=h.indexOf("status");
for(const l of lines.slice(1)){const f=l.split(",");if(f[px]==="stats"||f[sv]!==server)continue;backends.add(f[px]);if(f[st].startsWith("DOWN")&&!(f[px] in downAt))downAt[f[px]]=now}
if(first){first=false;console.log("ready")}if(backends.size>0&&Object.keys(downAt).length===backends.size)done();setTimeout(poll,25)})}).on("error",()=>setTimeout(poll,25)).on("timeout",function(){this.destroy()})}
poll();`;

/** `count` POSTs without an idempotency key, one at a time: how many succeeded and their latency (ms). */
async function sequentialPosts(url: string, count: number, name: string) {
  const ms: number[] = [];
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const r = await request(`${url}/api/items`, { method: "POST", body: { name: `${name}-${i}` }, timeoutMs: 10_000 });
    if (r.status >= 200 && r.status < 300) ok++;
    ms.push(r.ms);
  }
  ms.sort((a, b) => a - b);
  const at = (p: number) => Math.round(ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)] * 10) / 10;
  return { ok, ms: { p50: at(50), p90: at(90), max: at(100) } };
}

const describeLab = describeWhenLabRuns("the lab edge scenarios", {
  // curl and python3 run in the client and app namespaces.
  packages: ["curl"],
  problems: existsSync(PYTHON) ? [] : [`missing ${PYTHON} (Debian package python3): the X-Forwarded-Proto check sniffs the app's requests with it`],
});

describeLab("the lab: the edge (a load-balancer pair, HTTPS, a firewall in every namespace)", () => {
  let lab: Lab;
  let stack: StackFacts;
  let outdir: string | undefined;
  let releaseTurn: (() => void) | undefined;
  let lbs: string[];
  let vip: string;
  let edge: string;
  const timings: Record<string, number> = {};
  const t = (name: string, started: number) => (timings[name] = Date.now() - started);
  /** Processes a scenario stopped (SIGSTOP): continued whatever fails. */
  const frozen: ReturnType<Lab["processes"]> = [];

  /** Runs a command in a namespace of the lab (a container's or the client's), bounded. */
  const run = (from: string, cmd: string[], timeoutMs = 10_000) => lab.netExec(from, cmd, { timeoutMs, check: false });
  const holders = () => holdersOf(lab, vip);
  /** The one load balancer holding the address, once exactly one does (bounded). */
  const holder = async (timeoutMs = 15_000): Promise<string> => {
    let h: string[] = [];
    await waitUntil(
      `exactly one load balancer holding ${vip}`,
      () => {
        h = holders();
        return h.length === 1;
      },
      { timeoutMs, intervalMs: 100 },
    );
    return h[0];
  };
  const haproxyOf = (lb: string) => lab.processes(lb).filter((p) => p.comm === "haproxy");
  /** A container's log from its latest start (the runner's `--- <time> lab: starting` line) on. */
  const logSince = (lb: string, marker: string) => {
    const text = readFileSync(lab.logFile(lb), "utf8");
    return text.slice(Math.max(0, text.lastIndexOf(marker)));
  };

  beforeAll(async () => {
    const turn = await takeLabTurn("edge.test.ts", TURN_WAIT_MS);
    releaseTurn = turn.release;
    timings["waited for the other lab files"] = turn.waitedMs;
    const started = Date.now();
    lab = await bringUpLocalStack({ instance: INSTANCE, stateDir: STATE_DIR, portOffset: PORT_OFFSET, log: () => undefined }, (dir) => {
      outdir = dir;
    });
    stack = stackOf(lab);
    lbs = stack.hostnames("load-balancer");
    expect(lbs).toEqual(["lb-1", "lb-2"]);
    const floating = lbs.map((lb) => stack.loadBalancer(lb).floatingAddress);
    expect(new Set(floating).size).toBe(1);
    vip = floating[0]!;
    const network = lab.requireState().networks.find((n) => ipv4InCidr(vip, n.subnet));
    expect(network).toBeDefined();
    edge = network!.name;
    // The client: outside the stack, on the edge network's bridge; `down` removes it too (it is in the state).
    const client = lab.attach(CLIENT, edge, { avoid: [vip] });
    expect(ipv4InCidr(client.address, network!.ipRange ?? network!.subnet)).toBe(true);
    // The pair settles: the higher priority (lb-1) takes the address on a cold start.
    expect(await holder(20_000)).toBe("lb-1");
    t("bring-up (synth + up + healthy + address held)", started);
  }, TURN_WAIT_MS + 240_000);

  afterAll(async () => {
    const started = Date.now();
    for (const p of frozen) signalRef(p.ref, "SIGCONT");
    try {
      if (lab?.state) await lab.detach(CLIENT);
    } finally {
      await tearDown(lab, outdir, releaseTurn);
    }
    t("teardown", started);
    console.log(`lab edge scenarios, timings (ms): ${JSON.stringify(timings)}`);
    expect(listNetns().filter((n) => n.startsWith(`hwl-${INSTANCE}-`))).toEqual([]);
    expect(existsSync(STATE_DIR)).toBe(false);
  }, 60_000);

  test("the ruleset loaded in each namespace is the one rendered from its flow labels", () => {
    for (const c of lab.requireState().plan.containers) {
      const listed = run(c.hostname, ["nft", "list", "table", "inet", "ha_web"]);
      expect(listed.status).toBe(0);
      expect(listed.stdout).toMatch(/policy drop/);
    }
    const lbRules = run("lb-1", ["nft", "list", "chain", "inet", "ha_web", "input"]).stdout;
    expect(lbRules).toMatch(/tcp dport 443 accept/);
    expect(lbRules).toMatch(new RegExp(`ip saddr .*${lab.container("lb-2").state.addresses[edge].replace(/\./g, "\\.")}.* ip protocol (vrrp|112) accept`));
  });

  test("2. only 80 and 443 of the virtual address answer from outside; web, app and database ports do not; stats only on the LB's loopback", async () => {
    const started = Date.now();
    const addr = (host: string) => Object.values(lab.container(host).state.addresses);
    const webs = stack.hostnames("web");
    const apps = stack.hostnames("app");
    const { primary, replicas, port: dbPort } = stack.database();
    const dbs = [primary, ...replicas];
    const appPort = Number(stack.facts(apps[0]).facts["listen-port"]);
    const webPort = Number(stack.facts(webs[0]).facts["listen-port"]);
    const { statsPort } = stack.loadBalancer("lb-1");

    // From the client: the address's 80 and 443 answer; nothing else of it, of the pair or of the stack does.
    const fromClient = await probePorts(lab, CLIENT, [
      `${vip}:80`,
      `${vip}:443`,
      `${vip}:${statsPort}`,
      `${vip}:22`,
      `${vip}:${dbPort}`,
      ...lbs.map((lb) => `${lab.container(lb).state.addresses[edge]}:${statsPort}`),
      ...webs.flatMap((w) => addr(w).map((a) => `${a}:${webPort}`)),
      ...apps.flatMap((a) => addr(a).map((x) => `${x}:${appPort}`)),
      ...dbs.flatMap((d) => addr(d).map((x) => `${x}:${dbPort}`)),
    ]);
    console.log(`from the client namespace: ${JSON.stringify(fromClient)}`);
    expect(
      Object.entries(fromClient)
        .filter(([, r]) => r === "open")
        .map(([k]) => k),
    ).toEqual([`${vip}:80`, `${vip}:443`]);
    // The pair's other ports are dropped by the firewall (no answer at all, not even a refusal).
    expect(fromClient[`${vip}:${statsPort}`]).toBe("timeout");
    expect(fromClient[`${vip}:22`]).toBe("timeout");

    // From a load balancer: the web nodes answer (its flow), the databases do not.
    const fromLb = await probePorts(lab, "lb-1", [
      ...webs.map((w) => `${lab.container(w).state.addresses[sharedNetwork("lb-1", w)]}:${webPort}`),
      ...dbs.flatMap((d) => addr(d).map((x) => `${x}:${dbPort}`)),
      `127.0.0.1:${statsPort}`,
    ]);
    console.log(`from lb-1: ${JSON.stringify(fromLb)}`);
    for (const w of webs) expect(fromLb[`${lab.container(w).state.addresses[sharedNetwork("lb-1", w)]}:${webPort}`]).toBe("open");
    for (const d of dbs) for (const x of addr(d)) expect(fromLb[`${x}:${dbPort}`]).not.toBe("open");
    expect(fromLb[`127.0.0.1:${statsPort}`]).toBe("open");

    // The stats port from a web node (which shares a network with the pair): no answer.
    const fromWeb = await probePorts(
      lab,
      webs[0],
      lbs.map((lb) => `${lab.container(lb).state.addresses[sharedNetwork(lb, webs[0])]}:${statsPort}`),
    );
    console.log(`from ${webs[0]}: ${JSON.stringify(fromWeb)}`);
    for (const r of Object.values(fromWeb)) expect(r).toBe("timeout");

    // A database shares the app-db network with the app, but the flow model allows only web -> app:
    // the app listens on loopback and on its address on its web node's network only (BIND_PEER), and
    // the ruleset drops the database's attempt before the refusal could answer it.
    const appOnDbNet = sharedNetwork(apps[0], primary);
    const appAddrOnDbNet = lab.container(apps[0]).state.addresses[appOnDbNet];
    const appAddrOnWebNet = lab.container(apps[0]).state.addresses[sharedNetwork(apps[0], stack.facts(apps[0]).host)];
    const fromDb = await probePorts(lab, primary, [`${appAddrOnDbNet}:${appPort}`]);
    const fromApp = await probePorts(lab, apps[0], [`${appAddrOnDbNet}:${appPort}`]);
    const fromOwnWeb = await probePorts(lab, stack.facts(apps[0]).host, [`${appAddrOnWebNet}:${appPort}`]);
    console.log(
      `app ${appAddrOnDbNet}:${appPort} from ${primary}: ${JSON.stringify(fromDb)}, from itself: ${JSON.stringify(fromApp)}; from its web node: ${JSON.stringify(fromOwnWeb)}`,
    );
    expect(fromApp[`${appAddrOnDbNet}:${appPort}`]).toBe("refused"); // it does not listen there
    expect(fromDb[`${appAddrOnDbNet}:${appPort}`]).toBe("timeout"); // and the firewall drops the database's attempt
    expect(fromOwnWeb[`${appAddrOnWebNet}:${appPort}`]).toBe("open");
    t("2 firewall", started);
  }, 60_000);

  test("3. TLS 1.2 and 1.3 only, h2 with HSTS, HTTP answered with a 308 to HTTPS, the app sees X-Forwarded-Proto: https", async () => {
    const started = Date.now();
    // -cipher DEFAULT@SECLEVEL=0: this client would speak TLS 1.0/1.1 (Debian's OpenSSL refuses them at its default level),
    // so a failure is the server's refusal, not the client's.
    const handshake = (version: string) =>
      run(CLIENT, ["openssl", "s_client", "-connect", `${vip}:443`, "-servername", "localhost", version, "-cipher", "DEFAULT@SECLEVEL=0"], 10_000);
    for (const old of ["-tls1", "-tls1_1"]) {
      const r = handshake(old);
      const out = r.stdout + r.stderr;
      expect(r.status).not.toBe(0);
      expect(out).not.toMatch(/no protocols available/);
      expect(out).toMatch(/alert protocol version|unsupported protocol|wrong version number/i);
    }
    for (const [flag, name] of [
      ["-tls1_2", "TLSv1.2"],
      ["-tls1_3", "TLSv1.3"],
    ]) {
      const r = handshake(flag);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`(Protocol\\s*:\\s*|New, )${name.replace(".", "\\.")}`));
    }

    const h2 = run(CLIENT, ["curl", "-q", "--http2", "-k", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "5", `https://${vip}/`]);
    expect(h2.status).toBe(0);
    expect(h2.stdout).toMatch(/^HTTP\/2 200/);
    expect(h2.stdout).toMatch(/^strict-transport-security: max-age=\d+/im);

    const plain = run(CLIENT, ["curl", "-q", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "5", `http://${vip}/api/items?x=1`]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/^HTTP\/1\.1 308/);
    expect(plain.stdout).toMatch(new RegExp(`^location: https://${vip.replace(/\./g, "\\.")}/api/items\\?x=1\\s*$`, "im"));
    expect(plain.stdout).not.toMatch(/^strict-transport-security/im);
    // Through a published loopback port the redirect drops the Host header's port (8080 does not speak TLS): the HTTPS port is 443.
    const lb1Facts = stack.facts(stack.hostnames("load-balancer")[0]).facts;
    const publishedHttp = lab.publishedUrl(stack.hostnames("load-balancer")[0], Number(lb1Facts["listen-port"]));
    const viaLoopback = await request(`${publishedHttp}/api/items?x=2`, { timeoutMs: 5000 });
    expect(viaLoopback.status).toBe(308);
    expect(viaLoopback.headers.location).toBe(`https://127.0.0.1/api/items?x=2`);
    // Nginx's own redirect (a directory without its slash) is relative: a forged Host header is never echoed, the port kept by the client.
    const dir = run(CLIENT, [
      "curl",
      "-q",
      "-k",
      "-sS",
      "-o",
      "/dev/null",
      "-D",
      "-",
      "--max-time",
      "5",
      "-H",
      "Host: evil.example:8443",
      `https://${vip}/api`,
    ]);
    expect(dir.status).toBe(0);
    expect(dir.stdout).toMatch(/^HTTP\/(1\.1|2) 301/);
    expect(dir.stdout).toMatch(/^location: \/api\/\s*$/im);
    expect(dir.stdout).not.toMatch(/evil\.example/);

    // What the app receives, read off the wire in the app servers' namespaces (the app echoes no header).
    const marker = `xfp-${randomBytes(6).toString("hex")}`;
    const apps = stack.hostnames("app");
    const appPort = Number(stack.facts(apps[0]).facts["listen-port"]);
    const sniffers = apps.map((a) => sniffHttpRequest(lab, a, appPort, marker, 6000));
    await Promise.all(sniffers.map((s) => s.ready));
    for (let i = 0; i < apps.length * 2; i++) {
      const r = run(CLIENT, [
        "curl",
        "-q",
        "-k",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "5",
        `https://${vip}/api/items?probe=${marker}`,
      ]);
      expect(r.stdout).toBe("200");
    }
    const heads = (await Promise.all(sniffers.map((s) => s.head))).filter((h): h is string => h !== null);
    console.log(`the app received:\n${heads.join("\n--\n")}`);
    expect(heads.length).toBeGreaterThan(0);
    for (const h of heads) {
      expect(h).toMatch(/^x-forwarded-proto: https$/im);
      expect(h).not.toMatch(/^x-forwarded-proto: http$/im);
    }
    t("3 tls", started);
  }, 60_000);

  test("1. the pair: HAProxy killed under load moves the address (gap < 4 s, < 1 % failed); frozen HAProxy gives it up too; a returning node does not take it back", async () => {
    const started = Date.now();
    const url = `https://${vip}/`;
    const rate = 50;
    const master = await holder();
    const other = lbs.find((l) => l !== master)!;
    expect(master).toBe("lb-1");

    // 1a. Kill the master's HAProxy (master process and worker, SIGKILL) 5 s into 15 s of 50 GET/s.
    const load = clientFixedRate(lab, CLIENT, url, { rate, durationMs: 15_000, timeoutMs: 5000 });
    const t0 = await load.started;
    await sleep(Math.max(0, t0 + 5000 - Date.now()));
    const victims = haproxyOf(master);
    expect(victims.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    for (const p of victims) signalRef(p.ref, "SIGKILL");
    let movedAt = 0;
    await waitUntil(
      `${vip} to move to ${other}`,
      () => {
        const h = holders();
        if (h.length === 1 && h[0] === other) movedAt = Date.now();
        return movedAt > 0;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const summary: ClientLoadSummary = await load.result;
    const failedPct = (100 * summary.failed) / summary.sent;
    const kill = {
      sent: summary.sent,
      ok: summary.ok,
      failed: summary.failed,
      failedPct: Number(failedPct.toFixed(2)),
      byStatus: summary.byStatus,
      byError: summary.byError,
      gapMs: summary.gapMs,
      gapStartsAfterKillMs: summary.gapFrom - killedAt,
      addressMovedAfterMs: movedAt - killedAt,
    };
    console.log(`failover after HAProxy was killed on ${master}: ${JSON.stringify(kill)}`);
    console.log(`${master}'s log after the kill:\n${logSince(master, "--- ").split("\n").slice(-8).join("\n")}`);
    timings["1a gap ms"] = summary.gapMs;
    timings["1a failed"] = summary.failed;
    expect(summary.sent).toBe(750);
    expect(summary.gapMs).toBeLessThan(4000);
    expect(failedPct).toBeLessThan(1);
    expect(holders()).toEqual([other]);

    // 1b. The old master comes back (the start script exited with HAProxy): it does not take the address back.
    if (lab.isUp(master)) await lab.kill(master);
    const marker = `--- `;
    await lab.startContainer(master);
    await lab.waitHealthy([master], 60_000);
    await waitUntil(`${master}'s keepalived in BACKUP state`, () => /Entering BACKUP STATE/.test(logSince(master, marker)), {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const watchStarted = Date.now();
    for (let i = 0; i < 40 && Date.now() - watchStarted < 4000; i++) {
      expect(holders()).toEqual([other]);
      await sleep(100);
    }
    expect(logSince(master, marker)).not.toMatch(/Entering MASTER STATE/);

    // 1c. Freeze the new master's HAProxy (SIGSTOP): keepalived's check fails, the address moves back.
    const load2 = clientFixedRate(lab, CLIENT, url, { rate, durationMs: 8000, timeoutMs: 8000 });
    const t1 = await load2.started;
    await sleep(Math.max(0, t1 + 2000 - Date.now()));
    const stopped = haproxyOf(other);
    expect(stopped.length).toBeGreaterThan(0);
    frozen.push(...stopped);
    const frozenAt = Date.now();
    for (const p of stopped) signalRef(p.ref, "SIGSTOP");
    let backAt = 0;
    await waitUntil(
      `${vip} to move back to ${master}`,
      () => {
        const h = holders();
        if (h.length === 1 && h[0] === master) backAt = Date.now();
        return backAt > 0;
      },
      { timeoutMs: 15_000, intervalMs: 20 },
    );
    // Continued once the address has moved: what hung on the frozen HAProxy is answered late, or times out.
    await sleep(1000);
    for (const p of stopped) signalRef(p.ref, "SIGCONT");
    frozen.length = 0;
    const s2 = await load2.result;
    expect(s2.sent).toBe(400);
    const freeze = {
      addressMovedAfterMs: backAt - frozenAt,
      sent: s2.sent,
      ok: s2.ok,
      failed: s2.failed,
      byStatus: s2.byStatus,
      byError: s2.byError,
      gapMs: s2.gapMs,
    };
    console.log(`failover after HAProxy was frozen on ${other}: ${JSON.stringify(freeze)}`);
    timings["1c address moved ms"] = backAt - frozenAt;
    expect(holders()).toEqual([master]);
    // keepalived's check (every 1 s, 1 s timeout, fall 2) plus the backup's skew: about 2.5-3.5 s; 6 s is the bound.
    expect(backAt - frozenAt).toBeLessThan(6000);

    // 1d. The continued node recovers (its check passes again) and stays a backup: no flap.
    await waitUntil(`${other}'s check to pass again`, () => lab.healthy(other), { timeoutMs: 15_000, intervalMs: 200 });
    const watch2 = Date.now();
    for (let i = 0; i < 40 && Date.now() - watch2 < 4000; i++) {
      expect(holders()).toEqual([master]);
      await sleep(100);
    }
    // The stack is as it came up: lb-1 holds the address, every container is running and healthy.
    for (const c of lab.status()) expect({ [c.hostname]: c.running && c.healthy }).toEqual({ [c.hostname]: true });
    expect(victims.every((p) => !alive(p.ref))).toBe(true);
    t("1 pair", started);
  }, 150_000);

  /** A backend's retry and redispatch counters on a load balancer (HAProxy's stats CSV). */
  const retryCounters = async (lb: string) =>
    Object.fromEntries(
      (await haproxyStats(lab, lb))
        .filter((r) => r.svname === "BACKEND" && r.pxname.startsWith("web_nodes"))
        .map((r) => [r.pxname, { retries: Number(r.wretr), redispatches: Number(r.wredis), http5xx: Number(r.hrsp_5xx) }]),
    ) as Record<string, { retries: number; redispatches: number; http5xx: number }>;
  const delta = (a: Awaited<ReturnType<typeof retryCounters>>, b: Awaited<ReturnType<typeof retryCounters>>) =>
    Object.fromEntries(
      Object.entries(b).map(([k, v]) => [
        k,
        { retries: v.retries - (a[k]?.retries ?? 0), redispatches: v.redispatches - (a[k]?.redispatches ?? 0), http5xx: v.http5xx - (a[k]?.http5xx ?? 0) },
      ]),
    );
  /** Brings a killed or frozen web node's app back and waits until HAProxy has it UP again (bounded). */
  const backInRotation = async (lb: string, web: string, restart: () => Promise<void>) => {
    const up = watchServerStatus(lab, lb, web, "UP", 60_000);
    await up.ready;
    await restart();
    await up.seenAt;
  };
  const latency = (s: LoadSummary) => ({ sent: s.sent, ok: s.ok, byStatus: s.byStatus, errors: s.errors, ms: s.latencyMs });
  /**
   * Watches one server in every HAProxy backend that lists it (web_nodes, web_nodes_once and the two
   * check-only ones), from inside the load balancer's namespace, every 25 ms, for `ms`: when each row
   * was first seen DOWN (Date.now()), or absent when it never was. Ends early once every row is DOWN.
   */
  const watchEveryBackend = (lb: string, server: string, ms: number) => {
    let out = "";
    let readyResolve: () => void = () => undefined;
    const ready = new Promise<void>((r) => (readyResolve = r));
    const run = lab.netSpawn(lb, [process.execPath, "-e", EVERY_BACKEND_WATCHER, haproxyStatsUrl(lab, lb), server, String(ms)], {
      timeoutMs: ms + 5000,
      onStdout: (chunk) => {
        out += chunk;
        if (/ready/.test(out)) readyResolve();
      },
    });
    const downAt = run.then(() => {
      readyResolve();
      const m = /^result (.*)$/m.exec(out);
      if (!m) throw new Error(`the watcher of ${server} on ${lb} gave no result: ${out}`);
      return JSON.parse(m[1]) as { backends: string[]; downAt: Record<string, number> };
    });
    return { ready, downAt };
  };

  test("4. an app killed behind a live Nginx under POST load: no POST sent after the kill fails (Nginx's 425, retried on the other node)", async () => {
    const started = Date.now();
    const lb = lbs[0];
    const url = entryUrl(lab, lb);
    const web = stack.hostnames("web")[0];
    const app = stack.appOf(web);
    const rate = 100;
    const durationMs = 6000;
    const tag = randomBytes(4).toString("hex");
    let n = 0;
    let killedAt = Number.NaN;
    /** Date.now() minus the load's elapsed(): maps the watcher's clock onto the load's. */
    let loadOrigin = Number.NaN;
    const c0 = await retryCounters(lb);
    const markedDown = watchServerStatus(lab, lb, web, "DOWN", 30_000);
    const rows = watchEveryBackend(lb, web, durationMs + 3000);
    await Promise.all([markedDown.ready, rows.ready]);
    const { summary } = await fixedRate(
      `${url}/api/items`,
      // A connection per POST, as before the fix: with keep-alive one POST was once cut with no answer ("socket
      // hang up") 480 ms after the kill, when the node was marked down. That was the same cut: HAProxy closes a
      // keep-alive connection without an answer when a later request on it is cut (abort_keep_alive).
      {
        rate,
        durationMs,
        timeoutMs: 10_000,
        method: "POST",
        body: () => ({ name: `edge4-${tag}-${n++}` }),
        headers: ["x-web-node"],
        keepAlive: false,
      },
      async (elapsed) => {
        await sleep(2000);
        await lab.kill(app);
        // Once kill returns the app is dead: a POST sent from then on cannot reach it. One sent while the
        // kill was under way may have (seen: a 502 sent 1 ms after the call), so it counts as in flight.
        killedAt = elapsed();
        loadOrigin = Date.now() - killedAt;
      },
    );
    const markedDownAtMs = (await markedDown.seenAt) - loadOrigin;
    const { backends, downAt } = await rows.downAt;
    const c1 = await retryCounters(lb);
    // What a POST without a key costs while the app is dead: half of them go to the dead node first and come
    // back with Nginx's 425 before HAProxy sends them to the other node. One at a time, against the same with
    // every app alive (after the restart below).
    const hop = await sequentialPosts(url, 40, `edge4-hop-${tag}`);
    const failed = summary.failures;
    // Every POST sent after the kill succeeds: the dead app's node stays in web_nodes_once (its hung check
    // passes on Nginx's quick 502), so no POST waiting for Nginx's 425 is cut by shutdown-sessions.
    const after = failed.filter((f) => f.atMs >= killedAt);
    const before = failed.filter((f) => f.atMs < killedAt);
    const report = {
      sent: summary.sent,
      ok: summary.ok,
      byStatus: summary.byStatus,
      failedSentAfterKill: after.length,
      failedInFlightAtKill: before.length,
      killedAtMs: Math.round(killedAt),
      markedDownAtMs: Math.round(markedDownAtMs),
      downAfterKillMs: Object.fromEntries(Object.entries(downAt).map(([b, at]) => [b, Math.round(at - loadOrigin - killedAt)])),
      haproxy: delta(c0, c1),
      servedBy: summary.byHeader["x-web-node"],
      failures: failed.slice(0, 5),
      postsOneAtATimeAppDead: hop,
    };
    timings["4 POSTs failed after the kill"] = after.length;
    timings["4 POSTs failed in flight at the kill"] = before.length;
    try {
      expect(summary.sent).toBe((rate * durationMs) / 1000);
      expect(after).toEqual([]);
      // In flight on the app at the kill: they reached it, so Nginx's 502 stands (never replayed). 0-1 per run on
      // a quiet machine; 43 in a run with the machine's load average at 27 (the app held POSTs for over a second).
      expect(before.map((f) => f.status).filter((st) => st !== 502)).toEqual([]);
      expect(before.length).toBeLessThanOrEqual(summary.sent / 10);
      // HAProxy did retry: the 425s of the dead app (or refused connections) went to the other node.
      expect(report.haproxy.web_nodes_once.retries + report.haproxy.web_nodes_once.redispatches).toBeGreaterThan(0);
      // The node left web_nodes (its checks want a 200) and stayed in web_nodes_once (tracking web_nodes_hung).
      expect(backends).toEqual(expect.arrayContaining(["web_nodes", "web_nodes_once", "web_nodes_health", "web_nodes_hung"]));
      expect(Object.keys(downAt).sort()).toEqual(["web_nodes", "web_nodes_health"]);
      expect(hop.ok).toBe(40);
    } finally {
      // Back before the next scenario, whatever the assertions said.
      await backInRotation(lb, web, async () => {
        await lab.startContainer(app);
        await lab.waitHealthy([app, web], 60_000);
      });
      const alive = await sequentialPosts(url, 40, `edge4-alive-${tag}`);
      timings["4 POST p50 ms, app dead (425 hop on half)"] = hop.ms.p50;
      timings["4 POST p50 ms, every app alive"] = alive.ms.p50;
      console.log(`app ${app} killed behind a live Nginx under ${rate} POST/s: ${JSON.stringify({ ...report, postsOneAtATimeAllAlive: alive })}`);
    }
    t("4 app kill under POSTs", started);
  }, 60_000);

  test("5. a frozen app (SIGSTOP) is out within the stated bound, and no request waits longer than it", async () => {
    const started = Date.now();
    const lb = lbs[0];
    const url = entryUrl(lab, lb);
    const web = stack.hostnames("web")[0];
    const app = stack.appOf(web);
    const raw = stack.facts(lb).facts["health-check"];
    const bound = Number(/\bbound=(\d+)/.exec(raw)?.[1]);
    expect(bound).toBeGreaterThan(0);
    // The README's default: 1000 + 3 x 500 + 2 x 250.
    expect(bound).toBe(3000);
    const durationMs = bound + 4000;
    const tag = randomBytes(4).toString("hex");
    let n = 0;
    let frozenAt = 0;
    let downAfterMs = Number.NaN;
    const c0 = await retryCounters(lb);
    const watch = watchEveryBackend(lb, web, durationMs + 2000);
    await watch.ready;
    let downAt: Record<string, number> = {};
    const [gets, posts] = await Promise.all([
      fixedRate(`${url}/api/items`, { rate: 50, durationMs, timeoutMs: 20_000, headers: ["x-web-node"] }, async () => {
        await sleep(1000);
        // From the moment every process of the app is stopped (listing and signalling them takes a few ms).
        frozen.push(...lab.signalContainer(app, "SIGSTOP"));
        frozenAt = Date.now();
        downAt = (await watch.downAt).downAt;
        // Out of rotation when out of both traffic backends (each tracks its own check-only backend).
        downAfterMs = Math.max(downAt.web_nodes ?? Number.NaN, downAt.web_nodes_once ?? Number.NaN) - frozenAt;
      }),
      fixedRate(`${url}/api/items`, {
        rate: 20,
        durationMs,
        timeoutMs: 20_000,
        method: "POST",
        body: () => ({ name: `edge5-${tag}-${n++}` }),
        headers: ["x-web-node"],
      }),
    ]);
    for (const p of frozen) signalRef(p.ref, "SIGCONT");
    frozen.length = 0;
    const c1 = await retryCounters(lb);
    const report = {
      bound,
      downAfterMs,
      downAfterFreezeMs: Object.fromEntries(Object.entries(downAt).map(([b, at]) => [b, at - frozenAt])),
      gets: latency(gets.summary),
      posts: latency(posts.summary),
      haproxy: delta(c0, c1),
      getFailures: gets.summary.failures.slice(0, 5),
      postFailures: posts.summary.failures.slice(0, 5),
    };
    console.log(`app ${app} frozen under 50 GET/s + 20 POST/s: ${JSON.stringify(report)}`);
    timings["5 frozen node down after ms"] = downAfterMs;
    timings["5 max GET ms"] = Math.round(gets.summary.latencyMs.max);
    timings["5 max POST ms"] = Math.round(posts.summary.latencyMs.max);
    // Out within the bound. Beyond it only what the formula's instants leave out: a check in flight at the freeze
    // may still pass just after it (the app had answered), HAProxy's own timers and the 25 ms polling.
    expect(downAfterMs).toBeLessThanOrEqual(bound + FROZEN_SLACK_MS);
    // No request waits longer than that: what was on the frozen node ends when it is marked down (plus a retry).
    expect(gets.summary.latencyMs.max).toBeLessThan(bound + 1500);
    expect(posts.summary.latencyMs.max).toBeLessThan(bound + 1500);

    await backInRotation(lb, web, async () => {
      await lab.waitHealthy([app, web], 30_000);
    });
    t("5 frozen app", started);
  }, 60_000);

  /** The network two containers share (the first in the first one's order). */
  function sharedNetwork(a: string, b: string): string {
    const nb = new Set(lab.container(b).spec.networks.map((n) => n.network));
    const n = lab.container(a).spec.networks.find((x) => nb.has(x.network));
    if (!n) throw new Error(`${a} and ${b} share no network`);
    return n.network;
  }
});
