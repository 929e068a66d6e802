/**
 * npm run bench:lab — measured numbers from the lab (the synthesized `local`
 * stack run for real on this machine), printed as a table and as JSON:
 *
 *  1. requests/s and p50/p99 latency of GET /api/items through the load balancer
 *     versus directly to one web node, in the same run (wrk, closed loop, run
 *     inside the load balancer's network namespace so both paths share a client),
 *     and the ratio; plus through the published port on the host's 127.0.0.1;
 *  2. per-node distribution of the load-balanced run (HAProxy's counters);
 *  3. failed requests during a web node kill (fixed rate, open loop);
 *  4. replication lag p50/p99 at a fixed write rate (client's 201 -> row visible
 *     on the replica, polled every 2 ms from inside the replica's namespace).
 *
 * Every load is bounded in count and time; the lab is removed at the end.
 * Options (env): LAB_BENCH_SECONDS (default 5), LAB_BENCH_CONNECTIONS (16),
 * LAB_BENCH_WRITE_RATE (20/s), LAB_PORT_OFFSET (0), LAB_BENCH_NO_SYNTH=1.
 */
import { spawnSync } from "child_process";
import { writeFileSync } from "fs";
import { cpus } from "os";
import { join } from "path";
import { APP_ENV } from "../templates/app-environment";
import { repoRoot } from "../lab/host";
import { checkPrereqs, prereqMessage } from "../lab/prereqs";
import { fixedRate, percentile, request } from "../lab/load";
import { backendServers, entryUrl, haproxyStats, sql, stackOf, watchServerStatus } from "../lab/probes";
import { Lab } from "../lab/runner";
import { sleep, waitUntil } from "../lab/sys";

const SECONDS = Math.min(60, Number(process.env.LAB_BENCH_SECONDS ?? 5));
const CONNECTIONS = Math.min(256, Number(process.env.LAB_BENCH_CONNECTIONS ?? 16));
const WRITE_RATE = Math.min(200, Number(process.env.LAB_BENCH_WRITE_RATE ?? 20));

interface WrkResult {
  target: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
}

function parseMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as "us" | "ms" | "s"];
}

function parseWrk(target: string, out: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    target,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: parseMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ""),
    p99Ms: parseMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ""),
    requests: num(/(\d+) requests in/),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: socket
      ? socket
          .slice(1)
          .map(Number)
          .reduce((a, b) => a + b, 0)
      : 0,
  };
}

function wrk(lab: Lab, inNetnsOf: string | undefined, url: string, label: string): WrkResult {
  const args = ["-t2", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "--timeout", "5s", "--latency", url];
  const r = inNetnsOf
    ? lab.netExec(inNetnsOf, ["wrk", ...args], { timeoutMs: (SECONDS + 15) * 1000 })
    : spawnSync("wrk", args, { encoding: "utf8", timeout: (SECONDS + 15) * 1000 });
  if (r.status !== 0) throw new Error(`wrk ${url}: ${r.stderr}`);
  return parseWrk(label, String(r.stdout));
}

