/**
 * ha-web-binlog-archiver (templates/scripts/database-binlog-archiver.ts):
 * rendering for both stores, where it is installed and started, and a real
 * MariaDB 10.11 primary whose binlogs it streams over TLS with the replication
 * certificate into a directory store (BackupPrimary's sandbox).
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, truncateSync } from "fs";
import { join } from "path";
import { BACKUP_COMMANDS } from "../../templates/mysql/backup-plan";
import { renderBackupFiles } from "../../templates/mysql/backup-files";
import { renderReplicaInitSql } from "../../templates/mysql/replication-sql";
import { PATHS } from "../../templates/paths";
import { renderPrimaryStartScript, renderReplicaStartScript } from "../../templates/scripts/database";
import { renderBinlogArchiverScript } from "../../templates/scripts/database-binlog-archiver";
import { renderRestoreScript } from "../../templates/scripts/database-restore";
import { BACKUP_TEST_PLAN, BackupPrimary, sleep } from "../helpers/backup-primary";
import { hasBinary, isRoot } from "../helpers/binaries";
import { outputOf, waitFor } from "../helpers/namespace-sandbox";
import { shellProblems } from "../helpers/shell-lint";

const PLAN = { ...BACKUP_TEST_PLAN, sourceNode: "db-2", writerHost: "db-writer" };

describe("renderBinlogArchiverScript", () => {
  const directory = renderBinlogArchiverScript(PLAN);
  const s3 = renderBinlogArchiverScript({ ...PLAN, store: { kind: "s3", bucket: "demo-backups", prefix: "demo/db", region: "eu-west-1" } });

  test.each([
    ["directory", directory],
    ["s3", s3],
  ])("%s store: valid POSIX sh and shellcheck-clean", (_, script) => {
    expect(shellProblems(script)).toBe("");
  });

  test("streams raw binlogs from the writer's name as the replication user, with its certificate and no password", () => {
    expect(directory).toContain("$BINLOG_TOOL --no-defaults --read-from-remote-server --raw --stop-never $CLIENT_ID_FLAG $TLS_FLAGS");
    expect(directory).toContain("BINLOG_TOOL=mariadb-binlog");
    expect(directory).toContain("WRITER='db-writer'");
    expect(directory).toContain("REPL_USER='repl'");
    expect(directory).toContain(
      "TLS_FLAGS='--ssl --ssl-ca=/run/mysqld/tls/server.pem --ssl-cert=/run/mysqld/tls/replication.pem --ssl-key=/run/mysqld/tls/replication.key'",
    );
    expect(directory).not.toMatch(/--password|MYSQL_PWD/);
    expect(s3).toContain("SPOOL=/run/ha-web/backup/binlog-spool");
    expect(s3).toContain('aws s3 cp --only-show-errors $AWS_REGION_ARG $SSE_ARGS "$f" "$STORE/binlogs/server-$STREAM_ID/$name"');
  });

  test("installed on the source node when the plan archives binlogs, and started there beside the scheduler", () => {
    expect(renderBackupFiles(PLAN, "db-2").map((f) => f.path)).toContain(BACKUP_COMMANDS.binlogArchiver);
    expect(renderBackupFiles({ ...PLAN, binlogArchive: false }, "db-2").map((f) => f.path)).not.toContain(BACKUP_COMMANDS.binlogArchiver);
    expect(renderBackupFiles(PLAN, "db-1").map((f) => f.path)).not.toContain(BACKUP_COMMANDS.binlogArchiver);
    const replica = (plan = PLAN, nodeName = "db-2") =>
      renderReplicaStartScript({ engine: "mariadb", primaryHost: "db-1", replicationUser: "repl", backup: { plan, nodeName } });
    expect(replica()).toContain(
      `${BACKUP_COMMANDS.scheduler} $$ &\n# Point-in-time recovery: the writer's binlogs, archived as they are written.\n${BACKUP_COMMANDS.binlogArchiver} $$ &`,
    );
    expect(replica({ ...PLAN, binlogArchive: false })).not.toContain(BACKUP_COMMANDS.binlogArchiver);
    expect(replica(PLAN, "db-3")).not.toContain(BACKUP_COMMANDS.binlogArchiver);
    const primary = renderPrimaryStartScript({
      engine: "mariadb",
      database: "app",
      appUser: "app",
      replicationUser: "repl",
      replicationCertificateName: "repl-cert",
      backup: { plan: { ...PLAN, sourceNode: "db-1" }, nodeName: "db-1" },
    });
    expect(primary).toContain(`${BACKUP_COMMANDS.binlogArchiver} $$ &`);
  });

  test("a plan with problems is refused", () => {
    expect(() => renderBinlogArchiverScript({ ...PLAN, writerHost: "bad host" })).toThrow(/writerHost "bad host" is not a host name/);
  });
});

const real = hasBinary("mariadbd") && hasBinary("mariadb-binlog") && hasBinary("nft") && hasBinary("unshare") && isRoot() ? describe : describe.skip;
/** The writer's name in the real-server tests: an address nftables maps to the current writer. */
const WRITER_NAME = "127.0.0.10";

