/**
 * Test doubles for the demo app shared by the HTTP tests: an in-memory fake Db
 * (one FakeNode per server, sharing one table) and a raw HTTP request helper.
 */
import * as http from "node:http";
import type { AppConfig } from "../../app/config";
import {
  type Db,
  type DbNode,
  type DbRole,
  GTID_WAIT_TIMEOUT,
  type InsertResult,
  type PoolStats,
  type ReadAfterOptions,
  type Row,
  type SelectResult,
  type TransactionResult,
  type Tx,
  type TxResult,
} from "../../app/db";
import { DELETE_EXPIRED_KEY_SQL, INSERT_KEY_SQL, SELECT_KEY_SQL, SWEEP_EXPIRED_KEYS_SQL } from "../../app/idempotency";
import { GET_ITEM_SQL, INSERT_ITEM_SQL, LIST_ITEMS_SQL } from "../../app/server";
import { POSITION_SQL } from "../../app/staleness";

export interface StoredItem {
  id: number;
  name: string;
  created_at: Date;
  /** Sequence number of the write's GTID (0-1-seq). */
  seq?: number;
}

export interface StoredKey {
  hash: Buffer;
  status: number;
  response: string;
  location: string | null;
  expired: boolean;
}

/** The tables the fake servers share (one history; replicas see a prefix of it). */
export interface FakeState {
  items: StoredItem[];
  keys: Map<string, StoredKey>;
  /** GTID sequence of the last write (domain 0, server 1). */
  seq: number;
}

function dupEntry(): Error {
  return Object.assign(new Error("Duplicate entry"), { code: "ER_DUP_ENTRY", errno: 1062 });
}

/** In-memory stand-in for one MySQL server; shares the tables with its peers. */
export class FakeNode implements DbNode {
  down = false;
  calls: string[] = [];
  /** What poolStats() reports; undefined = unreadable. */
  stats: PoolStats | undefined = { used: 0, free: 0, queued: 0 };
  /** Replica only: the GTID sequence applied so far (undefined: everything). Rows written later are invisible. */
  applied: number | undefined;
  /** The `after` options of each select (read-your-writes waits). */
  waits: ReadAfterOptions[] = [];
  constructor(
    readonly name: string,
    readonly role: DbRole,
    readonly serverId: string,
    private readonly state: FakeState,
  ) {}

  private get table(): StoredItem[] {
    const applied = this.applied;
    return applied === undefined ? this.state.items : this.state.items.filter((r) => (r.seq ?? 0) <= applied);
  }

  private check(sql: string) {
    this.calls.push(sql);
    if (this.down) {
      throw Object.assign(new Error(`connect ECONNREFUSED ${this.name}:3306`), { code: "ECONNREFUSED", fatal: true });
    }
  }

  async select(sql: string, params: readonly unknown[] = [], after?: ReadAfterOptions): Promise<SelectResult> {
    this.check(sql);
    if (after !== undefined) {
      this.waits.push(after);
      const want = Number(after.minGtid.split("-")[2]);
      if (this.role === "replica" && this.applied !== undefined && want > this.applied) {
        throw Object.assign(new Error("not applied"), { code: GTID_WAIT_TIMEOUT });
      }
    }
    let rows: Row[];
    if (sql === SELECT_KEY_SQL) {
      const k = this.state.keys.get(String(params[0]));
      rows = k === undefined ? [] : [{ request_hash: k.hash, status: k.status, response: k.response, location: k.location, expired: k.expired ? 1 : 0 }];
    } else if (sql === POSITION_SQL) {
      const seq = this.applied === undefined ? this.state.seq : Math.min(this.applied, this.state.seq);
      rows = [{ pos: seq === 0 ? "" : `0-1-${seq}` }];
    } else if (sql === LIST_ITEMS_SQL)
      rows = [...this.table]
        .reverse()
        .slice(0, 100)
        .map((r) => ({ ...r }));
    else if (sql === GET_ITEM_SQL) rows = this.table.filter((r) => String(r.id) === params[0]).map((r) => ({ ...r }));
    else throw new Error(`unexpected SQL ${sql}`);
    return { rows, serverId: this.serverId };
  }

