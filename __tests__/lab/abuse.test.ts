/**
 * End-to-end: the edge under abuse (issue 13, item 4), run for real by the lab.
 * Before the limits, 20 connections sending a request body 1 byte every 5 s were
 * all still open after 60 s, and 5,000 of them from one client filled HAProxy's
 * maxconn and Nginx's worker_connections: both web nodes were marked down and
 * other clients got 502 and 503.
 *
 * Two namespaces outside the stack are attached to the edge network (Lab.attach):
 * `attacker` opens slow-body connections to the pair's virtual address (HTTPS:
 * the headers of a POST with a Content-Length, then 1 byte every 5 s), `client`
 * runs normal traffic at a fixed rate. HAProxy's stats are read from inside the
 * load balancer's namespace. Nothing connects from the host's own namespace.
 * Its own lab: instance `x`, published ports at LAB_PORT_OFFSET + 500; it takes
 * turns with the other lab files (take-turns.ts).
 *
 *  1. 20 slow bodies: each answered 408 and closed within the body timeout
 *     (LoadBalancerTier `limits.bodyTimeoutMs`) plus slack;
 *  2. 5,000 slow bodies from one address while the client runs normal traffic:
 *     the client sees 0 failures and p99 under 100 ms; at most
 *     `limits.maxConnectionsPerClient` of the attacker's connections are admitted
 *     (the rest refused before TLS), every admitted one is closed by the body
 *     timeout, no web node is marked down, and no web node ever has more than
 *     `limits.maxConnectionsPerServer` requests from HAProxy.
 */
import { clientFixedRate, ClientLoadSummary } from "../../lab/client";
import { ipv4InCidr } from "../../lab/ipv4";
import { haproxyStats, holdersOf, stackOf } from "../../lab/probes";
import { Lab } from "../../lab/runner";
import { waitUntil } from "../../lab/sys";
import { HAPROXY_LIMITS_DEFAULTS } from "../../templates/edge-limits";
import { describeWhenLabRuns, localStackLab } from "./bring-up";

const ATTACKER = "attacker";
const CLIENT = "client";
/** The attack: 5,000 connections (ABUSE_CONNECTIONS overrides it, e.g. on a smaller machine). */
const FLOOD = Number(process.env.ABUSE_CONNECTIONS ?? 5000);
const LIMITS = HAPROXY_LIMITS_DEFAULTS;
/** How late a cut-off may come after the body timeout: a loaded 2-core machine, TLS, the poll of the attacker. */
const SLACK_MS = 3000;

/**
 * The attacker: opens `count` TLS connections (`batch` per 100 ms), sends the
 * headers of a POST with a Content-Length of 1000, then 1 byte every `byteMs`,
 * and records what happens to each connection. Bounded: everything still open
 * `holdMs` after the last connection was opened is destroyed and counted as
 * still open. Prints one JSON line.
 */
const ATTACK_SOURCE = `
const tls = require("tls");
const [host, port, count, batch, byteMs, holdMs] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const conns = [];
let opened = 0, done = 0, lastOpenAt = 0;
const t0 = Date.now();
function finish() {
  const now = Date.now();
  for (const c of conns) if (!c.end) { c.end = now; c.outcome = "still-open"; c.sock.destroy(); }
  const out = { count, refused: 0, admitted: 0, closedByServer: 0, stillOpen: 0, statuses: {}, errors: {}, cutAfterMs: [], openingMs: lastOpenAt - t0 };
  for (const c of conns) {
    if (!c.secureAt) { out.refused++; out.errors[c.error || "closed"] = (out.errors[c.error || "closed"] || 0) + 1; continue; }
    out.admitted++;
    if (c.outcome === "still-open") { out.stillOpen++; continue; }
    out.closedByServer++;
    const st = (/^HTTP\\/1\\.1 (\\d+)/.exec(c.data) || [, "none"])[1];
    out.statuses[st] = (out.statuses[st] || 0) + 1;
    out.cutAfterMs.push(c.end - c.headersAt);
  }
  out.cutAfterMs.sort((a, b) => a - b);
  process.stdout.write("result " + JSON.stringify(out) + "\\n");
  process.exit(0);
}
function open() {
  const c = { data: "" };
  conns.push(c);
  const sock = tls.connect({ host, port, rejectUnauthorized: false, servername: "localhost" });
  c.sock = sock;
  sock.setNoDelay(true);
  let timer;
  const end = (outcome, error) => {
    if (c.end) return;
    c.end = Date.now(); c.outcome = outcome; if (error) c.error = error;
    clearInterval(timer); sock.destroy();
    if (++done === count) finish();
  };
  sock.on("secureConnect", () => {
    c.secureAt = Date.now();
    sock.write("POST /api/items HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Type: application/json\\r\\nContent-Length: 1000\\r\\n\\r\\n");
    c.headersAt = Date.now();
    timer = setInterval(() => sock.write("{"), byteMs);
  });
  sock.on("data", (d) => { c.data += d; });
  sock.on("end", () => end("closed"));
  sock.on("close", () => end("closed"));
  sock.on("error", (e) => end("error", e.code || e.message));
}
function ramp() {
  for (let i = 0; i < batch && opened < count; i++) { opened++; open(); }
  lastOpenAt = Date.now();
  if (opened < count) setTimeout(ramp, 100);
  else setTimeout(finish, holdMs);
}
ramp();
`;

