import "cdktf/lib/testing/adapters/jest";
import { Testing, TerraformStack, TerraformVariable } from "cdktf";
import { Image } from "@cdktf/provider-docker/lib/image";
import {
  BACKUP_METRICS_DIR,
  DEFAULT_DOCKER_IMAGES,
  DOCKER_BACKUP_STORE_PATH,
  DOCKER_TEXTFILE_EXPORTER,
  DockerTarget,
  MysqlCluster,
  MysqlClusterProps,
  WebAppTier,
} from "../../../lib";
import { renderBackupFiles } from "../../../templates/mysql/backup-files";
import { BACKUP_COMMANDS } from "../../../templates/mysql/backup-plan";
import { binlogExpireSeconds } from "../../../templates/mysql/backup-schedule";
import { PATHS } from "../../../templates/paths";
import { SECRET_ENV } from "../../../templates/scripts/shell";
import { annotations, containers, secretFileOf, synthDocker, uploaded } from "../../helpers/synth";

/** A cluster of a primary and two replicas, backups on by default: what the first and the backup blocks assert on, synthesized once. */
let twoReplicaCluster!: MysqlCluster;
const twoReplicas = synthDocker((stack, target) => {
  twoReplicaCluster = new MysqlCluster(stack, "db", { target, replicas: 2 });
});

