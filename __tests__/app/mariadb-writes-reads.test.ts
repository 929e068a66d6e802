/**
 * Issue 13 against real MariaDB: a primary and a replica (two mariadbd processes
 * on 127.0.0.1, GTID replication), bootstrapped with the library's own primary
 * init SQL (renderPrimaryInitSql: the demo schema and the app user's least
 * privileges). The app runs with the real mysql2 layer (createMysqlDb).
 *  - Idempotency-Key: 2 app servers, 20 concurrent POSTs with one key -> one row;
 *    a key whose row another session holds in an open transaction -> 409; replay.
 *  - X-Db-Gtid is @@last_gtid; a replica with its SQL thread stopped: reads with
 *    X-Db-Min-Gtid wait at most APP_GTID_WAIT_MS and go to the primary; the
 *    heartbeat lag estimate (app user's privileges only) marks it stale and plain
 *    reads skip it; once restarted it serves again.
 * Skipped unless mariadbd and mariadb-install-db exist and the test runs as root.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppConfig } from "../../app/config";
import { createMysqlDb, type Db } from "../../app/db";
import { type AppServer, createServer, listen, shutdown, silentLogger } from "../../app/server";
import { ReplicaLagMonitor } from "../../app/staleness";
import { renderPrimaryInitSql } from "../../templates/mysql/replication-sql";
import { request } from "./fakes";

const has = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;
const real = has("mariadbd") && has("mariadb-install-db") && has("mariadb") && process.getuid?.() === 0 ? describe : describe.skip;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Server {
  port: number;
  socket: string;
  proc: ChildProcess;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

real("demo app against a real MariaDB primary and replica", () => {
  let root = "";
  const servers: Server[] = [];
  const apps: Array<{ server: AppServer; db: Db }> = [];
  let primary: Server;
  let replica: Server;

  const sql = (s: Server, text: string) => {
    const r = spawnSync("mariadb", ["--no-defaults", `--socket=${s.socket}`, "-uroot", "-N", "-B", "-e", text], { encoding: "utf8", timeout: 10000 });
    if (r.status !== 0) throw new Error(`mariadb: ${r.stderr}`);
    return r.stdout.trim();
  };

  async function startServer(name: string, serverId: number): Promise<Server> {
    const dir = join(root, name);
    const init = spawnSync(
      "mariadb-install-db",
      ["--no-defaults", `--datadir=${join(dir, "data")}`, "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"],
      { encoding: "utf8", timeout: 60000 },
    );
    if (init.status !== 0) throw new Error(`mariadb-install-db: ${init.stderr}`);
    const port = await freePort();
    const socket = join(dir, "s.sock");
    const proc = spawn(
      "mariadbd",
      [
        "--no-defaults",
        `--datadir=${join(dir, "data")}`,
        "--user=root",
        `--socket=${socket}`,
        `--port=${port}`,
        "--bind-address=127.0.0.1",
        `--server-id=${serverId}`,
        "--log-bin=bin",
        "--log-slave-updates",
        "--binlog-format=ROW",
        "--gtid-strict-mode=ON",
        "--skip-name-resolve",
        "--innodb-buffer-pool-size=16M",
        `--pid-file=${join(dir, "pid")}`,
      ],
      { stdio: "ignore" },
    );
    const s = { port, socket, proc };
    servers.push(s);
    for (let i = 0; i < 150; i++) {
      if (proc.exitCode !== null) throw new Error(`mariadbd ${name} exited ${proc.exitCode}`);
      try {
        sql(s, "SELECT 1");
        return s;
      } catch {
        await sleep(200);
      }
    }
    throw new Error(`mariadbd ${name} did not start`);
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "app-mariadb-"));
    [primary, replica] = await Promise.all([startServer("primary", 1), startServer("replica", 2)]);
    sql(primary, "SET sql_log_bin = 0; CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl-pw'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';");
    sql(
      replica,
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='repl', MASTER_PASSWORD='repl-pw', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE;`,
    );
    const init = renderPrimaryInitSql({
      engine: "mariadb",
      database: "app",
      appUser: "app",
      appPassword: "app-pw",
      replicationUser: "replicator",
      replicationCertificateName: "db-replication",
    });
    sql(primary, init);
    for (let i = 0; i < 100 && sql(replica, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='app'") !== "2"; i++) await sleep(100);
    expect(sql(replica, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='app'")).toBe("2");
  }, 120000);

  afterAll(async () => {
    for (const a of apps) await shutdown(a.server, a.db, 2000);
    for (const s of servers) {
      if (s.proc.exitCode === null) {
        s.proc.kill("SIGTERM");
        await new Promise((r) => {
          const t = setTimeout(() => {
            s.proc.kill("SIGKILL");
            r(undefined);
          }, 10000);
          s.proc.once("exit", () => {
            clearTimeout(t);
            r(undefined);
          });
        });
      }
    }
    if (root !== "") rmSync(root, { recursive: true, force: true });
  }, 60000);

  function config(name: string): AppConfig {
    return {
      port: 0,
      bindAddress: "127.0.0.1",
      metricsPort: 0,
      metricsBindAddress: "127.0.0.1",
      nodeName: name,
      writer: { host: "127.0.0.1", port: primary.port },
      readers: [{ host: "localhost", port: replica.port }],
      database: "app",
      user: "app",
      password: "app-pw",
    };
  }

  async function startApp(name: string, opts: { lag?: boolean } = {}) {
    const db = createMysqlDb(config(name));
    const staleness = opts.lag ? new ReplicaLagMonitor(db, { maxLagMs: 1000, intervalMs: 100 }) : undefined;
    staleness?.start();
    const server = createServer(config(name), db, { logger: silentLogger, staleness, gtidWaitMs: 200 });
    apps.push({ server, db });
    const { port } = await listen(server, 0, "127.0.0.1");
    server.on("close", () => staleness?.stop());
    return { port, staleness };
  }

  test("Idempotency-Key: 20 concurrent POSTs with one key over two app servers -> one row, the rest replay or 409", async () => {
    const [a, b] = await Promise.all([startApp("web-a"), startApp("web-b")]);
    const body = JSON.stringify({ name: "exactly-once" });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(i % 2 === 0 ? a.port : b.port, "POST", "/api/items", body, { "idempotency-key": "race-1" })),
    );
    const statuses = answers.map((r) => r.status);
    const counts: Record<number, number> = {};
    for (const st of statuses) counts[st] = (counts[st] ?? 0) + 1;
    console.log(`one key, 20 concurrent POSTs: ${JSON.stringify(counts)}`);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(sql(primary, "SELECT COUNT(*) FROM app.items WHERE name = 'exactly-once'")).toBe("1");
    const firstIds = new Set(answers.filter((r) => r.status === 201).map((r) => r.json.id));
    expect(firstIds.size).toBe(1);
    // afterwards every retry replays the one answer, through either server
    const replay = await request(b.port, "POST", "/api/items", body, { "idempotency-key": "race-1" });
    expect(replay.status).toBe(201);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(firstIds.has(replay.json.id)).toBe(true);
    expect((await request(a.port, "POST", "/api/items", '{"name":"other"}', { "idempotency-key": "race-1" })).status).toBe(422);
    expect(sql(primary, "SELECT COUNT(*) FROM app.idempotency_keys WHERE idem_key = 'race-1' AND expires_at > NOW() + INTERVAL 23 HOUR")).toBe("1");
  }, 30000);

  test("a key held by another open transaction: 409 after the 1 s lock wait; once rolled back the key is free", async () => {
    const a = await startApp("web-c");
    const holder = spawn("mariadb", ["--no-defaults", `--socket=${primary.socket}`, "-uroot", "app"], { stdio: ["pipe", "ignore", "ignore"] });
    try {
      holder.stdin?.write(
        "START TRANSACTION; INSERT INTO items (name) VALUES ('held'); INSERT INTO idempotency_keys (idem_key, request_hash, status, response, location, expires_at) VALUES ('held-1', UNHEX(SHA2('x', 256)), 201, '{\"id\":0}', NULL, NOW() + INTERVAL 1 DAY);\n",
      );
      await sleep(500);
      const t0 = Date.now();
      const r = await request(a.port, "POST", "/api/items", '{"name":"held"}', { "idempotency-key": "held-1" });
      const took = Date.now() - t0;
      console.log(`key held by an open transaction: ${r.status} after ${took} ms`);
      expect(r.status).toBe(409);
      expect(took).toBeLessThan(3000);
    } finally {
      holder.stdin?.end("ROLLBACK;\n");
      await new Promise((r) => holder.once("exit", r));
    }
    // rolled back: the key is free again
    expect((await request(a.port, "POST", "/api/items", '{"name":"held"}', { "idempotency-key": "held-1" })).status).toBe(201);
    expect(sql(primary, "SELECT COUNT(*) FROM app.items WHERE name = 'held'")).toBe("1");
  }, 30000);

  test("X-Db-Gtid, read-your-writes and the lag limit with a replica whose SQL thread is stopped", async () => {
    const a = await startApp("web-d", { lag: true });
    const w = await request(a.port, "POST", "/api/items", '{"name":"ryw-1"}');
    expect(w.status).toBe(201);
    const gtid = String(w.headers["x-db-gtid"]);
    expect(gtid).toMatch(/^0-1-\d+$/);
    expect(sql(primary, "SELECT @@gtid_binlog_pos")).toBe(gtid);
    const r1 = await request(a.port, "GET", String(w.headers.location), undefined, { "x-db-min-gtid": gtid });
    expect(r1.status).toBe(200);
    expect(r1.headers["x-db-role"]).toBe("replica"); // the replica had it (or waited for it)

    sql(replica, "STOP SLAVE SQL_THREAD");
    try {
      const w2 = await request(a.port, "POST", "/api/items", '{"name":"ryw-2"}');
      const t0 = Date.now();
      const r2 = await request(a.port, "GET", String(w2.headers.location), undefined, { "x-db-min-gtid": String(w2.headers["x-db-gtid"]) });
      const took = Date.now() - t0;
      console.log(`read-your-writes with the replica stopped: ${r2.status} from ${r2.headers["x-db-role"]} in ${took} ms`);
      expect(r2.status).toBe(200);
      expect(r2.headers["x-db-role"]).toBe("primary");
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(1500);
      // plain reads: the replica until its estimated lag passes 1 s, then the primary
      await sleep(1600);
      expect(a.staleness?.isStale(0)).toBe(true);
      const r3 = await request(a.port, "GET", "/api/items");
      expect(r3.headers["x-db-role"]).toBe("primary");
      expect(r3.json.items[0].name).toBe("ryw-2");
    } finally {
      sql(replica, "START SLAVE SQL_THREAD");
    }
    for (let i = 0; i < 50 && a.staleness?.isStale(0); i++) await sleep(100);
    expect(a.staleness?.lagMs(0)).toBeLessThan(1000);
    expect((await request(a.port, "GET", "/api/items")).headers["x-db-role"]).toBe("replica");
  }, 30000);
});
