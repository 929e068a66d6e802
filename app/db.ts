/**
 * Database layer: the small interface the HTTP handlers use (so tests can inject
 * a fake), and its mysql2 implementation with one pool per configured host.
 */
import * as mysql from "mysql2/promise";
import type { AppConfig, DbEndpoint } from "./config";

export type DbRole = "primary" | "replica";
export type Row = Record<string, unknown>;

export interface SelectResult {
  rows: Row[];
  /** SELECT @@server_id of the connection that ran the query. */
  serverId: string;
}

export interface InsertResult {
  insertId: number | string;
  serverId: string;
}

/** Connections of one pool at one instant. */
export interface PoolStats {
  /** Checked out (running a query, or still connecting). */
  used: number;
  /** Open and idle in the pool. */
  free: number;
  /** Requests waiting for a connection. */
  queued: number;
}

/** One database server (a pool in the real implementation). */
export interface DbNode {
  /** Configured host name; sent as X-Db-Node. */
  readonly name: string;
  readonly role: DbRole;
  select(sql: string, params?: readonly unknown[]): Promise<SelectResult>;
  insert(sql: string, params?: readonly unknown[]): Promise<InsertResult>;
  /** The pool's connections now, or undefined when they cannot be read. Optional: fakes may omit it. */
  poolStats?(): PoolStats | undefined;
}

export interface Db {
  readonly writer: DbNode;
  /** Replicas in configuration order; may be empty. */
  readonly readers: readonly DbNode[];
  close(): Promise<void>;
}

export interface MysqlDbOptions {
  connectionLimit?: number;
  /** TCP + handshake timeout for new connections. */
  connectTimeoutMs?: number;
  /** Waiting for a free pooled connection (pool exhausted or connecting). */
  acquireTimeoutMs?: number;
  /** Per-statement inactivity timeout on replicas. */
  readerQueryTimeoutMs?: number;
  /** Per-statement inactivity timeout on the writer. */
  writerQueryTimeoutMs?: number;
}

const DEFAULTS: Required<MysqlDbOptions> = {
  connectionLimit: 10,
  connectTimeoutMs: 2000,
  acquireTimeoutMs: 2500,
  readerQueryTimeoutMs: 2000,
  writerQueryTimeoutMs: 5000,
};

interface ErrorWithCode extends Error {
  code?: string;
  fatal?: boolean;
}

function codedError(message: string, code: string): ErrorWithCode {
  const e: ErrorWithCode = new Error(message);
  e.code = code;
  return e;
}

/**
 * A server refusing a write because it is read-only: the writer's name has moved
 * (a promotion fenced this server), and a pooled connection still points at it.
 * MariaDB and MySQL both answer ER_OPTION_PREVENTS_STATEMENT (1290); 1836 is
 * MySQL's ER_READ_ONLY_MODE.
 */
function isReadOnlyRefusal(e: ErrorWithCode & { errno?: number }): boolean {
  return e.code === "ER_OPTION_PREVENTS_STATEMENT" || e.errno === 1290 || e.errno === 1836;
}

/**
 * An error after which the connection must not go back to the pool: a dead
 * connection, or one to a server that turned read-only (its replacement is
 * found by a new connection, which resolves the writer's name again).
 */
function isConnectionBroken(err: unknown): boolean {
  const e = err as ErrorWithCode | null;
  return !!e && (e.fatal === true || e.code === "PROTOCOL_SEQUENCE_TIMEOUT" || isReadOnlyRefusal(e));
}

