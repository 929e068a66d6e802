/**
 * Issue 13 on the demo app's HTTP layer, with the in-memory fake Db: strict
 * POST input (415/400), Idempotency-Key (replay, 422, 409, 400, expiry),
 * X-Db-Gtid and read-your-writes (X-Db-Min-Gtid), bounded staleness
 * (lagging replicas skipped) and the heartbeat lag estimate.
 * The same paths against a real MariaDB: mariadb-idempotency.test.ts.
 */
import type * as http from "node:http";
import { createServer, INSERT_ITEM_SQL, listen, shutdown, silentLogger } from "../../app/server";
import { covers, parseGtidPosition, POSITION_SQL, ReplicaLagMonitor, StalenessCheck } from "../../app/staleness";
import { makeDb, request, TEST_CONFIG } from "./fakes";

async function start(readerCount: number, opts: { staleness?: StalenessCheck } = {}) {
  let now = 1_000_000;
  const env = makeDb(readerCount);
  const server = createServer(TEST_CONFIG, env.db, { logger: silentLogger, clock: () => now, staleness: opts.staleness });
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

let app: Started | undefined;
afterEach(async () => {
  if (app?.server.listening) await shutdown(app.server, app.db, 2000);
  app = undefined;
});

const itemInserts = (a: Started) => a.writer.calls.filter((s) => s === INSERT_ITEM_SQL).length;

describe("POST input: Content-Type, control characters, UTF-8", () => {
  test("415 with Accept-Post unless the body is declared application/json (utf-8)", async () => {
    app = await start(0);
    for (const ct of [undefined, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=iso-8859-1"]) {
      const r = await app.req("POST", "/api/items", '{"name":"x"}', { "content-type": ct });
      expect([ct, r.status]).toEqual([ct, 415]);
      expect(r.headers["accept-post"]).toBe("application/json");
      expect(r.json).toEqual({ error: "Content-Type must be application/json" });
    }
    expect(itemInserts(app)).toBe(0);
    const ok = await app.req("POST", "/api/items", '{"name":"x"}', { "content-type": "application/json; charset=UTF-8" });
    expect(ok.status).toBe(201);
  });

  test("400 for U+0085, U+2028 and invalid UTF-8; nothing written", async () => {
    app = await start(0);
    for (const body of ['{"name":"a\u0085b"}', '{"name":"a\\u0085b"}', '{"name":"a\u2028b"}', '{"name":"a\\u009fb"}']) {
      const r = await app.req("POST", "/api/items", body);
      expect([body, r.status, r.json.error]).toEqual([body, 400, "name must not contain control characters"]);
    }
    const bad = Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const r = await app.req("POST", "/api/items", bad);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: "request body is not valid UTF-8" });
    expect(itemInserts(app)).toBe(0);
    expect(app.table).toHaveLength(0);
  });
});

