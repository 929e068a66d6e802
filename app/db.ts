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
  /**
   * The write's GTID, read on the same connection right after its commit
   * (MariaDB: `@@last_gtid`; MySQL: `@@global.gtid_executed`, a superset). Undefined when unknown.
   */
  gtid?: string;
}

/** A statement's result inside a transaction. */
export interface TxResult {
  rows: Row[];
  insertId?: number | string;
  affectedRows?: number;
}

/** Runs statements inside one transaction, on one connection. */
export interface Tx {
  query(sql: string, params?: readonly unknown[]): Promise<TxResult>;
}

export interface TransactionResult<T> {
  value: T;
  serverId: string;
  /** The transaction's GTID after COMMIT (as InsertResult.gtid), when it wrote something. */
  gtid?: string;
}

/** Options of a replica read that must see a given write (read-your-writes). */
export interface ReadAfterOptions {
  /** The GTID position the server must have applied (X-Db-Min-Gtid). */
  minGtid: string;
  /** How long the server may wait for it (MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET). */
  waitMs: number;
}

/** Error code when a replica had not applied `minGtid` within `waitMs` (not a server failure). */
export const GTID_WAIT_TIMEOUT = "GTID_WAIT_TIMEOUT";
/** Error code when the position's format is not the server's (a MySQL GTID set sent to MariaDB...): the client's error. */
export const GTID_FORMAT_MISMATCH = "GTID_FORMAT_MISMATCH";

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
  /**
   * A read. With `after` on a replica, the server first waits (bounded) until it
   * has applied `after.minGtid`, on the same connection; if it has not, the call
   * fails with code GTID_WAIT_TIMEOUT. On the primary `after` is ignored: it has
   * every write it acknowledged.
   */
  select(sql: string, params?: readonly unknown[], after?: ReadAfterOptions): Promise<SelectResult>;
  /** One autocommit write; returns its GTID too. */
  insert(sql: string, params?: readonly unknown[]): Promise<InsertResult>;
  /** BEGIN, `fn`, COMMIT (ROLLBACK when `fn` or COMMIT throws), on one connection. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<TransactionResult<T>>;
  /**
   * The server's current GTID position (MariaDB `@@global.gtid_current_pos`,
   * MySQL `@@global.gtid_executed`): covers every write visible on it now.
   */
  gtidPosition(): Promise<string | undefined>;
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
  /**
   * innodb_lock_wait_timeout (s) of the writer's sessions: how long a write waits
   * for a row another transaction holds (a concurrent request with the same
   * Idempotency-Key) before failing with ER_LOCK_WAIT_TIMEOUT (answered 409).
   */
  writerLockWaitTimeoutS?: number;
}

const DEFAULTS: Required<MysqlDbOptions> = {
  connectionLimit: 10,
  connectTimeoutMs: 2000,
  acquireTimeoutMs: 2500,
  readerQueryTimeoutMs: 2000,
  writerQueryTimeoutMs: 5000,
  writerLockWaitTimeoutS: 1,
};

