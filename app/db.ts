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

/** One database server (a pool in the real implementation). */
export interface DbNode {
  /** Configured host name; sent as X-Db-Node. */
  readonly name: string;
  readonly role: DbRole;
  select(sql: string, params?: readonly unknown[]): Promise<SelectResult>;
  insert(sql: string, params?: readonly unknown[]): Promise<InsertResult>;
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

/** An error after which the connection must not go back to the pool. */
function isConnectionBroken(err: unknown): boolean {
  const e = err as ErrorWithCode | null;
  return !!e && (e.fatal === true || e.code === "PROTOCOL_SEQUENCE_TIMEOUT");
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
