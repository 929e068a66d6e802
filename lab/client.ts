/**
 * A client outside the stack, in a namespace of the lab attached to one of its
 * networks (Lab.attach): a bounded fixed-rate HTTP(S) loop, TCP port probes and a
 * passive HTTP request sniffer, each one process run inside a namespace of the lab
 * (`ip netns exec`), bounded in count and time. Nothing here connects from the
 * host's own namespace.
 */
import { Lab } from "./runner";

/** One request of the loop: wall-clock send and end times (ms), status (0: no answer), error code. */
export interface ClientRequest {
  sentAt: number;
  doneAt: number;
  status: number;
  error: string;
}

export interface ClientLoadSummary {
  sent: number;
  ok: number;
  failed: number;
  byStatus: Record<string, number>;
  byError: Record<string, number>;
  /** Longest stretch without a completed 2xx answer (between consecutive successes' ends, and from the first send), ms. */
  gapMs: number;
  /** Where that stretch began and ended (wall clock). */
  gapFrom: number;
  gapTo: number;
  requests: ClientRequest[];
}

const LOAD_SOURCE = `
const [url, rate, dur, to] = process.argv.slice(1);
const R = Number(rate), D = Number(dur), T = Number(to);
const mod = require(url.startsWith("https:") ? "https" : "http");
const max = Math.ceil((R * D) / 1000);
const res = [];
const open = new Set();
let i = 0, ended = false;
const t0 = Date.now();
process.stdout.write("start " + t0 + "\\n");
function end() {
  if (ended) return; ended = true;
  // Whatever has not ended by now counts as failed, never as not sent.
  for (const k of open) res.push([k.sent, Date.now(), 0, "UNFINISHED"]);
  process.stdout.write("result " + JSON.stringify(res) + "\\n"); process.exit(0);
}
function fire() {
  const sent = Date.now(); let done = false; const key = { sent }; open.add(key);
  const fin = (status, err) => {
    if (done) return; done = true; clearTimeout(timer); open.delete(key); res.push([sent, Date.now(), status, err || ""]);
    if (i >= max && open.size === 0) end();
  };
  const req = mod.get(url, { agent: false, rejectUnauthorized: false, headers: { connection: "close" } }, (r) => {
    r.resume(); r.on("end", () => fin(r.statusCode)); r.on("error", (e) => fin(0, e.code || e.message));
  });
  // A hard bound per request (connect, handshake and answer), not an idle timeout.
  const timer = setTimeout(() => { fin(0, "TIMEOUT"); req.destroy(); }, T);
  req.on("error", (e) => fin(0, e.code || e.message));
}
function tick() {
  while (i < max && Date.now() - t0 >= (i * 1000) / R) { i++; fire(); }
  if (i < max) setTimeout(tick, Math.max(0, t0 + (i * 1000) / R - Date.now()));
}
tick();
setTimeout(end, D + T + 2000);
`;

/**
 * GETs `url` at `rate` per second for `durationMs` from namespace `from` (a
 * container or an attached namespace), a new connection per request, no
 * certificate verification; each request bounded by `timeoutMs`. `started`
 * resolves with the wall-clock start once the loop runs.
 */
export function clientFixedRate(
  lab: Lab,
  from: string,
  url: string,
  opts: { rate: number; durationMs: number; timeoutMs: number },
): { started: Promise<number>; result: Promise<ClientLoadSummary> } {
  let out = "";
  let startedResolve: (t: number) => void = () => undefined;
  const started = new Promise<number>((r) => (startedResolve = r));
  const run = lab.netSpawn(from, [process.execPath, "-e", LOAD_SOURCE, url, String(opts.rate), String(opts.durationMs), String(opts.timeoutMs)], {
    timeoutMs: opts.durationMs + opts.timeoutMs + 10_000,
    onStdout: (chunk) => {
      out += chunk;
      const m = /^start (\d+)$/m.exec(out);
      if (m) startedResolve(Number(m[1]));
    },
  });
  const result = run.then((r) => {
    const m = /^result (.*)$/m.exec(out);
    startedResolve(Date.now());
    if (!m) throw new Error(`the load loop in ${from} gave no result: ${r.error ?? ""} ${r.stderr}`);
    const requests = (JSON.parse(m[1]) as [number, number, number, string][]).map(([sentAt, doneAt, status, error]) => ({ sentAt, doneAt, status, error }));
    return summarizeClientLoad(requests);
  });
  return { started, result };
}