/** What a physical connection is talking to (fetched once, on its first use). */
interface ConnInfo {
  serverId: string;
  mariadb: boolean;
}

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
  /** @@server_id and engine per physical connection (fetched once, on first use). */
  private readonly connInfo = new WeakMap<object, ConnInfo>();
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

  private async run<T>(fn: (conn: mysql.PoolConnection, info: ConnInfo) => Promise<T>): Promise<{ value: T; serverId: string }> {
    const conn = await acquire(this.pool, this.opts.acquireTimeoutMs);
    let broken = false;
    try {
      const core = conn.connection as object;
      let info = this.connInfo.get(core);
      if (info === undefined) {
        await conn.query({ sql: "SET time_zone = '+00:00'", timeout: this.queryTimeoutMs });
        if (this.role === "primary") {
          await conn.query({ sql: "SET SESSION innodb_lock_wait_timeout = ?", timeout: this.queryTimeoutMs }, [this.opts.writerLockWaitTimeoutS]);
        }
        const [rows] = await conn.query<mysql.RowDataPacket[]>({
          sql: "SELECT @@server_id AS server_id, @@version AS version",
          timeout: this.queryTimeoutMs,
        });
        info = { serverId: String(rows[0]?.server_id ?? ""), mariadb: /mariadb/i.test(String(rows[0]?.version ?? "")) };
        this.connInfo.set(core, info);
      }
      const value = await fn(conn, info);
      return { value, serverId: info.serverId };
    } catch (err) {
      broken = isConnectionBroken(err);
      throw err;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  async select(sql: string, params: readonly unknown[] = [], after?: ReadAfterOptions): Promise<SelectResult> {
    try {
      return await this.selectOnce(sql, params, after);
    } catch (err) {
      // A pooled connection may be dead (its server restarted since it was opened): a read
      // is safe to repeat, and the retry gets a fresh connection. A dead server fails again, fast.
      if (!isConnectionBroken(err)) throw err;
      return this.selectOnce(sql, params, after);
    }
  }

  private async selectOnce(sql: string, params: readonly unknown[], after: ReadAfterOptions | undefined): Promise<SelectResult> {
    const { value, serverId } = await this.run(async (conn, info) => {
      if (after !== undefined && this.role === "replica") await this.waitForGtid(conn, info, after);
      const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql, timeout: this.queryTimeoutMs }, [...params]);
      return rows as Row[];
    });
    return { rows: value, serverId };
  }

  /**
   * Waits on this connection until the server has applied `after.minGtid`, at most
   * `after.waitMs`: MariaDB MASTER_GTID_WAIT (0 reached, -1 timeout; it waits on
   * gtid_slave_pos, which is why the primary never waits), MySQL
   * WAIT_FOR_EXECUTED_GTID_SET (0 reached, 1 timeout).
   */
  private async waitForGtid(conn: mysql.PoolConnection, info: ConnInfo, after: ReadAfterOptions): Promise<void> {
    const mariadbFormat = /^\d/.test(after.minGtid);
    if (mariadbFormat !== info.mariadb) throw codedError("the GTID position is not in this server's format", GTID_FORMAT_MISMATCH);
    const seconds = Math.max(0, after.waitMs) / 1000;
    const sql = info.mariadb ? "SELECT MASTER_GTID_WAIT(?, ?) AS r" : "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS r";
    const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql, timeout: this.queryTimeoutMs + after.waitMs }, [after.minGtid, seconds]);
    if (Number(rows[0]?.r) !== 0) throw codedError(`GTID ${after.minGtid} not applied within ${after.waitMs} ms`, GTID_WAIT_TIMEOUT);
  }

  /** The GTID of the commit this connection just made (see InsertResult.gtid). */
  private async lastGtid(conn: mysql.PoolConnection, info: ConnInfo): Promise<string | undefined> {
    const sql = info.mariadb ? "SELECT @@last_gtid AS g" : "SELECT @@global.gtid_executed AS g";
    const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql, timeout: this.queryTimeoutMs });
    const g = String(rows[0]?.g ?? "").replace(/\s+/g, "");
    return g === "" ? undefined : g;
  }

  async insert(sql: string, params: readonly unknown[] = []): Promise<InsertResult> {
    const { value, serverId } = await this.run(async (conn, info) => {
      const [res] = await conn.query<mysql.ResultSetHeader>({ sql, timeout: this.queryTimeoutMs }, [...params]);
      // The write is committed (autocommit): a failure reading its GTID must not turn it into an error.
      const gtid = await this.lastGtid(conn, info).catch(() => undefined);
      return { res, gtid };
    });
    return { insertId: value.res.insertId, serverId, gtid: value.gtid };
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<TransactionResult<T>> {
    const { value, serverId } = await this.run(async (conn, info) => {
      await conn.query({ sql: "START TRANSACTION", timeout: this.queryTimeoutMs });
      let result: T;
      try {
        const tx: Tx = {
          query: async (sql, params = []) => {
            const [res] = await conn.query({ sql, timeout: this.queryTimeoutMs }, [...params]);
            if (Array.isArray(res)) return { rows: res as Row[] };
            const h = res as mysql.ResultSetHeader;
            return { rows: [], insertId: h.insertId, affectedRows: h.affectedRows };
          },
        };
        result = await fn(tx);
        await conn.query({ sql: "COMMIT", timeout: this.queryTimeoutMs });
      } catch (err) {
        // A broken connection is destroyed (the server rolls back); a live one is rolled back here.
        if (!isConnectionBroken(err)) await conn.query({ sql: "ROLLBACK", timeout: this.queryTimeoutMs }).catch(() => undefined);
        throw err;
      }
      const gtid = await this.lastGtid(conn, info).catch(() => undefined);
      return { result, gtid };
    });
    return { value: value.result, serverId, gtid: value.gtid };
  }

  async gtidPosition(): Promise<string | undefined> {
    const { value } = await this.run(async (conn, info) => {
      const sql = info.mariadb ? "SELECT @@global.gtid_current_pos AS g" : "SELECT @@global.gtid_executed AS g";
      const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql, timeout: this.queryTimeoutMs });
      const g = String(rows[0]?.g ?? "").replace(/\s+/g, "");
      return g === "" ? undefined : g;
    });
    return value;
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