real("ha-web-binlog-archiver against a real MariaDB 10.11 (TLS, replication certificate, directory store)", () => {
  let primary: BackupPrimary | undefined;
  let archiver: ChildProcess | undefined;
  let serverStandIn: ChildProcess | undefined;
  const env = { ARCHIVER_PROBE_SECONDS: "1", ARCHIVER_BACKOFF_MAX_SECONDS: "2" };
  const archiveDir = (serverId = 1) => join(primary!.dirs.store, "binlogs", `server-${serverId}`);
  const metricsFile = () => join(primary!.dirs.metrics, "ha_web_backup_binlog.prom");
  const metric = (name: string) =>
    existsSync(metricsFile())
      ? new RegExp(`^${name}\\{cluster="demo",kind="binlog"\\} (\\S+)$`, "m").exec(readFileSync(metricsFile(), "utf8"))?.[1]
      : undefined;
  const lastSuccess = () => Number(metric("ha_web_backup_last_success_timestamp_seconds") ?? 0);
  const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
  /**
   * The writer's open binlog carries LOG_EVENT_BINLOG_IN_USE_F (bit 0 of the flags byte at offset 21,
   * in its first event's header) on disk, which the server clears when it sends the file (and when it
   * closes it): compared without it.
   */
  const serverSha = (path: string) => {
    const bytes = readFileSync(path);
    if (bytes.length > 21) bytes[21] &= ~1;
    return createHash("sha256").update(bytes).digest("hex");
  };
  /** The writer's binlogs and the archive's copies, as name -> sha256. */
  const serverBinlogs = (socket?: string, dataDir = "data") =>
    Object.fromEntries(
      primary!
        .sql("SHOW BINARY LOGS", socket)
        .split("\n")
        .map((l) => l.split("\t")[0])
        .map((name) => [name, serverSha(join(primary!.dirs.volume, dataDir, name))]),
    );
  const archived = (serverId = 1) => Object.fromEntries(readdirSync(archiveDir(serverId)).map((name) => [name, sha(join(archiveDir(serverId), name))]));
  /** The writer's name: an address the sandbox's nftables sends to one server or the other (as a promotion moves the name). */
  const pointWriterAt = (address: string) => {
    const r = primary!.sandbox.exec(
      ["nft", "-f", "-"],
      [
        "table ip hwt_writer",
        "delete table ip hwt_writer",
        "table ip hwt_writer {",
        "  chain out {",
        "    type nat hook output priority -100; policy accept;",
        `    ip daddr ${WRITER_NAME} tcp dport 3306 dnat to ${address}:3306`,
        "  }",
        "}",
      ].join("\n"),
    );
    if (r.status !== 0) throw new Error(`nft: ${r.stderr}`);
  };
  const stopArchiver = async () => {
    if (archiver) await primary!.sandbox.stop(archiver);
    archiver = undefined;
  };

  afterAll(async () => {
    serverStandIn?.kill("SIGKILL");
    if (primary) await primary.cleanup();
  }, 90000);

  beforeAll(async () => {
    const plan = { ...BACKUP_TEST_PLAN, writerHost: WRITER_NAME };
    primary = new BackupPrimary("arch", plan);
    primary.files[BACKUP_COMMANDS.restore] = { content: renderRestoreScript(plan), executable: true };
    await primary.start();
    pointWriterAt("127.0.0.1");
    primary.sql("CREATE DATABASE appdb; CREATE TABLE appdb.t (id INT PRIMARY KEY) ENGINE=InnoDB; FLUSH BINARY LOGS;");
    for (let i = 1; i <= 20; i++) primary.sql(`INSERT INTO appdb.t VALUES (${i})`);
  }, 120000);

  test("archives every binlog byte for byte from the oldest; lastSuccess advances while it is current", async () => {
    archiver = primary!.startScript(BACKUP_COMMANDS.binlogArchiver, [], env);
    await waitFor(
      "the archive to hold the writer's binlogs",
      () => existsSync(archiveDir()) && JSON.stringify(archived()) === JSON.stringify(serverBinlogs()),
      60,
      500,
    ).catch((e) => {
      throw new Error(
        `${e.message}: ${JSON.stringify({ archived: existsSync(archiveDir()) ? archived() : "none", server: serverBinlogs() })}\n${outputOf(archiver!)}`,
      );
    });
    await waitFor("a first lastSuccess", () => existsSync(join(primary!.dirs.metrics, "ha_web_backup_binlog.prom")) && lastSuccess() > 0, 30, 500);
    const first = lastSuccess();
    for (let i = 21; i <= 30; i++) primary!.sql(`INSERT INTO appdb.t VALUES (${i})`);
    await waitFor("lastSuccess to advance", () => lastSuccess() > first, 30, 500);
    expect(metric("ha_web_backup_last_run_success")).toBe("1");
    await waitFor("the new rows to be archived", () => JSON.stringify(archived()) === JSON.stringify(serverBinlogs()), 30, 500);
    expect(outputOf(archiver!)).toContain("nothing of server 1 archived yet: starting from its oldest binlog, mysql-bin.000001");
  }, 120000);

  test("(c) stopped longer than a probe interval: lastSuccess stops advancing; a restart resumes without losing or duplicating a file", async () => {
    await stopArchiver();
    const frozen = lastSuccess();
    // While it is down: more rows, a new binlog file, and the last archived file cut short (as a kill mid-write leaves it).
    for (let i = 31; i <= 40; i++) primary!.sql(`INSERT INTO appdb.t VALUES (${i})`);
    primary!.sql("FLUSH BINARY LOGS");
    for (let i = 41; i <= 45; i++) primary!.sql(`INSERT INTO appdb.t VALUES (${i})`);
    const names = Object.keys(archived()).sort();
    truncateSync(join(archiveDir(), names[names.length - 1]), 300);
    await sleep(3500);
    expect(lastSuccess()).toBe(frozen);
    expect(Object.keys(archived())).not.toContain(Object.keys(serverBinlogs()).pop());

    archiver = primary!.startScript(BACKUP_COMMANDS.binlogArchiver, [], env);
    await waitFor("the archive to catch up", () => JSON.stringify(archived()) === JSON.stringify(serverBinlogs()), 60, 500);
    await waitFor("lastSuccess to advance again", () => lastSuccess() > frozen, 30, 500);
    expect(outputOf(archiver!)).toContain(`resuming server 1's archive at ${names[names.length - 1]} (fetched again whole)`);
    expect(Object.keys(archived()).sort()).toEqual(Object.keys(serverBinlogs()).sort());
    await stopArchiver();
  }, 120000);

  test("the writer unreachable: last_run_success 0 and lastSuccess kept, then it reconnects; it stops when the server's PID is gone", async () => {
    // A stand-in for the server's PID (the start script passes its own, which becomes the server's).
    serverStandIn = spawn("sleep", ["600"], { stdio: "ignore" });
    archiver = primary!.startScript(BACKUP_COMMANDS.binlogArchiver, [String(serverStandIn.pid)], env);
    await waitFor("the archiver to be current", () => metric("ha_web_backup_last_run_success") === "1", 30, 500);
    const before = lastSuccess();
    primary!.sql("DROP USER 'repl'@'%'");
    await waitFor("last_run_success 0", () => metric("ha_web_backup_last_run_success") === "0", 30, 500);
    // The session already streaming keeps going; new probes are refused: the archive is not known current.
    await sleep(2500);
    expect(lastSuccess()).toBeLessThanOrEqual(before + 1);
    primary!.sql(
      `CREATE USER 'repl'@'%' REQUIRE SUBJECT '/CN=test-replication' AND ISSUER '/CN=test-replication'; GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%';`,
    );
    primary!.sql("INSERT INTO appdb.t VALUES (46)");
    await waitFor("current again", () => metric("ha_web_backup_last_run_success") === "1" && lastSuccess() > before + 1, 40, 500);
    await waitFor("the archive to catch up", () => JSON.stringify(archived()) === JSON.stringify(serverBinlogs()), 30, 500);

    const exited = new Promise<number | null>((resolve) => archiver!.once("exit", (c) => resolve(c)));
    serverStandIn.kill("SIGKILL");
    const code = await Promise.race([exited, sleep(15000).then(() => "still running")]);
    expect(code).toBe(0);
    expect(outputOf(archiver!)).toContain(`the server (PID ${serverStandIn.pid}) is gone: stopping`);
    archiver = undefined;
  }, 120000);

  test("a promotion: the writer's name moves to another server; the archiver follows it into that server's folder, from its oldest binlog; a restore replays both archives", async () => {
    // A second server (server_id 2, on 127.0.0.2), replicating from the first by GTID with the certificate, logging its replicated updates.
    const install = spawnSync(
      "mariadb-install-db",
      ["--no-defaults", "--user=root", `--datadir=${join(primary!.dirs.volume, "data2")}`, "--skip-test-db", "--auth-root-authentication-method=socket"],
      { encoding: "utf8", timeout: 60000 },
    );
    expect(install.stderr).not.toMatch(/ERROR/);
    const second = primary!.sandbox.start("db2", {
      files: primary!.files,
      mounts: primary!.mounts(),
      command: [
        "mariadbd",
        `--defaults-file=${PATHS.mysqlConfig}`,
        "--user=root",
        "--server-id=2",
        `--datadir=${PATHS.mysqlVolume}/data2`,
        `--socket=${PATHS.mysqlRunDir}/db2.sock`,
        `--pid-file=${PATHS.mysqlRunDir}/db2.pid`,
        "--innodb-log-file-size=16M",
        "--bind-address=127.0.0.2",
      ],
      env: {},
    });
    const socket2 = join(primary!.dirs.run, "db2.sock");
    await waitFor("the second server", () => {
      if (second.exitCode !== null) throw new Error(`the second server exited: ${outputOf(second)}`);
      return spawnSync("mariadb", ["--no-defaults", `--socket=${socket2}`, "-uroot", "-e", "SELECT 1"]).status === 0;
    });
    primary!.sql(`${renderReplicaInitSql({ engine: "mariadb", primaryHost: "127.0.0.1", replicationUser: "repl" })}\nSTART SLAVE;`, socket2);
    const pos1 = primary!.sql("SELECT @@gtid_binlog_pos");
    await waitFor("the second server to catch up", () => primary!.sql("SELECT @@gtid_slave_pos", socket2) === pos1, 60, 500);

    // A full backup of the first writer, then rows after it that both servers' binlogs hold (the overlap a restore skips).
    expect((await primary!.runScript(BACKUP_COMMANDS.backup, ["full"])).code).toBe(0);
    for (let i = 501; i <= 510; i++) primary!.sql(`INSERT INTO appdb.t VALUES (${i})`);
    const started = Math.floor(Date.now() / 1000);
    archiver = primary!.startScript(BACKUP_COMMANDS.binlogArchiver, [], env);
    await waitFor("the archiver to be current on server 1", () => metric("ha_web_backup_last_run_success") === "1" && lastSuccess() > started, 30, 500);
    expect(outputOf(archiver!)).toMatch(/resuming server 1's archive|nothing of server 1 archived yet/);
    // The promotion: replication stopped, the name moved, writes on the new writer.
    primary!.sql("STOP SLAVE", socket2);
    pointWriterAt("127.0.0.2");
    const promoted = Math.floor(Date.now() / 1000);
    for (let i = 1001; i <= 1010; i++) primary!.sql(`INSERT INTO appdb.t VALUES (${i})`, socket2);
    await waitFor(
      "the archive of server 2 to hold its binlogs",
      () => existsSync(archiveDir(2)) && JSON.stringify(archived(2)) === JSON.stringify(serverBinlogs(socket2, "data2")),
      60,
      500,
    );
    await waitFor("current again, on the new writer", () => metric("ha_web_backup_last_run_success") === "1" && lastSuccess() > promoted, 30, 500);
    expect(outputOf(archiver!)).toContain("127.0.0.10 is now server 2 (was 1): following the new writer");
    expect(outputOf(archiver!)).toContain("nothing of server 2 archived yet: starting from its oldest binlog, mysql-bin.000001");
    // The old writer's archive is still whole beside it (from the file the backup needs on: the backup's retention
    // removed the files written entirely before it).
    const old = serverBinlogs();
    const kept = archived(1);
    expect(Object.keys(kept)).toContain(Object.keys(old).pop());
    for (const [name, sum] of Object.entries(kept)) expect({ name, sum }).toEqual({ name, sum: old[name] });
    await stopArchiver();

    // A restore across the promotion: the backup, then both writers' archives (the overlap skipped by GTID).
    const run = await primary!.runScript(BACKUP_COMMANDS.restore, ["--latest", "--datadir", `${BackupPrimary.RESTORE_MOUNT}/across`], 240000);
    expect({ code: run.code, last: run.output.trim().split("\n").pop() }).toEqual({
      code: 0,
      last: expect.stringContaining(`GTID position ${primary!.sql("SELECT @@gtid_binlog_pos", socket2)};`),
    });
    const sockDir = join(primary!.dirs.restore, "across-sock");
    mkdirSync(sockDir);
    chmodSync(sockDir, 0o777);
    const restored = primary!.sandbox.start("across", {
      files: primary!.files,
      mounts: primary!.mounts(),
      command: [
        "mariadbd",
        `--defaults-file=${PATHS.mysqlConfig}`,
        `--datadir=${BackupPrimary.RESTORE_MOUNT}/across`,
        `--socket=${BackupPrimary.RESTORE_MOUNT}/across-sock/mysqld.sock`,
        `--pid-file=${BackupPrimary.RESTORE_MOUNT}/across-sock/mysqld.pid`,
        "--skip-networking",
        "--skip-ssl",
        "--user=mysql",
      ],
      env: {},
    });
    const socket3 = join(sockDir, "mysqld.sock");
    await waitFor("the restored server", () => {
      if (restored.exitCode !== null) throw new Error(`the restored server exited: ${outputOf(restored)}`);
      return spawnSync("mariadb", ["--no-defaults", `--socket=${socket3}`, "-uroot", "-e", "SELECT 1"]).status === 0;
    });
    const ids = (socket?: string) => primary!.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM appdb.t", socket);
    expect(ids(socket3)).toBe(ids(socket2));
    expect(ids(socket3)).toMatch(/,510,1001,.*,1010$/);
  }, 180000);
});
