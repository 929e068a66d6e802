import { spawnSync } from "child_process";
import { join } from "path";
import { renderMyCnf, validateMyCnfConfig } from "../../templates/mysql/my-cnf";
import { escapeSqlString, renderPrimaryInitSql, renderReplicaInitSql, validatePrimaryInitSqlConfig } from "../../templates/mysql/replication-sql";
import { PATHS } from "../../templates/paths";
import { renderPrimaryStartScript, renderReplicaStartScript } from "../../templates/scripts/database";
import { SECRET_ENV } from "../../templates/scripts/shell";
import { hasBinary, isRoot } from "../helpers/binaries";
import { makeMysqlTlsFiles } from "../helpers/mysql-tls";
import { NamespaceSandbox, outputOf, waitFor } from "../helpers/namespace-sandbox";

describe("renderMyCnf", () => {
  test("every node is crash-safe and GTID-replicated; replicas are read-only (MariaDB)", () => {
    const primary = renderMyCnf({ engine: "mariadb", version: "10.11", role: "primary", serverId: 1 });
    const replica = renderMyCnf({ engine: "mariadb", version: "10.11", role: "replica", serverId: 2 });
    for (const cnf of [primary, replica]) {
      for (const line of [
        "log_bin = mysql-bin",
        "binlog_format = ROW",
        "sync_binlog = 1",
        "innodb_flush_log_at_trx_commit = 1",
        "gtid_strict_mode = ON",
        "log_slave_updates = ON",
        "relay_log_recovery = ON",
      ]) {
        expect(cnf).toContain(line);
      }
    }
    expect(primary).toContain("server_id = 1");
    expect(replica).toContain("server_id = 2");
    expect(primary).not.toContain("read_only");
    expect(replica).toContain("read_only = ON");
    expect(replica).not.toContain("super_read_only"); // MariaDB has none
  });

  test("MySQL 8.4 uses its own names: gtid_mode, super_read_only, log_replica_updates", () => {
    const replica = renderMyCnf({ engine: "mysql", version: "8.4", role: "replica", serverId: 3 });
    expect(replica).toContain("gtid_mode = ON");
    expect(replica).toContain("enforce_gtid_consistency = ON");
    expect(replica).toContain("super_read_only = ON");
    expect(replica).toContain("log_replica_updates = ON");
    expect(replica).not.toMatch(/slave|gtid_strict_mode/);
  });

  test("replicas apply in parallel, in the primary's commit order, on every node (any may become a replica)", () => {
    for (const role of ["primary", "replica"] as const) {
      expect(renderMyCnf({ engine: "mariadb", version: "10.11", role, serverId: 1 })).toContain(
        "slave_parallel_threads = 4\nslave_parallel_mode = optimistic\n",
      );
      expect(renderMyCnf({ engine: "mysql", version: "8.4", role, serverId: 1 })).toContain(
        "replica_parallel_workers = 4\nreplica_preserve_commit_order = ON\n",
      );
    }
    expect(renderMyCnf({ engine: "mariadb", version: "10.11", role: "replica", serverId: 2, replicaParallelThreads: 0 })).toContain(
      "slave_parallel_threads = 0\n",
    );
    expect(validateMyCnfConfig({ engine: "mariadb", version: "10.11", role: "replica", serverId: 2, replicaParallelThreads: 8 })).toEqual([]);
    for (const bad of [-1, 1.5, 257])
      expect(validateMyCnfConfig({ engine: "mariadb", version: "10.11", role: "replica", serverId: 2, replicaParallelThreads: bad }).join("; ")).toMatch(
        new RegExp(`replicaParallelThreads is ${bad}; it must be a whole number from 0 \\(one SQL thread\\) to 256`),
      );
  });

  test("semi-sync waits AFTER_SYNC on both engines", () => {
    expect(renderMyCnf({ engine: "mariadb", version: "10.11", role: "primary", serverId: 1, semiSync: true })).toContain(
      "rpl_semi_sync_master_wait_point = AFTER_SYNC",
    );
    expect(renderMyCnf({ engine: "mysql", version: "8.4", role: "primary", serverId: 1, semiSync: true })).toContain(
      "rpl_semi_sync_source_wait_point = AFTER_SYNC",
    );
  });

  test.each([
    [{ engine: "postgres" }, /engine "postgres 10.11" is not supported/],
    [{ version: "10.6" }, /not supported; use one of: mariadb 10.11, mysql 8.4/],
    [{ serverId: 0 }, /serverId 0/],
    [{ port: 99999 }, /port 99999/],
  ])("rejects bad input %#", (override, message) => {
    const config = { engine: "mariadb", version: "10.11", role: "primary", serverId: 1, ...override } as never;
    expect(validateMyCnfConfig(config).join("; ")).toMatch(message);
    expect(() => renderMyCnf(config)).toThrow(message);
  });
});

