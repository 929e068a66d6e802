/**
 * The database start script against the real world, with MariaDB 10.11 on a
 * real volume: a stop or a kill during the first start, a volume written under
 * another uid, data it must not touch. Each start runs as PID 1 of its own PID
 * namespace in a NamespaceSandbox (see ./pid1.ts), so a stop behaves as under
 * `docker stop`. Needs root (namespaces), mariadb-server and util-linux's unshare.
 */
import { spawnSync } from "child_process";
import { existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { renderMyCnf } from "../../templates/mysql/my-cnf";
import { PATHS } from "../../templates/paths";
import { renderPrimaryStartScript, renderReplicaStartScript } from "../../templates/scripts/database";
import { SECRET_ENV } from "../../templates/scripts/shell";
import { hasBinary, isRoot } from "../helpers/binaries";
import { makeMysqlTlsFiles } from "../helpers/mysql-tls";
import { NamespaceSandbox, waitFor } from "../helpers/namespace-sandbox";
import { Pid1Node, startAsPid1 } from "./pid1";

const real = hasBinary("mariadbd") && hasBinary("unshare") && isRoot() ? describe : describe.skip;

real("the database start script on a real volume (MariaDB, as a container's PID 1)", () => {
  let sandbox: NamespaceSandbox;
  const nodes: Pid1Node[] = [];
  const env = { [SECRET_ENV.appPassword]: "app-secret" };
  const cnf = renderMyCnf({ engine: "mariadb", version: "10.11", role: "primary", serverId: 1 });
  const primaryScript = renderPrimaryStartScript({
    engine: "mariadb",
    database: "appdb",
    appUser: "app",
    replicationUser: "repl",
    replicationCertificateName: "db-replication",
  });
  const scriptPath = `${PATHS.binDir}/start-db.sh`;
  const volume = (name = "volume") => join(sandbox.root, name);
  const dataDir = (name = "volume") => join(volume(name), "data");
  const initDir = (name = "volume") => join(volume(name), "data.initializing");
  let count = 0;
  /** The cluster's TLS files, as the target delivers them to every database node. */
  let tlsFiles: Record<string, { content: string }> = {};

  /** One start of the script (one container run) on a volume, with its own run directory (the socket). */
  const start = (
    opts: { script?: string; volumeName?: string; files?: Record<string, { content: string; executable?: boolean }>; env?: Record<string, string> } = {},
  ) => {
    const name = `db-${++count}`;
    const run = join(sandbox.root, name, "run");
    const node = startAsPid1(sandbox, name, {
      files: { ...tlsFiles, [PATHS.mysqlConfig]: { content: cnf }, [scriptPath]: { content: opts.script ?? primaryScript, executable: true }, ...opts.files },
      mounts: { [PATHS.mysqlVolume]: volume(opts.volumeName), [PATHS.mysqlRunDir]: run },
      command: ["/bin/sh", scriptPath],
      env: { ...env, ...opts.env },
    });
    nodes.push(node);
    return { node, run };
  };
  const client = (run: string, sql: string) =>
    spawnSync("mariadb", ["--no-defaults", `--socket=${join(run, "mysqld.sock")}`, "-uroot", "-N", "-B", "-e", sql], { encoding: "utf8", timeout: 10000 });
  const serving = async (node: Pid1Node, run: string) => {
    await waitFor(
      "the server to answer",
      () => {
        if (!node.running()) throw new Error(`the start script exited: ${node.output().slice(-1500)}`);
        return client(run, "SELECT COUNT(*) FROM appdb.items").status === 0;
      },
      360,
      500,
    );
  };
  const startedInitializing = (node: Pid1Node) =>
    waitFor(
      "the initialization to begin",
      () => {
        if (!node.running()) throw new Error(`the start script exited: ${node.output().slice(-1500)}`);
        return existsSync(initDir());
      },
      600,
      50,
    );
  /** Every path below `dir`, the directory itself included. */
  const walk = (dir: string): string[] => [
    dir,
    ...readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() && !e.isSymbolicLink() ? walk(join(dir, e.name)) : [join(dir, e.name)])),
  ];
  const mysqlIds = () => ({
    uid: Number(spawnSync("id", ["-u", "mysql"], { encoding: "utf8" }).stdout),
    gid: Number(spawnSync("id", ["-g", "mysql"], { encoding: "utf8" }).stdout),
  });

  beforeAll(() => {
    tlsFiles = makeMysqlTlsFiles("db-replication");
    sandbox = new NamespaceSandbox("dbstart");
    mkdirSync(volume(), { recursive: true });
  });

  afterAll(async () => {
    for (const node of nodes) await node.kill();
    await sandbox?.cleanup();
  }, 60000);

  test("a stop (SIGTERM) while the system tables are created exits promptly and leaves the volume empty", async () => {
    const { node } = start();
    await startedInitializing(node);
    const stop = await node.stop("SIGTERM", 30000);
    expect({ exitedInTime: stop.exitedInTime, code: stop.code }).toEqual({ exitedInTime: true, code: 143 });
    expect(stop.elapsedMs).toBeLessThan(20000);
    expect(node.output()).toContain("TERM received while starting: stopping");
    expect(readdirSync(volume())).toEqual([]);
  }, 60000);

  test("a stop while the bootstrap server runs the init SQL kills that server and leaves the volume empty", async () => {
    // A `mariadb` client ahead on PATH: marks the moment the init SQL starts, and makes it last 2 s.
    const wrapper = ["#!/bin/sh", 'case "$*" in *bootstrap.sock*) : > /run/mysqld/init-sql-started; sleep 2 ;; esac', 'exec /usr/bin/mariadb "$@"', ""].join(
      "\n",
    );
    const { node, run } = start({
      files: { "/opt/hwt-wrap/mariadb": { content: wrapper, executable: true } },
      env: { PATH: `/opt/hwt-wrap:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` },
    });
    await waitFor(
      "the init SQL to start",
      () => {
        if (!node.running()) throw new Error(`the start script exited: ${node.output().slice(-1500)}`);
        return existsSync(join(run, "init-sql-started"));
      },
      1200,
      50,
    );
    const stop = await node.stop("SIGTERM", 30000);
    expect({ exitedInTime: stop.exitedInTime, code: stop.code }).toEqual({ exitedInTime: true, code: 143 });
    expect(stop.elapsedMs).toBeLessThan(15000);
    expect(node.output()).toContain("stopping the bootstrap server");
    expect(node.output()).toContain("removing the unfinished");
    expect(readdirSync(volume())).toEqual([]);
    expect(existsSync(join(run, "bootstrap.sock"))).toBe(false);
  }, 90000);

  test("a first start killed part-way (SIGKILL) leaves a temporary folder, which the next start removes before it initializes and serves", async () => {
    const first = start();
    await startedInitializing(first.node);
    await first.node.kill();
    // What Docker leaves after the stop timeout: the unfinished folder, no data directory.
    expect(readdirSync(volume())).toEqual(["data.initializing"]);

    const { node, run } = start();
    await serving(node, run);
    expect(node.output()).toContain("left by an initialization that was killed part-way");
    expect(readdirSync(volume())).toEqual(["data"]);
    expect(existsSync(join(dataDir(), ".ha-web-initialized"))).toBe(true);
    expect(client(run, "INSERT INTO appdb.items (name) VALUES ('survives restarts')").status).toBe(0);
    const stop = await node.stop("SIGTERM", 60000);
    expect({ exitedInTime: stop.exitedInTime, code: stop.code }).toEqual({ exitedInTime: true, code: 0 });
  }, 240000);

  test("files owned by another uid (another image's mysql user) are handed back to mysql at start", async () => {
    expect(existsSync(join(dataDir(), ".ha-web-initialized"))).toBe(true); // from the test before
    const paths = walk(dataDir());
    for (const path of paths) lchownSync(path, 4242, 4242);
    const { node, run } = start();
    await serving(node, run);
    expect(node.output()).toContain("owned by another user to mysql");
    const { uid, gid } = mysqlIds();
    const strangers = walk(dataDir()).filter((path) => lstatSync(path).uid !== uid || lstatSync(path).gid !== gid);
    expect(strangers).toEqual([]);
    expect(client(run, "SELECT name FROM appdb.items").stdout).toContain("survives restarts");
    expect(client(run, "INSERT INTO appdb.items (name) VALUES ('writable')").status).toBe(0);
    const stop = await node.stop("SIGTERM", 60000);
    expect({ exitedInTime: stop.exitedInTime, code: stop.code }).toEqual({ exitedInTime: true, code: 0 });
  }, 180000);

  test("no password is written in clear anywhere in the data directory: binlog, tables, logs (MariaDB logs CREATE USER as written)", async () => {
    // The primary of the tests before created its users at the bootstrap and has since served and written.
    const files = walk(volume()).filter((path) => lstatSync(path).isFile());
    expect(files.some((path) => /\.0000\d+$/.test(path))).toBe(true); // the binlog is there to be searched
    const holding = files.filter((path) => {
      const bytes = readFileSync(path);
      return Object.values(env).some((password) => bytes.includes(password));
    });
    expect(holding).toEqual([]);
  }, 60000);

  test("the writer's name decides the role at every start: writable where it points, read-only (and no semi-sync source) elsewhere", async () => {
    // The volume of the tests before, started by a script that looks the writer up. The writer is given as
    // an address (getent resolves it as it would a name): this node's own loopback, or another node's.
    const scriptFor = (writerHost: string) =>
      renderPrimaryStartScript({
        engine: "mariadb",
        database: "appdb",
        appUser: "app",
        replicationUser: "repl",
        replicationCertificateName: "db-replication",
        writerHost,
        semiSync: true,
      });
    const roleOf = (run: string) => client(run, "SELECT @@read_only, @@rpl_semi_sync_master_enabled").stdout.trim();

    const here = start({ script: scriptFor("127.0.0.1") });
    await serving(here.node, here.run);
    expect(here.node.output()).toContain("(primary; configured as primary)");
    expect(roleOf(here.run)).toBe("0\t1");
    await here.node.stop("SIGTERM", 60000);

    // After a failover the name points at another node: this one comes back read-only, not as a second primary.
    const elsewhere = start({ script: scriptFor("192.0.2.10") });
    await serving(elsewhere.node, elsewhere.run);
    expect(elsewhere.node.output()).toContain("(replica; configured as primary)");
    expect(elsewhere.node.output()).toContain("--init-rpl-role=SLAVE");
    expect(roleOf(elsewhere.run)).toBe("1\t0");
    // The app's user is refused (root keeps READ_ONLY ADMIN, as on every read-only MariaDB).
    const asApp = spawnSync(
      "mariadb",
      ["--no-defaults", `--socket=${join(elsewhere.run, "mysqld.sock")}`, "-uapp", "-papp-secret", "-e", "INSERT INTO appdb.items (name) VALUES ('refused')"],
      { encoding: "utf8", timeout: 10000 },
    );
    expect(asApp.stderr).toMatch(/read-only/);
    await elsewhere.node.stop("SIGTERM", 60000);
  }, 240000);

  test("data without the marker is still refused, untouched", async () => {
    mkdirSync(dataDir("foreign"), { recursive: true });
    writeFileSync(join(dataDir("foreign"), "ibdata1"), "not ours");
    const { node } = start({ volumeName: "foreign" });
    await waitFor("the refusal", () => !node.running(), 200, 100);
    expect(node.child.exitCode).toBe(1);
    expect(node.output()).toMatch(/holds data but no .*\.ha-web-initialized.*move the data away to start fresh/);
    expect(readdirSync(dataDir("foreign"))).toEqual(["ibdata1"]);
    expect(readdirSync(volume("foreign"))).toEqual(["data"]);
  }, 60000);

  test("a replica builds its data directory before it waits for its primary; stopped in that wait, it exits promptly, the directory complete, its server never started", async () => {
    // Nothing listens on 127.0.0.1:3399 in the sandbox: once initialized, the replica waits (45 s, polled 0.2 s apart).
    const replica = renderReplicaStartScript({ engine: "mariadb", primaryHost: "127.0.0.1", primaryPort: 3399, replicationUser: "repl" });
    mkdirSync(volume("replica"), { recursive: true });
    const { node } = start({ script: replica, volumeName: "replica" });
    await waitFor(
      "the replica's data directory",
      () => {
        if (!node.running()) throw new Error(`the start script exited: ${node.output().slice(-1500)}`);
        return node.output().includes("data directory initialized");
      },
      1200,
      100,
    );
    await new Promise((r) => setTimeout(r, 1500)); // into the wait loop: pings, 0.5 s pauses
    expect(node.running()).toBe(true);
    // Still waiting: neither given up nor started its server.
    expect(node.output()).not.toMatch(/127\.0\.0\.1:3399 (is up|not reachable)|starting mariadbd \(/);
    const stop = await node.stop("SIGTERM", 30000);
    expect({ exitedInTime: stop.exitedInTime, code: stop.code }).toEqual({ exitedInTime: true, code: 143 });
    expect(stop.elapsedMs).toBeLessThan(5000);
    // A complete directory (the next start serves it and replicates once the primary answers), nothing half-made.
    expect(readdirSync(volume("replica"))).toEqual(["data"]);
    expect(existsSync(join(dataDir("replica"), ".ha-web-initialized"))).toBe(true);
  }, 180000);
});