async function main() {
  const root = repoRoot();
  const pre = checkPrereqs(["haproxy:2.6", "nginx:1.22", "mariadb:10.11", "node:20"], { bench: true });
  if (!pre.ok) throw new Error(prereqMessage(pre));
  if (process.env.LAB_BENCH_NO_SYNTH !== "1") {
    console.log("synthesizing: npm run synth");
    const r = spawnSync("npm", ["run", "--silent", "synth"], { cwd: root, stdio: "inherit", timeout: 300_000 });
    if (r.status !== 0) throw new Error("npm run synth failed");
  }
  const lab = new Lab({ instance: "b", portOffset: Number(process.env.LAB_PORT_OFFSET ?? 0), log: (l) => console.log(l) });
  if (lab.state && lab.isRunning() && !lab.isStale())
    throw new Error(`a bench lab is already running (${lab.stateFile}): \`npm run lab -- down --instance b\``);
  const started = Date.now();
  await lab.up(join(root, "cdktf.out", "stacks", "local", "cdk.tf.json"), { owner: process.pid });
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
    const lbSpec = lab.container(lb);
    // HTTPS where the load balancer terminates TLS (plain HTTP only redirects); wrk does not verify the self-signed certificate.
    const lbFacts = stack.loadBalancer(lb);
    const lbScheme = lbFacts.httpsPort !== undefined ? "https" : "http";
    const lbPort = lbFacts.httpsPort ?? lbFacts.listenPort;
    const web1 = lab.container(webNodes[0]);
    // The web node's address on the network it shares with the load balancer.
    const shared = web1.spec.networks.find((n) => lbSpec.spec.networks.some((m) => m.network === n.network))!.network;
    const web1Url = `http://${web1.state.addresses[shared]}:80/api/items`;
    const entry = entryUrl(lab);

    // Warm up (connection pools, JIT) on both paths, bounded: a short wrk run each.
    for (let i = 0; i < 20; i++) await request(`${entry}/api/items`);
    for (const url of [`${lbScheme}://127.0.0.1:${lbPort}/api/items`, web1Url])
      lab.netExec(lb, ["wrk", "-t1", `-c${CONNECTIONS}`, "-d2s", url], { timeoutMs: 20_000 });

    // 1 + 2. Through the LB vs one web node directly, same client namespace, same run.
    const before = await backendServers(lab, lb);
    const viaLb = wrk(lab, lb, `${lbScheme}://127.0.0.1:${lbPort}/api/items`, `load balancer (${lb}:${lbPort}, client in its netns)`);
    const after = await backendServers(lab, lb);
    const direct = wrk(lab, lb, web1Url, `one web node directly (${webNodes[0]}, client in ${lb}'s netns)`);
    const published = wrk(lab, undefined, `${entry}/api/items`, `published port (${entry}, host; via the port forwarder)`);
    const perNode = Object.fromEntries(Object.keys(after).map((k) => [k, Number(after[k].stot) - Number(before[k]?.stot ?? 0)]));
    const perNodeTotal = Object.values(perNode).reduce((a, b) => a + b, 0);

    // 3. Failed requests during a web node kill (fixed rate, open loop).
    const { interMs, fall } = stack.loadBalancer(lb).check;
    const fe = async () => (await haproxyStats(lab, lb)).find((r) => r.svname === "FRONTEND" && r.pxname !== "stats")!;
    const be = async () => (await haproxyStats(lab, lb)).find((r) => r.svname === "BACKEND")!;
    const fe0 = await fe();
    const be0 = await be();
    const KILL_RATE = 100;
    const killRun = await fixedRate(`${entry}/api/items`, { rate: KILL_RATE, durationMs: interMs * fall + 4000, timeoutMs: 10_000 }, async () => {
      const watch = watchServerStatus(lab, lb, webNodes[0], "DOWN", interMs * fall + 8000);
      await watch.ready;
      await sleep(1000);
      const t0 = Date.now();
      await lab.kill(webNodes[0]);
      return (await watch.seenAt) - t0;
    });
    const fe1 = await fe();
    const be1 = await be();
    await lab.startContainer(webNodes[0]);
    await lab.waitHealthy([webNodes[0]], 60_000);

    // 4. Replication lag at a fixed write rate.
    const lag = await replicationLag(lab, entry, replica, primary);

    const results = {
      machine: { cores: cpus().length, note: "client, HAProxy, Nginx, app and MariaDB share these cores" },
      bringUp: { upToHealthyMs, goalMs: 4000 },
      settings: { seconds: SECONDS, connections: CONNECTIONS, path: "/api/items (replica read)" },
      throughput: {
        viaLoadBalancer: viaLb,
        directToWebNode: direct,
        viaPublishedPort: published,
        lbToDirectRpsRatio: round(viaLb.rps / direct.rps, 3),
        lbToDirectP50Ratio: round(viaLb.p50Ms / direct.p50Ms, 3),
      },
      distribution: { perNode, shares: Object.fromEntries(Object.entries(perNode).map(([k, v]) => [k, round(v / perNodeTotal, 4)])) },
      webNodeKill: {
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
      },
      replicationLag: lag,
    };
    printTable(results);
    console.log("\nJSON:");
    console.log(JSON.stringify(results, null, 2));
    writeFileSync(join(root, ".lab", "bench-latest.json"), JSON.stringify(results, null, 2));
  } finally {
    const removed = await lab.down();
    console.log(`\nlab removed (${removed.length} items)`);
  }
}

/**
 * Writes at `WRITE_RATE`/s through the load balancer for SECONDS; a poller inside
 * the replica's namespace reads MAX(id) every 2 ms and stamps when each id appears.
 * Lag = appeared on the replica - the client got its 201 (clamped at 0: the row
 * can be there before the answer travels back through Nginx and HAProxy).
 */
