/**
 * Test doubles for the demo app shared by the HTTP tests: an in-memory fake Db
 * (one FakeNode per server, sharing one table) and a raw HTTP request helper.
 */
import * as http from "node:http";
import type { AppConfig } from "../../app/config";
import type { Db, DbNode, DbRole, InsertResult, PoolStats, Row, SelectResult } from "../../app/db";
import { GET_ITEM_SQL, INSERT_ITEM_SQL, LIST_ITEMS_SQL } from "../../app/server";

export interface StoredItem {
  id: number;
  name: string;
  created_at: Date;
}

/** In-memory stand-in for one MySQL server; shares the item table with its peers. */
export class FakeNode implements DbNode {
  down = false;
  calls: string[] = [];
  /** What poolStats() reports; undefined = unreadable. */
  stats: PoolStats | undefined = { used: 0, free: 0, queued: 0 };
  constructor(
    readonly name: string,
    readonly role: DbRole,
    readonly serverId: string,
    private readonly table: StoredItem[],
  ) {}

  private check(sql: string) {
    this.calls.push(sql);
    if (this.down) {
      throw Object.assign(new Error(`connect ECONNREFUSED ${this.name}:3306`), { code: "ECONNREFUSED", fatal: true });
    }
  }

  async select(sql: string, params: readonly unknown[] = []): Promise<SelectResult> {
    this.check(sql);
    let rows: Row[];
    if (sql === LIST_ITEMS_SQL)
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

  async insert(sql: string, params: readonly unknown[] = []): Promise<InsertResult> {
    this.check(sql);
    if (this.role !== "primary") throw new Error("read only");
    if (sql !== INSERT_ITEM_SQL) throw new Error(`unexpected SQL ${sql}`);
    const id = this.table.length + 1;
    this.table.push({ id, name: String(params[0]), created_at: new Date(Date.UTC(2024, 0, 1, 0, 0, id)) });
    return { insertId: id, serverId: this.serverId };
  }
}

export function makeDb(readerCount: number) {
  const table: StoredItem[] = [];
  const writer = new FakeNode("db-primary", "primary", "1", table);
  const readers = Array.from({ length: readerCount }, (_, i) => new FakeNode(`db-replica-${i + 1}`, "replica", String(i + 2), table));
  const db: Db & { closed: number } = {
    writer,
    readers,
    closed: 0,
    async close() {
      db.closed++;
    },
  };
  return { db, writer, readers, table };
}

export interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // a parsed response body, checked field by field
}

export function request(port: number, method: string, path: string, body?: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Resp> {
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