describe("Idempotency-Key", () => {
  const post = (a: Started, body: string, key?: string) => a.req("POST", "/api/items", body, key === undefined ? {} : { "idempotency-key": key });

  test("same key, same body: the first answer replayed (status, body, Location, marker); one row", async () => {
    app = await start(1);
    const first = await post(app, '{"name":"once"}', "k-1");
    expect(first.status).toBe(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    expect(first.headers["x-db-gtid"]).toMatch(/^0-1-\d+$/);
    const again = await post(app, '{"name":"once"}', "k-1");
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers["location"]).toBe(first.headers["location"]);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    // a position that covers the original write
    expect(again.headers["x-db-gtid"]).toBe(first.headers["x-db-gtid"]);
    // the quoted (Structured Field) form names the same key
    expect((await post(app, '{"name":"once"}', '"k-1"')).headers["idempotent-replayed"]).toBe("true");
    expect(app.table.map((i) => i.name)).toEqual(["once"]);
    expect(app.state.keys.size).toBe(1);
  });

  test("same key, another body: 422, nothing written; without a key every POST writes", async () => {
    app = await start(0);
    expect((await post(app, '{"name":"a"}', "k-2")).status).toBe(201);
    const other = await post(app, '{"name":"b"}', "k-2");
    expect(other.status).toBe(422);
    expect(other.json.error).toMatch(/another request/);
    expect((await post(app, '{"name":"a"}')).status).toBe(201);
    expect((await post(app, '{"name":"a"}')).status).toBe(201);
    expect(app.table.map((i) => i.name)).toEqual(["a", "a", "a"]);
  });

  test("malformed keys: 400 before anything is written", async () => {
    app = await start(0);
    for (const key of ["", "k".repeat(256), "a b", "caf\u00e9", '"open']) {
      const r = await post(app, '{"name":"a"}', key);
      expect([key.slice(0, 10), r.status]).toEqual([key.slice(0, 10), 400]);
    }
    const twice = await app.req("POST", "/api/items", '{"name":"a"}', { "idempotency-key": ["a", "b"] });
    expect(twice.status).toBe(400);
    expect(app.table).toHaveLength(0);
    expect(app.writer.calls).toHaveLength(0);
  });

  test("concurrent requests with one key on one node: one row, the other gets 409 or the replay", async () => {
    app = await start(0);
    const orig = app.writer.transaction.bind(app.writer);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    app.writer.transaction = async (fn) => {
      await gate;
      return orig(fn);
    };
    const a = post(app, '{"name":"race"}', "k-race");
    await new Promise((r) => setTimeout(r, 30));
    const b = await post(app, '{"name":"race"}', "k-race");
    expect(b.status).toBe(409);
    release();
    expect((await a).status).toBe(201);
    expect(app.table).toHaveLength(1);
  });

  test("a key whose row is locked by another node's open transaction: 409", async () => {
    app = await start(0);
    app.writer.transaction = async () => {
      throw Object.assign(new Error("Lock wait timeout exceeded"), { code: "ER_LOCK_WAIT_TIMEOUT", errno: 1205 });
    };
    const r = await post(app, '{"name":"x"}', "k-busy");
    expect(r.status).toBe(409);
  });

  test("an expired key is forgotten: the request runs as new", async () => {
    app = await start(0);
    expect((await post(app, '{"name":"x"}', "k-old")).status).toBe(201);
    const stored = app.state.keys.get("k-old");
    if (stored) stored.expired = true;
    const r = await post(app, '{"name":"y"}', "k-old");
    expect(r.status).toBe(201);
    expect(r.headers["idempotent-replayed"]).toBeUndefined();
    expect(app.table.map((i) => i.name)).toEqual(["x", "y"]);
  });

  test("database down: 503, and the key is not stored (a retry may still succeed)", async () => {
    app = await start(0);
    app.writer.down = true;
    expect((await post(app, '{"name":"x"}', "k-down")).status).toBe(503);
    app.writer.down = false;
    const r = await post(app, '{"name":"x"}', "k-down");
    expect(r.status).toBe(201);
    expect(r.headers["idempotent-replayed"]).toBeUndefined();
    expect(app.table).toHaveLength(1);
  });
});

describe("read-your-writes: X-Db-Gtid and X-Db-Min-Gtid", () => {
  test("a replica that applied the GTID serves; one that did not sends the read to the primary; waits are bounded", async () => {
    app = await start(2);
    const w = await app.req("POST", "/api/items", '{"name":"mine"}');
    const gtid = String(w.headers["x-db-gtid"]);
    expect(gtid).toBe("0-1-1");
    for (const r of app.readers) r.applied = 0; // neither has it
    const r1 = await app.req("GET", "/api/items/1", undefined, { "x-db-min-gtid": gtid });
    expect(r1.status).toBe(200);
    expect(r1.headers["x-db-role"]).toBe("primary");
    // one replica waited (bounded, 200 ms by default), then the primary: no second wait
    expect(app.readers.flatMap((n) => n.waits)).toEqual([{ minGtid: gtid, waitMs: 200 }]);
    // a plain read of the same lagging replica does not see the row
    expect((await app.req("GET", "/api/items/1")).status).toBe(404);
    app.readers[1].applied = 1;
    app.readers[0].applied = 1;
    const r2 = await app.req("GET", "/api/items/1", undefined, { "x-db-min-gtid": gtid });
    expect(r2.status).toBe(200);
    expect(r2.headers["x-db-role"]).toBe("replica");
    const list = await app.req("GET", "/api/items", undefined, { "x-db-min-gtid": gtid });
    expect(list.json.items.map((i: { name: string }) => i.name)).toEqual(["mine"]);
  });

  test("a failing replica opens its breaker and the next one waits; a replica that is only behind keeps serving plain reads", async () => {
    app = await start(2);
    await app.req("POST", "/api/items", '{"name":"mine"}');
    app.readers[0].down = true;
    const r = await app.req("GET", "/api/items/1", undefined, { "x-db-min-gtid": "0-1-1" });
    expect(r.status).toBe(200);
    expect(r.headers["x-db-node"]).toBe("db-replica-2");
    // replica 1's breaker is open: plain reads skip it
    for (let i = 0; i < 3; i++) expect((await app.req("GET", "/api/items")).headers["x-db-node"]).toBe("db-replica-2");
    app.readers[0].down = false;
    app.advance(2000);
    // replica 2 has not got the next write: the read goes to the primary, and replica 2 is not marked failed
    await app.req("POST", "/api/items", '{"name":"second"}');
    app.readers[1].applied = 1;
    app.readers[0].down = true; // keep the order deterministic: replica 1 fails, replica 2 waits in vain, the primary answers
    const r2 = await app.req("GET", "/api/items/2", undefined, { "x-db-min-gtid": "0-1-2" });
    expect(r2.status).toBe(200);
    expect(r2.headers["x-db-role"]).toBe("primary");
    const plain = await app.req("GET", "/api/items/1");
    expect(plain.headers["x-db-node"]).toBe("db-replica-2");
  });

  test("malformed X-Db-Min-Gtid: 400, no query", async () => {
    app = await start(1);
    for (const g of ["nope", "0-1", "0-1-1; DROP TABLE items"]) {
      const r = await app.req("GET", "/api/items/1", undefined, { "x-db-min-gtid": g });
      expect(r.status).toBe(400);
    }
    expect(app.readers[0].calls).toHaveLength(0);
  });

  test("the primary down: a read-your-writes read never falls back to a replica that lacks the write", async () => {
    app = await start(1);
    await app.req("POST", "/api/items", '{"name":"mine"}');
    app.readers[0].applied = 0;
    app.writer.down = true;
    expect((await app.req("GET", "/api/items/1", undefined, { "x-db-min-gtid": "0-1-1" })).status).toBe(503);
  });
});