describe("MysqlCluster on Docker", () => {
  const cluster = twoReplicaCluster;
  const { parsed, json } = twoReplicas;
  const byName = containers(parsed);

  test("one primary and `replicas` replicas with deterministic, unique server ids", () => {
    expect(Object.keys(byName).sort()).toEqual([
      "haweb-db-primary",
      "haweb-db-primary-exporter",
      "haweb-db-replica-1",
      "haweb-db-replica-1-exporter",
      "haweb-db-replica-2",
      "haweb-db-replica-2-exporter",
      // The backup source (the last replica) serves its backup metrics through a node exporter beside it.
      "haweb-db-replica-2-textfile-exporter",
    ]);
    const servers = ["haweb-db-primary", "haweb-db-replica-1", "haweb-db-replica-2"].map((n) => byName[n]);
    const ids = servers.map((c) => /server_id = (\d+)/.exec(uploaded(c, PATHS.mysqlConfig))?.[1]);
    expect(ids).toEqual(["1", "2", "3"]);
    expect(uploaded(byName["haweb-db-replica-2"], PATHS.mysqlConfig)).toContain("read_only = ON");
  });

  test("exposes the writer and reader endpoints", () => {
    expect(cluster.writerEndpoint).toEqual({ host: "db-writer", port: 3306 });
    expect(cluster.readerEndpoints).toEqual([
      { host: "db-replica-1", port: 3306 },
      { host: "db-replica-2", port: 3306 },
    ]);
  });

  test("runs the start scripts on MariaDB 10.11 with a named volume for data", () => {
    const primary = byName["haweb-db-primary"];
    expect(primary.entrypoint).toEqual(["/bin/sh"]);
    expect(primary.command).toEqual([`${PATHS.binDir}/start-db-primary.sh`]);
    expect(primary.volumes).toEqual([{ volume_name: expect.stringContaining("docker_volume."), container_path: PATHS.mysqlVolume }]);
    expect(json).toHaveResourceWithProperties(Image, { name: DEFAULT_DOCKER_IMAGES.mariadb, keep_locally: true });
    expect(parsed.resource.docker_volume).toBeDefined();
    expect(
      Object.values(parsed.resource.docker_volume)
        .map((v) => v.name)
        .sort(),
    ).toEqual(["haweb-db-backups", "haweb-db-primary-data", "haweb-db-replica-1-data", "haweb-db-replica-2-data", "haweb-db-replica-2-textfile"]);
  });

  test("passwords are generated at deploy time and passed by reference", () => {
    // The app's, the exporter's and the failover script's: replication has none (a client certificate).
    expect(Object.keys(parsed.resource.random_password)).toHaveLength(3);
    // Files the start scripts read through NAME_FILE: docker inspect shows no secret.
    expect(secretFileOf(byName["haweb-db-primary"], SECRET_ENV.appPassword)).toMatch(/^\$\{random_password\.[^}]+\.result\}$/);
    expect(byName["haweb-db-replica-1"].env).toEqual([`${SECRET_ENV.failoverPassword}_FILE=${PATHS.secretsDir}/${SECRET_ENV.failoverPassword}`]);
  });

  test("replication logs in with a pinned client certificate: every node gets the cluster's two pairs, made at deploy time, as root-only files", () => {
    const certs = parsed.resource.tls_self_signed_cert as Record<
      string,
      { subject: { common_name: string }[]; is_ca_certificate: boolean; allowed_uses: string[] }
    >;
    expect(Object.values(certs).map((c) => [c.subject[0].common_name, c.is_ca_certificate, c.allowed_uses.at(-1)])).toEqual(
      expect.arrayContaining([
        ["db-server", true, "server_auth"],
        ["db-replication", true, "client_auth"],
      ]),
    );
    for (const node of ["haweb-db-primary", "haweb-db-replica-1", "haweb-db-replica-2"]) {
      const files = byName[node].upload.filter((u) => u.file.startsWith(`${PATHS.mysqlTlsDir}/`));
      expect(files.map((f) => [f.file, f.permissions, (f.content ?? "").replace(/\.[^.]+\}$/, "}")])).toEqual([
        [`${PATHS.mysqlTlsDir}/server.pem`, "0400", expect.stringMatching(/^\$\{tls_self_signed_cert\.db_tls-server-certificate_\w+\}$/)],
        [`${PATHS.mysqlTlsDir}/server.key`, "0400", expect.stringMatching(/^\$\{tls_private_key\.db_tls-server-key_\w+\}$/)],
        [`${PATHS.mysqlTlsDir}/replication.pem`, "0400", expect.stringMatching(/^\$\{tls_self_signed_cert\.db_tls-replication-certificate_\w+\}$/)],
        [`${PATHS.mysqlTlsDir}/replication.key`, "0400", expect.stringMatching(/^\$\{tls_private_key\.db_tls-replication-key_\w+\}$/)],
      ]);
    }
    expect(uploaded(byName["haweb-db-primary"], `${PATHS.binDir}/start-db-primary.sh`)).toContain(
      "CREATE USER 'repl'@'%' REQUIRE SUBJECT '/CN=db-replication' AND ISSUER '/CN=db-replication';",
    );
    expect(uploaded(byName["haweb-db-replica-1"], `${PATHS.binDir}/start-db-replica.sh`)).not.toMatch(/PASSWORD/);
  });

  test("replicas start after the primary; the database networks are internal", () => {
    expect(byName["haweb-db-replica-1"].depends_on).toEqual([expect.stringContaining("db-primary")]);
    const networks = Object.values(parsed.resource.docker_network) as { name: string; internal: boolean }[];
    expect(networks.map((n) => [n.name, n.internal]).sort()).toEqual([
      ["haweb-app-db", true],
      ["haweb-db-db", true],
      ["haweb-mon-db", true],
    ]);
  });

  test("a MySQL exporter beside every node, in its network namespace, logged in as a least-privilege user", () => {
    for (const node of ["db-primary", "db-replica-1"]) {
      const exporter = byName[`haweb-${node}-exporter`];
      expect(exporter.network_mode).toMatch(new RegExp(`^container:\\$\\{docker_container\\.db_${node}-container_[0-9A-F]+\\.name\\}$`));
      expect(secretFileOf(exporter, SECRET_ENV.exporterPassword)).toMatch(/^\$\{random_password\.db_exporter-password_[0-9A-F]+\.result\}$/);
      const script = uploaded(exporter, `${PATHS.binDir}/start-mysqld-exporter.sh`);
      expect(script).toContain("prometheus-mysqld-exporter");
      expect(script).toContain("host=%s\\nport=%s");
      expect(exporter.labels).toContainEqual({ label: "ha-web.ingress", value: "9104/tcp:monitoring" });
    }
    // The primary's bootstrap creates the user (replicas get it through the binlog).
    const bootstrap = uploaded(byName["haweb-db-primary"], `${PATHS.binDir}/start-db-primary.sh`);
    expect(bootstrap).toContain("SET @ha_web_hash = PASSWORD('${EXPORTER_PASSWORD_SQL}');");
    expect(bootstrap).toContain(
      "EXECUTE IMMEDIATE CONCAT('CREATE USER ''exporter''@''127.0.0.1'' IDENTIFIED BY PASSWORD ''', @ha_web_hash, ''' WITH MAX_USER_CONNECTIONS 3');",
    );
    expect(bootstrap).toContain("GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO 'exporter'@'127.0.0.1';");
    expect(bootstrap).toContain("GRANT SELECT ON performance_schema.* TO 'exporter'@'127.0.0.1';");
    expect(cluster.metricsEndpoints.map((e) => [e.job, e.address, e.node, e.group])).toEqual([
      ["mysql", "db-primary:9104", "db-primary", "db"],
      ["mysql", "db-replica-1:9104", "db-replica-1", "db"],
      ["textfile", "db-replica-2:9100", "db-replica-2", "db"],
      ["mysql", "db-replica-2:9104", "db-replica-2", "db"],
    ]);
  });

  test("exporter: false runs no exporter and creates no exporter user", () => {
    const quiet = synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, replicas: 1, exporter: false })).parsed;
    expect(Object.keys(containers(quiet)).sort()).toEqual(["haweb-db-primary", "haweb-db-replica-1", "haweb-db-replica-1-textfile-exporter"]);
    expect(uploaded(containers(quiet)["haweb-db-primary"], `${PATHS.binDir}/start-db-primary.sh`)).not.toContain("exporter");
    expect(Object.keys(quiet.resource.random_password)).toHaveLength(2); // the app's and failover's
  });

  test("failover: the same ha-web-db-failover on every node, listing every node; its user created by the bootstrap; its password a file", () => {
    const script = uploaded(byName["haweb-db-primary"], `${PATHS.binDir}/ha-web-db-failover`);
    for (const node of ["haweb-db-replica-1", "haweb-db-replica-2"]) expect(uploaded(byName[node], `${PATHS.binDir}/ha-web-db-failover`)).toBe(script);
    expect(script).toContain("NODES='db-primary db-primary 3306\ndb-replica-1 db-replica-1 3306\ndb-replica-2 db-replica-2 3306'");
    // Docker: no host can move a network alias; the script says so and the operator (or the lab) moves it.
    expect(script).toContain("MOVE_WRITER_COMMAND=''");
    const bootstrap = uploaded(byName["haweb-db-primary"], `${PATHS.binDir}/start-db-primary.sh`);
    expect(bootstrap).toContain(
      "GRANT READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, RELOAD, REPLICATION MASTER ADMIN, SLAVE MONITOR, SHUTDOWN, PROCESS, CONNECTION ADMIN ON *.* TO 'failover'@'%';",
    );
    expect(bootstrap).toContain("read_secret HAWEB_DB_FAILOVER_PASSWORD");
    expect(secretFileOf(byName["haweb-db-replica-2"], SECRET_ENV.failoverPassword)).toMatch(/^\$\{random_password\.db_failover-password_[0-9A-F]+\.result\}$/);
    expect(cluster.failoverUser).toBe("failover");
  });

  test("failover: false (or no replica) installs no script and creates no user", () => {
    for (const props of [{ replicas: 1, failover: false as const }, { replicas: 0 }]) {
      const off = containers(synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, ...props })).parsed);
      expect(off["haweb-db-primary"].upload.map((u: { file: string }) => u.file)).not.toContain(`${PATHS.binDir}/ha-web-db-failover`);
      expect(uploaded(off["haweb-db-primary"], `${PATHS.binDir}/start-db-primary.sh`)).not.toContain("failover");
    }
  });

  test("replicationPassword (removed: replication has no password) is refused at synth, naming the fix", () => {
    const legacy = { name: "repl", value: "${var.x}" };
    expect(() => synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, replicationPassword: legacy } as MysqlClusterProps))).toThrow(
      /MysqlCluster.*replicationPassword.*no longer accepted: the replication user logs in with a client certificate.*remove the prop/s,
    );
  });

  test("failover props are validated at synth, naming the prop and the fix", () => {
    const bad = (failover: MysqlClusterProps["failover"]) => () => synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, failover }));
    expect(bad({ user: "app" })).toThrow(/failover\.user.*give the failover script its own user/s);
    expect(bad({ user: "bad-name" })).toThrow(/failover\.user.*not a valid SQL identifier/);
    expect(bad({ catchUpTimeoutSeconds: 0 })).toThrow(/failover\.catchUpTimeoutSeconds.*use 30/s);
    expect(bad({ password: { name: "x", value: "plain" } })).toThrow(/failover\.password.*literal string/);
  });

  test("MySQL 8.4 renders its own syntax and image", () => {
    const mysql = containers(synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, engine: "mysql" })).parsed);
    expect(uploaded(mysql["haweb-db-replica-1"], `${PATHS.binDir}/start-db-replica.sh`)).toContain("CHANGE REPLICATION SOURCE TO");
    expect(uploaded(mysql["haweb-db-replica-1"], PATHS.mysqlConfig)).toContain("super_read_only = ON");
    expect(mysql["haweb-db-primary"].healthcheck.test[1]).toBe("mysqladmin");
  });

  test("a password passed as a reference (a sensitive variable) is used as given", () => {
    const parsedVar = synthDocker((stack, target) => {
      const variable = new TerraformVariable(stack, "db_app_password", { type: "string", sensitive: true });
      new MysqlCluster(stack, "db", { target, replicas: 0, appPassword: { name: "app", value: variable.stringValue } });
    }).parsed;
    expect(secretFileOf(containers(parsedVar)["haweb-db-primary"], SECRET_ENV.appPassword)).toBe("${var.db_app_password}");
    // replicas: 0 has no failover: only the exporter's password is generated
    expect(Object.keys(parsedVar.resource.random_password)).toHaveLength(1);
  });

  test("replicas: 0 gives a primary only, and reads go to the writer", () => {
    let solo!: MysqlCluster;
    const parsedSolo = synthDocker((stack, target) => (solo = new MysqlCluster(stack, "db", { target, replicas: 0 }))).parsed;
    expect(Object.keys(containers(parsedSolo))).toEqual(["haweb-db-primary", "haweb-db-primary-exporter", "haweb-db-primary-textfile-exporter"]);
    // No replica: the primary takes the backups.
    expect(solo.backupPlan?.sourceNode).toBe("db-primary");
    expect(solo.readerEndpoints).toEqual([]);
    // Nobody could acknowledge a commit: semi-sync stays off by default.
    expect(solo.semiSync).toBe(false);
    expect(uploaded(containers(parsedSolo)["haweb-db-primary"], PATHS.mysqlConfig)).not.toContain("rpl_semi_sync");
  });

  test("semi-synchronous replication with AFTER_SYNC is on by default with replicas: the primary waits, every node acknowledges", () => {
    expect(cluster.semiSync).toBe(true);
    for (const name of ["haweb-db-primary", "haweb-db-replica-1", "haweb-db-replica-2"]) {
      const cnf = uploaded(byName[name], PATHS.mysqlConfig);
      // The primary waits for acknowledgements; a replica's applier must not (it has no replicas of its own).
      const source = name.endsWith("primary") ? "ON" : "OFF";
      expect(cnf).toContain(`rpl_semi_sync_master_enabled = ${source}\nrpl_semi_sync_slave_enabled = ON\nrpl_semi_sync_master_wait_point = AFTER_SYNC\n`);
      expect(cnf).toContain("rpl_semi_sync_master_timeout = 1000\n");
    }
    // The bootstrap server has no replica to wait for.
    expect(uploaded(byName["haweb-db-primary"], `${PATHS.binDir}/start-db-primary.sh`)).toContain("--loose-rpl-semi-sync-master-enabled=OFF");
  });

  test("semiSyncTimeoutMs sets the fallback timeout; semiSync: false turns it off", () => {
    const tuned = containers(synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, semiSyncTimeoutMs: 2500 })).parsed);
    expect(uploaded(tuned["haweb-db-primary"], PATHS.mysqlConfig)).toContain("rpl_semi_sync_master_timeout = 2500\n");
    const off = containers(synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, semiSync: false })).parsed);
    expect(uploaded(off["haweb-db-replica-1"], PATHS.mysqlConfig)).not.toContain("rpl_semi_sync");
  });

  test("replicaParallelThreads sets every node's applier threads (4 by default)", () => {
    const tuned = containers(synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, replicaParallelThreads: 8 })).parsed);
    for (const name of ["haweb-db-primary", "haweb-db-replica-1"]) expect(uploaded(tuned[name], PATHS.mysqlConfig)).toContain("slave_parallel_threads = 8\n");
    expect(uploaded(byName["haweb-db-replica-1"], PATHS.mysqlConfig)).toContain("slave_parallel_threads = 4\n");
  });
});

