/**
 * Bounded HTTP(S) load for the lab's tests and bench: only to 127.0.0.1 (the
 * published ports), every loop bounded in request count and in time. HTTPS does
 * not verify the certificate: the stack's is self-signed (lab/tls.ts made it).
 */
import * as http from "http";
import * as https from "https";

export interface HttpResult {
  status: number; // 0 = socket error or timeout
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
  error?: string;
}

/** Collects a response's body and hands the whole answer (or the error that cut it) to `done`. */
function readResponse(res: http.IncomingMessage, done: (r: Omit<HttpResult, "ms">) => void): void {
  let data = "";
  res.setEncoding("utf8");
  res.on("data", (d) => {
    data += d;
  });
  res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
  res.on("error", (e) => done({ status: 0, headers: {}, body: "", error: e.message }));
}

export function assertLoopback(url: string): URL {
  const u = new URL(url);
  if (!/^127\.\d+\.\d+\.\d+$/.test(u.hostname) && u.hostname !== "localhost") throw new Error(`the lab only sends traffic to 127.0.0.0/8, not ${u.hostname}`);
  return u;
}

/** http or https, by the URL's scheme. */
function transport(u: URL): { request: typeof https.request } {
  return u.protocol === "https:" ? https : http;
}

/** An agent for `url`'s scheme (HTTPS: no certificate verification, the lab's certificate is self-signed). */
export function agentFor(url: string, opts: http.AgentOptions): http.Agent {
  return new URL(url).protocol === "https:" ? new https.Agent({ ...opts, rejectUnauthorized: false }) : new http.Agent(opts);
}

export function request(url: string, opts: { method?: string; body?: unknown; timeoutMs?: number; agent?: http.Agent } = {}): Promise<HttpResult> {
  const u = assertLoopback(url);
  const started = process.hrtime.bigint();
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<HttpResult, "ms">) => {
      if (settled) return;
      settled = true;
      resolve({ ...r, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    };
    const req = transport(u).request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? "GET",
        agent: opts.agent,
        rejectUnauthorized: false,
        timeout: opts.timeoutMs ?? 5000,
        headers: body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {},
      },
      (res) => readResponse(res, done),
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => done({ status: 0, headers: {}, body: "", error: e.message }));
    if (body) req.write(body);
    req.end();
  });
}

