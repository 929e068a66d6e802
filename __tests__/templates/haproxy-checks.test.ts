/**
 * The rendered health checks on the real HAProxy, in a network namespace of
 * this test (NamespaceSandbox): four fake web nodes on its loopback stand for
 * the cases of issue 13 and say what the checks make of each:
 *  - web-1 healthy (the health path answers 200);
 *  - web-2 a dead app behind a live Nginx (the health path answers Nginx's 502 at once);
 *  - web-3 healthy, then frozen right after answering a check (it accepts and never answers);
 *  - web-4 a dead node (nothing listens).
 * The scenario runs inside the namespace (one Node process: the fake nodes and a
 * 10 ms poll of HAProxy's stats) and prints what it saw.
 */
import { HAPROXY_DEFAULTS, haproxyDetectionBoundMs, HEALTH_BACKEND, HUNG_BACKEND, renderHaproxyConfig } from "../../templates/haproxy";
import { hasBinary, isRoot } from "../helpers/binaries";
import { NamespaceSandbox, outputOf, waitFor } from "../helpers/namespace-sandbox";

const real = hasBinary("haproxy") && hasBinary("unshare") && isRoot() ? describe : describe.skip;

const STATS_PORT = 8404;
const PORTS = { "web-1": 18081, "web-2": 18082, "web-3": 18083, "web-4": 18084 };
const CONFIG_PATH = "/etc/haproxy/haproxy.cfg";
const SCENARIO_PATH = "/opt/haproxy-checks/scenario.js";

/** Runs inside the namespace. argv: stats port, the ports as JSON. Prints one line: "result <json>". */
const SCENARIO = `const http = require("http");
const [statsPort, portsJson] = process.argv.slice(2);
const ports = JSON.parse(portsJson);
const held = [];
let armed = false, frozenAt = 0;
const answer = (res, status) => { res.writeHead(status, { "content-length": 3 }); res.end("ok\\n"); };
const servers = [
  http.createServer((req, res) => answer(res, 200)).listen(ports["web-1"], "127.0.0.1"),
  http.createServer((req, res) => answer(res, 502)).listen(ports["web-2"], "127.0.0.1"),
  http.createServer((req, res) => {
    if (frozenAt) { held.push(res); return; } // frozen: the connection is accepted, never answered
    answer(res, 200);
    if (armed) frozenAt = Date.now(); // right after answering a check: the worst instant to freeze
  }).listen(ports["web-3"], "127.0.0.1"),
];
const stats = () => new Promise((resolve) => {
  http.get({ host: "127.0.0.1", port: Number(statsPort), path: "/stats;csv", timeout: 1000 }, (r) => {
    let b = ""; r.on("data", (d) => (b += d)); r.on("end", () => {
      const lines = b.trim().split("\\n"); const h = lines[0].replace(/^# /, "").split(",");
      const at = (f, k) => f[h.indexOf(k)];
      const rows = {};
      for (const l of lines.slice(1)) { const f = l.split(","); if (at(f, "pxname") !== "stats" && /^web-/.test(at(f, "svname"))) (rows[at(f, "pxname")] ??= {})[at(f, "svname")] = at(f, "status"); }
      resolve(rows);
    });
  }).on("error", () => resolve(null)).on("timeout", function () { this.destroy(); resolve(null); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const up = (s) => /^UP/.test(s ?? "");
(async () => {
  const result = { settled: null, downAfterFreezeMs: {} };
  // Settled: every check has had its say (web-2 and web-4 down where they should be, the others up).
  for (let end = Date.now() + 10000; Date.now() < end; await sleep(50)) {
    const s = await stats();
    if (s && s.web_nodes && up(s.web_nodes["web-1"]) && up(s.web_nodes["web-3"]) && !up(s.web_nodes["web-2"]) && !up(s.web_nodes_once["web-4"])
        && up(s.web_nodes_hung["web-3"]) && up(s.web_nodes_health["web-3"])) { result.settled = s; break; }
  }
  if (result.settled) {
    await sleep(1500); // web-3's checks back at their healthy interval
    armed = true;
    for (let end = Date.now() + 10000; Date.now() < end; await sleep(10)) {
      const s = await stats();
      const now = Date.now();
      if (!s || !frozenAt) continue;
      for (const [px, rows] of Object.entries(s)) if (!up(rows["web-3"]) && !(px in result.downAfterFreezeMs)) result.downAfterFreezeMs[px] = now - frozenAt;
      if (Object.keys(result.downAfterFreezeMs).length === Object.keys(s).length) break;
    }
  }
  console.log("result " + JSON.stringify(result));
  for (const res of held) res.destroy();
  for (const s of servers) s.close();
  process.exit(0);
})();
`;

