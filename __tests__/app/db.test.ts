/**
 * The mysql2-backed db layer against servers that are not MySQL: a closed port
 * (connection refused) and a black hole (accepts TCP, never answers). Checks that
 * nothing connects eagerly, that failures are fast and bounded, and that the HTTP
 * layer falls back and answers 503 without leaking the password.
 * (Real MariaDB queries are covered by the end-to-end lab.)
 */
import * as http from "node:http";
import * as net from "node:net";
import type { AppConfig } from "../../app/config";
import { createMysqlDb, readPoolStats } from "../../app/db";
import { createMetrics } from "../../app/metrics";
import { createServer, listen, shutdown, silentLogger } from "../../app/server";

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function blackHole() {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const s = net.createServer((sock) => {
    accepted++;
    sockets.add(sock);
    sock.on("error", () => undefined);
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return {
    port: (s.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((r) => {
        for (const x of sockets) x.destroy();
        s.close(() => r());
      }),
  };
}

function get(port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      })
      .on("error", reject);
  });
}

describe("mysql2 db layer failure handling", () => {
  let hole: Awaited<ReturnType<typeof blackHole>>;
  let refused: number;
  beforeAll(async () => {
    hole = await blackHole();
    refused = await closedPort();
  });
  afterAll(async () => {
    await hole.close();
  });

  function cfg(): AppConfig {
    return {
      port: 0,
      bindAddress: "127.0.0.1",
      metricsPort: 0,
      metricsBindAddress: "127.0.0.1",
      nodeName: "web-t",
      writer: { host: "127.0.0.1", port: refused },
      readers: [
        { host: "127.0.0.1", port: hole.port },
        { host: "127.0.0.1", port: refused },
      ],
      database: "app",
      user: "app",
      password: "pw-must-not-leak",
    };
  }

  test("pools connect lazily; refused and silent servers fail fast", async () => {
    const db = createMysqlDb(cfg(), { connectTimeoutMs: 300, acquireTimeoutMs: 1000 });
    try {
      await new Promise((r) => setTimeout(r, 50));
      expect(hole.accepted()).toBe(0);
      expect(db.writer.name).toBe("127.0.0.1");
      expect(db.writer.role).toBe("primary");
      expect(db.readers.map((r) => [r.name, r.role])).toEqual([
        ["127.0.0.1", "replica"],
        ["127.0.0.1", "replica"],
      ]);

      await expect(db.writer.select("SELECT 1")).rejects.toMatchObject({ code: "ECONNREFUSED" });

      const t0 = Date.now();
      const err = (await db.readers[0].select("SELECT 1").catch((e: unknown) => e)) as { code?: string };
      const elapsed = Date.now() - t0;
      expect(hole.accepted()).toBeGreaterThanOrEqual(1);
      expect(["ETIMEDOUT", "ACQUIRE_TIMEOUT"]).toContain(err.code);
      expect(elapsed).toBeLessThan(1500);
    } finally {
      await db.close();
    }
  });

  test("pool stats from mysql2's pool: idle, connecting (used) and queued", async () => {
    const db = createMysqlDb(cfg(), { connectionLimit: 1, connectTimeoutMs: 300, acquireTimeoutMs: 1000 });
    try {
      // lazy pools: nothing open yet
      expect(db.writer.poolStats?.()).toEqual({ used: 0, free: 0, queued: 0 });
      const silent = db.readers[0];
      // limit 1 against the black hole: one connection stuck connecting, the second request waits
      const a = silent.select("SELECT 1").catch(() => undefined);
      const b = silent.select("SELECT 1").catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20)); // well inside the 300 ms connect timeout
      expect(silent.poolStats?.()).toEqual({ used: 1, free: 0, queued: 1 });
      const text = await createMetrics({ db, defaultMetrics: false }).render();
      expect(text).toContain('db_pool_connections{pool="replica",state="used"} 1');
      expect(text).toContain('db_pool_connections{pool="replica",state="queued"} 1');
      expect(text).toContain('db_pool_connections{pool="primary",state="free"} 0');
      await Promise.all([a, b]);
      // the failed connection left the pool
      expect(silent.poolStats?.()).toMatchObject({ used: 0, free: 0 });
    } finally {
      await db.close();
    }
  });

  test("readPoolStats is defensive about mysql2's internals", () => {
    for (const junk of [undefined, null, 42, "pool", {}, { pool: {} }, { pool: { _allConnections: [], _freeConnections: 1 } }]) {
      expect(readPoolStats(junk)).toBeUndefined();
    }
    const throwing = {
      get _allConnections(): unknown {
        throw new Error("changed");
      },
    };
    expect(readPoolStats(throwing)).toBeUndefined();
    expect(readPoolStats({ _allConnections: { length: 3 }, _freeConnections: { length: 1 }, _connectionQueue: { length: 0 } })).toEqual({
      used: 2,
      free: 1,
      queued: 0,
    });
  });

  test("HTTP: dead replicas and writer -> 503, replicas then skipped by the breaker", async () => {
    const db = createMysqlDb(cfg(), { connectTimeoutMs: 300, acquireTimeoutMs: 1000 });
    const server = createServer(cfg(), db, { logger: silentLogger });
    const { port } = await listen(server, 0, "127.0.0.1");
    try {
      const r = await get(port, "/api/items");
      expect(r.status).toBe(503);
      expect(r.text).toBe('{"error":"database unavailable"}');
      expect(r.headers["x-web-node"]).toBe("web-t");
      const before = hole.accepted();
      const t0 = Date.now();
      const again = await get(port, "/api/items/1");
      expect(again.status).toBe(503);
      // both replicas are skipped now: only the (refusing) writer is tried
      expect(Date.now() - t0).toBeLessThan(250);
      expect(hole.accepted()).toBe(before);
      expect((await get(port, "/health")).status).toBe(200);
    } finally {
      await shutdown(server, db, 2000);
    }
  });
});
