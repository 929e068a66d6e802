/**
 * npm run bench:lab — issue 14's data-path and replication figures, measured in
 * the lab (bench/bench-stack.ts's stack run for real on this machine), printed
 * as a table and written to .lab/bench-latest.json (bench/run-bench.ts merges it
 * into bench/results.json):
 *
 *  1. Data path, the client in a namespace outside the stack (lab/client-namespace.ts):
 *     through the load balancer (plain HTTP and HTTPS, lb-1's own address on the
 *     public network) versus directly to one web node (from a client on the
 *     network the load balancers share with the web nodes), same run:
 *       - at saturation: wrk, closed loop, CONNECTIONS connections for SECONDS;
 *       - at half of the direct path's saturation rate: h2load --rps, open loop
 *         per connection (halfLoadClients(rate) connections, each its own h2load at
 *         an equal share of the rate, started 1/rate apart), their per-request logs giving p50/p99;
 *       - the same at LOW_RATE (100 req/s), LB over HTTP and direct: what the hop adds without
 *         contention for the cores;
 *       - HAProxy's CPU time per request: utime + stime of its worker process
 *         (/proc/<pid>/stat) over each run, divided by the requests answered.
 *  2. TLS handshakes per second with and without session resumption (openssl
 *     s_time -new / -reuse -www /, one connection at a time, each a GET of the
 *     static page, TLS_SECONDS each), and HAProxy's CPU time per connection.
 *  3. Failed requests during a web node kill (fixed rate, open loop).
 *  4. Replication lag p50/p99 at 100 and 500 writes/s for REPL_SECONDS each,
 *     with semi-sync on (the stack's default), then off (SET GLOBAL
 *     rpl_semi_sync_master_enabled = OFF on the primary: what the MysqlCluster
 *     prop `semiSync: false` renders, without a second bring-up).
 *
 * Every load is bounded in count and time and goes only to the lab's own
 * addresses, from namespaces the bench created (or the published loopback
 * port); the lab (and with it the client namespaces) is removed at the end.
 * Options (env): LAB_BENCH_SECONDS (5), LAB_BENCH_CONNECTIONS (16),
 * LAB_BENCH_REPL_SECONDS (20), LAB_BENCH_WRITE_RATES ("100,500"),
 * LAB_BENCH_SKIP ("kill,replication": skip those parts, for A/B runs of the data path),
 * LAB_PORT_OFFSET (0), LAB_BENCH_VARIANT (JSON, bench/bench-stack.ts: an A/B run of tuning props).
 */
import { spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { cpus } from "os";
import { join } from "path";
import { APP_ENV } from "../templates/app-environment";
import { allowDirect, attachBenchClients, BenchClients, haproxyWorkerPid } from "../lab/client-namespace";
import { repoRoot, shellQuote } from "../lab/host";
import { checkPrereqs, prereqMessage } from "../lab/prereqs";
import { fixedRate, percentile, request } from "../lab/load";
import { backendServers, entryUrl, haproxyStats, sql, stackOf, watchServerStatus } from "../lab/probes";
import { Lab } from "../lab/runner";
import { sleep, waitUntil } from "../lab/sys";
import { mergeRequestLogs, parseH2loadLog, parseProcCpu, parseProcCpuTicks, parseSTimeConnections, parseWrk, percentileOf, WrkResult } from "./parse";

const SECONDS = Math.min(30, Math.max(1, Number(process.env.LAB_BENCH_SECONDS ?? 5)));
const CONNECTIONS = Math.min(256, Math.max(1, Number(process.env.LAB_BENCH_CONNECTIONS ?? 16)));
/**
 * Connections of the half-load runs: at least 32, and enough that none sends more than 900 requests in
 * SECONDS. Nginx closes a keep-alive connection after 1,000 (keepalive_requests) and h2load does not
 * reconnect in --rps mode, so with 16 connections the direct path answered 16 x 1,000 / 5 s = 3,200 req/s
 * of the 3,800 asked and was measured lighter than the balanced path (HAProxy keeps its clients' connections open).
 */
const halfLoadClients = (rate: number) => Math.max(32, Math.ceil((rate * SECONDS) / 900));
/**
 * The low-load runs' rate: with the cores nearly idle, what the balanced path adds is HAProxy's own hop
 * (its processing and one more pair of veth packets), not the wait for a core that half load adds.
 */
const LOW_RATE = 100;
/** A half-load run that answered less than this share of its rate did not measure that rate: the table says so. */
const HALF_LOAD_SHORTFALL = 0.97;
const TLS_SECONDS = 3;
const REPL_SECONDS = Math.min(60, Math.max(1, Number(process.env.LAB_BENCH_REPL_SECONDS ?? 20)));
const WRITE_RATES = (process.env.LAB_BENCH_WRITE_RATES ?? "100,500")
  .split(",")
  .map(Number)
  .filter((r) => r > 0)
  .map((r) => Math.min(1000, r));
const PARTS_SKIPPED = new Set((process.env.LAB_BENCH_SKIP ?? "").split(",").filter(Boolean));
/** Clock ticks per second of /proc/<pid>/stat (Linux: USER_HZ, 100 on every architecture the lab runs on). */
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** The software the lab bench runs (lab/prereqs.ts checks it and the tools: wrk, h2load, openssl). */
export const LAB_PACKAGES = ["haproxy:2.6", "nginx:1.22", "mariadb:10.11", "node:20"] as const;

/** Issue 14's goals for these figures. */
export const LAB_GOALS = {
  lbToDirectRpsRatio: 0.9,
  halfLoadAddedP50Ms: 0.5,
  halfLoadAddedP99Ms: 2,
  haproxyCpuUsPerRequest: 30,
  replicationP99MsAt500: 100,
  upToHealthyMs: 4000,
} as const;

interface PathRun extends WrkResult {
  haproxyCpuUsPerRequest?: number;
  /** The user-space part of it (HAProxy's own code); the rest is the kernel, which on veths also delivers its packets to the peer. */
  haproxyUserUsPerRequest?: number;
  /** Nginx's CPU per request on the web node the direct path measures (all its workers and master). */
  nginxCpuUsPerRequest?: number;
}

interface HalfRun {
  target: string;
  rate: number;
  /** h2load processes, one connection each. */
  connections: number;
  requests: number;
  ok: number;
  byStatus: Record<string, number>;
  achievedRps: number;
  p50Ms: number;
  p99Ms: number;
  haproxyCpuUsPerRequest?: number;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function cpuTicks(pid: number): number {
  return parseProcCpuTicks(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

/** Microseconds of CPU per unit of work between two tick readings. */
function usPer(ticks: number, units: number): number {
  return units > 0 ? round((ticks * 1e6) / CLK_TCK / units, 1) : NaN;
}

function wrk(lab: Lab, client: string, url: string, label: string, pids: { haproxy?: number; nginx?: number[] } = {}): PathRun {
  const args = ["-t2", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "--timeout", "5s", "--latency", url];
  const ticks = (ps: number[]) => ps.reduce((a, p) => a + cpuTicks(p), 0);
  const cpu = (pid: number | undefined) => (pid === undefined ? { user: 0, system: 0 } : parseProcCpu(readFileSync(`/proc/${pid}/stat`, "utf8")));
  const c0 = cpu(pids.haproxy);
  const n0 = ticks(pids.nginx ?? []);
  const r = lab.netExec(client, ["wrk", ...args], { timeoutMs: (SECONDS + 15) * 1000 });
  const c1 = cpu(pids.haproxy);
  const n1 = ticks(pids.nginx ?? []);
  if (r.status !== 0) throw new Error(`wrk ${url}: ${r.stderr}`);
  const w = parseWrk(label, String(r.stdout));
  return {
    ...w,
    ...(pids.haproxy === undefined
      ? {}
      : {
          haproxyCpuUsPerRequest: usPer(c1.user + c1.system - c0.user - c0.system, w.requests),
          haproxyUserUsPerRequest: usPer(c1.user - c0.user, w.requests),
        }),
    ...(pids.nginx === undefined ? {} : { nginxCpuUsPerRequest: usPer(n1 - n0, w.requests) }),
  };
}

/**
 * Open loop at `rate` req/s for SECONDS: halfLoadClients(rate) HTTP/1.1 connections, each its own h2load
 * process at an equal share of the rate (--rps), the processes started 1/rate apart (nominally: starting a
 * process takes longer, which spreads them anyway). One h2load with many connections fires them all on the
 * same timer tick: every tick sent a burst of as many requests, and p50/p99 measured the burst's queueing at
 * the web node (p50 doubled from 16 to 32 connections at the same rate, and HTTPS measured faster than HTTP:
 * the client's TLS work spread the burst). Staggered, the arrivals are even.
 */
function h2loadAtRate(lab: Lab, client: string, url: string, label: string, rate: number, dir: string, haproxyPid?: number): HalfRun {
  const clients = halfLoadClients(rate);
  const perClient = Math.max(1, Math.round(rate / clients));
  const logs = Array.from({ length: clients }, (_, i) => join(dir, `h2load-${label.replace(/[^a-z0-9]+/gi, "-")}-${i}.log`));
  // Each h2load's own report beside its log: the first failing one's is the error shown.
  const h2load = (log: string) =>
    `h2load --h1 -c 1 --rps ${perClient} -D ${SECONDS} -T 5 --log-file ${shellQuote(log)} ${shellQuote(url)} >${shellQuote(`${log}.out`)} 2>&1`;
  const script = [
    "pids=''",
    ...logs.map((log, i) => `(sleep ${(i / (perClient * clients)).toFixed(5)}; exec ${h2load(log)}) & pids="$pids $!"`),
    "failed=0",
    'for p in $pids; do wait "$p" || failed=1; done',
    'exit "$failed"',
  ].join("\n");
  const t0 = haproxyPid === undefined ? 0 : cpuTicks(haproxyPid);
  const r = lab.netExec(client, ["sh", "-c", script], { timeoutMs: (SECONDS + 20) * 1000 });
  const t1 = haproxyPid === undefined ? 0 : cpuTicks(haproxyPid);
  if (r.status !== 0) {
    const reports = logs.map((log) => readFileSync(`${log}.out`, "utf8").trim()).filter((t) => /error|fail/i.test(t));
    throw new Error(`h2load ${url}: ${reports[0] ?? r.stderr ?? `exit ${r.status}`}`);
  }
  const parsed = mergeRequestLogs(logs.map((log) => parseH2loadLog(readFileSync(log, "utf8"))));
  const requests = Object.values(parsed.byStatus).reduce((a, b) => a + b, 0);
  const ok = Object.entries(parsed.byStatus)
    .filter(([s]) => s.startsWith("2"))
    .reduce((a, [, n]) => a + n, 0);
  return {
    target: label,
    rate: perClient * clients,
    connections: clients,
    requests,
    ok,
    byStatus: parsed.byStatus,
    achievedRps: round(requests / SECONDS, 0),
    p50Ms: round(percentileOf(parsed.latenciesMs, 50), 2),
    p99Ms: round(percentileOf(parsed.latenciesMs, 99), 2),
    ...(haproxyPid === undefined ? {} : { haproxyCpuUsPerRequest: usPer(t1 - t0, requests) }),
  };
}

/** TLS handshakes, one connection at a time: full (`-new`) or resumed (`-reuse`); HAProxy's CPU per handshake. */
function handshakes(lab: Lab, client: string, hostPort: string, mode: "new" | "reuse", haproxyPid: number) {
  const t0 = cpuTicks(haproxyPid);
  const started = process.hrtime.bigint();
  // -www: each connection also GETs the static page and reads the answer; without a read, a TLS 1.3
  // client never receives the session ticket (sent after the handshake) and -reuse resumes nothing.
  const r = lab.netExec(client, ["openssl", "s_time", "-connect", hostPort, `-${mode}`, "-www", "/", "-time", String(TLS_SECONDS)], {
    timeoutMs: (TLS_SECONDS + 15) * 1000,
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const t1 = cpuTicks(haproxyPid);
  const connections = parseSTimeConnections(String(r.stdout));
  return { mode, connections, wallS: round(wallS, 2), perSecond: round(connections / wallS, 0), haproxyCpuUsPerHandshake: usPer(t1 - t0, connections) };
}

async function main() {
  const root = repoRoot();
  const pre = checkPrereqs([...LAB_PACKAGES], { bench: true });
  if (!pre.ok) throw new Error(prereqMessage(pre));
  const outdir = join(root, ".lab", "bench-synth");
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(join(root, ".lab"), { recursive: true });
  const synth = spawnSync(process.execPath, [join(__dirname, "bench-stack.js"), outdir, process.env.LAB_BENCH_VARIANT ?? "{}"], {
    cwd: root,
    encoding: "utf8",
    timeout: 300_000,
  });
  if (synth.status !== 0) throw new Error(`bench-stack synth failed: ${synth.stderr.slice(-2000)}`);
  const stackFile = synth.stdout.trim().split("\n").pop()!;
  const lab = new Lab({ instance: "b", portOffset: Number(process.env.LAB_PORT_OFFSET ?? 0), log: (l) => console.log(l) });
  if (lab.state && lab.isRunning() && !lab.isStale())
    throw new Error(`a bench lab is already running (${lab.stateFile}): \`npm run lab -- down --instance b\``);
  const tmp = mkdtempSync(join(root, ".lab", "bench-run-"));
  const started = Date.now();
  await lab.up(stackFile, { owner: process.pid });
  // Issue 14's lab figure: `up` to every container healthy, the stack already synthesized (goal: under 4 s).
  const upToHealthyMs = Date.now() - started;
  console.log(`lab up in ${(upToHealthyMs / 1000).toFixed(1)} s; measuring (${SECONDS} s per run, ${CONNECTIONS} connections)`);
  try {
    const stack = stackOf(lab);
    const [lb] = stack.hostnames("load-balancer");
    const webNodes = stack.hostnames("web");
    const {
      primary,
      replicas: [replica],
    } = stack.database();
    const lbFacts = stack.loadBalancer(lb);
    if (lbFacts.httpsPort === undefined) throw new Error(`${lb} has no HTTPS listener: the bench stack terminates TLS`);
    const web1 = webNodes[0];
    const webPort = Number(stack.facts(web1).facts["listen-port"] ?? 80);
    const clients: BenchClients = attachBenchClients(lab, lb, web1);
    allowDirect(lab, web1, clients.inside, webPort);
    const lbAddress = lab.container(lb).state.addresses[clients.edge.network];
    const web1Address = lab.container(web1).state.addresses[clients.inside.network];
    const urls = {
      lbHttp: `http://${lbAddress}:${lbFacts.listenPort}/api/items`,
      lbHttps: `https://${lbAddress}:${lbFacts.httpsPort}/api/items`,
      direct: `http://${web1Address}:${webPort}/api/items`,
    };
    const haproxy = haproxyWorkerPid(lab, lb);

    // Warm up (connection pools, JIT) on every path, bounded: a short wrk run each.
    for (const [client, url] of [
      [clients.inside.name, urls.direct],
      [clients.edge.name, urls.lbHttp],
      [clients.edge.name, urls.lbHttps],
    ])
      lab.netExec(client, ["wrk", "-t1", `-c${CONNECTIONS}`, "-d2s", url], { timeoutMs: 20_000 });

    // HAProxy's CPU with no traffic (its health checks, timers): the floor under the per-request figures.
    const idle0 = cpuTicks(haproxy);
    await sleep(SECONDS * 1000);
    const haproxyIdleCpuMsPerS = round(((cpuTicks(haproxy) - idle0) * 1000) / CLK_TCK / SECONDS, 2);

    // 1. Saturation, both paths, same run.
    const nginxPids = lab
      .processes(web1)
      .filter((p) => p.comm === "nginx")
      .map((p) => p.ref.pid);
    const direct = wrk(lab, clients.inside.name, urls.direct, `one web node directly (${web1})`, { nginx: nginxPids });
    const before = await backendServers(lab, lb);
    const viaLb = wrk(lab, clients.edge.name, urls.lbHttp, `load balancer, HTTP (${lb})`, { haproxy });
    const after = await backendServers(lab, lb);
    const viaLbTls = wrk(lab, clients.edge.name, urls.lbHttps, `load balancer, HTTPS (${lb})`, { haproxy });
    const perNode = Object.fromEntries(Object.keys(after).map((k) => [k, Number(after[k].stot) - Number(before[k]?.stot ?? 0)]));
    const perNodeTotal = Object.values(perNode).reduce((a, b) => a + b, 0);

    // Half of the direct path's saturation rate, open loop.
    const halfRate = Math.max(32, Math.round(direct.rps / 2));
    const halfDirect = h2loadAtRate(lab, clients.inside.name, urls.direct, "direct", halfRate, tmp);
    const halfLb = h2loadAtRate(lab, clients.edge.name, urls.lbHttp, "lb-http", halfRate, tmp, haproxy);
    const halfLbTls = h2loadAtRate(lab, clients.edge.name, urls.lbHttps, "lb-https", halfRate, tmp, haproxy);

    // Low load, same generator: the hop's own cost, without contention for the cores.
    const lowDirect = h2loadAtRate(lab, clients.inside.name, urls.direct, "direct-low", LOW_RATE, tmp);
    const lowLb = h2loadAtRate(lab, clients.edge.name, urls.lbHttp, "lb-http-low", LOW_RATE, tmp, haproxy);

    console.log(JSON.stringify({ saturation: [direct, viaLb, viaLbTls], halfLoad: [halfDirect, halfLb, halfLbTls], lowLoad: [lowDirect, lowLb] }));

    // 2. TLS handshakes.
    const hostPort = `${lbAddress}:${lbFacts.httpsPort}`;
    const full = handshakes(lab, clients.edge.name, hostPort, "new", haproxy);
    const resumed = handshakes(lab, clients.edge.name, hostPort, "reuse", haproxy);

    console.log(JSON.stringify({ tlsHandshakes: [full, resumed] }));

    // 3. Failed requests during a web node kill (fixed rate, open loop, through the published port).
    const entry = entryUrl(lab);
    const webNodeKill = PARTS_SKIPPED.has("kill") ? { skipped: "LAB_BENCH_SKIP" } : await killWebNode(lab, lb, web1, entry);

    // 4. Replication lag, semi-sync on (the default), then off.
    const semiSyncVar = "rpl_semi_sync_master_enabled";
    const semiSyncDefault = sql(lab, primary, `SELECT @@GLOBAL.${semiSyncVar}`)[0][0];
    const replication: Record<string, unknown>[] = [];
    for (const semiSync of PARTS_SKIPPED.has("replication") ? [] : [true, false]) {
      sql(lab, primary, `SET GLOBAL ${semiSyncVar} = ${semiSync ? "ON" : "OFF"}`);
      for (const rate of WRITE_RATES) {
        replication.push({ semiSync, ...(await replicationLag(lab, entry, replica, primary, rate)) });
        console.log(JSON.stringify(replication[replication.length - 1]));
      }
    }
    sql(lab, primary, `SET GLOBAL ${semiSyncVar} = ${semiSyncDefault === "1" ? "ON" : "OFF"}`);

    const results = {
      machine: { cores: cpus().length, model: cpus()[0]?.model ?? "unknown", note: "client, HAProxy, Nginx, app and MariaDB share these cores" },
      loadAverageAtEnd: Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]),
      stack: "bench/bench-stack.ts (the local example, plain HTTP served on port 80, the per-client request limit raised)",
      variant: JSON.parse(process.env.LAB_BENCH_VARIANT ?? "{}") as unknown,
      bringUp: { upToHealthyMs, goalMs: LAB_GOALS.upToHealthyMs },
      settings: {
        seconds: SECONDS,
        connections: CONNECTIONS,
        halfLoadClients: halfDirect.connections,
        path: "/api/items (replica read)",
        clients: { loadBalancer: clients.edge, direct: clients.inside },
      },
      haproxyIdleCpuMsPerS,
      saturation: {
        direct,
        viaLoadBalancer: viaLb,
        viaLoadBalancerTls: viaLbTls,
        lbToDirectRpsRatio: round(viaLb.rps / direct.rps, 3),
        lbTlsToDirectRpsRatio: round(viaLbTls.rps / direct.rps, 3),
      },
      halfLoad: {
        rate: halfRate,
        direct: halfDirect,
        viaLoadBalancer: halfLb,
        viaLoadBalancerTls: halfLbTls,
        addedP50Ms: round(halfLb.p50Ms - halfDirect.p50Ms, 2),
        addedP99Ms: round(halfLb.p99Ms - halfDirect.p99Ms, 2),
        addedP50MsTls: round(halfLbTls.p50Ms - halfDirect.p50Ms, 2),
        addedP99MsTls: round(halfLbTls.p99Ms - halfDirect.p99Ms, 2),
      },
      lowLoad: {
        rate: lowDirect.rate,
        direct: lowDirect,
        viaLoadBalancer: lowLb,
        addedP50Ms: round(lowLb.p50Ms - lowDirect.p50Ms, 2),
        addedP99Ms: round(lowLb.p99Ms - lowDirect.p99Ms, 2),
      },
      tlsHandshakes: { full, resumed, resumedToFullRatio: round(resumed.perSecond / full.perSecond, 2) },
      distribution: { perNode, shares: Object.fromEntries(Object.entries(perNode).map(([k, v]) => [k, round(v / perNodeTotal, 4)])) },
      webNodeKill,
      replication,
      goals: LAB_GOALS,
    };
    printTable(results);
    writeFileSync(join(root, ".lab", "bench-latest.json"), JSON.stringify(results, null, 2));
    console.log(`\n.lab/bench-latest.json written`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    const removed = await lab.down();
    console.log(`\nlab removed (${removed.length} items)`);
  }
}

/** Failed requests at 100 req/s (open loop, the published port) while web1 is killed; web1 is started again. */
async function killWebNode(lab: Lab, lb: string, web1: string, entry: string) {
  for (let i = 0; i < 20; i++) await request(`${entry}/api/items`);
  const { interMs, fall } = stackOf(lab).loadBalancer(lb).check;
  const fe = async () => (await haproxyStats(lab, lb)).find((r) => r.svname === "FRONTEND" && r.pxname !== "stats")!;
  const be = async () => (await haproxyStats(lab, lb)).find((r) => r.svname === "BACKEND")!;
  const fe0 = await fe();
  const be0 = await be();
  const KILL_RATE = 100;
  const killRun = await fixedRate(`${entry}/api/items`, { rate: KILL_RATE, durationMs: interMs * fall + 4000, timeoutMs: 10_000 }, async () => {
    const watch = watchServerStatus(lab, lb, web1, "DOWN", interMs * fall + 8000);
    await watch.ready;
    await sleep(1000);
    const t0 = Date.now();
    await lab.kill(web1);
    return (await watch.seenAt) - t0;
  });
  const fe1 = await fe();
  const be1 = await be();
  await lab.startContainer(web1);
  await lab.waitHealthy([web1], 60_000);
  return {
    rate: KILL_RATE,
    sent: killRun.summary.sent,
    failed: killRun.summary.errors + killRun.summary.non2xx,
    byStatus: killRun.summary.byStatus,
    markedDownAfterMs: killRun.during,
    checkBudgetMs: interMs * fall,
    haproxy: {
      retries: Number(be1.wretr) - Number(be0.wretr),
      redispatches: Number(be1.wredis) - Number(be0.wredis),
      http5xxToClients: Number(fe1.hrsp_5xx) - Number(fe0.hrsp_5xx),
    },
    p99Ms: round(killRun.summary.latencyMs.p99, 2),
  };
}

/**
 * Writes at `rate`/s through the load balancer for REPL_SECONDS; a poller inside
 * the replica's namespace reads MAX(id) every 2 ms and stamps when each id appears.
 * Lag = appeared on the replica - the row's created_at on the primary (clamped at
 * 0). Also: the primary's semi-sync state after the run and how many commits
 * fell back to asynchronous (no replica acknowledgement in time).
 */
export async function replicationLag(lab: Lab, entry: string, replica: string, primary: string, rate: number) {
  const stack = stackOf(lab);
  const { env, databaseName, hostname: appHost } = stack.app();
  // The app's password: in its environment, or (now that secrets are files) in the upload DB_PASSWORD_FILE names.
  const passwordFile = env[APP_ENV.passwordFile];
  const password =
    env[APP_ENV.password] ??
    lab
      .container(appHost)
      .spec.uploads.find((u) => u.file === passwordFile)
      ?.content?.trim();
  if (password === undefined) throw new Error(`${appHost}: neither ${APP_ENV.password} nor the file ${APP_ENV.passwordFile} names`);
  const { port } = stack.database();
  const status = (name: string) => Number(sql(lab, primary, `SHOW GLOBAL STATUS LIKE '${name}'`)[0]?.[1] ?? NaN);
  // A run starts with the replica caught up: the backlog of the one before must not count as this one's lag.
  const caughtUpAfterMs = await catchUp(lab, primary, replica, databaseName);
  const noTx0 = status("Rpl_semi_sync_master_no_tx");
  const yesTx0 = status("Rpl_semi_sync_master_yes_tx");
  const startId = Number(sql(lab, primary, `SELECT COALESCE(MAX(id), 0) FROM ${databaseName}.items`)[0][0]);
  const count = Math.ceil(rate * REPL_SECONDS);
  const mysql2 = join(repoRoot(), "node_modules", "mysql2", "promise");
  const poller = `
    const mysql = require(${JSON.stringify(mysql2)});
    (async () => {
      const c = await mysql.createConnection({ host: "127.0.0.1", port: Number(process.env.PORT), user: process.env.U, password: process.env.P, database: process.env.D });
      const target = Number(process.env.LAST); let seen = Number(process.env.START); const stamps = {};
      const deadline = Date.now() + Number(process.env.MS);
      process.stdout.write("ready\\n");
      while (seen < target && Date.now() < deadline) {
        const [rows] = await c.query("SELECT COALESCE(MAX(id), 0) AS m FROM items");
        const m = Number(rows[0].m); const now = Date.now();
        for (let id = seen + 1; id <= m; id++) stamps[id] = now;
        seen = Math.max(seen, m);
        await new Promise((r) => setTimeout(r, 2));
      }
      process.stdout.write(JSON.stringify(stamps) + "\\n"); await c.end();
    })().catch((e) => { console.error(e.message); process.exit(1); });`;
  let out = "";
  const pollerDone = lab.netSpawn(replica, [process.execPath, "-e", poller], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      U: env[APP_ENV.user],
      P: password,
      D: databaseName,
      START: String(startId),
      LAST: String(startId + count),
      MS: String((REPL_SECONDS + 60) * 1000),
    },
    timeoutMs: (REPL_SECONDS + 120) * 1000,
    onStdout: (chunk) => (out += chunk),
  });
  let ended: { status: number | null; stderr: string } | undefined;
  void pollerDone.then((r) => (ended = r));
  // Node's start in the replica's namespace takes seconds on a loaded 2-core machine.
  await waitUntil("the replication-lag poller", () => out.includes("ready") || ended !== undefined, { timeoutMs: 60_000, intervalMs: 20 });
  if (!out.includes("ready")) throw new Error(`the replication-lag poller ended (${ended?.status}): ${ended?.stderr.slice(-500)}`);
  let n = 0;
  const run = await fixedRate(
    `${entry}/api/items`,
    { rate, durationMs: REPL_SECONDS * 1000, method: "POST", body: () => ({ name: `lag-${++n}` }), timeoutMs: 5000 },
    async () => undefined,
  );
  const rows = sql(lab, primary, `SELECT id, UNIX_TIMESTAMP(created_at) * 1000 FROM ${databaseName}.items WHERE id > ${startId} ORDER BY id`, 30_000);
  await pollerDone;
  const stamps = JSON.parse(out.split("\n").filter(Boolean).pop() ?? "{}") as Record<string, number>;
  // created_at is the primary's commit-time clock (same machine clock as the poller's).
  // A row the poller never saw (its window ended first) lagged more than any it saw: it sorts last.
  const lags = rows.map(([id, createdMs]) => (stamps[id] !== undefined ? Math.max(0, stamps[id] - Number(createdMs)) : Infinity)).sort((a, b) => a - b);
  const seen = lags.filter(Number.isFinite);
  const pct = (p: number) => {
    const v = percentile(lags, p);
    return Number.isFinite(v) ? round(v, 1) : null;
  };
  return {
    writeRate: rate,
    seconds: REPL_SECONDS,
    writes: run.summary.sent,
    committed: run.summary.ok,
    writeP99Ms: round(run.summary.latencyMs.p99, 1),
    caughtUpBeforeMs: caughtUpAfterMs,
    observedOnReplica: seen.length,
    /** null: more than the poller's window (rows not seen on the replica in time). */
    p50Ms: pct(50),
    p99Ms: pct(99),
    maxSeenMs: round(seen[seen.length - 1] ?? NaN, 1),
    pollerWindowMs: (REPL_SECONDS + 60) * 1000,
    semiSyncAcknowledged: status("Rpl_semi_sync_master_yes_tx") - yesTx0,
    semiSyncFellBack: status("Rpl_semi_sync_master_no_tx") - noTx0,
    method: "replica poller (MAX(id) every 2 ms, in the replica's netns) minus the row's created_at on the primary (TIMESTAMP(3), same clock)",
  };
}

/** Waits (at most 180 s) until the replica has every row of the primary's items: how long that took, null if it did not. */
async function catchUp(lab: Lab, primary: string, replica: string, databaseName: string): Promise<number | null> {
  const started = Date.now();
  const max = (node: string) => Number(sql(lab, node, `SELECT COALESCE(MAX(id), 0) FROM ${databaseName}.items`, 30_000)[0][0]);
  const target = max(primary);
  while (max(replica) < target) {
    if (Date.now() - started > 180_000) return null;
    await sleep(500);
  }
  return Date.now() - started;
}

type Results = {
  bringUp: { upToHealthyMs: number; goalMs: number };
  haproxyIdleCpuMsPerS: number;
  saturation: { direct: PathRun; viaLoadBalancer: PathRun; viaLoadBalancerTls: PathRun; lbToDirectRpsRatio: number; lbTlsToDirectRpsRatio: number };
  halfLoad: {
    rate: number;
    direct: HalfRun;
    viaLoadBalancer: HalfRun;
    viaLoadBalancerTls: HalfRun;
    addedP50Ms: number;
    addedP99Ms: number;
    addedP50MsTls: number;
    addedP99MsTls: number;
  };
  /** Absent from results taken before it was measured. */
  lowLoad?: { rate: number; direct: HalfRun; viaLoadBalancer: HalfRun; addedP50Ms: number; addedP99Ms: number };
  tlsHandshakes: { full: ReturnType<typeof handshakes>; resumed: ReturnType<typeof handshakes> };
  distribution: { perNode: Record<string, number>; shares: Record<string, number> };
  webNodeKill:
    | { skipped: string }
    | {
        rate: number;
        sent: number;
        failed: number;
        markedDownAfterMs?: number;
        checkBudgetMs: number;
        haproxy: { retries: number; redispatches: number; http5xxToClients: number };
      };
  replication: Record<string, unknown>[];
};

/** The lab's rows of the bench table: [figure, measured, baseline, goal]. Shared with run-bench.ts. */
export function labTableRows(r: Results): [string, string, string, string][] {
  const g = LAB_GOALS;
  const met = (ok: boolean) => (ok ? "met" : "MISSED");
  const s = r.saturation;
  const h = r.halfLoad;
  const path = (w: PathRun) => `${w.rps.toFixed(0)} req/s, p50 ${w.p50Ms.toFixed(2)} ms, p99 ${w.p99Ms.toFixed(2)} ms, errors ${w.non2xx + w.socketErrors}`;
  const half = (x: HalfRun) =>
    `p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms (${x.achievedRps} req/s${x.ok < x.rate * SECONDS * HALF_LOAD_SHORTFALL ? ` SHORT: ${x.ok} answered 2xx of ${x.rate * SECONDS}` : ""}, ${x.requests - x.ok} not 2xx)`;
  const rows: [string, string, string, string][] = [
    ["lab: up to all healthy", `${r.bringUp.upToHealthyMs} ms`, "", `< ${g.upToHealthyMs} ms ${met(r.bringUp.upToHealthyMs < g.upToHealthyMs)}`],
    [
      "saturation: LB, HTTP",
      path(s.viaLoadBalancer),
      `direct: ${path(s.direct)}`,
      `≥ x${g.lbToDirectRpsRatio}: x${s.lbToDirectRpsRatio} ${met(s.lbToDirectRpsRatio >= g.lbToDirectRpsRatio)}`,
    ],
    [
      "saturation: LB, HTTPS",
      path(s.viaLoadBalancerTls),
      "direct (above)",
      `≥ x${g.lbToDirectRpsRatio}: x${s.lbTlsToDirectRpsRatio} ${met(s.lbTlsToDirectRpsRatio >= g.lbToDirectRpsRatio)}`,
    ],
    [
      `half load (${h.rate} req/s): LB, HTTP`,
      half(h.viaLoadBalancer),
      `direct: ${half(h.direct)}`,
      `adds p50 ${h.addedP50Ms} ms (< ${g.halfLoadAddedP50Ms} ${met(h.addedP50Ms < g.halfLoadAddedP50Ms)}), p99 ${h.addedP99Ms} ms (< ${g.halfLoadAddedP99Ms} ${met(h.addedP99Ms < g.halfLoadAddedP99Ms)})`,
    ],
    [
      `half load (${h.rate} req/s): LB, HTTPS`,
      half(h.viaLoadBalancerTls),
      "direct (above)",
      `adds p50 ${h.addedP50MsTls} ms (< ${g.halfLoadAddedP50Ms} ${met(h.addedP50MsTls < g.halfLoadAddedP50Ms)}), p99 ${h.addedP99MsTls} ms (< ${g.halfLoadAddedP99Ms} ${met(h.addedP99MsTls < g.halfLoadAddedP99Ms)})`,
    ],
    ...(r.lowLoad === undefined
      ? []
      : [
          [
            `low load (${r.lowLoad.rate} req/s): LB, HTTP`,
            half(r.lowLoad.viaLoadBalancer),
            `direct: ${half(r.lowLoad.direct)}`,
            `(reported: the hop without contention) adds p50 ${r.lowLoad.addedP50Ms} ms, p99 ${r.lowLoad.addedP99Ms} ms`,
          ] as [string, string, string, string],
        ]),
  ];
  for (const [label, x] of [
    [`HAProxy CPU/request: saturation, HTTP (user ${s.viaLoadBalancer.haproxyUserUsPerRequest} us)`, s.viaLoadBalancer.haproxyCpuUsPerRequest],
    [`HAProxy CPU/request: saturation, HTTPS (user ${s.viaLoadBalancerTls.haproxyUserUsPerRequest} us)`, s.viaLoadBalancerTls.haproxyCpuUsPerRequest],
    ["HAProxy CPU/request: half load, HTTP", h.viaLoadBalancer.haproxyCpuUsPerRequest],
    ["HAProxy CPU/request: half load, HTTPS", h.viaLoadBalancerTls.haproxyCpuUsPerRequest],
  ] as const)
    rows.push([
      label,
      `${x} us`,
      `idle: ${r.haproxyIdleCpuMsPerS} ms CPU/s`,
      `< ${g.haproxyCpuUsPerRequest} us ${met((x ?? Infinity) < g.haproxyCpuUsPerRequest)}`,
    ]);
  rows.push(["Nginx CPU/request (direct, saturation)", `${s.direct.nginxCpuUsPerRequest} us`, "", "(reported: the web node's share)"]);
  const t = r.tlsHandshakes;
  rows.push([
    "TLS handshakes/s (one at a time)",
    `resumed ${t.resumed.perSecond}/s, HAProxy ${t.resumed.haproxyCpuUsPerHandshake} us each`,
    `full: ${t.full.perSecond}/s, HAProxy ${t.full.haproxyCpuUsPerHandshake} us each`,
    "(reported)",
  ]);
  rows.push([
    "per-node distribution (LB run)",
    Object.entries(r.distribution.perNode)
      .map(([k, v]) => `${k} ${v} (${(r.distribution.shares[k] * 100).toFixed(2)} %)`)
      .join(", "),
    "",
    "",
  ]);
  const k = r.webNodeKill;
  if (!("skipped" in k))
    rows.push([
      `web node kill at ${k.rate} req/s`,
      `${k.failed} failed of ${k.sent}; DOWN after ${k.markedDownAfterMs} ms`,
      `check budget ${k.checkBudgetMs} ms`,
      `retries ${k.haproxy.retries}, redispatches ${k.haproxy.redispatches}, 5xx ${k.haproxy.http5xxToClients}`,
    ]);
  for (const x of r.replication as {
    semiSync: boolean;
    writeRate: number;
    committed: number;
    writes: number;
    observedOnReplica: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxSeenMs: number;
    pollerWindowMs: number;
    semiSyncFellBack: number;
  }[]) {
    const ms = (v: number | null) => (v === null ? `> ${x.pollerWindowMs / 1000} s (not seen in the window)` : `${v} ms`);
    const goal = x.writeRate === 500 ? `p99 < ${g.replicationP99MsAt500} ms ${met(x.p99Ms !== null && x.p99Ms < g.replicationP99MsAt500)}` : "(reported)";
    rows.push([
      `replication lag, ${x.writeRate} writes/s, semi-sync ${x.semiSync ? "on" : "off"}`,
      `p50 ${ms(x.p50Ms)}, p99 ${ms(x.p99Ms)}, max seen ${x.maxSeenMs} ms`,
      `${x.committed}/${x.writes} committed, ${x.observedOnReplica} seen on the replica${x.semiSync ? `, ${x.semiSyncFellBack} fell back to async` : ""}`,
      goal,
    ]);
  }
  return rows;
}

function printTable(r: Results) {
  const rows: [string, string, string, string][] = [["figure", "measured", "baseline", "goal"], ...labTableRows(r)];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length)));
  console.log(
    `\n${rows.map((x, i) => `${x[0].padEnd(w[0])}  ${x[1].padEnd(w[1])}  ${x[2].padEnd(w[2])}  ${x[3]}${i === 0 ? `\n${"-".repeat(w[0] + w[1] + w[2] + 40)}` : ""}`).join("\n")}`,
  );
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(`bench:lab: ${e.message}`);
      process.exit(1);
    },
  );
}