describe("MysqlCluster rejects bad input at synth time", () => {
  const attempt = (props: Partial<MysqlClusterProps>) => () => {
    const stack = new TerraformStack(Testing.app(), "bad");
    const target = new DockerTarget(stack, "docker");
    new MysqlCluster(stack, "db", { target, ...props });
  };
  test.each([
    [{ replicas: -1 }, /MysqlCluster 'bad\/db'[\s\S]*prop `replicas` is -1; it must be a whole number of at least 0\. Fix: use 0, 1, 2/],
    [{ replicas: 1.5 }, /prop `replicas` is 1\.5/],
    [{ engine: "postgres" as never }, /prop `engine` "postgres" is not supported\. Fix: use "mariadb" or "mysql"/],
    [{ engine: "mysql" as const, version: "5.7" }, /prop `version` "5\.7" is not supported for mysql\. Fix: use one of: mariadb 10\.11, mysql 8\.4/],
    [{ database: "app-db" }, /prop `database` "app-db" is not a valid SQL identifier/],
    [{ appUser: "1app" }, /prop `appUser` "1app" is not a valid SQL identifier/],
    [{ replicationUser: "x".repeat(40) }, /prop `replicationUser`/],
    [{ port: 0 }, /prop `port` is 0; it must be a whole number in 1-65535/],
    [{ namePrefix: "DB_" }, /prop `namePrefix` "DB_" does not make valid DNS labels/],
    [
      { appPassword: { name: "x", value: "hunter2" } },
      /prop `appPassword` is a literal string, which would be written in plain text[\s\S]*Fix: pass a reference instead/,
    ],
    // The template's own rule, reported under the construct and the prop (not "MySQL config: ...").
    [
      { innodbBufferPoolSize: "lots" },
      /MysqlCluster 'bad\/db' has invalid props:\n- prop `innodbBufferPoolSize`: innodbBufferPoolSize "lots" must look like 128M or 2G.*Fix: use a size of at least 5M/,
    ],
    [{ innodbBufferPoolSize: "1M" }, /prop `innodbBufferPoolSize`: innodbBufferPoolSize "1M" is below the 5M the servers accept/],
    [{ replicas: 0, semiSync: true }, /prop `semiSync` is on with replicas: 0: no replica could acknowledge a commit/],
    [
      { semiSyncTimeoutMs: 0 },
      /prop `semiSyncTimeoutMs`: semiSyncTimeoutMs is 0; it must be a whole number of milliseconds, at least 1\. Fix: give a whole number of milliseconds/,
    ],
    [
      { replicaParallelThreads: -2 },
      /MysqlCluster 'bad\/db'[\s\S]*prop `replicaParallelThreads`: replicaParallelThreads is -2; it must be a whole number from 0 \(one SQL thread\) to 256\. Fix: give a whole number of threads/,
    ],
  ])("%j", (props, message) => {
    expect(attempt(props)).toThrow(message);
  });
});

