/**
 * The app's Prometheus metrics: request counts and latency by route pattern,
 * read routing counters, pool gauges, default metrics, and the separate metrics
 * listener. The database is the in-memory fake of ./fakes (no real MySQL).
 */
import * as http from "node:http";
import type { AppConfig } from "../../app/config";
import { AppMetrics, createMetrics, createMetricsServer, HTTP_DURATION_BUCKETS, methodLabel } from "../../app/metrics";
import { AppServer, createServer, listen, shutdown, silentLogger } from "../../app/server";
import { makeDb, request, TEST_CONFIG } from "./fakes";

const config: AppConfig = TEST_CONFIG;

type Labels = Record<string, string>;
interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

/** Parses the Prometheus text format (enough of it for prom-client's output). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Labels = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with exactly these labels (undefined if absent). */
function value(samples: Sample[], name: string, labels: Labels = {}): number | undefined {
  const keys = Object.keys(labels);
  const hits = samples.filter((s) => s.name === name && Object.keys(s.labels).length === keys.length && keys.every((k) => s.labels[k] === labels[k]));
  if (hits.length > 1) throw new Error(`${hits.length} samples for ${name} ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

async function start(readerCount: number, opts: { defaultMetrics?: boolean } = {}) {
  const env = makeDb(readerCount);
  const metrics: AppMetrics = createMetrics({ db: env.db, defaultMetrics: opts.defaultMetrics ?? false });
  let now = 1_000_000;
  const server = createServer(config, env.db, { logger: silentLogger, clock: () => now, metrics });
  const metricsServer = createMetricsServer(metrics);
  const { port } = await listen(server, 0, "127.0.0.1");
  const { port: metricsPort } = await listen(metricsServer, 0, "127.0.0.1");
  return {
    ...env,
    metrics,
    server,
    metricsServer,
    port,
    metricsPort,
    advance: (ms: number) => (now += ms),
    req: (method: string, path: string, body?: string) => request(port, method, path, body),
    /** Scrapes the metrics listener and parses the answer. */
    async scrape(): Promise<Sample[]> {
      // 'finish' of the last answer runs right after its bytes are written: let it.
      await new Promise((r) => setImmediate(r));
      const r = await request(metricsPort, "GET", "/metrics");
      expect(r.status).toBe(200);
      return parse(r.text);
    },
  };
}

type Started = Awaited<ReturnType<typeof start>>;

describe("app metrics", () => {
  let app: Started | undefined;
  afterEach(async () => {
    if (app === undefined) return;
    const { server, metricsServer, db } = app;
    app = undefined;
    await new Promise<void>((r) => metricsServer.close(() => r()));
    if (server.listening) await shutdown(server as AppServer, db, 2000);
  });

  test("requests by route pattern, method and status; raw paths never become labels", async () => {
    app = await start(1);
    await app.req("POST", "/api/items", '{"name":"a"}');
    await app.req("GET", "/api/items");
    await app.req("GET", "/api/items/"); // trailing slash: same route
    await app.req("GET", "/api/items?consistency=strong");
    await app.req("GET", "/api/items/1");
    await app.req("GET", "/api/items/424242"); // 404 item not found
    await app.req("GET", "/api/items/abc"); // 400
    await app.req("GET", "/health");
    await app.req("HEAD", "/health");
    await app.req("DELETE", "/api/items"); // 405
    await app.req("GET", "/nope/123"); // 404 unknown path
    await app.req("GET", "/wp-login.php?x=1");
    const s = await app.scrape();
    const count = (route: string, method: string, status: string) => value(s, "http_requests_total", { route, method, status });
    expect(count("/api/items", "POST", "201")).toBe(1);
    expect(count("/api/items", "GET", "200")).toBe(3);
    expect(count("/api/items/:id", "GET", "200")).toBe(1);
    expect(count("/api/items/:id", "GET", "404")).toBe(1);
    expect(count("/api/items/:id", "GET", "400")).toBe(1);
    expect(count("/health", "GET", "200")).toBe(1);
    expect(count("/health", "HEAD", "200")).toBe(1);
    expect(count("/api/items", "DELETE", "405")).toBe(1);
    expect(count("other", "GET", "404")).toBe(2);

    const requests = s.filter((x) => x.name === "http_requests_total");
    expect(requests.reduce((a, x) => a + x.value, 0)).toBe(12);
    const routes = new Set(s.filter((x) => x.labels.route !== undefined).map((x) => x.labels.route));
    expect([...routes].sort()).toEqual(["/api/items", "/api/items/:id", "/health", "other"]);
    for (const x of s) expect(Object.keys(x.labels).sort()).not.toContain("path");
  });

  test("a 5xx is counted with its status", async () => {
    app = await start(2);
    app.writer.down = true;
    for (const r of app.readers) r.down = true;
    expect((await app.req("GET", "/api/items")).status).toBe(503);
    expect((await app.req("POST", "/api/items", '{"name":"x"}')).status).toBe(503);
    const s = await app.scrape();
    expect(value(s, "http_requests_total", { route: "/api/items", method: "GET", status: "503" })).toBe(1);
    expect(value(s, "http_requests_total", { route: "/api/items", method: "POST", status: "503" })).toBe(1);
    expect(value(s, "http_request_duration_seconds_count", { route: "/api/items", method: "GET", status: "503" })).toBe(1);
  });

  test("latency histogram: the configured buckets, count, sum, and a slow answer in the right bucket", async () => {
    app = await start(1);
    const reader = app.readers[0];
    const orig = reader.select.bind(reader);
    reader.select = async (sql, params) => {
      await new Promise((r) => setTimeout(r, 120));
      return orig(sql, params);
    };
    await app.req("GET", "/api/items");
    await app.req("GET", "/health");
    const s = await app.scrape();
    const labels = { route: "/api/items", method: "GET", status: "200" };
    const buckets = s.filter((x) => x.name === "http_request_duration_seconds_bucket" && x.labels.route === "/api/items");
    expect(buckets.map((b) => b.labels.le)).toEqual([...HTTP_DURATION_BUCKETS.map(String), "+Inf"]);
    expect(HTTP_DURATION_BUCKETS[0]).toBe(0.005);
    expect(HTTP_DURATION_BUCKETS).toContain(5);
    const le = (b: string) => value(s, "http_request_duration_seconds_bucket", { ...labels, le: b });
    expect(le("0.1")).toBe(0); // took at least 120 ms
    expect(le("0.25")).toBe(1);
    expect(le("+Inf")).toBe(1);
    expect(value(s, "http_request_duration_seconds_count", labels)).toBe(1);
    const sum = value(s, "http_request_duration_seconds_sum", labels) ?? 0;
    expect(sum).toBeGreaterThanOrEqual(0.11);
    expect(sum).toBeLessThan(0.25);
    // /health is fast: in the first bucket that reaches it, and counted once
    expect(value(s, "http_request_duration_seconds_count", { route: "/health", method: "GET", status: "200" })).toBe(1);
    expect(value(s, "http_request_duration_seconds_bucket", { route: "/health", method: "GET", status: "200", le: "0.1" })).toBe(1);
  });

  test("a request whose client goes away before the answer is counted with status 499", async () => {
    app = await start(1);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const reader = app.readers[0];
    const orig = reader.select.bind(reader);
    reader.select = async (sql, params) => {
      await gate;
      return orig(sql, params);
    };
    const port = app.port;
    await new Promise<void>((resolve) => {
      const req = http.request({ host: "127.0.0.1", port, path: "/api/items/7", agent: false });
      req.on("error", () => resolve());
      req.end();
      setTimeout(() => req.destroy(), 50);
    });
    await new Promise((r) => setTimeout(r, 50));
    release();
    await new Promise((r) => setTimeout(r, 20));
    const s = await app.scrape();
    expect(value(s, "http_requests_total", { route: "/api/items/:id", method: "GET", status: "499" })).toBe(1);
    expect(s.filter((x) => x.name === "http_requests_total" && x.labels.route === "/api/items/:id")).toHaveLength(1);
  });

  test("reads: replica vs primary, strong reads, and fallbacks to the primary", async () => {
    app = await start(2);
    let s = await app.scrape();
    // zero from the start, so rate() works from the first read
    expect(value(s, "db_reads_total", { served_by: "replica" })).toBe(0);
    expect(value(s, "db_reads_total", { served_by: "primary" })).toBe(0);
    expect(value(s, "db_read_fallbacks_total")).toBe(0);

    await app.req("POST", "/api/items", '{"name":"a"}'); // a write: not a read
    await app.req("GET", "/api/items");
    await app.req("GET", "/api/items/1");
    await app.req("GET", "/api/items/1?consistency=strong"); // primary by request: no fallback
    s = await app.scrape();
    expect(value(s, "db_reads_total", { served_by: "replica" })).toBe(2);
    expect(value(s, "db_reads_total", { served_by: "primary" })).toBe(1);
    expect(value(s, "db_read_fallbacks_total")).toBe(0);

    // one replica down: the other serves, no fallback
    app.readers[0].down = true;
    await app.req("GET", "/api/items");
    await app.req("GET", "/api/items");
    s = await app.scrape();
    expect(value(s, "db_reads_total", { served_by: "replica" })).toBe(4);
    expect(value(s, "db_read_fallbacks_total")).toBe(0);

    // every replica down: the primary serves, each such read is a fallback
    app.readers[1].down = true;
    expect((await app.req("GET", "/api/items")).headers["x-db-role"]).toBe("primary");
    expect((await app.req("GET", "/api/items/1")).headers["x-db-role"]).toBe("primary"); // breakers open: straight to the primary
    s = await app.scrape();
    expect(value(s, "db_reads_total", { served_by: "replica" })).toBe(4);
    expect(value(s, "db_reads_total", { served_by: "primary" })).toBe(3);
    expect(value(s, "db_read_fallbacks_total")).toBe(2);

    // the primary down too: the fallback is counted, the read is not (it got no answer)
    app.writer.down = true;
    expect((await app.req("GET", "/api/items")).status).toBe(503);
    s = await app.scrape();
    expect(value(s, "db_read_fallbacks_total")).toBe(3);
    expect(value(s, "db_reads_total", { served_by: "primary" })).toBe(3);
  });

  test("no replicas configured: reads on the primary are not fallbacks", async () => {
    app = await start(0);
    await app.req("GET", "/api/items");
    const s = await app.scrape();
    expect(value(s, "db_reads_total", { served_by: "primary" })).toBe(1);
    expect(value(s, "db_reads_total", { served_by: "replica" })).toBe(0);
    expect(value(s, "db_read_fallbacks_total")).toBe(0);
  });

  test("pool gauges are read at scrape time, replicas summed, unreadable pools left out", async () => {
    app = await start(2);
    app.writer.stats = { used: 3, free: 2, queued: 1 };
    app.readers[0].stats = { used: 1, free: 4, queued: 0 };
    app.readers[1].stats = { used: 2, free: 5, queued: 7 };
    let s = await app.scrape();
    const pool = (p: string, state: string) => value(s, "db_pool_connections", { pool: p, state });
    expect([pool("primary", "used"), pool("primary", "free"), pool("primary", "queued")]).toEqual([3, 2, 1]);
    expect([pool("replica", "used"), pool("replica", "free"), pool("replica", "queued")]).toEqual([3, 9, 7]);
    expect(s.filter((x) => x.name === "db_pool_connections")).toHaveLength(6);

    app.writer.stats = { used: 0, free: 10, queued: 0 };
    app.readers[0].stats = undefined; // one replica unreadable: the other still counts
    s = await app.scrape();
    expect(pool("primary", "free")).toBe(10);
    expect(pool("replica", "free")).toBe(5);

    app.readers[1].stats = undefined; // no replica readable: no replica series (not false zeros)
    s = await app.scrape();
    expect(pool("replica", "used")).toBeUndefined();
    expect(pool("primary", "used")).toBe(0);
  });

  test("pool gauges with no replicas configured: replica pool reports zeros", async () => {
    app = await start(0);
    const s = await app.scrape();
    expect(value(s, "db_pool_connections", { pool: "replica", state: "used" })).toBe(0);
    expect(value(s, "db_pool_connections", { pool: "primary", state: "free" })).toBe(0);
  });

  test("default process and Node.js metrics, without a prefix", async () => {
    app = await start(0, { defaultMetrics: true });
    const s = await app.scrape();
    const names = new Set(s.map((x) => x.name));
    for (const n of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
      "nodejs_version_info",
    ]) {
      expect(names).toContain(n);
    }
  });

  test("/metrics is served on the metrics listener only, never on the app port", async () => {
    app = await start(1);
    const onApp = await app.req("GET", "/metrics");
    expect(onApp.status).toBe(404);
    expect(onApp.json).toEqual({ error: "not found" });
    expect(onApp.text).not.toContain("http_requests_total");

    const m = await request(app.metricsPort, "GET", "/metrics");
    expect(m.status).toBe(200);
    expect(m.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(m.text).toContain("# TYPE http_requests_total counter");
    expect(m.text).toContain("# TYPE http_request_duration_seconds histogram");
    expect(m.text).toContain("# TYPE db_pool_connections gauge");
    // the app's 404 for /metrics is itself counted under `other`
    expect(value(parse(m.text), "http_requests_total", { route: "other", method: "GET", status: "404" })).toBe(1);

    const head = await request(app.metricsPort, "HEAD", "/metrics");
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect((await request(app.metricsPort, "GET", "/metrics?x=1")).status).toBe(200);
    expect((await request(app.metricsPort, "GET", "/")).status).toBe(404);
    expect((await request(app.metricsPort, "GET", "/api/items")).status).toBe(404);
    const post = await request(app.metricsPort, "POST", "/metrics", "");
    expect(post.status).toBe(405);
    expect(post.headers["allow"]).toBe("GET, HEAD");
    // scrapes are not requests of the app
    const s = await app.scrape();
    expect(s.filter((x) => x.name === "http_requests_total").reduce((a, x) => a + x.value, 0)).toBe(1);
  });

  test("a failing collection answers 500 and is reported", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.render = () => Promise.reject(new Error("boom"));
    const errors: unknown[] = [];
    const server = createMetricsServer(metrics, (e) => errors.push(e));
    const { port } = await listen(server, 0, "127.0.0.1");
    try {
      const r = await request(port, "GET", "/metrics");
      expect(r.status).toBe(500);
      expect(errors).toHaveLength(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test("method label is bounded", () => {
    expect(["GET", "head", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"].map(methodLabel)).toEqual(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);
    expect(methodLabel("PROPFIND")).toBe("other");
    expect(methodLabel(undefined)).toBe("other");
  });

  test("each AppMetrics has its own registry", async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.recordRead("replica");
    expect(value(parse(await a.render()), "db_reads_total", { served_by: "replica" })).toBe(1);
    expect(value(parse(await b.render()), "db_reads_total", { served_by: "replica" })).toBe(0);
  });
});
