/**
 * cdktf-ha-web demo application server.
 *
 * A small HTTP service (node:http, no framework) in front of a MySQL/MariaDB
 * primary-replica cluster. Bundled by esbuild into dist/app/server.js and run with
 * plain `node` (the node:22-trixie-slim image, a Debian VM, or a host).
 *
 * Environment (see app/README.md):
 *   PORT              HTTP port, default 3000 (0 = ephemeral)
 *   BIND_ADDRESS      listen address, default 0.0.0.0
 *   NODE_NAME         web node this instance belongs to (e.g. "web-1"), default os.hostname()
 *   DB_WRITER_HOST    primary host, default 127.0.0.1 (may be "host:port")
 *   DB_WRITER_PORT    primary port, default 3306
 *   DB_READER_HOSTS   comma-separated replicas "host" or "host:port" (port default 3306);
 *                     empty/unset -> reads go to the writer
 *   DB_NAME           database, default "app"
 *   DB_USER           user, default "app"
 *   DB_PASSWORD       password, default empty
 *   DB_PASSWORD_FILE  file whose trimmed content is the password (wins over DB_PASSWORD)
 *   METRICS_PORT      port of the separate Prometheus listener (GET /metrics), default 9464;
 *                     must differ from PORT (0 = ephemeral)
 *   METRICS_BIND_ADDRESS  its listen address, default BIND_ADDRESS
 *   APP_MAX_REPLICA_LAG_MS    replicas further behind are skipped for reads, default 1000 (0 = no limit)
 *   APP_LAG_SAMPLE_INTERVAL_MS GTID sampling period of the lag estimate, default 250
 *   APP_GTID_WAIT_MS          read-your-writes wait on a replica, default 200
 *   APP_IDEMPOTENCY_TTL_S     Idempotency-Key lifetime, default 86400
 *
 * Routes:
 *   GET  /health               liveness, never touches the database
 *   GET  /api/items            latest 100 items, from a replica (round-robin, fallback to writer)
 *   GET  /api/items/:id        one item; ?consistency=strong reads from the writer
 *   POST /api/items            {"name": "..."} -> INSERT on the writer, 201 {id, name};
 *                              Idempotency-Key makes it safe to retry; X-Db-Gtid in the answer
 *   X-Db-Min-Gtid (request)    reads served only by a server that applied that GTID
 *
 * Metrics (app/metrics.ts) are served only on the metrics listener, never on PORT.
 *
 * Response headers: X-Web-Node always; X-Db-Node, X-Db-Role, X-Db-Server-Id when a
 * database query served the response.
 */
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { addressTowardPeer, BindPeerError } from "./bind-peer";
import { AppConfig, ConfigError, describeConfig, loadConfig } from "./config";
import { createMysqlDb, Db, DbNode, GTID_FORMAT_MISMATCH, GTID_WAIT_TIMEOUT, InsertResult, Row } from "./db";
import { IdempotentWriter, requestHash } from "./idempotency";
import { AppMetrics, createMetrics, createMetricsServer, instrumentRequest } from "./metrics";
import { Clock, ReaderSelector, readAfterWrite, readWithFallback } from "./readers";
import { matchRoute, routePattern, splitTarget } from "./routes";
import { ReplicaLagMonitor, StalenessCheck } from "./staleness";
import { isJsonContentType, MAX_BODY_BYTES, parseIdempotencyKey, parseItemId, parseJson, parseMinGtid, validateNewItem } from "./validation";

export const LIST_ITEMS_SQL = "SELECT id, name, created_at FROM items ORDER BY id DESC LIMIT 100";
export const GET_ITEM_SQL = "SELECT id, name, created_at FROM items WHERE id = CAST(? AS UNSIGNED)";
export const INSERT_ITEM_SQL = "INSERT INTO items (name) VALUES (?)";