describe("MysqlCluster props that do nothing on a target, and several clusters", () => {
  test("the writer is a movable name of its own (a network alias the primary carries), not the primary's name", () => {
    let db!: MysqlCluster;
    const { parsed } = synthDocker((stack, target) => (db = new MysqlCluster(stack, "db", { target })));
    expect(db.writerEndpoint).toEqual({ host: "db-writer", port: 3306 });
    for (const n of containers(parsed)["haweb-db-primary"].networks_advanced) expect(n.aliases).toEqual(["db-primary", "db-writer"]);
    for (const n of containers(parsed)["haweb-db-replica-1"].networks_advanced) expect(n.aliases).toEqual(["db-replica-1"]);
    expect(annotations(db, "warn")).toEqual([]);
  });

  test("each cluster has its own app-to-database network, joined only by the web tier that uses it", () => {
    const { parsed } = synthDocker((stack, target) => {
      const shop = new MysqlCluster(stack, "shop-db", { target, replicas: 0 });
      const stats = new MysqlCluster(stack, "stats-db", { target, replicas: 0, namePrefix: "stats" });
      new WebAppTier(stack, "shop", { target, database: shop, nodes: 1 });
      new WebAppTier(stack, "stats", { target, database: stats, nodes: 1, namePrefix: "report" });
    });
    const byName = containers(parsed);
    const networkNames = Object.fromEntries(
      Object.entries(parsed.resource.docker_network).map(([key, n]) => [`\${docker_network.${key}.name}`, String(n.name)]),
    );
    const networksOf = (c: string) => byName[c].networks_advanced.map((n) => networkNames[n.name]).sort();
    expect(networksOf("haweb-db-primary")).toEqual(["haweb-app-db", "haweb-db-db", "haweb-mon-db"]);
    expect(networksOf("haweb-stats-primary")).toEqual(["haweb-app-stats-db", "haweb-db-stats-db", "haweb-mon-stats-db"]);
    expect(networksOf("haweb-web-1-app")).toEqual(["haweb-app-db", "haweb-mon-app", "haweb-web-app"]);
    expect(networksOf("haweb-report-1-app")).toEqual(["haweb-app-stats-db", "haweb-mon-app", "haweb-web-app"]);
  });
});

