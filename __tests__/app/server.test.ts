import * as http from "node:http";
import type { AppConfig } from "../../app/config";
import { AppServer, INSERT_ITEM_SQL, createServer, listen, shutdown, silentLogger } from "../../app/server";
import { makeDb, request, TEST_CONFIG } from "./fakes";

const config: AppConfig = TEST_CONFIG;

async function start(readerCount: number) {
  let now = 1_000_000;
  const env = makeDb(readerCount);
  const server = createServer(config, env.db, { logger: silentLogger, clock: () => now });
  const { port } = await listen(server, 0, "127.0.0.1");
  return {
    ...env,
    server,
    port,
    advance: (ms: number) => (now += ms),
    req: (method: string, path: string, body?: string | Buffer, headers?: http.OutgoingHttpHeaders) => request(port, method, path, body, headers),
  };
}

type Started = Awaited<ReturnType<typeof start>>;

describe("demo app HTTP server", () => {
  let app: Started;
  afterEach(async () => {
    if (app?.server.listening) await shutdown(app.server as AppServer, app.db, 2000);
  });

  test("server timeouts suit nginx keep-alive upstreams", async () => {
    app = await start(0);
    expect(app.server.keepAliveTimeout).toBe(65000);
    expect(app.server.headersTimeout).toBe(66000);
  });

  test("GET /health: liveness only, X-Web-Node only, no DB access", async () => {
    app = await start(2);
    app.writer.down = true;
    for (const r of app.readers) r.down = true;
    const r = await app.req("GET", "/health");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ok", node: "web-1" });
    expect(r.headers["x-web-node"]).toBe("web-1");
    expect(r.headers["x-db-node"]).toBeUndefined();
    expect(r.headers["x-db-role"]).toBeUndefined();
    expect(r.headers["x-db-server-id"]).toBeUndefined();
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    expect([app.writer, ...app.readers].every((n) => n.calls.length === 0)).toBe(true);
    const head = await app.req("HEAD", "/health");
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
  });

  test("POST then GET list and item, with DB headers", async () => {
    app = await start(2);
    const created = await app.req("POST", "/api/items", JSON.stringify({ name: "  first  " }), {
      "content-type": "application/json",
    });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ id: 1, name: "first" });
    expect(created.headers["location"]).toBe("/api/items/1");
    expect(created.headers["x-web-node"]).toBe("web-1");
    expect(created.headers["x-db-node"]).toBe("db-primary");
    expect(created.headers["x-db-role"]).toBe("primary");
    expect(created.headers["x-db-server-id"]).toBe("1");
    await app.req("POST", "/api/items", JSON.stringify({ name: "second" }));

    const list = await app.req("GET", "/api/items");
    expect(list.status).toBe(200);
    expect(list.json.items.map((i: { name: string }) => i.name)).toEqual(["second", "first"]);
    expect(list.json.items[0]).toEqual({ id: 2, name: "second", created_at: "2024-01-01T00:00:02.000Z" });
    expect(list.json.servedBy).toEqual({ web: "web-1", db: "db-replica-1", dbRole: "replica", dbServerId: "2" });
    expect(list.headers["x-db-node"]).toBe("db-replica-1");
    expect(list.headers["x-db-role"]).toBe("replica");
    expect(list.headers["x-db-server-id"]).toBe("2");

    const one = await app.req("GET", "/api/items/1");
    expect(one.status).toBe(200);
    expect(one.json.item).toMatchObject({ id: 1, name: "first" });
    expect(one.headers["x-db-node"]).toBe("db-replica-2"); // round-robin moved on
    expect(one.headers["x-db-role"]).toBe("replica");
    expect(one.headers["x-db-server-id"]).toBe("3");
  });

  test("reads rotate round-robin across replicas", async () => {
    app = await start(3);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(String((await app.req("GET", "/api/items")).headers["x-db-node"]));
    expect(seen).toEqual(["db-replica-1", "db-replica-2", "db-replica-3", "db-replica-1", "db-replica-2", "db-replica-3"]);
    expect(app.writer.calls).toHaveLength(0);
  });

  test("no replicas configured -> reads go to the writer", async () => {
    app = await start(0);
    const r = await app.req("GET", "/api/items");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ items: [], servedBy: { web: "web-1", db: "db-primary", dbRole: "primary", dbServerId: "1" } });
    expect(r.headers["x-db-role"]).toBe("primary");
  });

  test("dead replica: next replica serves, then it is skipped for 2 s", async () => {
    app = await start(2);
    app.readers[0].down = true;
    const r1 = await app.req("GET", "/api/items");
    expect(r1.status).toBe(200);
    expect(r1.headers["x-db-node"]).toBe("db-replica-2");
    expect(app.readers[0].calls).toHaveLength(1);
    for (let i = 0; i < 4; i++) expect((await app.req("GET", "/api/items")).headers["x-db-node"]).toBe("db-replica-2");
    expect(app.readers[0].calls).toHaveLength(1); // breaker open: no latency added
    app.advance(2000);
    app.readers[0].down = false;
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) seen.add(String((await app.req("GET", "/api/items")).headers["x-db-node"]));
    expect(seen).toEqual(new Set(["db-replica-1", "db-replica-2"]));
  });

  test("all replicas dead -> primary; primary dead too -> 503 without internals", async () => {
    app = await start(2);
    for (const r of app.readers) r.down = true;
    const r = await app.req("GET", "/api/items/1");
    expect(r.status).toBe(404);
    expect(r.headers["x-db-node"]).toBe("db-primary");
    expect(r.headers["x-db-role"]).toBe("primary");
    expect(r.headers["x-db-server-id"]).toBe("1");
    app.writer.down = true;
    const dead = await app.req("GET", "/api/items");
    expect(dead.status).toBe(503);
    expect(dead.json).toEqual({ error: "database unavailable" });
    expect(dead.headers["x-web-node"]).toBe("web-1");
    expect(dead.headers["x-db-node"]).toBeUndefined();
    const post = await app.req("POST", "/api/items", '{"name":"x"}');
    expect(post.status).toBe(503);
    expect(post.text).not.toContain("top-secret-password");
    expect(post.text).not.toContain("ECONNREFUSED");
  });

  test("GET /api/items/:id?consistency=strong reads from the writer", async () => {
    app = await start(2);
    await app.req("POST", "/api/items", '{"name":"mine"}');
    const r = await app.req("GET", "/api/items/1?consistency=strong");
    expect(r.status).toBe(200);
    expect(r.json.item.name).toBe("mine");
    expect(r.headers["x-db-node"]).toBe("db-primary");
    expect(r.headers["x-db-role"]).toBe("primary");
    expect(app.readers.every((n) => n.calls.length === 0)).toBe(true);
    // writer down with strong consistency -> 503, no silent fallback to a replica
    app.writer.down = true;
    expect((await app.req("GET", "/api/items/1?consistency=strong")).status).toBe(503);
  });

  test("GET /api/items/:id: 404 when missing (with DB headers), 400 on a bad id", async () => {
    app = await start(1);
    const missing = await app.req("GET", "/api/items/999");
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: "item not found", id: "999" });
    expect(missing.headers["x-db-node"]).toBe("db-replica-1");
    expect(missing.headers["x-db-role"]).toBe("replica");
    for (const bad of ["abc", "0", "-1", "1.5", "99999999999999999999999"]) {
      const r = await app.req("GET", `/api/items/${bad}`);
      expect(r.status).toBe(400);
      expect(r.headers["x-db-node"]).toBeUndefined();
    }
    expect(app.readers[0].calls).toHaveLength(1);
  });

  test("POST validation: 400 bad JSON / bad name, 413 over 16 KiB", async () => {
    app = await start(1);
    const cases: Array<[string, number]> = [
      ["", 400],
      ["{not json", 400],
      ["[]", 400],
      ['{"name":""}', 400],
      ['{"name":"   "}', 400],
      ['{"name":42}', 400],
      [JSON.stringify({ name: "x".repeat(201) }), 400],
      [JSON.stringify({ name: "x".repeat(200) }), 201],
    ];
    for (const [body, status] of cases) {
      const r = await app.req("POST", "/api/items", body, { "content-type": "application/json" });
      expect([body.slice(0, 20), r.status]).toEqual([body.slice(0, 20), status]);
      expect(r.headers["x-web-node"]).toBe("web-1");
      if (status === 400) {
        expect(typeof r.json.error).toBe("string");
        expect(r.headers["x-db-node"]).toBeUndefined();
      }
    }
    const big = JSON.stringify({ name: "x", pad: "y".repeat(17 * 1024) });
    const tooBig = await app.req("POST", "/api/items", big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error).toMatch(/exceeds/);
    // chunked (no Content-Length) is limited while streaming
    const chunked = await app.req("POST", "/api/items", big, { "transfer-encoding": "chunked" });
    expect(chunked.status).toBe(413);
    // exactly at the limit is accepted by the body reader (then validated)
    const atLimit = JSON.stringify({ name: "ok", pad: "" });
    const exact = atLimit.slice(0, -2) + "z".repeat(16 * 1024 - atLimit.length) + '"}';
    expect(Buffer.byteLength(exact)).toBe(16 * 1024);
    expect((await app.req("POST", "/api/items", exact)).status).toBe(201);
    expect(app.writer.calls.filter((s) => s === INSERT_ITEM_SQL)).toHaveLength(2);
  });

  test("unknown path 404, wrong method 405 with Allow", async () => {
    app = await start(1);
    const nf = await app.req("GET", "/nope");
    expect(nf.status).toBe(404);
    expect(nf.json).toEqual({ error: "not found" });
    expect(nf.headers["x-web-node"]).toBe("web-1");
    const m1 = await app.req("DELETE", "/api/items");
    expect(m1.status).toBe(405);
    expect(m1.headers["allow"]).toBe("GET, HEAD, POST");
    const m2 = await app.req("POST", "/health");
    expect(m2.status).toBe(405);
    expect(m2.headers["allow"]).toBe("GET, HEAD");
    const m3 = await app.req("PUT", "/api/items/1", "{}");
    expect(m3.status).toBe(405);
    expect(m3.json).toEqual({ error: "method not allowed" });
  });

  test("graceful shutdown closes idle keep-alive connections and the pools", async () => {
    app = await start(1);
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: app.port, path: "/health", agent }, (res) => {
          res.resume();
          res.on("end", () => resolve());
        })
        .on("error", reject);
    });
    const t0 = Date.now();
    await shutdown(app.server, app.db, 3000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(app.server.listening).toBe(false);
    expect(app.db.closed).toBe(1);
    agent.destroy();
    await expect(app.req("GET", "/health")).rejects.toThrow(/ECONNREFUSED/);
  });

  test("shutdown lets an in-flight request finish with Connection: close", async () => {
    app = await start(0);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const orig = app.writer.select.bind(app.writer);
    app.writer.select = async (sql, params) => {
      await gate;
      return orig(sql, params);
    };
    const inflight = app.req("GET", "/api/items");
    await new Promise((r) => setTimeout(r, 50));
    const done = shutdown(app.server, app.db, 3000);
    release();
    const r = await inflight;
    expect(r.status).toBe(200);
    expect(r.headers["connection"]).toBe("close");
    await done;
    expect(app.db.closed).toBe(1);
  });
});