export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
export const HEADERS_TIMEOUT_MS = 66_000;
export const SHUTDOWN_GRACE_MS = 5_000;
/** Read-your-writes: how long a replica may wait for the client's GTID before the primary answers. */
export const DEFAULT_GTID_WAIT_MS = 200;

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** JSON lines: info to stdout, warn/error to stderr. */
export const consoleLogger: Logger = {
  info: (msg, fields) => process.stdout.write(logLine("info", msg, fields)),
  warn: (msg, fields) => process.stderr.write(logLine("warn", msg, fields)),
  error: (msg, fields) => process.stderr.write(logLine("error", msg, fields)),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

function logLine(level: string, msg: string, fields?: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + "\n";
}

/** Error summary safe to log (code and message only; mysql2 messages never contain the password). */
function errInfo(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; message?: unknown } | null;
  return { code: e?.code, error: typeof e?.message === "string" ? e.message : String(err) };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly closeConnection = false,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A database call failed with no node left to try. */
class DbUnavailableError extends Error {
  constructor(readonly dbError: unknown) {
    super("database unavailable");
  }
}

/** Reads the request body up to `limit` bytes; more -> HttpError 413. */
export function readBody(req: http.IncomingMessage, limit: number = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > limit) {
      req.resume();
      reject(new HttpError(413, `request body exceeds ${limit} bytes`, true));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null, body?: Buffer) => {
      if (done) return;
      done = true;
      req.removeListener("data", onData);
      if (err) reject(err);
      else resolve(body ?? Buffer.alloc(0));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.resume(); // discard the rest
        finish(new HttpError(413, `request body exceeds ${limit} bytes`, true));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => finish(null, Buffer.concat(chunks, size)));
    req.on("error", (err) => finish(err));
    req.on("close", () => finish(new Error("request closed before the body was complete")));
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(payload));
  res.setHeader("Cache-Control", "no-store");
  res.end(payload);
}

function setDbHeaders(res: http.ServerResponse, node: DbNode, serverId: string): void {
  res.setHeader("X-Db-Node", node.name);
  res.setHeader("X-Db-Role", node.role);
  res.setHeader("X-Db-Server-Id", serverId);
}

function itemFromRow(row: Row): Record<string, unknown> {
  return { id: row.id, name: row.name, created_at: row.created_at };
}

export interface ServerOptions {
  logger?: Logger;
  /** Clock for the reader circuit breaker. */
  clock?: Clock;
  /** How long a failed replica is skipped (default 2000 ms). */
  readerCooldownMs?: number;
  /** Where requests and reads are counted (none: not counted). Served by createMetricsServer, not here. */
  metrics?: AppMetrics;
  /** Which replicas lag beyond the limit (main(): a ReplicaLagMonitor). None: no replica is skipped for lag. */
  staleness?: StalenessCheck;
  /** Read-your-writes wait on a replica (ms). @default 200 */
  gtidWaitMs?: number;
  /** Idempotency-Key lifetime (s). @default 86400 */
  idempotencyTtlS?: number;
}

export interface AppServer extends http.Server {
  /** Marks the server as shutting down: responses carry `Connection: close`. */
  beginShutdown(): void;
}

/**
 * Creates the HTTP server (not yet listening). `db` is the database layer: the
 * mysql2 implementation in production, a fake in tests.
 */