describe("bounded staleness", () => {
  test("a replica reported stale is skipped; all stale: the primary; never a stale one when the primary fails", async () => {
    const stale = new Set<number>();
    app = await start(2, { staleness: { isStale: (i) => stale.has(i) } });
    stale.add(0);
    for (let i = 0; i < 4; i++) expect((await app.req("GET", "/api/items")).headers["x-db-node"]).toBe("db-replica-2");
    stale.add(1);
    expect((await app.req("GET", "/api/items")).headers["x-db-node"]).toBe("db-primary");
    app.writer.down = true;
    expect((await app.req("GET", "/api/items")).status).toBe(503);
    expect(app.readers.every((r) => r.calls.length <= 4)).toBe(true);
  });

  test("GTID positions: highest sequence per domain; covered per domain", () => {
    expect(parseGtidPosition("0-1-42,1-2-7,0-2-40")).toEqual(
      new Map([
        ["0", 42n],
        ["1", 7n],
      ]),
    );
    expect(parseGtidPosition("")).toEqual(new Map());
    expect(parseGtidPosition("uuid:1-5")).toBeUndefined();
    const p = parseGtidPosition("0-1-42,1-2-7")!;
    expect(covers(parseGtidPosition("0-2-42,1-2-9")!, p)).toBe(true);
    expect(covers(parseGtidPosition("0-1-41,1-2-9")!, p)).toBe(false);
    expect(covers(parseGtidPosition("0-1-50")!, p)).toBe(false); // domain 1 missing
  });

  test("ReplicaLagMonitor: lag from the GTID positions, with only the app's clock and no write", async () => {
    let now = 10_000;
    const { db, readers, writer, state } = makeDb(2);
    const mon = new ReplicaLagMonitor(db, { maxLagMs: 1000, intervalMs: 250, clock: () => now });
    expect(mon.lagMs(0)).toBeUndefined();
    expect(mon.isStale(0)).toBe(false);
    const tick = async (ms = 250) => {
      await mon.tick();
      now += ms;
    };
    await tick();
    expect([mon.lagMs(0), mon.lagMs(1)]).toEqual([0, 0]); // nothing written: nothing to miss
    expect(writer.calls.every((c) => c === POSITION_SQL)).toBe(true);
    // writes go on (one per interval); replica 2 stops applying at seq 2
    readers[1].applied = 2;
    for (let i = 0; i < 8; i++) {
      state.seq++;
      await tick();
    }
    expect(mon.lagMs(0)).toBe(0); // applies at once here: covers the newest sample
    expect(mon.isStale(0)).toBe(false);
    // replica 2 covers the sample at 10500 (seq 2), not the one at 10750 (seq 3)
    expect(mon.lagMs(1)).toBe(now - 10_500);
    expect(mon.isStale(1)).toBe(true);
    // it catches up: fresh again at the next sample
    readers[1].applied = undefined;
    await tick(0);
    expect([mon.lagMs(0), mon.lagMs(1)]).toEqual([0, 0]);
    // the primary stops answering: nothing new is known, caught-up replicas stay fresh
    writer.down = true;
    for (let i = 0; i < 8; i++) await tick();
    expect([mon.isStale(0), mon.isStale(1)]).toEqual([false, false]);
    // a replica that stops answering while writes go on ages
    writer.down = false;
    readers[0].down = true;
    for (let i = 0; i < 8; i++) {
      state.seq++;
      await tick();
    }
    expect(mon.isStale(0)).toBe(true);
    expect(mon.isStale(1)).toBe(false);
  });

  test("ReplicaLagMonitor: limit 0 disables the check, no replica means no timer", () => {
    const { db } = makeDb(0);
    const mon = new ReplicaLagMonitor(db, { maxLagMs: 0 });
    mon.start();
    expect(mon.isStale(0)).toBe(false);
    mon.stop();
  });
});
