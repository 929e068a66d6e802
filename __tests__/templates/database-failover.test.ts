/**
 * ha-web-db-failover: rendering and validation for both engines, and a real
 * MariaDB 10.11 cluster (a primary and two semi-sync replicas, AFTER_SYNC, in a
 * network namespace of its own, loopback only) failed over under write load.
 * MySQL 8.4 is rendered and unit-tested only (no MySQL server on this machine).
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { basename, join } from "path";
import { renderMyCnf } from "../../templates/mysql/my-cnf";
import { MYSQL_TLS_FILES, MysqlTlsFile, mysqlTlsPath } from "../../templates/mysql/replication-tls";
import { PATHS } from "../../templates/paths";
import {
  escapeSqlString,
  FAILOVER_GRANTS,
  FAILOVER_USER_DEFAULT,
  renderFailoverUserSql,
  renderPrimaryInitSql,
  renderReplicaInitSql,
} from "../../templates/mysql/replication-sql";
import {
  DATABASE_FAILOVER_DEFAULTS,
  DatabaseFailoverScriptConfig,
  renderDatabaseFailoverScript,
  validateDatabaseFailoverScriptConfig,
} from "../../templates/scripts/database-failover";
import { ConfigValidationError } from "../../templates/validate";
import { hasBinary, isRoot } from "../helpers/binaries";
import { makeMysqlTlsFiles, TEST_REPLICATION_CERTIFICATE_NAME } from "../helpers/mysql-tls";

const base: DatabaseFailoverScriptConfig = {
  engine: "mariadb",
  nodes: [
    { name: "db-1", host: "db-1.internal", port: 3306 },
    { name: "db-2", host: "10.0.1.12", port: 3306 },
    { name: "db-3", host: "10.0.2.13", port: 3307 },
  ],
  failoverUser: FAILOVER_USER_DEFAULT,
  replicationUser: "repl",
};

function syntaxCheck(script: string) {
  return spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
}

/** Runs a rendered script with arguments, no database needed (usage and argument errors). */
function runOffline(script: string, args: string[]) {
  return spawnSync("sh", ["-c", script, "ha-web-db-failover", ...args], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
}

/** The rendered shell function NAME, to run on its own. */
function extractFunction(script: string, name: string): string {
  const lines = script.split("\n");
  const start = lines.indexOf(`${name}() {`);
  const end = lines.indexOf("}", start);
  return lines.slice(start, end + 1).join("\n");
}

describe("failover user SQL", () => {
  test("MariaDB: created from the password's hash (no clear password in the binlog), with the least privileges", () => {
    const sql = renderFailoverUserSql("mariadb", "failover", escapeSqlString("it's"), "10.0.%").join("\n");
    expect(sql).toContain("PASSWORD('it''s')");
    expect(sql).toContain("CREATE USER ''failover''@''10.0.%'' IDENTIFIED BY PASSWORD");
    expect(sql).toContain(`GRANT ${FAILOVER_GRANTS.mariadb} ON *.* TO 'failover'@'10.0.%';`);
    expect(FAILOVER_GRANTS.mariadb).not.toMatch(/SUPER|ALL|SELECT|INSERT/);
  });

  test("MySQL 8.4: dynamic privileges", () => {
    const sql = renderFailoverUserSql("mysql", FAILOVER_USER_DEFAULT, "pw");
    expect(sql).toEqual(["CREATE USER 'failover'@'%' IDENTIFIED BY 'pw';", `GRANT ${FAILOVER_GRANTS.mysql} ON *.* TO 'failover'@'%';`]);
    expect(FAILOVER_GRANTS.mysql).toContain("REPLICATION_SLAVE_ADMIN");
    expect(FAILOVER_GRANTS.mysql).toContain("SYSTEM_VARIABLES_ADMIN");
    expect(FAILOVER_GRANTS.mysql).not.toMatch(/SUPER/);
  });
});

describe("renderDatabaseFailoverScript", () => {
  const mariadb = renderDatabaseFailoverScript(base);
  const mysql = renderDatabaseFailoverScript({ ...base, engine: "mysql" });

  test.each([
    ["mariadb", mariadb],
    ["mysql", mysql],
  ])("%s: valid POSIX sh", (_, script) => {
    const result = syntaxCheck(script);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  test("MariaDB statements, client and GTID positioning", () => {
    expect(mariadb).toContain("CLIENT=mariadb");
    expect(mariadb).toContain("CHANGE MASTER TO MASTER_HOST = '$new_host', MASTER_PORT = $new_port, MASTER_USE_GTID = slave_pos");
    // A rejoin logs in with the node's replication certificate: no password for master.info to keep.
    expect(mariadb).toContain(
      "MASTER_USER = '$REPLICATION_USER', MASTER_SSL = 1, MASTER_SSL_CA = '/run/mysqld/tls/server.pem', MASTER_SSL_CERT = '/run/mysqld/tls/replication.pem', MASTER_SSL_KEY = '/run/mysqld/tls/replication.key'",
    );
    expect(mariadb).toContain("SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos");
    expect(mariadb).toContain("RESET SLAVE ALL");
    expect(mariadb).toContain("Rpl_semi_sync_slave_status");
    expect(mariadb).not.toContain("super_read_only");
    expect(mariadb).toContain(`CATCH_UP_TIMEOUT=${DATABASE_FAILOVER_DEFAULTS.catchUpTimeoutSeconds}`);
  });

  test("MySQL uses the 8.4 names only", () => {
    expect(mysql).toContain("CLIENT=mysql");
    expect(mysql).toContain("CHANGE REPLICATION SOURCE TO SOURCE_HOST = '$new_host', SOURCE_PORT = $new_port, SOURCE_AUTO_POSITION = 1");
    expect(mysql).toContain(
      "SOURCE_USER = '$REPLICATION_USER', SOURCE_SSL = 1, SOURCE_SSL_CA = '/run/mysqld/tls/server.pem', SOURCE_SSL_CERT = '/run/mysqld/tls/replication.pem', SOURCE_SSL_KEY = '/run/mysqld/tls/replication.key'",
    );
    expect(mysql).toContain("SET GLOBAL super_read_only = ON");
    expect(mysql).toContain("GTID_SUBTRACT(");
    expect(mysql).toContain("RESET REPLICA ALL");
    expect(mysql).toContain("SHOW REPLICA STATUS");
    expect(mysql).toContain("Rpl_semi_sync_replica_status");
    expect(mysql).not.toMatch(/CHANGE MASTER|START SLAVE|STOP SLAVE|SHOW SLAVE STATUS|RESET SLAVE|MASTER_|gtid_slave_pos|gtid_binlog_pos/);
  });

  test.each([
    ["mariadb", mariadb],
    ["mysql", mysql],
  ])("%s: every connection is TCP with a connect timeout, the password only in a 0600 option file", (_, script) => {
    const clientCalls = script.split("\n").filter((line) => /"\$CLIENT"/.test(line));
    expect(clientCalls.length).toBe(2);
    for (const line of clientCalls) expect(line).toContain('--defaults-extra-file="$WORK/client.cnf" --protocol=TCP');
    expect(script.match(/--connect-timeout="\$CONNECT_TIMEOUT"/g)?.length).toBe(2);
    expect(script).toContain('chmod 600 "$WORK/client.cnf"');
    expect(script).toContain("trap 'rm -rf \"$WORK\"' EXIT");
    expect(script).not.toMatch(/--password|-p"\$|MYSQL_PWD/);
    expect(script).toContain("read_secret HAWEB_DB_FAILOVER_PASSWORD");
    expect(script).not.toMatch(/REPLICATION_PASSWORD|MASTER_PASSWORD|SOURCE_PASSWORD/);
  });

  test("the nodes and timeouts are rendered; moveWriterCommand is quoted and run by sh -c", () => {
    const script = renderDatabaseFailoverScript({
      ...base,
      catchUpTimeoutSeconds: 7,
      connectTimeoutSeconds: 2,
      moveWriterCommand: `echo "it's $NEW_PRIMARY_HOST"`,
    });
    expect(script).toContain("NODES='db-1 db-1.internal 3306\ndb-2 10.0.1.12 3306\ndb-3 10.0.2.13 3307'");
    expect(script).toContain("CATCH_UP_TIMEOUT=7");
    expect(script).toContain("CONNECT_TIMEOUT=2");
    expect(script).toContain(`MOVE_WRITER_COMMAND='echo "it'\\''s $NEW_PRIMARY_HOST"'`);
    expect(syntaxCheck(script).status).toBe(0);
    expect(mariadb).toContain("MOVE_WRITER_COMMAND=''");
  });

  test("usage errors exit 64 before any secret is read", () => {
    for (const args of [[], ["bogus"], ["status", "extra"], ["promote", "--bogus"], ["promote", "--candidate"], ["rejoin"], ["rejoin", "db-1", "--primary"]]) {
      const result = runOffline(mariadb, args);
      expect({ args, status: result.status }).toEqual({ args, status: 64 });
      expect(result.stderr).toContain("usage: ha-web-db-failover");
    }
    const unknown = runOffline(mariadb, ["rejoin", "db-9"]);
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toContain("unknown node 'db-9' (known: db-1 db-2 db-3 )");
    const noSecret = runOffline(mariadb, ["status"]);
    expect(noSecret.status).toBe(64);
    expect(noSecret.stderr).toContain("secret HAWEB_DB_FAILOVER_PASSWORD is not set");
  });

  test("MariaDB GTID comparison: per (domain, server) by seq_no, the highest GTID named", () => {
    const fn = extractFunction(mariadb, "gtid_missing");
    const missing = (from: string, have: string) =>
      spawnSync("sh", ["-c", `${fn}\ngtid_missing "$1" "$2"`, "sh", from, have], { encoding: "utf8" }).stdout.trim();
    expect(missing("0-1-10", "0-1-10")).toBe("");
    // Another server's numbering says nothing about server 1's transactions.
    expect(missing("0-1-9", "0-2-10")).toBe("0-1-9");
    // After a failover: the new primary (0-2-1351 after 0-1-1349) lacks the old primary's unacknowledged 0-1-1350.
    expect(missing("0-1-1350", "0-1-1349,0-2-1351")).toBe("0-1-1350");
    expect(missing("0-1-1349", "0-1-1349,0-2-1351")).toBe("");
    expect(missing("0-1-1349,0-2-1351", "0-1-1350")).toBe("0-2-1351");
    expect(missing("0-1-11", "0-1-10")).toBe("0-1-11");
    expect(missing("0-3-10", "0-1-10")).toBe("0-3-10");
    expect(missing("0-1-10,1-5-3", "0-1-10")).toBe("1-5-3");
    expect(missing("0-1-10,0-1-12", "0-1-11")).toBe("0-1-12");
    expect(missing("", "0-1-10")).toBe("");
    expect(missing("0-1-1", "")).toBe("0-1-1");
  });
});

describe("validateDatabaseFailoverScriptConfig", () => {
  test("a valid config has no problems", () => {
    expect(validateDatabaseFailoverScriptConfig(base)).toEqual([]);
  });

  test("reports every problem with its field", () => {
    const problems = validateDatabaseFailoverScriptConfig({
      engine: "postgres" as never,
      nodes: [
        { name: "DB_1", host: "bad host", port: 0 },
        { name: "db-2", host: "10.0.0.2", port: 3306 },
        { name: "db-2", host: "10.0.0.2", port: 3306 },
      ],
      failoverUser: "repl",
      replicationUser: "repl",
      catchUpTimeoutSeconds: 0,
      connectTimeoutSeconds: 1.5,
      moveWriterCommand: "  ",
    });
    expect(problems.map((p) => p.field)).toEqual([
      "engine",
      "nodes.0.name",
      "nodes.0.host",
      "nodes.0.port",
      "nodes",
      "nodes",
      "failoverUser",
      "catchUpTimeoutSeconds",
      "connectTimeoutSeconds",
      "moveWriterCommand",
    ]);
    expect(problems.join("\n")).toContain('node name "db-2" is used more than once');
  });

  test("one node is not a cluster; bad user names are refused; the renderer throws", () => {
    const config = { ...base, nodes: [base.nodes[0]], failoverUser: "fail-over" };
    expect(validateDatabaseFailoverScriptConfig(config).map((p) => p.field)).toEqual(["nodes", "failoverUser"]);
    expect(() => renderDatabaseFailoverScript(config)).toThrow(ConfigValidationError);
  });
});

const real = hasBinary("mariadbd") && hasBinary("mariadb-install-db") && isRoot() ? describe : describe.skip;

real("ha-web-db-failover on a real MariaDB 10.11 cluster (semi-sync AFTER_SYNC, in a private network namespace)", () => {
  const ports = { "db-1": 3311, "db-2": 3312, "db-3": 3313 } as const;
  type Name = keyof typeof ports;
  const names = Object.keys(ports) as Name[];
  const netns = `hwt-failover-${process.pid}`;
  // Passwords with what breaks naive quoting: quotes, a backslash, a hash, a space.
  const failoverPassword = `fo"v'er\\# pw`;
  let dir = "";
  let netnsAdded = false;
  let scriptPath = "";
  const servers: Partial<Record<Name, ChildProcess>> = {};
  const t0: { kill?: number } = {};
  let acked: number[] = [];

  const socket = (name: Name) => join(dir, name, "mysqld.sock");
  const root = (name: Name, sql: string) =>
    spawnSync("mariadb", ["--no-defaults", `--socket=${socket(name)}`, "-uroot", "-N", "-B", "-e", sql], { encoding: "utf8", timeout: 15000 });
  const rootOk = (name: Name, sql: string) => {
    const result = root(name, sql);
    if (result.status !== 0) throw new Error(`${name}: ${sql}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const waitFor = async (what: string, check: () => boolean, timeoutMs = 20000) => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (check()) return;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  const startServer = (name: Name, extra: string[] = []) => {
    const role = name === "db-1" ? "primary" : "replica";
    const cnf = join(dir, `${name}.cnf`);
    writeFileSync(
      cnf,
      renderMyCnf({ engine: "mariadb", version: "10.11", role, serverId: names.indexOf(name) + 1, innodbBufferPoolSize: "32M", semiSync: true }),
    );
    // The rendered options, with the paths and the listener moved into this test's directory and namespace.
    // Each `ip netns exec` has its own mount namespace (a slave of the host's): a tmpfs on /run there holds
    // the TLS files where the rendered options read them, and vanishes with the server.
    const withTls = `mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p ${PATHS.mysqlRunTlsDir} && cp "$0"/* ${PATHS.mysqlRunTlsDir}/ && exec "$@"`;
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        netns,
        "sh",
        "-c",
        withTls,
        join(dir, "tls"),
        "mariadbd",
        `--defaults-file=${cnf}`,
        "--user=root",
        `--datadir=${join(dir, name, "data")}`,
        `--socket=${socket(name)}`,
        `--pid-file=${join(dir, name, "mysqld.pid")}`,
        `--log-error=${join(dir, name, "error.log")}`,
        `--port=${ports[name]}`,
        "--bind-address=127.0.0.1",
        "--skip-slave-start",
        "--innodb-log-file-size=16M",
        ...extra,
      ],
      { stdio: "ignore" },
    );
    servers[name] = child;
    return child;
  };
  const serving = (name: Name) => waitFor(`${name} to serve`, () => root(name, "SELECT 1").status === 0, 30000);
  const kill = async (name: Name, signal: NodeJS.Signals) => {
    const child = servers[name];
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 20000)))]);
    clearTimeout(timer);
  };

  const runScript = (args: string[]) =>
    new Promise<{ code: number | null; output: string; ms: number }>((resolve) => {
      const started = Date.now();
      const child = spawn("ip", ["netns", "exec", netns, "sh", scriptPath, ...args], {
        env: {
          PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
          TMPDIR: dir,
          HAWEB_DB_FAILOVER_PASSWORD: failoverPassword,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 90000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, output, ms: Date.now() - started });
      });
    });
  const seqs = (name: Name) =>
    new Set(
      rootOk(name, "SELECT seq FROM appdb.acks")
        .split("\n")
        .filter((l) => l !== "")
        .map(Number),
    );
  const replicaField = (name: Name, field: string) => {
    // Vertical output, with the field names (-N would drop them).
    const result = spawnSync("mariadb", ["--no-defaults", `--socket=${socket(name)}`, "-uroot", "-E", "-e", "SHOW SLAVE STATUS"], {
      encoding: "utf8",
      timeout: 15000,
    });
    if (result.status !== 0) throw new Error(`${name}: SHOW SLAVE STATUS: ${result.stderr}`);
    const status = result.stdout;
    return new RegExp(`^\\s*${field}: (.*)$`, "m").exec(status)?.[1] ?? "";
  };

  // Cleanup first: whatever the setup gets to, the servers (by their PIDs), the namespace (by its name) and the directory go.
  afterAll(async () => {
    for (const name of names) await kill(name, "SIGKILL");
    if (netnsAdded) spawnSync("ip", ["netns", "delete", netns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hwt-failover-"));
    chmodSync(dir, 0o700);
    const add = spawnSync("ip", ["netns", "add", netns], { encoding: "utf8" });
    if (add.status !== 0) throw new Error(`ip netns add ${netns}: ${add.stderr}`);
    netnsAdded = true;
    mkdirSync(join(dir, "tls"), { mode: 0o700 });
    for (const [path, file] of Object.entries(makeMysqlTlsFiles())) writeFileSync(join(dir, "tls", basename(path)), file.content, { mode: 0o600 });
    spawnSync("ip", ["-n", netns, "link", "set", "lo", "up"]);
    // One set of system tables, copied: each node starts with the same empty GTID history.
    const install = spawnSync(
      "mariadb-install-db",
      ["--no-defaults", "--user=root", `--datadir=${join(dir, "template")}`, "--skip-test-db", "--auth-root-authentication-method=socket"],
      { encoding: "utf8", timeout: 60000 },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db: ${install.stderr}`);
    for (const name of names) {
      spawnSync("mkdir", ["-p", join(dir, name)]);
      const copy = spawnSync("cp", ["-a", join(dir, "template"), join(dir, name, "data")], { encoding: "utf8" });
      if (copy.status !== 0) throw new Error(`cp: ${copy.stderr}`);
      startServer(name);
    }
    for (const name of names) await serving(name);

    const primarySql = renderPrimaryInitSql({
      engine: "mariadb",
      database: "appdb",
      appUser: "app",
      appPassword: escapeSqlString("app-secret"),
      replicationUser: "repl",
      replicationCertificateName: TEST_REPLICATION_CERTIFICATE_NAME,
    });
    const failoverSql = renderFailoverUserSql("mariadb", FAILOVER_USER_DEFAULT, escapeSqlString(failoverPassword)).join("\n");
    rootOk("db-1", `${primarySql}\n${failoverSql}\nCREATE TABLE appdb.acks (seq INT PRIMARY KEY) ENGINE=InnoDB;`);
    for (const name of ["db-2", "db-3"] as const) {
      const replicaSql = renderReplicaInitSql({
        engine: "mariadb",
        primaryHost: "127.0.0.1",
        primaryPort: ports["db-1"],
        replicationUser: "repl",
        connectRetrySeconds: 1,
      });
      rootOk(name, `${replicaSql}\nSTART SLAVE;`);
    }
    const primaryPos = rootOk("db-1", "SELECT @@gtid_binlog_pos");
    for (const name of ["db-2", "db-3"] as const) await waitFor(`${name} to replicate`, () => rootOk(name, "SELECT @@gtid_slave_pos") === primaryPos);
    await waitFor("semi-sync on the primary", () => rootOk("db-1", "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'").endsWith("\t2"));

    scriptPath = join(dir, "ha-web-db-failover");
    const nodes = names.map((name) => ({ name, host: "127.0.0.1", port: ports[name] }));
    writeFileSync(scriptPath, renderDatabaseFailoverScript({ ...base, nodes, catchUpTimeoutSeconds: 10, connectTimeoutSeconds: 2 }), { mode: 0o755 });
  }, 90000);

  test("(e) status prints one line per node: role, GTID position, replication and semi-sync", async () => {
    const { code, output } = await runScript(["status"]);
    expect(code).toBe(0);
    const lines = output.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^db-1 127\.0\.0\.1:3311 reachable read_only=0 gtid_binlog_pos=0-1-\d+ .*replicating_from=- .*Rpl_semi_sync_master_status=ON/);
    expect(lines[1]).toMatch(
      /^db-2 127\.0\.0\.1:3312 reachable read_only=1 .*replicating_from=127\.0\.0\.1:3311 io=Yes sql=Yes .*Rpl_semi_sync_slave_status=ON/,
    );
    expect(lines[2]).toMatch(/^db-3 127\.0\.0\.1:3313 reachable read_only=1 /);
  }, 30000);

  test("(a) the primary is SIGKILLed under a write load (each insert numbered, the acknowledged ones recorded)", async () => {
    // One client, statements in order; "ack N" is printed only once insert N has committed (and so was acknowledged).
    const load = spawn("mariadb", ["--no-defaults", `--socket=${socket("db-1")}`, "-uroot", "-N", "-B", "-n"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    load.stdout.on("data", (d) => (out += d));
    load.stderr.on("data", () => undefined);
    load.stdin.on("error", () => undefined);
    const exited = new Promise((r) => load.once("exit", r));
    for (let seq = 1; seq <= 20000; seq++) load.stdin.write(`INSERT INTO appdb.acks (seq) VALUES (${seq}); SELECT 'ack', ${seq};\n`);
    load.stdin.end();
    await sleep(1200);
    // db-3 stops receiving: when the primary dies it is behind db-2.
    rootOk("db-3", "STOP SLAVE IO_THREAD");
    await sleep(600);
    t0.kill = Date.now();
    await kill("db-1", "SIGKILL");
    await Promise.race([exited, sleep(15000)]);
    if (load.exitCode === null) load.kill("SIGKILL");
    rootOk("db-3", "START SLAVE IO_THREAD");
    acked = [...out.matchAll(/^ack\t(\d+)$/gm)].map((m) => Number(m[1]));
    expect(acked.length).toBeGreaterThan(10);
    expect(acked.length).toBeLessThan(20000);
    console.info(`acknowledged inserts before the SIGKILL: ${acked.length}`);
    // What the replicas' side of semi-sync shows once the primary is gone (documented in renderDatabaseFailoverScript).
    console.info(`db-2 after the kill: Rpl_semi_sync_slave_status=${rootOk("db-2", "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_slave_status'").split("\t")[1]}`);
  }, 30000);

  test("(b) promote --candidate naming the less advanced replica is refused, and nothing changes", async () => {
    const { code, output } = await runScript(["promote", "--candidate", "db-3"]);
    expect(code).toBe(2);
    expect(output).toMatch(/REFUSED: db-3 is behind db-2: it lacks 0-1-\d+/);
    expect(rootOk("db-2", "SELECT @@read_only")).toBe("1");
    expect(rootOk("db-3", "SELECT @@read_only")).toBe("1");
  }, 60000);

  test("(a) promote picks the most advanced replica; every acknowledged insert is on it; the other replica follows it", async () => {
    const { code, output, ms } = await runScript(["promote"]);
    console.info(`promote took ${ms} ms; kill to promote done: ${Date.now() - (t0.kill ?? 0)} ms`);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining("promote done: db-2 is the primary") });
    expect(output).toContain("old primary db-1 is unreachable");
    expect(output).toMatch(/db-2 is the most advanced: its GTIDs \(0-1-\d+\) include every other candidate's/);
    expect(output).toContain("db-3 now replicates from db-2 (127.0.0.1:3312)");
    expect(output).toContain("move the writer endpoint to db-2 (127.0.0.1:3312)");
    expect(output).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] /m);
    expect(rootOk("db-2", "SELECT @@read_only, @@rpl_semi_sync_master_enabled")).toBe("0\t1");
    expect(replicaField("db-2", "Master_Host")).toBe("");
    const onNew = seqs("db-2");
    const lost = acked.filter((seq) => !onNew.has(seq));
    console.info(`acknowledged inserts on the new primary: ${acked.length - lost.length} of ${acked.length}; rows there: ${onNew.size}`);
    expect(lost).toEqual([]);

    // The other replica catches up from the new primary and receives new writes.
    rootOk("db-2", "INSERT INTO appdb.acks (seq) VALUES (100001), (100002)");
    await waitFor("db-3 to receive the new writes", () => seqs("db-3").has(100002));
    expect(replicaField("db-3", "Master_Port")).toBe("3312");
    expect(replicaField("db-3", "Slave_IO_Running")).toBe("Yes");
    const onOther = seqs("db-3");
    expect(acked.filter((seq) => !onOther.has(seq))).toEqual([]);
  }, 60000);

  test("(c) the old primary, restarted as its start script does once the writer's name is elsewhere, rejoins and catches up", async () => {
    // The start script's replica role (roleByWriterName): read-only, no semi-sync source, and --init-rpl-role=SLAVE,
    // which rolls back at crash recovery what the binlog holds but no replica acknowledged. Without it, the
    // SIGKILLed primary came back with such a transaction (0-1-N that db-2 never got): errant, the rejoin refused.
    startServer("db-1", ["--read-only=ON", "--loose-rpl-semi-sync-master-enabled=OFF", "--init-rpl-role=SLAVE"]);
    await serving("db-1");
    rootOk("db-1", "SET GLOBAL read_only = ON");
    rootOk("db-2", "INSERT INTO appdb.acks (seq) VALUES (100003)");
    const { code, output } = await runScript(["rejoin", "db-1"]);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining("rejoin done: db-1 replicates from db-2") });
    await waitFor("db-1 to catch up", () => seqs("db-1").has(100003));
    rootOk("db-2", "INSERT INTO appdb.acks (seq) VALUES (100004)");
    await waitFor("db-1 to receive new writes", () => seqs("db-1").has(100004));
    expect(rootOk("db-1", "SELECT @@read_only, @@rpl_semi_sync_master_enabled")).toBe("1\t0");
    expect(replicaField("db-1", "Master_Port")).toBe("3312");
  }, 60000);

  test("(d) a node with an errant transaction (a write on a replica, binlogged) is refused, the GTID named", async () => {
    // root passes read_only (SUPER): the write gets db-3's own GTID, which the primary never had.
    rootOk("db-3", "INSERT INTO appdb.acks (seq) VALUES (200001)");
    const errant = rootOk("db-3", "SELECT @@gtid_binlog_pos");
    expect(errant).toMatch(/^0-3-\d+$/);
    const { code, output } = await runScript(["rejoin", "db-3"]);
    expect(code).toBe(2);
    expect(output).toContain(`REFUSED: db-3 has transactions the primary db-2 lacks (errant GTIDs): ${errant}`);
  }, 60000);

  test("(e) status after the failover: db-2 writable, the others replicating from it", async () => {
    const { code, output } = await runScript(["status"]);
    expect(code).toBe(0);
    expect(output).toMatch(/^db-1 .* read_only=1 .*replicating_from=127\.0\.0\.1:3312 io=Yes/m);
    expect(output).toMatch(/^db-2 .* read_only=0 .*replicating_from=- /m);
    expect(output).toMatch(/^db-3 .*replicating_from=127\.0\.0\.1:3312/m);
  }, 30000);

  test("(f) replication logs in with the pinned certificate only: master.info holds the files' paths and no password; without the certificate the user is refused", () => {
    for (const name of ["db-1", "db-3"] as const) {
      expect(replicaField(name, "Master_SSL_Allowed")).toBe("Yes");
      const info = readFileSync(join(dir, name, "data", "master.info"), "utf8").split("\n");
      // Line 6 is the password (empty), then the port, the retry, and the TLS files.
      expect(info.slice(3, 6)).toEqual(["127.0.0.1", "repl", ""]);
      expect(info).toEqual(expect.arrayContaining([mysqlTlsPath("serverCertificate"), mysqlTlsPath("replicationCertificate"), mysqlTlsPath("replicationKey")]));
    }
    // Only from inside the test's namespace (its servers listen on its loopback).
    const client = (extra: string[]) =>
      spawnSync("ip", ["netns", "exec", netns, "mariadb", "--no-defaults", "-h127.0.0.1", "-P3312", "-urepl", ...extra, "-N", "-e", "SELECT CURRENT_USER()"], {
        encoding: "utf8",
        timeout: 15000,
      });
    expect(client([]).stderr).toContain("Access denied for user 'repl'");
    const tls = (f: MysqlTlsFile) => join(dir, "tls", MYSQL_TLS_FILES[f]);
    const withCertificate = client([`--ssl-cert=${tls("replicationCertificate")}`, `--ssl-key=${tls("replicationKey")}`]);
    expect(withCertificate.stdout.trim()).toBe("repl@%");
    // A certificate with the same subject but another key is not the one the servers pin.
    const forged = makeMysqlTlsFiles();
    const forgedDir = join(dir, "forged");
    mkdirSync(forgedDir, { mode: 0o700 });
    for (const [path, file] of Object.entries(forged)) writeFileSync(join(forgedDir, basename(path)), file.content, { mode: 0o600 });
    const impostor = client([`--ssl-cert=${join(forgedDir, "replication.pem")}`, `--ssl-key=${join(forgedDir, "replication.key")}`]);
    expect(impostor.status).not.toBe(0);
    expect(impostor.stdout).toBe("");
  }, 30000);
});