export function createServer(config: AppConfig, db: Db, options: ServerOptions = {}): AppServer {
  const log = options.logger ?? consoleLogger;
  const metrics = options.metrics;
  const selector = new ReaderSelector(db.readers.length, {
    clock: options.clock,
    cooldownMs: options.readerCooldownMs,
  });
  let shuttingDown = false;
  const staleness = options.staleness;
  const isStale = staleness ? (i: number) => staleness.isStale(i) : undefined;
  const gtidWaitMs = options.gtidWaitMs ?? DEFAULT_GTID_WAIT_MS;
  const idempotent = new IdempotentWriter(db.writer, {
    ttlSeconds: options.idempotencyTtlS,
    clock: options.clock,
    onSweepError: (err) => log.warn("expired idempotency keys: sweep failed", errInfo(err)),
  });

  const onReaderError = (node: DbNode, _index: number, err: unknown) => {
    log.warn("replica failed, trying next", { db: node.name, ...errInfo(err) });
  };

  /**
   * Replica read with fallback; writer only when `strong`; with `minGtid` only a
   * server that applied it (a replica waiting at most gtidWaitMs, else the writer).
   */
  async function read(
    strong: boolean,
    minGtid: string | undefined,
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<{ value: import("./db").SelectResult; node: DbNode }> {
    const fn = (node: DbNode) => node.select(sql, params);
    let result: { value: import("./db").SelectResult; node: DbNode };
    try {
      if (strong) {
        result = { value: await fn(db.writer), node: db.writer };
      } else if (minGtid !== undefined) {
        const codeOf = (err: unknown) => (err as { code?: unknown } | null)?.code;
        result = await readAfterWrite(
          db.readers,
          db.writer,
          selector,
          (node, wait) => (wait ? node.select(sql, params, { minGtid, waitMs: gtidWaitMs }) : fn(node)),
          {
            isNotYet: (err) => codeOf(err) === GTID_WAIT_TIMEOUT,
            isClientError: (err) => codeOf(err) === GTID_FORMAT_MISMATCH,
            isStale,
            onReaderError,
          },
        );
      } else {
        // A read reaching the writer although replicas are configured is a fallback
        // (counted when sent, whether the writer then answers or not).
        const tracked = (node: DbNode) => {
          if (node === db.writer && db.readers.length > 0) metrics?.recordFallback();
          return fn(node);
        };
        result = await readWithFallback(db.readers, db.writer, selector, tracked, onReaderError, isStale);
      }
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === GTID_FORMAT_MISMATCH) {
        throw new HttpError(400, "X-Db-Min-Gtid is not a GTID position of this database");
      }
      throw new DbUnavailableError(err);
    }
    metrics?.recordRead(result.node.role);
    return result;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader("X-Web-Node", config.nodeName);
    if (shuttingDown) res.setHeader("Connection", "close");
    const { path, query } = splitTarget(req.url);
    const route = matchRoute(req.method ?? "GET", path);
    const strong = query.get("consistency") === "strong";
    const minGtidValues = req.headersDistinct["x-db-min-gtid"];
    // Sent twice: refused as malformed (an empty string is not a GTID position).
    const minGtidHeader = minGtidValues === undefined ? undefined : minGtidValues.length === 1 ? minGtidValues[0] : "";

    switch (route.kind) {
      case "health":
        sendJson(res, 200, { status: "ok", node: config.nodeName });
        return;

      case "listItems": {
        const minGtid = parseMinGtid(minGtidHeader);
        if (!minGtid.ok) throw new HttpError(400, minGtid.error);
        const { value, node } = await read(strong, minGtid.value?.gtid, LIST_ITEMS_SQL);
        setDbHeaders(res, node, value.serverId);
        sendJson(res, 200, {
          items: value.rows.map(itemFromRow),
          servedBy: { web: config.nodeName, db: node.name, dbRole: node.role, dbServerId: value.serverId },
        });
        return;
      }

      case "getItem": {
        const id = parseItemId(route.rawId);
        if (id === null) throw new HttpError(400, "id must be a positive integer");
        const minGtid = parseMinGtid(minGtidHeader);
        if (!minGtid.ok) throw new HttpError(400, minGtid.error);
        const { value, node } = await read(strong, minGtid.value?.gtid, GET_ITEM_SQL, [id]);
        setDbHeaders(res, node, value.serverId);
        const row = value.rows[0];
        if (row === undefined) {
          sendJson(res, 404, { error: "item not found", id });
          return;
        }
        sendJson(res, 200, {
          item: itemFromRow(row),
          servedBy: { web: config.nodeName, db: node.name, dbRole: node.role, dbServerId: value.serverId },
        });
        return;
      }

      case "createItem": {
        if (!isJsonContentType(req.headers["content-type"])) {
          // The body is not read: the connection cannot be reused.
          throw new HttpError(415, "Content-Type must be application/json", true, { "Accept-Post": "application/json" });
        }
        const key = parseIdempotencyKey(req.headersDistinct["idempotency-key"]);
        if (!key.ok) throw new HttpError(400, key.error, true);
        const body = await readBody(req, MAX_BODY_BYTES);
        const json = parseJson(body);
        if (!json.ok) throw new HttpError(400, json.error);
        const item = validateNewItem(json.value);
        if (!item.ok) throw new HttpError(400, item.error);
        const name = item.value.name;
        if (key.value === undefined) {
          let result: InsertResult;
          try {
            result = await db.writer.insert(INSERT_ITEM_SQL, [name]);
          } catch (err) {
            throw new DbUnavailableError(err);
          }
          setDbHeaders(res, db.writer, result.serverId);
          if (result.gtid !== undefined) res.setHeader("X-Db-Gtid", result.gtid);
          res.setHeader("Location", `/api/items/${result.insertId}`);
          sendJson(res, 201, { id: result.insertId, name });
          return;
        }
        let outcome: Awaited<ReturnType<IdempotentWriter["run"]>>;
        try {
          outcome = await idempotent.run(key.value, requestHash("POST", "/api/items", body), async (tx) => {
            const r = await tx.query(INSERT_ITEM_SQL, [name]);
            return { status: 201, body: JSON.stringify({ id: r.insertId, name }), location: `/api/items/${r.insertId}` };
          });
        } catch (err) {
          throw new DbUnavailableError(err);
        }
        if (outcome.kind === "mismatch") throw new HttpError(422, "Idempotency-Key was already used with another request");
        if (outcome.kind === "inFlight") throw new HttpError(409, "a request with this Idempotency-Key is being processed; retry later");
        const r = outcome.response;
        setDbHeaders(res, db.writer, r.serverId);
        if (r.gtid !== undefined) res.setHeader("X-Db-Gtid", r.gtid);
        if (r.location !== undefined) res.setHeader("Location", r.location);
        if (r.replayed) res.setHeader("Idempotent-Replayed", "true");
        res.statusCode = r.status;
        res.setHeader("Content-Type", "application/json; charset=utf-8");
        res.setHeader("Content-Length", Buffer.byteLength(r.body));
        res.setHeader("Cache-Control", "no-store");
        res.end(r.body);
        return;
      }

      case "methodNotAllowed":
        res.setHeader("Allow", route.allow.join(", "));
        sendJson(res, 405, { error: "method not allowed" });
        return;

      case "notFound":
        sendJson(res, 404, { error: "not found" });
        return;
    }
  }

  const server = http.createServer((req, res) => {
    if (metrics) instrumentRequest(metrics, routePattern(splitTarget(req.url).path), req, res);
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        if (err.closeConnection) res.setHeader("Connection", "close");
        for (const [h, v] of Object.entries(err.headers)) res.setHeader(h, v);
        sendJson(res, err.status, { error: err.message });
      } else if (err instanceof DbUnavailableError) {
        log.error("database unavailable", { method: req.method, path: splitTarget(req.url).path, ...errInfo(err.dbError) });
        sendJson(res, 503, { error: "database unavailable" });
      } else {
        log.error("unhandled error", { method: req.method, path: splitTarget(req.url).path, ...errInfo(err) });
        sendJson(res, 500, { error: "internal error" });
      }
    });
  }) as AppServer;

  // nginx keeps upstream connections alive: outlive its keepalive_timeout (60s).
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.beginShutdown = () => {
    shuttingDown = true;
  };
  return server;
}