/** pool.getConnection() bounded by a timeout; a connection arriving late is released. */
function acquire(pool: mysql.Pool, timeoutMs: number): Promise<mysql.PoolConnection> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(codedError(`timed out after ${timeoutMs} ms waiting for a database connection`, "ACQUIRE_TIMEOUT"));
    }, timeoutMs);
    pool.getConnection().then(
      (conn) => {
        if (settled) {
          conn.release();
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(conn);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function queueLength(q: unknown): number | undefined {
  const n = (q as { length?: unknown } | null | undefined)?.length;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Reads a mysql2 pool's connection counts. mysql2 (3.x) has no public API for
 * them, so this reads its internals (`_allConnections`, `_freeConnections`,
 * `_connectionQueue` of the core pool behind the promise wrapper) and returns
 * undefined, never throws, when their shape is not the one expected.
 */
export function readPoolStats(pool: unknown): PoolStats | undefined {
  try {
    const wrapped = pool as { pool?: unknown } | null | undefined;
    const core = (wrapped?.pool ?? wrapped) as Record<string, unknown> | null | undefined;
    if (core === null || typeof core !== "object") return undefined;
    const all = queueLength(core._allConnections);
    const free = queueLength(core._freeConnections);
    const queued = queueLength(core._connectionQueue);
    if (all === undefined || free === undefined || queued === undefined) return undefined;
    return { used: Math.max(0, all - free), free, queued };
  } catch {
    return undefined;
  }
}

class MysqlNode implements DbNode {
  readonly name: string;
  private readonly pool: mysql.Pool;
  /** @@server_id per physical connection (fetched once, on first use). */
  private readonly serverIds = new WeakMap<object, string>();
  private readonly queryTimeoutMs: number;

  constructor(
    endpoint: DbEndpoint,
    readonly role: DbRole,
    config: AppConfig,
    private readonly opts: Required<MysqlDbOptions>,
  ) {
    this.name = endpoint.host;
    this.queryTimeoutMs = role === "primary" ? opts.writerQueryTimeoutMs : opts.readerQueryTimeoutMs;
    // createPool does not connect; connections are opened on first use.
    this.pool = mysql.createPool({
      host: endpoint.host,
      port: endpoint.port,
      user: config.user,
      password: config.password,
      database: config.database,
      connectionLimit: opts.connectionLimit,
      maxIdle: opts.connectionLimit,
      idleTimeout: 60_000,
      waitForConnections: true,
      queueLimit: 0,
      connectTimeout: opts.connectTimeoutMs,
      enableKeepAlive: true,
      keepAliveInitialDelay: 10_000,
      // BIGINT ids as numbers while exact, as strings beyond 2^53.
      supportBigNumbers: true,
      bigNumberStrings: false,
      // Sessions run in UTC (set per connection below), so TIMESTAMPs map to exact Dates.
      timezone: "Z",
    });
  }

  private async run<T>(fn: (conn: mysql.PoolConnection) => Promise<T>): Promise<{ value: T; serverId: string }> {
    const conn = await acquire(this.pool, this.opts.acquireTimeoutMs);
    let broken = false;
    try {
      const core = conn.connection as object;
      let serverId = this.serverIds.get(core);
      if (serverId === undefined) {
        await conn.query({ sql: "SET time_zone = '+00:00'", timeout: this.queryTimeoutMs });
        const [rows] = await conn.query<mysql.RowDataPacket[]>({
          sql: "SELECT @@server_id AS server_id",
          timeout: this.queryTimeoutMs,
        });
        serverId = String(rows[0]?.server_id ?? "");
        this.serverIds.set(core, serverId);
      }
      const value = await fn(conn);
      return { value, serverId };
    } catch (err) {
      broken = isConnectionBroken(err);
      throw err;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  async select(sql: string, params: readonly unknown[] = []): Promise<SelectResult> {
    try {
      return await this.selectOnce(sql, params);
    } catch (err) {
      // A pooled connection may be dead (its server restarted since it was opened): a read
      // is safe to repeat, and the retry gets a fresh connection. A dead server fails again, fast.
      if (!isConnectionBroken(err)) throw err;
      return this.selectOnce(sql, params);
    }
  }

  private async selectOnce(sql: string, params: readonly unknown[]): Promise<SelectResult> {
    const { value, serverId } = await this.run(async (conn) => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql, timeout: this.queryTimeoutMs }, [...params]);
      return rows as Row[];
    });
    return { rows: value, serverId };
  }

  async insert(sql: string, params: readonly unknown[] = []): Promise<InsertResult> {
    const { value, serverId } = await this.run(async (conn) => {
      const [res] = await conn.query<mysql.ResultSetHeader>({ sql, timeout: this.queryTimeoutMs }, [...params]);
      return res;
    });
    return { insertId: value.insertId, serverId };
  }

  poolStats(): PoolStats | undefined {
    return readPoolStats(this.pool);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** One pool per host: the writer and each reader. Nothing connects until first use. */
export function createMysqlDb(config: AppConfig, options: MysqlDbOptions = {}): Db {
  const opts: Required<MysqlDbOptions> = { ...DEFAULTS, ...options };
  const writer = new MysqlNode(config.writer, "primary", config, opts);
  const readers = config.readers.map((ep) => new MysqlNode(ep, "replica", config, opts));
  return {
    writer,
    readers,
    async close() {
      await Promise.allSettled([writer, ...readers].map((n) => n.close()));
    },
  };
}