async function replicationLag(lab: Lab, entry: string, replica: string, primary: string) {
  const stack = stackOf(lab);
  const { env, databaseName } = stack.app();
  const { port } = stack.database();
  const startId = Number(sql(lab, primary, `SELECT COALESCE(MAX(id), 0) FROM ${databaseName}.items`)[0][0]);
  const count = Math.ceil(WRITE_RATE * SECONDS);
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
      P: env[APP_ENV.password],
      D: databaseName,
      START: String(startId),
      LAST: String(startId + count),
      MS: String((SECONDS + 20) * 1000),
    },
    timeoutMs: (SECONDS + 30) * 1000,
    onStdout: (chunk) => (out += chunk),
  });
  await waitUntil("the replication-lag poller", () => out.includes("ready"), { timeoutMs: 10_000, intervalMs: 20 });
  let n = 0;
  const run = await fixedRate(
    `${entry}/api/items`,
    { rate: WRITE_RATE, durationMs: SECONDS * 1000, method: "POST", body: () => ({ name: `lag-${++n}` }), timeoutMs: 5000 },
    async () => undefined,
  );
  const rows = sql(lab, primary, `SELECT id, UNIX_TIMESTAMP(created_at) * 1000 FROM ${databaseName}.items WHERE id > ${startId} ORDER BY id`);
  await pollerDone;
  const stamps = JSON.parse(out.split("\n").filter(Boolean).pop() ?? "{}") as Record<string, number>;
  // created_at is the primary's commit-time clock (same machine clock as the poller's).
  const lags = rows
    .map(([id, createdMs]) => (stamps[id] !== undefined ? Math.max(0, stamps[id] - Number(createdMs)) : NaN))
    .filter((x) => !Number.isNaN(x))
    .sort((a, b) => a - b);
  return {
    writeRate: WRITE_RATE,
    writes: run.summary.sent,
    committed: run.summary.ok,
    observedOnReplica: lags.length,
    p50Ms: round(percentile(lags, 50), 1),
    p99Ms: round(percentile(lags, 99), 1),
    maxMs: round(lags[lags.length - 1], 1),
    method: "replica poller (MAX(id) every 2 ms, in the replica's netns) minus the row's created_at on the primary (TIMESTAMP(3), same clock)",
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function printTable(r: {
  bringUp: { upToHealthyMs: number; goalMs: number };
  throughput: { viaLoadBalancer: WrkResult; directToWebNode: WrkResult; viaPublishedPort: WrkResult; lbToDirectRpsRatio: number; lbToDirectP50Ratio: number };
  distribution: { perNode: Record<string, number>; shares: Record<string, number> };
  webNodeKill: {
    rate: number;
    sent: number;
    failed: number;
    markedDownAfterMs?: number;
    checkBudgetMs: number;
    haproxy: { retries: number; redispatches: number; http5xxToClients: number };
  };
  replicationLag: { writeRate: number; committed: number; observedOnReplica: number; p50Ms: number; p99Ms: number; maxMs: number };
}) {
  const rows: string[][] = [["measure", "value"]];
  rows.push([
    "up to all healthy (synthesized)",
    `${r.bringUp.upToHealthyMs} ms (goal < ${r.bringUp.goalMs} ms: ${r.bringUp.upToHealthyMs < r.bringUp.goalMs ? "met" : "MISSED"})`,
  ]);
  for (const w of [r.throughput.viaLoadBalancer, r.throughput.directToWebNode, r.throughput.viaPublishedPort]) {
    rows.push([`${w.target}`, `${w.rps.toFixed(0)} req/s, p50 ${w.p50Ms.toFixed(2)} ms, p99 ${w.p99Ms.toFixed(2)} ms, errors ${w.non2xx + w.socketErrors}`]);
  }
  rows.push(["LB / direct", `req/s x${r.throughput.lbToDirectRpsRatio}, p50 x${r.throughput.lbToDirectP50Ratio}`]);
  rows.push([
    "per-node distribution (LB run)",
    Object.entries(r.distribution.perNode)
      .map(([k, v]) => `${k} ${v} (${(r.distribution.shares[k] * 100).toFixed(2)} %)`)
      .join(", "),
  ]);
  rows.push([
    `web node kill at ${r.webNodeKill.rate} req/s`,
    `${r.webNodeKill.failed} failed of ${r.webNodeKill.sent}; marked DOWN after ${r.webNodeKill.markedDownAfterMs} ms (budget ${r.webNodeKill.checkBudgetMs}); HAProxy retries ${r.webNodeKill.haproxy.retries}, redispatches ${r.webNodeKill.haproxy.redispatches}, 5xx to clients ${r.webNodeKill.haproxy.http5xxToClients}`,
  ]);
  rows.push([
    `replication lag at ${r.replicationLag.writeRate} writes/s`,
    `p50 ${r.replicationLag.p50Ms} ms, p99 ${r.replicationLag.p99Ms} ms, max ${r.replicationLag.maxMs} ms (${r.replicationLag.observedOnReplica}/${r.replicationLag.committed} rows)`,
  ]);
  const w = Math.max(...rows.map((x) => x[0].length));
  console.log("\n" + rows.map((x, i) => `${x[0].padEnd(w)}  ${x[1]}${i === 0 ? "\n" + "-".repeat(w + 60) : ""}`).join("\n"));
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench:lab: ${e.message}`);
    process.exit(1);
  },
);