export interface LoadSummary {
  sent: number;
  ok: number; // 2xx
  non2xx: number;
  errors: number; // socket errors and timeouts
  byStatus: Record<string, number>;
  byHeader: Record<string, Record<string, number>>;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  durationMs: number;
  rps: number;
  /** Each failed request: when, its status, the error or the first 200 characters of the body, and the answering nodes' headers. */
  failures: { atMs: number; status: number; error?: string; body?: string; headers?: Record<string, string> }[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summarize(results: (HttpResult & { atMs: number })[], durationMs: number, headerNames: string[]): LoadSummary {
  const lat = results.map((r) => r.ms).sort((a, b) => a - b);
  const byStatus: Record<string, number> = {};
  const byHeader: Record<string, Record<string, number>> = Object.fromEntries(headerNames.map((h) => [h, {}]));
  for (const r of results) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    for (const h of headerNames) {
      const v = String(r.headers[h] ?? "-");
      byHeader[h][v] = (byHeader[h][v] ?? 0) + 1;
    }
  }
  const ok = results.filter((r) => r.status >= 200 && r.status < 300).length;
  const errors = results.filter((r) => r.status === 0).length;
  return {
    sent: results.length,
    ok,
    errors,
    non2xx: results.length - ok - errors,
    byStatus,
    byHeader,
    latencyMs: { p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN },
    durationMs,
    rps: results.length / (durationMs / 1000),
    failures: results
      .filter((r) => !(r.status >= 200 && r.status < 300))
      .map((r) => ({
        atMs: Math.round(r.atMs),
        status: r.status,
        error: r.error,
        ...(r.body ? { body: r.body.slice(0, 200) } : {}),
        ...(headerNames.some((h) => r.headers[h] !== undefined)
          ? { headers: Object.fromEntries(headerNames.map((h) => [h, String(r.headers[h] ?? "-")])) }
          : {}),
      })),
  };
}

/** `count` requests, `concurrency` at a time (closed loop), bounded by `timeoutMs` overall. */
export async function closedLoop(
  url: string,
  opts: { count: number; concurrency: number; timeoutMs: number; headers?: string[]; method?: string; body?: () => unknown },
): Promise<LoadSummary> {
  const agent = agentFor(url, { keepAlive: true, maxSockets: opts.concurrency });
  const results: (HttpResult & { atMs: number })[] = [];
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < opts.count && Date.now() - t0 < opts.timeoutMs) {
      next++;
      const atMs = Date.now() - t0;
      results.push({ ...(await request(url, { agent, method: opts.method, body: opts.body?.() })), atMs });
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  agent.destroy();
  return summarize(results, Date.now() - t0, opts.headers ?? []);
}

/**
 * Open loop at a fixed rate: a request every 1000/rate ms whatever the answers,
 * for `durationMs` (and at most rate x duration requests); then waits (bounded by
 * the request timeout) for the stragglers. `during` runs alongside (a kill).
 * `keepAlive: false` opens a connection per request (`Connection: close`), so
 * each request's fate is its own connection's (refused, cut or answered).
 * `path` (default: the URL's own) can differ per request, e.g. to number them.
 */
export async function fixedRate<T>(
  url: string,
  opts: {
    rate: number;
    durationMs: number;
    timeoutMs?: number;
    headers?: string[];
    method?: string;
    body?: () => unknown;
    maxSockets?: number;
    keepAlive?: boolean;
    path?: (i: number) => string;
  },
  during?: (elapsed: () => number) => Promise<T>,
): Promise<{ summary: LoadSummary; during?: T }> {
  const agent = agentFor(url, { keepAlive: opts.keepAlive ?? true, maxSockets: opts.maxSockets ?? 64 });
  const max = Math.ceil((opts.rate * opts.durationMs) / 1000);
  const interval = 1000 / opts.rate;
  const results: (HttpResult & { atMs: number })[] = [];
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  const duringPromise = during ? during(elapsed) : undefined;
  for (let i = 0; i < max && elapsed() < opts.durationMs + 1000; i++) {
    const due = i * interval;
    const wait = due - elapsed();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const atMs = elapsed();
    const target = opts.path ? new URL(opts.path(i), url).toString() : url;
    inflight.push(
      request(target, { agent, method: opts.method, body: opts.body?.(), timeoutMs: opts.timeoutMs ?? 5000 }).then((r) => void results.push({ ...r, atMs })),
    );
  }
  await Promise.all(inflight);
  const duringResult = duringPromise ? await duringPromise : undefined;
  agent.destroy();
  return { summary: summarize(results, elapsed(), opts.headers ?? []), during: duringResult };
}

/**
 * A request deliberately in flight: a JSON POST on its own connection whose
 * body is sent in two halves; `sendRest()` sends the second half (the server
 * cannot answer before). `headersSent` resolves once the headers and the first
 * half are written. Bounded by `timeoutMs`.
 */
export function twoPartRequest(
  url: string,
  opts: { body: unknown; timeoutMs: number },
): { headersSent: Promise<void>; sendRest: () => void; result: Promise<HttpResult> } {
  const u = assertLoopback(url);
  const body = Buffer.from(JSON.stringify(opts.body));
  const half = Math.max(1, Math.floor(body.length / 2));
  const started = process.hrtime.bigint();
  let sentResolve: () => void = () => undefined;
  const headersSent = new Promise<void>((r) => (sentResolve = r));
  let req: http.ClientRequest | undefined;
  const result = new Promise<HttpResult>((resolve) => {
    let settled = false;
    const done = (r: Omit<HttpResult, "ms">) => {
      if (settled) return;
      settled = true;
      sentResolve();
      resolve({ ...r, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    };
    req = transport(u).request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: "POST",
        agent: false,
        rejectUnauthorized: false,
        timeout: opts.timeoutMs,
        headers: { "content-type": "application/json", "content-length": body.length, connection: "close" },
      },
      (res) => readResponse(res, done),
    );
    req.on("timeout", () => req!.destroy(new Error("timeout")));
    req.on("error", (e) => done({ status: 0, headers: {}, body: "", error: e.message }));
    req.flushHeaders();
    req.write(body.subarray(0, half), () => sentResolve());
  });
  return { headersSent, sendRest: () => req?.end(body.subarray(half)), result };
}
