/**
 * Probes of the running stack: HAProxy's stats and the database's SQL, run
 * through the runner (inside the containers' namespaces), with ports, timing and
 * the engine's client taken from the stack's facts (lab/stack.ts).
 */
import { Lab } from "./runner";
import { PATHS } from "../templates/paths";
import { SECRET_ENV } from "../templates/scripts/shell";
import { FACT_LABEL_PREFIX, StackFacts } from "./stack";

/** The facts of the stack a running lab was brought up from. */
export function stackOf(lab: Lab): StackFacts {
  return new StackFacts(lab.requireState().plan);
}

/**
 * Where a client on the host reaches the stack: the first load balancer's
 * published HTTPS port (`ha-web.https-port`) as https://127.0.0.1:N, else its
 * plain HTTP port (`ha-web.listen-port`). Plain HTTP answers only a 308 to HTTPS
 * when the load balancer terminates TLS.
 */
export function entryUrl(lab: Lab, lb?: string): string {
  const stack = stackOf(lab);
  const facts = stack.loadBalancer(lb ?? stack.hostnames("load-balancer")[0] ?? "(no load balancer)");
  return facts.httpsPort !== undefined ? lab.publishedUrl(facts.hostname, facts.httpsPort, "https") : lab.publishedUrl(facts.hostname, facts.listenPort);
}

/** The load balancers that hold `address` now (`ip -4 addr` in each one's namespace): one, normally. */
export function holdersOf(lab: Lab, address: string): string[] {
  return stackOf(lab)
    .hostnames("load-balancer")
    .filter((lb) => {
      const out = lab.netExec(lb, ["ip", "-4", "-o", "addr", "show"], { timeoutMs: 5000 }).stdout;
      return out.split("\n").some((l) => l.includes(` ${address}/`));
    });
}

/**
 * The URL of HAProxy's CSV stats on a load balancer's loopback, with the stats
 * page's login in it: the user from its `stats-user` fact, the password from the
 * secret file the target uploads (what the start script hands HAProxy).
 */
export function haproxyStatsUrl(lab: Lab, lb: string): string {
  const { statsPort } = stackOf(lab).loadBalancer(lb);
  const { spec } = lab.container(lb);
  const user = spec.labels[`${FACT_LABEL_PREFIX}stats-user`];
  if (user === undefined) return `http://127.0.0.1:${statsPort}/stats;csv`;
  const file = `${PATHS.secretsDir}/${SECRET_ENV.statsPassword}`;
  const password = spec.uploads.find((u) => u.file === file)?.content;
  if (password === undefined) throw new Error(`${lb}: no ${file} upload to log in to HAProxy's stats page as ${user}`);
  return `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${statsPort}/stats;csv`;
}

/** HAProxy's CSV stats of a load-balancer container (its stats listener, from inside its namespace), one record per row. */
export async function haproxyStats(lab: Lab, lb: string): Promise<Record<string, string>[]> {
  const { statsPort } = stackOf(lab).loadBalancer(lb);
  const r = await lab.nsHttpGet(lb, haproxyStatsUrl(lab, lb));
  if (r.status !== 200) throw new Error(`HAProxy stats on ${lb}:${statsPort}: ${r.status} ${r.body}`);
  const lines = r.body.trim().split("\n");
  const header = lines[0].replace(/^# /, "").split(",");
  return lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [header[i], v])));
}

/** Status per server of HAProxy's backends (UP, DOWN, "UP 1/2", MAINT, ...), plus its counters, by server name. */
export async function backendServers(lab: Lab, lb: string): Promise<Record<string, Record<string, string>>> {
  const rows = (await haproxyStats(lab, lb)).filter((r) => r.svname !== "FRONTEND" && r.svname !== "BACKEND" && r.pxname !== "stats");
  // The first backend's row per server: the web backend (web_nodes) comes first; web_nodes_once, for writes
  // without an idempotency key, lists the same servers again (tracking web_nodes_hung's checks) with its own counters.
  const byServer: Record<string, Record<string, string>> = {};
  for (const r of rows) byServer[r.svname] ??= r;
  return byServer;
}