export function listen(server: net.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.removeListener("error", onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Graceful stop: refuse new connections, close idle keep-alive connections, let
 * in-flight requests finish (answered with `Connection: close`), force-close what
 * is left after `graceMs - 1s`, then close the database pools. Resolves within graceMs.
 */
export async function shutdown(server: AppServer, db: Db, graceMs: number = SHUTDOWN_GRACE_MS): Promise<void> {
  server.beginShutdown();
  const serverClosed = new Promise<void>((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
  server.closeIdleConnections();
  const forceAfter = Math.max(0, graceMs - 1000);
  const force = setTimeout(() => server.closeAllConnections(), forceAfter);
  force.unref();
  await serverClosed;
  clearTimeout(force);
  await withTimeout(db.close(), Math.max(100, graceMs - forceAfter - 200));
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    p.then(
      () => {
        clearTimeout(t);
        resolve();
      },
      () => {
        clearTimeout(t);
        resolve();
      },
    );
  });
}

/** Entry point: env -> config, pools, listen, signal handling. */
export async function main(env: NodeJS.ProcessEnv = process.env, log: Logger = consoleLogger): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error("invalid configuration", { error: err.message });
      process.exit(2);
    }
    throw err;
  }
  const db = createMysqlDb(config);
  const metrics = createMetrics({ db });
  let lastLagError = 0;
  const lagMonitor = new ReplicaLagMonitor(db, {
    maxLagMs: config.maxReplicaLagMs,
    intervalMs: config.lagSampleIntervalMs,
    onError: (what, err) => {
      // At most one line every 10 s: a dead server fails every heartbeat.
      if (Date.now() - lastLagError < 10_000) return;
      lastLagError = Date.now();
      log.warn(`${what} failed`, errInfo(err));
    },
  });
  lagMonitor.start();
  const server = createServer(config, db, {
    logger: log,
    metrics,
    staleness: lagMonitor,
    gtidWaitMs: config.gtidWaitMs,
    idempotencyTtlS: config.idempotencyTtlS,
  });
  const metricsServer = createMetricsServer(metrics, (err) => log.error("metrics collection failed", errInfo(err)));
  const addr = await listen(server, config.port, config.bindAddress);
  // A second listener on the address toward Nginx (Docker): its connections are the same server's.
  let peerListener: net.Server | undefined;
  if (config.bindPeer !== undefined) {
    let peerAddress: string;
    try {
      peerAddress = await addressTowardPeer(config.bindPeer);
    } catch (err) {
      if (!(err instanceof BindPeerError)) throw err;
      log.error("cannot find the network shared with BIND_PEER", { error: err.message });
      process.exit(2);
    }
    peerListener = net.createServer((socket) => server.emit("connection", socket));
    await listen(peerListener, addr.port, peerAddress);
  }
  const metricsAddr = await listen(metricsServer, config.metricsPort, config.metricsBindAddress);
  log.info("listening", {
    address: addr.address,
    ...(peerListener === undefined ? {} : { peerAddress: (peerListener.address() as AddressInfo).address }),
    port: addr.port,
    metrics: { address: metricsAddr.address, port: metricsAddr.port, path: "/metrics" },
    config: describeConfig(config),
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn("second signal, exiting now", { signal });
      process.exit(0);
    }
    stopping = true;
    log.info("shutting down", { signal });
    lagMonitor.stop();
    peerListener?.close();
    // Scrapes are short: the metrics listener just stops.
    metricsServer.close();
    metricsServer.closeAllConnections();
    const hardStop = setTimeout(() => {
      log.warn("shutdown grace period exceeded, exiting");
      process.exit(0);
    }, SHUTDOWN_GRACE_MS);
    hardStop.unref();
    shutdown(server, db, SHUTDOWN_GRACE_MS - 250).then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error("error during shutdown", errInfo(err));
        process.exit(0);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    consoleLogger.error("failed to start", errInfo(err));
    process.exit(1);
  });
}