describe("replication SQL", () => {
  const users = { database: "appdb", appUser: "app", appPassword: "a", replicationUser: "repl", replicationCertificateName: "db-replication" };

  test("the replication user gets only REPLICATION SLAVE and CLIENT; the app only DML on its schema", () => {
    const sql = renderPrimaryInitSql({ engine: "mariadb", ...users });
    expect(sql).toContain("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%';");
    expect(sql).toContain("GRANT SELECT, INSERT, UPDATE, DELETE ON appdb.* TO 'app'@'%';");
    expect(sql).not.toMatch(/ALL PRIVILEGES|SUPER|GRANT OPTION/);
    expect(sql).toContain("CREATE TABLE IF NOT EXISTS appdb.items");
  });

  test("MariaDB replicas follow the primary by GTID (slave_pos)", () => {
    const sql = renderReplicaInitSql({ engine: "mariadb", primaryHost: "db-primary", replicationUser: "repl" });
    expect(sql).toContain("SET SESSION sql_log_bin = 0;");
    expect(sql).toMatch(/CHANGE MASTER TO\n\s+MASTER_HOST = 'db-primary',[\s\S]*MASTER_USE_GTID = slave_pos;/);
  });

  test("MySQL 8.4 replicas use CHANGE REPLICATION SOURCE with auto-position", () => {
    const sql = renderReplicaInitSql({ engine: "mysql", primaryHost: "db-primary", replicationUser: "repl" });
    expect(sql).toMatch(/CHANGE REPLICATION SOURCE TO\n\s+SOURCE_HOST = 'db-primary',[\s\S]*SOURCE_AUTO_POSITION = 1;/);
    expect(sql).not.toMatch(/MASTER|SLAVE/);
  });

  test("string literals are escaped", () => {
    expect(escapeSqlString(`it's a \\ test`)).toBe(`it''s a \\\\ test`);
  });

  test.each([
    [{ database: "1db" }, /database "1db" is not a valid identifier/],
    [{ appUser: "app-user" }, /appUser "app-user"/],
    [{ database: "mysql" }, /not a system schema/],
    [{ replicationUser: "app" }, /must differ/],
  ])("rejects bad identifiers %#", (override, message) => {
    expect(validatePrimaryInitSqlConfig({ engine: "mariadb", ...users, ...override }).join("; ")).toMatch(message);
  });
});