  poolStats(): PoolStats | undefined {
    return this.stats;
  }

  /** One statement against the shared state (writes on the primary only). */
  private write(sql: string, params: readonly unknown[]): TxResult {
    if (this.role !== "primary") throw new Error("read only");
    if (sql === INSERT_ITEM_SQL) {
      const id = this.state.items.length + 1;
      this.state.items.push({ id, name: String(params[0]), created_at: new Date(Date.UTC(2024, 0, 1, 0, 0, id)), seq: this.state.seq + 1 });
      return { rows: [], insertId: id, affectedRows: 1 };
    }
    if (sql === INSERT_KEY_SQL) {
      const key = String(params[0]);
      if (this.state.keys.has(key)) throw dupEntry();
      this.state.keys.set(key, {
        hash: params[1] as Buffer,
        status: Number(params[2]),
        response: String(params[3]),
        location: params[4] === null ? null : String(params[4]),
        expired: false,
      });
      return { rows: [], affectedRows: 1 };
    }
    if (sql === DELETE_EXPIRED_KEY_SQL) {
      const k = this.state.keys.get(String(params[0]));
      if (k?.expired) this.state.keys.delete(String(params[0]));
      return { rows: [], affectedRows: k?.expired ? 1 : 0 };
    }
    if (sql === SWEEP_EXPIRED_KEYS_SQL) {
      for (const [k, v] of this.state.keys) if (v.expired) this.state.keys.delete(k);
      return { rows: [], affectedRows: 0 };
    }
    throw new Error(`unexpected SQL ${sql}`);
  }

  async insert(sql: string, params: readonly unknown[] = []): Promise<InsertResult> {
    this.check(sql);
    const r = this.write(sql, params);
    this.state.seq++;
    return { insertId: r.insertId ?? 0, serverId: this.serverId, gtid: `0-1-${this.state.seq}` };
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<TransactionResult<T>> {
    this.check("START TRANSACTION");
    const before = { items: this.state.items.length, keys: new Map(this.state.keys) };
    try {
      const value = await fn({
        query: async (sql, params = []) => {
          this.check(sql);
          if (sql === SELECT_KEY_SQL) return { rows: (await this.select(sql, params)).rows };
          return this.write(sql, params);
        },
      });
      this.state.seq++;
      return { value, serverId: this.serverId, gtid: `0-1-${this.state.seq}` };
    } catch (err) {
      this.state.items.length = before.items;
      this.state.keys = before.keys;
      throw err;
    }
  }

  async gtidPosition(): Promise<string | undefined> {
    this.check("SELECT @@global.gtid_current_pos");
    return `0-1-${this.state.seq}`;
  }
}

export function makeDb(readerCount: number) {
  const state: FakeState = { items: [], keys: new Map(), seq: 0 };
  const table = state.items;
  const writer = new FakeNode("db-primary", "primary", "1", state);
  const readers = Array.from({ length: readerCount }, (_, i) => new FakeNode(`db-replica-${i + 1}`, "replica", String(i + 2), state));
  const db: Db & { closed: number } = {
    writer,
    readers,
    closed: 0,
    async close() {
      db.closed++;
    },
  };
  return { db, writer, readers, table, state };
}

export interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // a parsed response body, checked field by field
}

/**
 * One request on a fresh connection. A POST with a body gets `Content-Type:
 * application/json` unless `headers` names a content type; `{"content-type": undefined}` sends none.
 */
export function request(port: number, method: string, path: string, body?: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Resp> {
  const named = Object.keys(headers).some((h) => h.toLowerCase() === "content-type");
  headers = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined));
  if (method === "POST" && body !== undefined && !named) headers = { ...headers, "content-type": "application/json" };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text === "" ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A node's config for the HTTP tests: ephemeral ports on loopback, no replica. */
export const TEST_CONFIG: AppConfig = {
  port: 0,
  bindAddress: "127.0.0.1",
  metricsPort: 0,
  metricsBindAddress: "127.0.0.1",
  nodeName: "web-1",
  writer: { host: "db-primary", port: 3306 },
  readers: [],
  database: "app",
  user: "app",
  password: "top-secret-password",
};