export function summarizeClientLoad(requests: ClientRequest[]): ClientLoadSummary {
  const okOf = (r: ClientRequest) => r.status >= 200 && r.status < 300;
  const byStatus: Record<string, number> = {};
  const byError: Record<string, number> = {};
  for (const r of requests) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.error) byError[r.error] = (byError[r.error] ?? 0) + 1;
  }
  const ends = requests
    .filter(okOf)
    .map((r) => r.doneAt)
    .sort((a, b) => a - b);
  const first = Math.min(...requests.map((r) => r.sentAt));
  let gapMs = 0;
  let gapFrom = first;
  let gapTo = first;
  let previous = first;
  for (const t of ends) {
    if (t - previous > gapMs) {
      gapMs = t - previous;
      gapFrom = previous;
      gapTo = t;
    }
    previous = t;
  }
  const ok = ends.length;
  return { sent: requests.length, ok, failed: requests.length - ok, byStatus, byError, gapMs, gapFrom, gapTo, requests };
}

const PROBE_SOURCE = `
const net = require("net");
const T = Number(process.argv[1]); const targets = process.argv.slice(2); const out = {}; let n = targets.length;
if (n === 0) { console.log("{}"); process.exit(0); }
for (const t of targets) {
  const i = t.lastIndexOf(":"); const s = net.connect({ host: t.slice(0, i), port: Number(t.slice(i + 1)) }); let done = false;
  const fin = (r) => { if (done) return; done = true; out[t] = r; s.destroy(); if (--n === 0) { console.log(JSON.stringify(out)); process.exit(0); } };
  s.setTimeout(T, () => fin("timeout"));
  s.on("connect", () => fin("open"));
  s.on("error", (e) => fin(e.code === "ECONNREFUSED" ? "refused" : e.code === "ENETUNREACH" || e.code === "EHOSTUNREACH" ? "unreachable" : e.code || e.message));
}
`;

/**
 * TCP connects from namespace `from` to every `host:port`, all at once, each
 * bounded by `timeoutMs`: `open` (it answered), `refused` (RST), `timeout` (no
 * answer: dropped), `unreachable` (no route).
 */
export async function probePorts(lab: Lab, from: string, targets: string[], timeoutMs = 1000): Promise<Record<string, string>> {
  const r = await lab.netSpawn(from, [process.execPath, "-e", PROBE_SOURCE, String(timeoutMs), ...targets], { timeoutMs: timeoutMs + 5000 });
  try {
    return JSON.parse(r.stdout) as Record<string, string>;
  } catch {
    throw new Error(`port probe from ${from} failed: ${r.error ?? ""} ${r.stderr}`);
  }
}

const SNIFF_SOURCE = `
import json, socket, sys, time
port = int(sys.argv[1]); marker = sys.argv[2].encode(); deadline = time.time() + float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3)); s.settimeout(0.1)
print("ready", flush=True)
while time.time() < deadline:
    try:
        f, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if f[12:14] != b"\\x08\\x00": continue
    ip = f[14:]; ihl = (ip[0] & 15) * 4
    if ip[9] != 6: continue
    tcp = ip[ihl:]
    if int.from_bytes(tcp[2:4], "big") != port: continue
    payload = tcp[(tcp[12] >> 4) * 4:]
    if marker in payload:
        print(json.dumps(payload.decode("latin-1").split("\\r\\n\\r\\n")[0]), flush=True); sys.exit(0)
print("null", flush=True)
`;