real("the rendered health checks on the real HAProxy (fake web nodes in a namespace)", () => {
  let sandbox: NamespaceSandbox;
  let result: { settled: Record<string, Record<string, string>> | null; downAfterFreezeMs: Record<string, number> };
  const bound = haproxyDetectionBoundMs(HAPROXY_DEFAULTS.healthCheck, HAPROXY_DEFAULTS.timeouts.checkMs);

  beforeAll(async () => {
    sandbox = new NamespaceSandbox("hachecks");
    const config = renderHaproxyConfig({
      nodeName: "lb-1",
      httpPort: 18080,
      bindAddress: "127.0.0.1",
      statsPort: STATS_PORT,
      runtimeDns: false,
      user: "root",
      servers: Object.entries(PORTS).map(([name, port]) => ({ name, host: "127.0.0.1", port })),
    });
    const haproxy = sandbox.start("haproxy", { files: { [CONFIG_PATH]: { content: config } }, mounts: {}, command: ["haproxy", "-f", CONFIG_PATH], env: {} });
    const scenario = sandbox.start("scenario", {
      files: { [SCENARIO_PATH]: { content: SCENARIO } },
      mounts: {},
      command: [process.execPath, SCENARIO_PATH, String(STATS_PORT), JSON.stringify(PORTS)],
      env: {},
    });
    await waitFor("the scenario to end", () => scenario.exitCode !== null || haproxy.exitCode !== null, 120, 250);
    const out = outputOf(scenario);
    const line = /^result (.*)$/m.exec(out);
    if (!line) throw new Error(`the scenario gave no result; HAProxy said:\n${outputOf(haproxy)}\nthe scenario said:\n${out}`);
    result = JSON.parse(line[1]);
    console.log(`health checks on the real HAProxy: ${JSON.stringify(result)}`);
  }, 60_000);

  afterAll(async () => {
    await sandbox?.cleanup();
  }, 30_000);

  test("a dead app behind a live Nginx leaves web_nodes but stays in web_nodes_once (its writes get the 425 and move on)", () => {
    const s = result.settled!;
    expect(s).not.toBeNull();
    expect({ health: s[HEALTH_BACKEND]["web-2"], web: s.web_nodes["web-2"] }).toEqual({ health: "DOWN", web: "DOWN" });
    expect({ hung: s[HUNG_BACKEND]["web-2"], once: s.web_nodes_once["web-2"] }).toEqual({ hung: "UP", once: "UP" });
  });

  test("a dead node (nothing listens) leaves both traffic backends; a healthy one is in both", () => {
    const s = result.settled!;
    for (const px of ["web_nodes", "web_nodes_once", HEALTH_BACKEND, HUNG_BACKEND]) {
      expect({ px, dead: s[px]["web-4"], healthy: s[px]["web-1"] }).toEqual({ px, dead: "DOWN", healthy: "UP" });
    }
  });

  test("a node frozen at the worst instant (just after a passed check) leaves both traffic backends within the stated bound", () => {
    const down = result.downAfterFreezeMs;
    expect(Object.keys(down).sort()).toEqual(["web_nodes", "web_nodes_health", "web_nodes_hung", "web_nodes_once"]);
    // Frozen just after a check passed (of web_nodes_health or of web_nodes_hung, whichever came first), that backend
    // spends the formula's every term: inter before its first failed check, then fall checks of timeout check with
    // fastinter between; the other one's checks run at their own instants. HAProxy 2.6 ends a check on a node that
    // never answers only on its connect timer (capped by inter): before the check-only backends had `timeout connect`
    // = timeout check, that was 4,277 ms at this instant (web_nodes; 2026-12-06). 250 ms over: HAProxy's timers and the 10 ms poll on a
    // shared machine.
    const traffic = [down.web_nodes, down.web_nodes_once];
    for (const ms of traffic) expect(ms).toBeLessThanOrEqual(bound + 250);
    expect(Math.max(...traffic)).toBeGreaterThanOrEqual(bound - 100);
  });
});