interface AttackResult {
  count: number;
  refused: number;
  admitted: number;
  closedByServer: number;
  stillOpen: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  /** Per admitted connection closed by the server: ms from its headers to the close, sorted. */
  cutAfterMs: number[];
  openingMs: number;
}

const describeLab = describeWhenLabRuns("the lab abuse scenarios");

describeLab("the lab: the edge under abuse (slow bodies, one client's flood)", () => {
  let lab: Lab;
  let vip: string;
  let lb: string;
  const file = localStackLab({
    file: "abuse.test.ts",
    what: "lab abuse scenarios",
    instance: "x",
    portOffset: 500,
    afterUp: async (up) => {
      lab = up;
      const stack = stackOf(lab);
      vip = stack.loadBalancer("lb-1").floatingAddress!;
      const network = lab.requireState().networks.find((n) => ipv4InCidr(vip, n.subnet))!;
      const attacker = lab.attach(ATTACKER, network.name, { avoid: [vip] });
      lab.attach(CLIENT, network.name, { avoid: [vip, attacker.address] });
      await waitUntil(`one load balancer holding ${vip}`, () => holdersOf(lab, vip).length === 1, { timeoutMs: 20_000, intervalMs: 100 });
      lb = holdersOf(lab, vip)[0];
    },
    beforeDown: async (up) => {
      for (const c of [ATTACKER, CLIENT]) await up.detach(c);
    },
  });
  const { t } = file;

  /** Runs the attacker in its namespace; resolves with what happened to each of its connections. */
  async function attack(count: number, batch: number, holdMs: number): Promise<AttackResult> {
    let out = "";
    const bound = Math.ceil(count / batch) * 100 + holdMs + 20_000;
    const r = await lab.netSpawn(ATTACKER, [process.execPath, "-e", ATTACK_SOURCE, vip, "443", String(count), String(batch), "5000", String(holdMs)], {
      timeoutMs: bound,
      onStdout: (chunk) => (out += chunk),
    });
    const m = /^result (.*)$/m.exec(out);
    if (!m) throw new Error(`the attacker gave no result: ${r.error ?? ""} ${r.stderr}`);
    return JSON.parse(m[1]) as AttackResult;
  }

  /** HAProxy's rows for the web nodes and the public frontend, from inside the load balancer's namespace. */
  async function stats() {
    const rows = await haproxyStats(lab, lb);
    const servers = rows.filter((r) => r.pxname === "web_nodes" && r.svname !== "BACKEND");
    const frontend = rows.find((r) => r.pxname === "http" && r.svname === "FRONTEND")!;
    return { servers, frontend };
  }

  test("every web node takes at most limits.maxConnectionsPerServer requests at once from HAProxy", async () => {
    const { servers } = await stats();
    expect(servers.map((s) => s.svname).sort()).toEqual(["web-1", "web-2"]);
    for (const s of servers) expect({ server: s.svname, slim: Number(s.slim) }).toEqual({ server: s.svname, slim: LIMITS.maxConnectionsPerServer });
  });

  test("1. 20 slow bodies (1 byte every 5 s): each gets 408 and is closed within the body timeout", async () => {
    const started = Date.now();
    const r = await attack(20, 20, LIMITS.bodyTimeoutMs + SLACK_MS + 5000);
    console.log(
      `20 slow bodies: admitted ${r.admitted}, closed by HAProxy ${r.closedByServer} (${JSON.stringify(r.statuses)}), still open ${r.stillOpen}; cut after ${r.cutAfterMs[0]}-${r.cutAfterMs.at(-1)} ms (body timeout ${LIMITS.bodyTimeoutMs} ms)`,
    );
    expect(r.admitted).toBe(20);
    expect(r.stillOpen).toBe(0);
    expect(r.statuses).toEqual({ 408: 20 });
    expect(r.cutAfterMs[0]).toBeGreaterThanOrEqual(LIMITS.bodyTimeoutMs - 100);
    expect(r.cutAfterMs.at(-1)!).toBeLessThanOrEqual(LIMITS.bodyTimeoutMs + SLACK_MS);
    t("1 twenty slow bodies", started);
  }, 60_000);

  test(`2. ${FLOOD} slow bodies from one address: the other client sees 0 failures and p99 < 100 ms; no web node marked down`, async () => {
    const started = Date.now();
    const before = await stats();
    const downBefore = Object.fromEntries(before.servers.map((s) => [s.svname, Number(s.chkdown)]));
    const deniedBefore = Number(before.frontend.dcon);
    // Normal traffic: a new HTTPS connection per request, from the start of the flood to past its cut-off.
    const rate = 40;
    const durationMs = 4000 + Math.ceil(FLOOD / 250) * 100 + LIMITS.bodyTimeoutMs + SLACK_MS;
    const normal = clientFixedRate(lab, CLIENT, `https://${vip}/api/items`, { rate, durationMs, timeoutMs: 5000 });
    await normal.started;
    // The stats during the flood, every second, from the load balancer's namespace.
    const seen: { at: number; status: Record<string, string>; scur: Record<string, number>; feScur: number }[] = [];
    let polling = true;
    const poller = (async () => {
      for (let i = 0; polling && i < Math.ceil(durationMs / 1000) + 30; i++) {
        const s = await stats().catch(() => undefined);
        if (s)
          seen.push({
            at: Date.now(),
            status: Object.fromEntries(s.servers.map((x) => [x.svname, x.status])),
            scur: Object.fromEntries(s.servers.map((x) => [x.svname, Number(x.scur)])),
            feScur: Number(s.frontend.scur),
          });
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    const flood = await attack(FLOOD, 250, LIMITS.bodyTimeoutMs + SLACK_MS + 2000);
    const summary: ClientLoadSummary = await normal.result;
    polling = false;
    await poller;
    const after = await stats();

    const latencies = summary.requests.map((q) => q.doneAt - q.sentAt).sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
    const maxFrontend = Math.max(...seen.map((s) => s.feScur));
    const maxPerServer = Math.max(...seen.flatMap((s) => Object.values(s.scur)));
    const deniedConnections = Number(after.frontend.dcon) - deniedBefore;
    console.log(
      [
        `${FLOOD} slow bodies from one address, opened in ${flood.openingMs} ms: admitted ${flood.admitted} (limit ${LIMITS.maxConnectionsPerClient}), refused ${flood.refused} ${JSON.stringify(flood.errors)}, HAProxy denied ${deniedConnections} connections;`,
        `  admitted ones closed by HAProxy: ${flood.closedByServer} ${JSON.stringify(flood.statuses)}, still open at the end: ${flood.stillOpen}; cut after ${flood.cutAfterMs[0]}-${flood.cutAfterMs.at(-1)} ms`,
        `  the other client: ${summary.sent} requests at ${rate}/s, ${summary.failed} failed ${JSON.stringify(summary.byStatus)}; latency p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)} ms`,
        `  HAProxy during the flood (${seen.length} polls): frontend connections max ${maxFrontend}, requests at a web node max ${maxPerServer}; web node statuses seen: ${JSON.stringify([...new Set(seen.flatMap((s) => Object.values(s.status)))])}`,
      ].join("\n"),
    );

    // The other client is not affected.
    expect(summary.sent).toBe(Math.ceil((rate * durationMs) / 1000));
    expect({ failed: summary.failed, byStatus: summary.byStatus, byError: summary.byError }).toEqual({
      failed: 0,
      byStatus: { 200: summary.sent },
      byError: {},
    });
    expect(pct(99)).toBeLessThan(100);
    // The attacker: at most its per-client share admitted, the rest refused before TLS, every admitted one cut off.
    expect(flood.admitted).toBeGreaterThan(0);
    expect(flood.admitted).toBeLessThanOrEqual(LIMITS.maxConnectionsPerClient);
    expect(flood.refused).toBe(FLOOD - flood.admitted);
    expect(deniedConnections).toBeGreaterThanOrEqual(flood.refused);
    expect(flood.stillOpen).toBe(0);
    expect(flood.statuses).toEqual({ 408: flood.admitted });
    expect(flood.cutAfterMs.at(-1)!).toBeLessThanOrEqual(LIMITS.bodyTimeoutMs + SLACK_MS);
    // No web node was marked down, at any poll or by the counters; none got more than its maxconn.
    expect(seen.length).toBeGreaterThan(5);
    for (const s of seen) expect(s.status).toEqual({ "web-1": "UP", "web-2": "UP" });
    expect(Object.fromEntries(after.servers.map((s) => [s.svname, Number(s.chkdown)]))).toEqual(downBefore);
    for (const s of after.servers) expect(Number(s.smax)).toBeLessThanOrEqual(LIMITS.maxConnectionsPerServer);
    t(`2 flood of ${FLOOD}`, started);
  }, 180_000);
});