describe("MysqlCluster backups (on by default) on Docker", () => {
  const cluster = twoReplicaCluster;
  const { parsed } = twoReplicas;
  const byName = containers(parsed);
  const volumeName = (ref: string) => {
    const key = /^\$\{docker_volume\.([^.]+)\.name\}$/.exec(ref)?.[1];
    return key ? parsed.resource.docker_volume[key].name : ref;
  };

  test("the plan: the documented defaults, the last replica as source, the writer's movable name, the target's store", () => {
    expect(cluster.backupPlan).toEqual({
      engine: "mariadb",
      cluster: "db",
      sourceNode: "db-replica-2",
      fullSchedule: "0 3 * * *",
      incrementalSchedule: "0 * * * *",
      retentionDays: 7,
      binlogArchive: true,
      writerHost: "db-writer",
      writerPort: 3306,
      replicationUser: "repl",
      store: { kind: "directory", path: DOCKER_BACKUP_STORE_PATH },
      metricsDir: BACKUP_METRICS_DIR,
    });
    expect(cluster.backupOffSite).toBe(false);
  });

  test("the source node gets renderBackupFiles' files and starts the scheduler; the others get theirs (and do not start it)", () => {
    const plan = cluster.backupPlan!;
    for (const node of ["db-primary", "db-replica-1", "db-replica-2"]) {
      const container = byName[`haweb-${node}`];
      for (const file of renderBackupFiles(plan, node)) {
        expect(uploaded(container, file.path)).toBe(file.content);
        expect(container.upload.find((u) => u.file === file.path)?.executable).toBe(file.executable ?? false);
      }
      const script = uploaded(container, `${PATHS.binDir}/start-db-${node === "db-primary" ? "primary" : "replica"}.sh`);
      expect(script.includes(`${BACKUP_COMMANDS.scheduler} $$ &`)).toBe(node === "db-replica-2");
    }
    expect(renderBackupFiles(plan, "db-replica-2").map((f) => f.path)).toContain(BACKUP_COMMANDS.backup);
  });

  test("every node keeps its binlogs twice the longest gap between full backups (binlogExpireSeconds)", () => {
    const expected = binlogExpireSeconds(cluster.backupPlan!);
    expect(expected).toBe(2 * 86400);
    for (const node of ["db-primary", "db-replica-1", "db-replica-2"])
      expect(uploaded(byName[`haweb-${node}`], PATHS.mysqlConfig)).toContain(`binlog_expire_logs_seconds = ${expected}\n`);
  });

  test("the store is a named volume on the source node only; a node exporter beside it serves the metrics directory, read-only", () => {
    type Mount = { volume_name?: string; container_path: string; read_only?: boolean };
    const mounts = (name: string) =>
      ((byName[name].volumes ?? []) as Mount[]).map((v) => [volumeName(v.volume_name ?? ""), v.container_path, v.read_only ?? false]);
    expect(mounts("haweb-db-replica-2")).toEqual([
      ["haweb-db-replica-2-data", PATHS.mysqlVolume, false],
      ["haweb-db-backups", DOCKER_BACKUP_STORE_PATH, false],
      ["haweb-db-replica-2-textfile", BACKUP_METRICS_DIR, false],
    ]);
    expect(mounts("haweb-db-primary")).toEqual([["haweb-db-primary-data", PATHS.mysqlVolume, false]]);
    const exporter = byName["haweb-db-replica-2-textfile-exporter"];
    expect(mounts("haweb-db-replica-2-textfile-exporter")).toEqual([["haweb-db-replica-2-textfile", BACKUP_METRICS_DIR, true]]);
    expect(exporter.network_mode).toMatch(/^container:\$\{docker_container\.db_db-replica-2-container_[0-9A-F]+\.name\}$/);
    expect(exporter.entrypoint).toEqual([DOCKER_TEXTFILE_EXPORTER.binary]);
    expect(exporter.command).toEqual([
      "--collector.disable-defaults",
      "--collector.textfile",
      `--collector.textfile.directory=${BACKUP_METRICS_DIR}`,
      `--web.listen-address=:${DOCKER_TEXTFILE_EXPORTER.port}`,
    ]);
    expect(exporter.user).toBe("prometheus");
    // Prometheus reaches it on the cluster's monitoring network, which the source node joins.
    expect(cluster.metricsEndpoints).toContainEqual(
      expect.objectContaining({ job: "textfile", address: "db-replica-2:9100", node: "db-replica-2", group: "db" }),
    );
  });

  test("backupHostDirectory binds <dir>/<cluster> instead of a named volume", () => {
    const bound = containers(
      synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, replicas: 1 }), { backupHostDirectory: "/srv/backups/" }).parsed,
    );
    expect(bound["haweb-db-replica-1"].volumes).toContainEqual(
      expect.objectContaining({ host_path: "/srv/backups/db", container_path: DOCKER_BACKUP_STORE_PATH }),
    );
    expect(() => synthDocker(() => undefined, { backupHostDirectory: "backups" })).toThrow(
      /DockerTarget 'test\/docker' has invalid props:\n- prop `backupHostDirectory` "backups" is not an absolute directory path/,
    );
  });

  test("MySQL: full backups only by default; sourceNode and schedules as given", () => {
    let mysql!: MysqlCluster;
    synthDocker((stack, target) => {
      mysql = new MysqlCluster(stack, "db", {
        target,
        engine: "mysql",
        replicas: 2,
        backup: { sourceNode: "db-replica-1", fullSchedule: "30 1 * * 0", retentionDays: 14 },
      });
    });
    expect(mysql.backupPlan).toMatchObject({ engine: "mysql", sourceNode: "db-replica-1", fullSchedule: "30 1 * * 0", retentionDays: 14 });
    expect(mysql.backupPlan!.incrementalSchedule).toBeUndefined();
  });

  test("backup: false: no plan, no store, no backup files; the writer keeps the default binlog expiry", () => {
    let off!: MysqlCluster;
    const quiet = synthDocker((stack, target) => (off = new MysqlCluster(stack, "db", { target, replicas: 1, backup: false }))).parsed;
    expect(off.backupPlan).toBeUndefined();
    expect(Object.keys(containers(quiet)).sort()).toEqual([
      "haweb-db-primary",
      "haweb-db-primary-exporter",
      "haweb-db-replica-1",
      "haweb-db-replica-1-exporter",
    ]);
    expect(Object.values(quiet.resource.docker_volume).map((v) => v.name)).not.toContain("haweb-db-backups");
    const replica = containers(quiet)["haweb-db-replica-1"];
    expect(replica.upload.map((u) => u.file)).not.toContain(BACKUP_COMMANDS.backup);
    expect(uploaded(replica, PATHS.mysqlConfig)).toContain("binlog_expire_logs_seconds = 604800\n");
  });

  const attempt =
    (backup: MysqlClusterProps["backup"], extra: Partial<MysqlClusterProps> = {}) =>
    () =>
      synthDocker((stack, target) => new MysqlCluster(stack, "db", { target, replicas: 1, backup, ...extra }));
  test.each([
    [
      { retentionDays: 1, fullSchedule: "0 3 * * 0" },
      /MysqlCluster 'test\/db' has invalid props:\n- prop `backup\.retentionDays`: retentionDays \(1\) is shorter than the longest gap between full backups \(7 day\(s\)[^\n]*\. Fix: keep backups at least as long/,
    ],
    [
      { fullSchedule: "every night" },
      /prop `backup\.fullSchedule`: fullSchedule: cron schedule "every night" has 2 field\(s\)[^\n]*Fix: give a five-field cron expression in UTC/,
    ],
    [
      { incrementalSchedule: "0 3 * * 0" },
      /prop `backup\.incrementalSchedule`: incrementalSchedule "0 3 \* \* 0" runs less often[^\n]*Fix: run incrementals more often than full backups/,
    ],
    [{ retentionDays: 0 }, /prop `backup\.retentionDays`: retentionDays is 0; it must be a whole number of days from 1 to 3650/],
    [
      { sourceNode: "db-replica-9" },
      /prop `backup\.sourceNode` "db-replica-9" is not a node of this cluster \(db-primary, db-replica-1\)\. Fix: name one of them/,
    ],
  ])("bad backup props are refused at synth: %j", (backup, message) => {
    expect(attempt(backup)).toThrow(message);
  });

  test("MySQL refuses incrementals, naming the prop and the fix", () => {
    expect(attempt({ incrementalSchedule: "0 * * * *" }, { engine: "mysql" })).toThrow(
      /prop `backup\.incrementalSchedule`: incrementalSchedule is set, but the mysql engine backs up with mysqldump[^\n]*Fix: leave it unset on MySQL/,
    );
  });
});
