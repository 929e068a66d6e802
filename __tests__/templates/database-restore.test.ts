/**
 * ha-web-restore (templates/scripts/database-restore.ts): rendering, where it
 * is installed, and a real point-in-time recovery of a MariaDB 10.11 primary
 * (BackupPrimary's sandbox): full and incremental backups with ha-web-backup,
 * the binlogs archived by ha-web-binlog-archiver, a DROP TABLE, and a restore
 * to a time before it into a fresh data directory, checked row by row against
 * the writing client's own log. Then the refusals: a corrupt backup, a data
 * directory in use or not empty, targets outside what the store covers.
 */
import { ChildProcess, spawnSync } from "child_process";
import { createHash } from "crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "fs";
import { join } from "path";
import { BACKUP_COMMANDS } from "../../templates/mysql/backup-plan";
import { renderBackupFiles } from "../../templates/mysql/backup-files";
import { PATHS } from "../../templates/paths";
import { DATADIR_MARKER } from "../../templates/scripts/database";
import { RESTORE_EXIT, renderRestoreScript } from "../../templates/scripts/database-restore";
import { BACKUP_TEST_PLAN, BackupPrimary, sleep } from "../helpers/backup-primary";
import { hasBinary, isRoot } from "../helpers/binaries";
import { outputOf, waitFor } from "../helpers/namespace-sandbox";
import { shellProblems } from "../helpers/shell-lint";

const PLAN = { ...BACKUP_TEST_PLAN, sourceNode: "db-2", writerHost: "db-writer" };

describe("renderRestoreScript", () => {
  const directory = renderRestoreScript(PLAN);
  const s3 = renderRestoreScript({ ...PLAN, store: { kind: "s3", bucket: "demo-backups", prefix: "demo/db", region: "eu-west-1" } });

  test.each([
    ["directory", directory],
    ["s3", s3],
  ])("%s store: valid POSIX sh and shellcheck-clean", (_, script) => {
    expect(shellProblems(script)).toBe("");
  });

  test("every database node of a mariadb plan gets it; a mysql plan (mysqldump backups) gets none", () => {
    for (const node of ["db-1", "db-2", "db-3"]) expect(renderBackupFiles(PLAN, node).map((f) => f.path)).toContain(BACKUP_COMMANDS.restore);
    const mysql = { ...PLAN, engine: "mysql" as const, incrementalSchedule: undefined };
    expect(renderBackupFiles(mysql, "db-2").map((f) => f.path)).not.toContain(BACKUP_COMMANDS.restore);
    expect(() => renderRestoreScript(mysql)).toThrow(/engine "mysql" backs up with mysqldump/);
  });

  test("prepares, copies back and replays with the tools the reference names; default datadir is the node's", () => {
    expect(directory).toContain('mariadb-backup --prepare --target-dir="$WORK/b0" --incremental-dir="$WORK/b$i"');
    expect(directory).toContain('mariadb-backup --defaults-file="$CONF" --copy-back --target-dir="$WORK/b0" --datadir="$DATADIR"');
    expect(directory).toContain('STOP="--stop-datetime=$TARGET"');
    expect(directory).toContain('--skip-networking --socket="$SOCK"');
    expect(directory).toContain(`DEFAULT_DATADIR=${PATHS.mysqlDataDir}`);
  });
});

const real =
  hasBinary("mariadbd") && hasBinary("mariadb-backup") && hasBinary("mariadb-binlog") && hasBinary("mbstream") && hasBinary("unshare") && isRoot()
    ? describe
    : describe.skip;