/**
 * Watches, from inside namespace `on`, the HTTP requests arriving on TCP port
 * `port` (a raw packet socket: what the server receives, nothing changed) for
 * one whose bytes contain `marker`; its request line and headers, or null after
 * `timeoutMs`. `ready` resolves once it listens. Needs python3.
 */
export function sniffHttpRequest(
  lab: Lab,
  on: string,
  port: number,
  marker: string,
  timeoutMs: number,
): { ready: Promise<void>; head: Promise<string | null> } {
  let out = "";
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const run = lab.netSpawn(on, [PYTHON, "-c", SNIFF_SOURCE, String(port), marker, String(timeoutMs / 1000)], {
    timeoutMs: timeoutMs + 5000,
    onStdout: (chunk) => {
      out += chunk;
      if (out.includes("ready")) readyResolve();
    },
  });
  const head = run.then((r) => {
    readyResolve();
    const line = out.split("\n").filter(Boolean).pop();
    if (!out.includes("ready") || line === undefined) throw new Error(`the sniffer in ${on} failed: ${r.error ?? ""} ${r.stderr}`);
    return JSON.parse(line) as string | null;
  });
  return { ready, head };
}

/** Debian's python3 (not a user's shim that may not exist inside a namespace's environment). */
export const PYTHON = "/usr/bin/python3";

/** One HTTP request a webhook receiver got: wall-clock arrival (ms), method, path and the body as sent. */
export interface ReceivedWebhook {
  at: number;
  method: string;
  path: string;
  body: string;
}

const RECEIVER_SOURCE = `
const http = require("http");
const [port, ms, max] = process.argv.slice(1).map(Number);
let n = 0;
const server = http.createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (d) => { if (body.length < 1048576) body += d; });
  req.on("end", () => {
    process.stdout.write("webhook " + JSON.stringify({ at: Date.now(), method: req.method, path: req.url, body }) + "\\n");
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\\n");
    if (++n >= max) setTimeout(() => process.exit(0), 100);
  });
});
server.listen(port, "0.0.0.0", () => process.stdout.write("ready\\n"));
setTimeout(() => process.exit(0), ms);
`;

/**
 * An HTTP server in namespace `on` (an attached client's), listening on every
 * address at `port`, answering 200 to everything and recording each request: a
 * stand-in for an alert receiver (Alertmanager's webhook). Bounded: it exits after
 * `timeoutMs` or `maxRequests` requests (and `Lab.detach`/`down` kill it with its
 * namespace). `received` fills as requests arrive; `ready` resolves once it listens.
 */
export function webhookReceiver(
  lab: Lab,
  on: string,
  port: number,
  opts: { timeoutMs: number; maxRequests?: number },
): { ready: Promise<void>; received: ReceivedWebhook[]; done: Promise<void> } {
  const received: ReceivedWebhook[] = [];
  let buffered = "";
  let readyResolve: () => void = () => undefined;
  let readyReject: (e: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  const run = lab.netSpawn(on, [process.execPath, "-e", RECEIVER_SOURCE, String(port), String(opts.timeoutMs), String(opts.maxRequests ?? 1000)], {
    timeoutMs: opts.timeoutMs + 5000,
    onStdout: (chunk) => {
      buffered += chunk;
      let i = buffered.indexOf("\n");
      while (i >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        if (line === "ready") readyResolve();
        else if (line.startsWith("webhook ")) received.push(JSON.parse(line.slice("webhook ".length)) as ReceivedWebhook);
        i = buffered.indexOf("\n");
      }
    },
  });
  const done = run.then((r) => {
    readyReject(new Error(`the webhook receiver in ${on} exited before listening: ${r.error ?? ""} ${r.stderr}`));
  });
  return { ready, received, done };
}