describe("database start scripts", () => {
  test("never contain a secret: they read it from the environment at run time", () => {
    const script = renderPrimaryStartScript({
      engine: "mariadb",
      database: "appdb",
      appUser: "app",
      replicationUser: "repl",
      replicationCertificateName: "db-replication",
    });
    expect(script).toContain(`APP_PASSWORD=$(read_secret ${SECRET_ENV.appPassword})`);
    // MariaDB: from the hash computed in the session, so the binlog carries no password (renderCreateUser).
    expect(script).toContain("SET @ha_web_hash = PASSWORD('${APP_PASSWORD_SQL}');");
    expect(script).toContain("EXECUTE IMMEDIATE CONCAT('CREATE USER ''app''@''%'' IDENTIFIED BY PASSWORD ''', @ha_web_hash, '''');");
    expect(script).not.toMatch(/IDENTIFIED BY '/);
    // MySQL 8.4 logs the salted hash itself: the plain form stays.
    expect(
      renderPrimaryStartScript({ engine: "mysql", database: "appdb", appUser: "app", replicationUser: "repl", replicationCertificateName: "db-replication" }),
    ).toContain("CREATE USER 'app'@'%' IDENTIFIED BY '${APP_PASSWORD_SQL}';");
    expect(script).toContain('exec mariadbd --defaults-file="$CONF" --user=mysql');
  });

  test("MySQL scripts initialize with mysqld --initialize-insecure and use mysqladmin", () => {
    const script = renderReplicaStartScript({ engine: "mysql", primaryHost: "db-primary", replicationUser: "repl" });
    expect(script).toContain("mysqld --defaults-file=$CONF --initialize-insecure");
    expect(script).toContain("--skip-replica-start --loose-rpl-semi-sync-source-enabled=OFF --read-only=OFF --super-read-only=OFF");
    expect(script).toContain(
      "mysqladmin --no-defaults --ssl-mode=VERIFY_CA --ssl-ca=/run/mysqld/tls/server.pem --ssl-cert=/run/mysqld/tls/replication.pem --ssl-key=/run/mysqld/tls/replication.key --host='db-primary'",
    );
    expect(script).not.toMatch(/mariadb/);
  });

  test("the shell is valid POSIX sh", () => {
    for (const script of [
      renderPrimaryStartScript({ engine: "mariadb", database: "appdb", appUser: "app", replicationUser: "repl", replicationCertificateName: "db-replication" }),
      renderReplicaStartScript({ engine: "mysql", primaryHost: "db-primary", replicationUser: "repl" }),
    ]) {
      expect(spawnSync("sh", ["-n"], { input: script, encoding: "utf8" }).stderr).toBe("");
    }
  });
});

/**
 * The real thing: MariaDB 10.11 starts with the rendered my.cnf through the
 * rendered start scripts, a replica follows the primary by GTID, and the users
 * have exactly their privileges. Needs root (namespaces) and mariadb-server.
 */
const real = hasBinary("mariadbd") && isRoot() ? describe : describe.skip;
real("MariaDB primary and replica from the rendered files", () => {
  let sandbox: NamespaceSandbox;
  const env = { [SECRET_ENV.appPassword]: "app-'secret\\1" };
  const client = (name: string, sql: string, flags = ["-N", "-B"]) =>
    spawnSync("mariadb", ["--no-defaults", `--socket=${join(sandbox.root, name, "run", "mysqld.sock")}`, "-uroot", ...flags, "-e", sql], { encoding: "utf8" });

  beforeAll(async () => {
    sandbox = new NamespaceSandbox("db");
    // The cluster's two certificate pairs, as MysqlCluster delivers them to every node.
    const tls = makeMysqlTlsFiles("db-replication");
    const node = (name: string, cnf: string, script: string, role: string) =>
      sandbox.start(name, {
        files: {
          ...tls,
          [PATHS.mysqlConfig]: { content: cnf },
          [`${PATHS.binDir}/start-${role}.sh`]: { content: script, executable: true },
        },
        mounts: { [PATHS.mysqlVolume]: join(sandbox.root, name, "volume"), [PATHS.mysqlRunDir]: join(sandbox.root, name, "run") },
        command: ["/bin/sh", `${PATHS.binDir}/start-${role}.sh`],
        env,
      });
    // Both in one network namespace, so they talk over its loopback: primary on 3306, replica on 3307.
    const primary = node(
      "primary",
      renderMyCnf({ engine: "mariadb", version: "10.11", role: "primary", serverId: 1 }),
      renderPrimaryStartScript({ engine: "mariadb", database: "appdb", appUser: "app", replicationUser: "repl", replicationCertificateName: "db-replication" }),
      "db-primary",
    );
    const replica = node(
      "replica",
      renderMyCnf({ engine: "mariadb", version: "10.11", role: "replica", serverId: 2, port: 3307 }),
      renderReplicaStartScript({ engine: "mariadb", primaryHost: "127.0.0.1", replicationUser: "repl" }),
      "db-replica",
    );
    await waitFor(`primary (${outputOf(primary).slice(-500)})`, () => client("primary", "SELECT 1").status === 0);
    await waitFor(`replica (${outputOf(replica).slice(-500)})`, () => client("replica", "SELECT COUNT(*) FROM appdb.items").status === 0);
  }, 120000);

  afterAll(async () => {
    await sandbox?.cleanup();
  }, 60000);

  test("each node has its own server id; the replica is read-only", () => {
    expect(client("primary", "SELECT @@server_id, @@read_only, @@gtid_strict_mode").stdout.trim()).toBe("1\t0\t1");
    expect(client("replica", "SELECT @@server_id, @@read_only").stdout.trim()).toBe("2\t1");
  });

  test("a row written on the primary reaches the replica by GTID", async () => {
    expect(client("primary", "INSERT INTO appdb.items (name) VALUES ('replicated')").status).toBe(0);
    await waitFor(
      "the row on the replica",
      () => client("replica", "SELECT name FROM appdb.items WHERE name = 'replicated'").stdout.includes("replicated"),
      20,
      250,
    );
    const status = client("replica", "SHOW SLAVE STATUS\\G", []).stdout;
    expect(status).toMatch(/Slave_IO_Running: Yes/);
    expect(status).toMatch(/Slave_SQL_Running: Yes/);
    expect(status).toMatch(/Using_Gtid: Slave_Pos/);
    expect(client("replica", "SELECT @@gtid_slave_pos").stdout.trim()).toBe(client("primary", "SELECT @@gtid_binlog_pos").stdout.trim());
  });

  test("the app user logs in over TCP with its password, reads and writes the primary, cannot write a replica", () => {
    const app = (port: number, sql: string) =>
      sandbox.exec(["mariadb", "--no-defaults", "-h127.0.0.1", `-P${port}`, "-uapp", `-p${env[SECRET_ENV.appPassword]}`, "appdb", "-N", "-e", sql]);
    expect(app(3306, "INSERT INTO items (name) VALUES ('from-app'); SELECT COUNT(*) FROM items").status).toBe(0);
    expect(app(3307, "SELECT COUNT(*) FROM items").status).toBe(0);
    const write = app(3307, "INSERT INTO items (name) VALUES ('nope')");
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/read-only/);
    const ddl = app(3306, "CREATE TABLE t (id INT)");
    expect(ddl.stderr).toMatch(/denied/);
  });

  test("the replication user has only its replication privileges", () => {
    const grants = client("primary", "SHOW GRANTS FOR 'repl'@'%'").stdout;
    expect(grants).toMatch(/GRANT (REPLICATION SLAVE, BINLOG MONITOR|REPLICATION SLAVE, REPLICATION CLIENT) ON \*\.\*/);
    expect(grants).not.toMatch(/ALL PRIVILEGES|SUPER/);
    // No password (MariaDB would keep it in clear in master.info): the pinned certificate is its credential.
    const user = client("primary", "SHOW CREATE USER 'repl'@'%'").stdout;
    expect(user).toContain("REQUIRE ISSUER '/CN=db-replication' SUBJECT '/CN=db-replication'");
    expect(user).not.toContain("IDENTIFIED");
    expect(client("replica", "SHOW SLAVE STATUS\\G", []).stdout).toMatch(/Master_SSL_Allowed: Yes/);
  });
});