const WATCHER_SOURCE = `const http=require("http");const [url,server,prefix,ms,backend]=process.argv.slice(1);const end=Date.now()+Number(ms);let first=true;
function poll(){if(Date.now()>end){console.log("timeout");process.exit(2)}
http.get(url,{timeout:1000},r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>{const lines=b.trim().split("\\n");const h=lines[0].replace(/^# /,"").split(",");const px=h.indexOf("pxname"),sv=h.indexOf("svname"),st=h.indexOf("status");
for(const l of lines.slice(1)){const f=l.split(",");if(f[px]===backend&&f[sv]===server&&f[st].startsWith(prefix)){console.log("seen "+Date.now());process.exit(0)}}
if(first){first=false;console.log("ready")}setTimeout(poll,25)})}).on("error",()=>setTimeout(poll,25)).on("timeout",function(){this.destroy()})}
poll();`;

/**
 * Watches HAProxy's stats from inside the load balancer's namespace (every 25 ms,
 * one long-lived process) until `server` has a status starting with `prefix` in
 * `backend` (web_nodes by default: the check-only backend web_nodes_hung keeps a
 * node whose app is dead UP, so "any backend" would report UP too early).
 * `ready` resolves once the first poll answered; `seenAt` is the wall-clock time
 * (Date.now()) of the first matching poll. Bounded by `timeoutMs`.
 */
export function watchServerStatus(
  lab: Lab,
  lb: string,
  server: string,
  prefix: string,
  timeoutMs: number,
  backend = "web_nodes",
): { ready: Promise<void>; seenAt: Promise<number> } {
  let out = "";
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const run = lab.netSpawn(lb, [process.execPath, "-e", WATCHER_SOURCE, haproxyStatsUrl(lab, lb), server, prefix, String(timeoutMs), backend], {
    timeoutMs: timeoutMs + 5000,
    onStdout: (chunk) => {
      out += chunk;
      if (/ready|seen/.test(out)) readyResolve();
    },
  });
  const seenAt = run.then(() => {
    readyResolve();
    const m = /seen (\d+)/.exec(out);
    if (!m) throw new Error(`HAProxy on ${lb} did not report ${server} ${prefix} within ${timeoutMs} ms`);
    return Number(m[1]);
  });
  return { ready, seenAt };
}

/** The engine's client (DIALECTS[engine].client) as root over the container's local socket. */
function sqlClient(lab: Lab, node: string, args: string[], timeoutMs: number): string {
  const { client } = stackOf(lab).dialect(node);
  return lab.exec(node, [client, "--user=root", ...args], { timeoutMs }).stdout;
}

/** Runs SQL on a database container; rows of tab-separated columns. */
export function sql(lab: Lab, node: string, query: string, timeoutMs = 10_000): string[][] {
  const out = sqlClient(lab, node, ["--batch", "--skip-column-names", "-e", query], timeoutMs);
  return out
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.split("\t"));
}

/** Runs a statement on a database container and returns the client's output as printed (for `\G` output). */
export function sqlText(lab: Lab, node: string, statement: string, timeoutMs = 10_000): string {
  return sqlClient(lab, node, ["-e", statement], timeoutMs);
}

const LOOKUP_SOURCE = `const r=new (require("dns").promises.Resolver)({timeout:1000,tries:1});r.setServers(["127.0.0.11"]);
r.resolve4(process.argv[1]).then(a=>console.log(JSON.stringify(a)),e=>console.log(JSON.stringify(e.code||e.message)))`;

/**
 * Asks a container's DNS server (127.0.0.11 in its namespace, Docker's embedded
 * DNS; its process need not run) for `name`: the IPv4 addresses, or the error
 * code (`ENOTFOUND` for NXDOMAIN).
 */
export async function lookupFrom(lab: Lab, node: string, name: string): Promise<string[] | string> {
  const r = await lab.netSpawn(node, [process.execPath, "-e", LOOKUP_SOURCE, name], { timeoutMs: 5000 });
  try {
    return JSON.parse(r.stdout) as string[] | string;
  } catch {
    return r.error ?? r.stderr;
  }
}
