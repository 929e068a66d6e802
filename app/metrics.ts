/**
 * The app's own Prometheus metrics (prom-client) and the separate listener that
 * serves them. Each AppMetrics has its own Registry (not prom-client's global one),
 * so tests and several instances in one process never share series.
 *
 *   http_requests_total{route,method,status}             counter
 *   http_request_duration_seconds{route,method,status}   histogram
 *   db_pool_connections{pool,state}                      gauge, read from the pools at scrape time
 *   db_reads_total{served_by}                            counter
 *   db_read_fallbacks_total                              counter
 *   + prom-client's default process and Node.js metrics, without a prefix
 */
import * as http from "node:http";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Db, DbNode, DbRole, PoolStats } from "./db";
import { type RoutePattern, splitTarget } from "./routes";

/**
 * Request latency buckets (seconds): 5 ms up to 10 s. The top buckets cover the
 * slow paths the database timeouts allow (a 2 s replica timeout, then the next
 * replica, then the writer's 5 s statement timeout).
 */
export const HTTP_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods kept as they are in the `method` label; any other becomes `other`. */
export const METRIC_METHODS: readonly string[] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

/** `status` of a request whose connection closed before the answer was sent (Nginx's convention). */
export const CLIENT_CLOSED_STATUS = "499";

export const POOL_LABELS: readonly DbRole[] = ["primary", "replica"];
export const POOL_STATES: readonly (keyof PoolStats)[] = ["used", "free", "queued"];

export function methodLabel(method: string | undefined): string {
  const m = (method ?? "").toUpperCase();
  return METRIC_METHODS.includes(m) ? m : "other";
}

export interface MetricsOptions {
  /** Pools to report in db_pool_connections (read at each scrape). */
  db?: Db;
  /** prom-client's default process/Node.js metrics (default true). */
  defaultMetrics?: boolean;
}

export interface AppMetrics {
  readonly registry: Registry;
  /** Counts one answered request and its duration. `route` is a pattern, never the raw path. */
  observeRequest(route: RoutePattern, method: string | undefined, status: number | string, seconds: number): void;
  /** A read (list or item) answered by a server of this role. */
  recordRead(servedBy: DbRole): void;
  /** A read sent to the primary because no replica could serve it (replicas configured). */
  recordFallback(): void;
  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Sums the stats of the nodes that have readable pools; undefined when none has. */
function sumStats(nodes: readonly DbNode[]): PoolStats | undefined {
  let total: PoolStats | undefined;
  for (const node of nodes) {
    let s: PoolStats | undefined;
    try {
      s = node.poolStats?.();
    } catch {
      s = undefined;
    }
    if (s === undefined) continue;
    total = total ?? { used: 0, free: 0, queued: 0 };
    total.used += s.used;
    total.free += s.free;
    total.queued += s.queued;
  }
  return total;
}

export function createMetrics(options: MetricsOptions = {}): AppMetrics {
  const registry = new Registry();
  const labelNames = ["route", "method", "status"] as const;

  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered by the app, by route pattern, method and status code.",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from the request's arrival to the end of its answer, by route pattern, method and status code.",
    labelNames,
    buckets: [...HTTP_DURATION_BUCKETS],
    registers: [registry],
  });
  const reads = new Counter({
    name: "db_reads_total",
    help: "Database reads that got an answer, by the role of the server that answered (replica or primary).",
    labelNames: ["served_by"] as const,
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: "db_read_fallbacks_total",
    help: "Reads sent to the primary because no replica could serve them (every replica failed or was skipped).",
    registers: [registry],
  });
  for (const role of POOL_LABELS) reads.inc({ served_by: role }, 0);

  const db = options.db;
  new Gauge({
    name: "db_pool_connections",
    help: "Connections of the database pools at scrape time: used (checked out or connecting), free (idle), queued (requests waiting for one).",
    labelNames: ["pool", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      if (db === undefined) return;
      const byPool: Record<DbRole, readonly DbNode[]> = { primary: [db.writer], replica: db.readers };
      for (const pool of POOL_LABELS) {
        const stats = byPool[pool].length === 0 ? { used: 0, free: 0, queued: 0 } : sumStats(byPool[pool]);
        if (stats === undefined) continue; // unreadable pool internals: no series rather than false zeros
        for (const state of POOL_STATES) this.set({ pool, state }, stats[state]);
      }
    },
  });

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  return {
    registry,
    contentType: registry.contentType,
    observeRequest(route, method, status, seconds) {
      const labels = { route, method: methodLabel(method), status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
    recordRead(servedBy) {
      reads.inc({ served_by: servedBy });
    },
    recordFallback() {
      fallbacks.inc();
    },
    render() {
      return registry.metrics();
    },
  };
}

/**
 * Times one request from now and records it when its answer is finished (or, if
 * the connection closes first, with status 499).
 */
export function instrumentRequest(metrics: AppMetrics, route: RoutePattern, req: http.IncomingMessage, res: http.ServerResponse): void {
  const started = process.hrtime.bigint();
  let done = false;
  const record = (status: number | string) => {
    if (done) return;
    done = true;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.observeRequest(route, req.method, status, seconds);
  };
  res.once("finish", () => record(res.statusCode));
  res.once("close", () => record(CLIENT_CLOSED_STATUS));
}

/**
 * The metrics listener: `GET /metrics` (and HEAD) only, 404 elsewhere, 405 for
 * other methods. Runs on its own port, never the app's.
 */
export function createMetricsServer(metrics: AppMetrics, onError?: (err: unknown) => void): http.Server {
  return http.createServer((req, res) => {
    const { path } = splitTarget(req.url);
    const text = (status: number, body: string) => {
      res.statusCode = status;
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.setHeader("Content-Length", Buffer.byteLength(body));
      res.end(body);
    };
    if (path !== "/metrics") {
      text(404, "not found: metrics are at /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      text(405, "method not allowed\n");
      return;
    }
    metrics.render().then(
      (body) => {
        res.statusCode = 200;
        res.setHeader("Content-Type", metrics.contentType);
        res.setHeader("Content-Length", Buffer.byteLength(body));
        res.setHeader("Cache-Control", "no-store");
        res.end(body);
      },
      (err: unknown) => {
        onError?.(err);
        if (!res.headersSent) text(500, "metrics collection failed\n");
        else res.destroy();
      },
    );
  });
}