real("ha-web-restore against a real MariaDB 10.11 (point-in-time recovery from a directory store)", () => {
  let primary: BackupPrimary | undefined;
  let archiver: ChildProcess | undefined;
  /** The writing client's own log: the ids whose INSERT returned (each committed on its own). */
  const committed: number[] = [];
  let next = 1;
  const write = (count: number) => {
    for (let i = 0; i < count; i++, next++) {
      primary!.sql(`INSERT INTO appdb.t (id, v) VALUES (${next}, 'row ${next}')`);
      committed.push(next);
    }
  };
  const digest = (ids: number[]) => createHash("sha256").update(ids.join(",")).digest("hex");
  const utc = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().replace("T", " ").slice(0, 19);
  const restoreDir = (name: string) => `${BackupPrimary.RESTORE_MOUNT}/${name}`;
  const restore = (args: string[]) => primary!.runScript(BACKUP_COMMANDS.restore, args, 240000);
  const binlogMetric = (name: string) =>
    new RegExp(`^${name}\\{cluster="demo",kind="binlog"\\} (\\S+)$`, "m").exec(
      readFileSync(join(primary!.dirs.metrics, "ha_web_backup_binlog.prom"), "utf8"),
    )?.[1];
  const backups = () => readdirSync(join(primary!.dirs.store, "backups")).sort();
  const servers: Record<string, ChildProcess> = {};
  /** Starts a server on a restored data directory (no listener; its socket in a host directory the test reads). */
  const startRestored = async (name: string, extra: string[] = ["--user=mysql", "--skip-ssl"]) => {
    const sockDir = join(primary!.dirs.restore, `${name}-sock`);
    mkdirSync(sockDir);
    chmodSync(sockDir, 0o777);
    const child = primary!.sandbox.start(`server-${name}`, {
      files: primary!.files,
      mounts: primary!.mounts(),
      command: [
        "mariadbd",
        `--defaults-file=${PATHS.mysqlConfig}`,
        `--datadir=${restoreDir(name)}`,
        `--socket=${restoreDir(`${name}-sock`)}/mysqld.sock`,
        `--pid-file=${restoreDir(`${name}-sock`)}/mysqld.pid`,
        "--skip-networking",
        ...extra,
      ],
      env: {},
    });
    servers[name] = child;
    const socket = join(sockDir, "mysqld.sock");
    await waitFor(`the server on ${name}`, () => {
      if (child.exitCode !== null) throw new Error(`the server on ${name} exited: ${outputOf(child)}`);
      return spawnSync("mariadb", ["--no-defaults", `--socket=${socket}`, "-uroot", "-e", "SELECT 1"]).status === 0;
    });
    return socket;
  };
  const idsAt = (socket: string, table = "appdb.t") =>
    primary!
      .sql(`SELECT id FROM ${table} ORDER BY id`, socket)
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  let before: number[] = [];
  let T = "";
  let gtidAtT = "";
  let firstBackupEnd = 0;

  // Stops every process the sandbox started (server, archiver, restored server) by its PID.
  afterAll(async () => {
    if (primary) await primary.cleanup();
  }, 90000);

  beforeAll(async () => {
    primary = new BackupPrimary("rst", BACKUP_TEST_PLAN);
    primary.files[BACKUP_COMMANDS.restore] = { content: renderRestoreScript(BACKUP_TEST_PLAN), executable: true };
    await primary.start();
    primary.sql("CREATE DATABASE appdb; CREATE TABLE appdb.t (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB;");
    archiver = primary.startScript(BACKUP_COMMANDS.binlogArchiver, [], { ARCHIVER_PROBE_SECONDS: "1" });
  }, 120000);

  test("(a) PITR: full, incremental, rows before and after T, DROP TABLE; restore --to T gives exactly the rows committed before T", async () => {
    write(30);
    const full = await primary!.runScript(BACKUP_COMMANDS.backup, ["full"]);
    expect(full.code).toBe(0);
    firstBackupEnd = Number(/end_epoch=(\d+)/.exec(readFileSync(join(primary!.dirs.store, "backups", backups()[0], "manifest"), "utf8"))![1]);
    write(30);
    await sleep(1100); // backup ids are per second
    const incremental = await primary!.runScript(BACKUP_COMMANDS.backup, ["incremental"]);
    expect(incremental.code).toBe(0);
    write(30);
    // T: a whole second at least 1.1 s after the last commit before it, and 1.1 s before the first after it (binlog times are whole seconds).
    await sleep(1100);
    const tSeconds = Math.ceil(Date.now() / 1000);
    T = utc(tSeconds);
    gtidAtT = primary!.sql("SELECT @@gtid_binlog_pos");
    before = [...committed];
    while (Date.now() < tSeconds * 1000 + 1100) await sleep(100);
    write(30);
    primary!.sql("DROP TABLE appdb.t");
    const dropped = Math.floor(Date.now() / 1000);
    await waitFor(
      "the archiver to have the DROP",
      () => binlogMetric("ha_web_backup_last_run_success") === "1" && Number(binlogMetric("ha_web_backup_last_success_timestamp_seconds")) > dropped,
      60,
      500,
    );

    expect(archiver!.exitCode).toBeNull(); // archiving all along
    const run = await restore(["--to", T, "--datadir", restoreDir("data")]);
    expect({ code: run.code, output: run.output }).toEqual({ code: 0, output: expect.stringContaining(`GTID position ${gtidAtT};`) });
    console.log(
      `ha-web-restore --to "${T}" (1 full + 1 incremental, ${before.length} rows): ${run.ms} ms wall clock; it said: ${run.output.trim().split("\n").pop()}`,
    );
    const dataDir = join(primary!.dirs.restore, "data");
    expect(existsSync(join(dataDir, DATADIR_MARKER))).toBe(true);
    expect(spawnSync("stat", ["-c", "%U", dataDir], { encoding: "utf8" }).stdout.trim()).toBe("mysql");

    // The restored directory runs as a server; its rows are exactly the client's rows before T.
    const socket = await startRestored("data");
    const ids = idsAt(socket);
    expect(ids.length).toBe(before.length);
    expect(digest(ids)).toBe(digest(before));
    expect(ids[ids.length - 1]).toBe(90);
    expect(primary!.sql("SELECT @@gtid_slave_pos", socket)).toBe(gtidAtT);
  }, 300000);

  test("refuses a data directory a running server uses, or one that is not empty; nothing is touched", async () => {
    const inUse = await restore(["--latest", "--datadir", restoreDir("data")]);
    expect(inUse.code).toBe(RESTORE_EXIT.datadirInUse);
    expect(inUse.output).toMatch(/REFUSED: a running server \(PID \d+\) uses \/var\/lib\/mysql-restore\/data/);
    await primary!.sandbox.stop(servers.data);
    const notEmpty = await restore(["--latest", "--datadir", restoreDir("data")]);
    expect(notEmpty.code).toBe(RESTORE_EXIT.datadirInUse);
    expect(notEmpty.output).toContain("REFUSED: /var/lib/mysql-restore/data is not empty");
    expect(existsSync(join(primary!.dirs.restore, "data", DATADIR_MARKER))).toBe(true);
  }, 120000);

  test("targets outside the store: before the oldest backup, after the newest archived event, a bad time", async () => {
    const early = await restore(["--to", utc(firstBackupEnd - 5), "--datadir", restoreDir("early")]);
    expect(early.code).toBe(RESTORE_EXIT.notCovered);
    expect(early.output).toMatch(/NOT COVERED: the target \(time .*\) is before the oldest full backup \(\d{8}T\d{6}Z-full/);
    const late = await restore(["--to", utc(Math.floor(Date.now() / 1000) + 3600), "--datadir", restoreDir("late")]);
    expect(late.code).toBe(RESTORE_EXIT.notCovered);
    expect(late.output).toContain("is after the newest archived binlog event");
    const bad = await restore(["--to", "yesterday", "--datadir", restoreDir("bad")]);
    expect(bad.code).toBe(RESTORE_EXIT.usage);
    for (const d of ["early", "late", "bad"]) expect(existsSync(join(primary!.dirs.restore, d))).toBe(false);
  }, 120000);

  test("(b) one corrupt byte in a backup file: refused, naming the backup and the file, before anything is written", async () => {
    const incrementalId = backups().find((id) => id.endsWith("-incremental"))!;
    const file = join(primary!.dirs.store, "backups", incrementalId, "backup.xbstream.gz");
    const original = readFileSync(file);
    const corrupt = Buffer.from(original);
    corrupt[Math.floor(corrupt.length / 2)] ^= 0x01;
    writeFileSync(file, corrupt);
    try {
      const run = await restore(["--latest", "--datadir", restoreDir("corrupt")]);
      expect(run.code).toBe(RESTORE_EXIT.corrupt);
      expect(run.output).toContain(`CORRUPT BACKUP: backup ${incrementalId}, file backup.xbstream.gz`);
      expect(existsSync(join(primary!.dirs.restore, "corrupt"))).toBe(false);
    } finally {
      writeFileSync(file, original);
    }
  }, 120000);

  test("--gtid: restoring to the GTID the primary had at T gives the same rows", async () => {
    const run = await restore(["--gtid", gtidAtT, "--datadir", restoreDir("by-gtid")]);
    expect({ code: run.code, last: run.output.trim().split("\n").pop() }).toEqual({ code: 0, last: expect.stringContaining(`GTID position ${gtidAtT};`) });
    const socket = await startRestored("by-gtid");
    expect(digest(idsAt(socket))).toBe(digest(before));
    await primary!.sandbox.stop(servers["by-gtid"]);
    const beyond = await restore(["--gtid", "0-1-99999", "--datadir", restoreDir("beyond")]);
    expect(beyond.code).toBe(RESTORE_EXIT.notCovered);
    expect(beyond.output).toContain("NOT COVERED: the archive ends at GTID");
    expect(readdirSync(primary!.dirs.restore)).not.toContain("beyond");
  }, 180000);

  test("(d) --seed-replica: the newest backup, attached by GTID after the primary purged its older binlogs; it catches up and matches", async () => {
    primary!.sql("CREATE TABLE appdb.t2 (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB");
    for (let i = 1; i <= 20; i++) primary!.sql(`INSERT INTO appdb.t2 VALUES (${i}, 'seed ${i}')`);
    await sleep(1100); // backup ids are per second
    const full = await primary!.runScript(BACKUP_COMMANDS.backup, ["full"]);
    expect(full.code).toBe(0);
    // Every binlog the backup holds is gone from the primary: the replica can only start at the backup's GTID.
    primary!.sql("FLUSH BINARY LOGS");
    const current = primary!.sql("SHOW MASTER STATUS").split("\t")[0];
    primary!.sql(`PURGE BINARY LOGS TO '${current}'`);
    expect(primary!.sql("SHOW BINARY LOGS").split("\n")).toHaveLength(1);
    for (let i = 21; i <= 40; i++) primary!.sql(`INSERT INTO appdb.t2 VALUES (${i}, 'seed ${i}')`);

    const run = await restore(["--seed-replica", "--datadir", restoreDir("seed")]);
    expect({ code: run.code, last: run.output.trim().split("\n").pop() }).toEqual({
      code: 0,
      last: expect.stringContaining("seeded a replica into /var/lib/mysql-restore/seed"),
    });
    // Its own server_id; as root, like the test's primary, to read the sandbox's TLS files (mode 0600, root's).
    const socket = await startRestored("seed", ["--user=root", "--server-id=2"]);
    for (let i = 41; i <= 50; i++) primary!.sql(`INSERT INTO appdb.t2 VALUES (${i}, 'seed ${i}')`);
    const target = primary!.sql("SELECT @@gtid_binlog_pos");
    await waitFor("the seeded replica to catch up", () => primary!.sql("SELECT @@gtid_slave_pos", socket) === target, 60, 500).catch((e) => {
      throw new Error(`${e.message}: ${primary!.sql("SHOW SLAVE STATUS\\G", socket)}`);
    });
    expect(idsAt(socket, "appdb.t2")).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(primary!.sql("CHECKSUM TABLE appdb.t2", socket)).toBe(primary!.sql("CHECKSUM TABLE appdb.t2"));
    const status = spawnSync("mariadb", ["--no-defaults", `--socket=${socket}`, "-uroot", "-e", "SHOW SLAVE STATUS\\G"], { encoding: "utf8" }).stdout;
    expect(status).toMatch(/^\s*Slave_IO_Running: Yes$/m);
    expect(status).toMatch(/^\s*Using_Gtid: Slave_Pos$/m);
    expect(status).toMatch(/^\s*Master_SSL_Allowed: Yes$/m);
  }, 240000);

  test("a gap in the binlog archive (a file with changes after the backup missing): refused, and the data directory emptied again", async () => {
    // A file with changes after the newest backup, then a newer one: without the first, the second starts past where the backup ends.
    for (let i = 51; i <= 55; i++) primary!.sql(`INSERT INTO appdb.t2 VALUES (${i}, 'gap ${i}')`);
    const missing = primary!.sql("SHOW MASTER STATUS").split("\t")[0];
    primary!.sql("FLUSH BINARY LOGS");
    for (let i = 56; i <= 60; i++) primary!.sql(`INSERT INTO appdb.t2 VALUES (${i}, 'gap ${i}')`);
    const now = Math.floor(Date.now() / 1000);
    await waitFor("the archiver to have it", () => Number(binlogMetric("ha_web_backup_last_success_timestamp_seconds")) > now, 60, 500);
    const dir = join(primary!.dirs.store, "binlogs", "server-1");
    const newest = readdirSync(dir).sort().pop();
    renameSync(join(dir, missing), join(primary!.dirs.store, missing));
    try {
      const run = await restore(["--latest", "--datadir", restoreDir("gap")]);
      expect(run.code).toBe(RESTORE_EXIT.notCovered);
      expect(run.output).toContain(`NOT COVERED: the binlog archive has a gap: server-1/${newest} starts at GTID state`);
      expect(run.output).toContain("emptying /var/lib/mysql-restore/gap again");
      expect(existsSync(join(primary!.dirs.restore, "gap"))).toBe(false);
    } finally {
      renameSync(join(primary!.dirs.store, missing), join(dir, missing));
    }
  }, 180000);
});
