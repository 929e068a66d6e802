import { TEST_BACKUP_PLAN } from "../helpers/backup-plan";
/**
 * ha-web-backup (templates/scripts/database-backup.ts): rendering for both
 * engines and stores, and real full + incremental backups of a MariaDB 10.11
 * server with mariadb-backup into a directory store, in a NamespaceSandbox
 * (the script sees the real paths: socket, option file, store, metrics).
 */
import { ChildProcess, spawnSync } from "child_process";
import { createHash } from "crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { basename, join } from "path";
import { BackupPlan } from "../../templates/mysql/backup-plan";
import { binlogExpireSeconds } from "../../templates/mysql/backup-schedule";
import { renderMyCnf } from "../../templates/mysql/my-cnf";
import { PATHS } from "../../templates/paths";
import { renderBackupScript } from "../../templates/scripts/database-backup";
import { hasBinary, isRoot } from "../helpers/binaries";
import { makeMysqlTlsFiles } from "../helpers/mysql-tls";
import { NamespaceSandbox, outputOf, waitFor } from "../helpers/namespace-sandbox";
import { shellProblems } from "../helpers/shell-lint";

const PLAN: BackupPlan = { ...TEST_BACKUP_PLAN };

describe("renderBackupScript", () => {
  const mariadb = renderBackupScript(PLAN);
  const mysqlS3 = renderBackupScript({
    ...PLAN,
    engine: "mysql",
    incrementalSchedule: undefined,
    store: { kind: "s3", bucket: "demo-backups", prefix: "demo/db", region: "eu-west-1", kmsKeyId: "alias/backups" },
  });

  test.each([
    ["mariadb, directory", mariadb],
    ["mysql, s3", mysqlS3],
  ])("%s: valid POSIX sh and shellcheck-clean", (_, script) => {
    expect(shellProblems(script)).toBe("");
  });

  test("MariaDB: mariadb-backup streams xbstream over the local socket as root, no password anywhere", () => {
    expect(mariadb).toContain('mariadb-backup --defaults-file="$CONF" --backup --stream=xbstream --user=root --socket="$SOCKET"');
    expect(mariadb).toContain('base_args="--incremental-basedir=$WORK/base"');
    expect(mariadb).toContain("STORE='/var/backups/ha-web'");
    expect(mariadb).not.toMatch(/--password|MYSQL_PWD/);
  });

  test("MySQL: full logical backups with mysqldump (no incrementals); S3 with SSE-KMS", () => {
    expect(mysqlS3).toContain('mysqldump --defaults-file="$CONF" --user=root --socket="$SOCKET" --single-transaction --source-data=2 --set-gtid-purged=ON');
    expect(mysqlS3).not.toContain("mariadb-backup");
    expect(mysqlS3).toContain("usage: ha-web-backup full");
    expect(mysqlS3).toContain("STORE='s3://demo-backups/demo/db'");
    expect(mysqlS3).toContain("SSE_ARGS='--sse aws:kms --sse-kms-key-id alias/backups'");
    expect(mysqlS3).toContain('aws s3 cp --only-show-errors $AWS_REGION_ARG $SSE_ARGS - "$STORE/$1"');
  });

  test("the writer keeps its binlogs as long as the plan needs (binlog_expire_logs_seconds), 7 days without a plan", () => {
    const cnf = renderMyCnf({ engine: "mariadb", version: "10.11", role: "primary", serverId: 1, binlogExpireSeconds: binlogExpireSeconds(PLAN) });
    expect(cnf).toContain("binlog_expire_logs_seconds = 172800\n");
    expect(renderMyCnf({ engine: "mariadb", version: "10.11", role: "primary", serverId: 1 })).toContain("binlog_expire_logs_seconds = 604800\n");
    expect(() => renderMyCnf({ engine: "mariadb", version: "10.11", role: "primary", serverId: 1, binlogExpireSeconds: 0 })).toThrow(
      /binlogExpireSeconds is 0/,
    );
  });

  test("a plan with problems is refused", () => {
    expect(() => renderBackupScript({ ...PLAN, retentionDays: 0 })).toThrow(/retentionDays is 0/);
  });
});

const real = hasBinary("mariadbd") && hasBinary("mariadb-backup") && hasBinary("unshare") && isRoot() ? describe : describe.skip;

real("ha-web-backup against a real MariaDB 10.11 (mariadb-backup, directory store)", () => {
  let sandbox: NamespaceSandbox;
  let server: ChildProcess | undefined;
  const scriptPath = `${PATHS.binDir}/ha-web-backup`;
  const dirs = { volume: "", run: "", store: "", metrics: "" };
  let files: Record<string, { content: string; executable?: boolean }> = {};
  const mounts = () => ({
    [PATHS.mysqlVolume]: dirs.volume,
    [PATHS.mysqlRunDir]: dirs.run,
    [(PLAN.store as { path: string }).path]: dirs.store,
    [PLAN.metricsDir]: dirs.metrics,
  });
  const sql = (statement: string) => {
    const r = spawnSync("mariadb", ["--no-defaults", `--socket=${join(dirs.run, "mysqld.sock")}`, "-uroot", "-N", "-B", "-e", statement], {
      encoding: "utf8",
      timeout: 15000,
    });
    if (r.status !== 0) throw new Error(`${statement}: ${r.stderr}`);
    return r.stdout.trim();
  };
  let runs = 0;
  const backup = async (kind: string) => {
    const child = sandbox.start(`backup-${++runs}`, { files, mounts: mounts(), command: ["/bin/sh", scriptPath, kind], env: {} });
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    return { code, output: outputOf(child) };
  };
  const backups = () => readdirSync(join(dirs.store, "backups")).sort();
  const manifest = (id: string) =>
    Object.fromEntries(
      readFileSync(join(dirs.store, "backups", id, "manifest"), "utf8")
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
  const metric = (kind: string, name: string) =>
    new RegExp(`^${name}\\{cluster="demo",kind="${kind}"\\} (\\S+)$`, "m").exec(readFileSync(join(dirs.metrics, `ha_web_backup_${kind}.prom`), "utf8"))?.[1];

  afterAll(async () => {
    if (sandbox) await sandbox.cleanup();
  }, 90000);

  beforeAll(async () => {
    sandbox = new NamespaceSandbox("bk");
    for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) {
      dirs[k] = join(sandbox.root, "host", k);
      mkdirSync(dirs[k], { recursive: true });
    }
    mkdirSync(join(dirs.run, "tls"));
    for (const [path, file] of Object.entries(makeMysqlTlsFiles())) writeFileSync(join(dirs.run, "tls", basename(path)), file.content, { mode: 0o600 });
    const install = spawnSync(
      "mariadb-install-db",
      ["--no-defaults", "--user=root", `--datadir=${join(dirs.volume, "data")}`, "--skip-test-db", "--auth-root-authentication-method=socket"],
      { encoding: "utf8", timeout: 60000 },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db: ${install.stderr}`);
    const cnf = renderMyCnf({ engine: "mariadb", version: "10.11", role: "primary", serverId: 1, innodbBufferPoolSize: "32M" });
    files = { [PATHS.mysqlConfig]: { content: cnf }, [scriptPath]: { content: renderBackupScript(PLAN), executable: true } };
    server = sandbox.start("db", {
      files,
      mounts: mounts(),
      command: ["mariadbd", `--defaults-file=${PATHS.mysqlConfig}`, "--user=root", "--innodb-log-file-size=16M", "--skip-networking"],
      env: {},
    });
    await waitFor("the server to serve", () => {
      if (server?.exitCode !== null) throw new Error(`mariadbd exited: ${outputOf(server!)}`);
      return spawnSync("mariadb", ["--no-defaults", `--socket=${join(dirs.run, "mysqld.sock")}`, "-uroot", "-e", "SELECT 1"]).status === 0;
    });
    sql("CREATE DATABASE appdb; CREATE TABLE appdb.t (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB;");
    for (let i = 1; i <= 50; i++) sql(`INSERT INTO appdb.t VALUES (${i}, 'row ${i}')`);
  }, 120000);

  test("an incremental on an empty store takes a full backup, then an incremental: complete backups with manifests whose sha256 and size match; metrics written", async () => {
    const full = await backup("incremental");
    expect({ code: full.code, output: full.output }).toEqual({ code: 0, output: expect.stringContaining("taking a full backup instead of an incremental") });
    const [fullId] = backups();
    expect(fullId).toMatch(/^\d{8}T\d{6}Z-full$/);
    const fm = manifest(fullId);
    expect(fm).toMatchObject({ id: fullId, kind: "full", engine: "mariadb", cluster: "demo", base: "", full: fullId, file: "backup.xbstream.gz" });
    expect(fm.gtid).toBe(sql("SELECT @@gtid_binlog_pos"));
    const stream = readFileSync(join(dirs.store, "backups", fullId, "backup.xbstream.gz"));
    expect(fm.sha256).toBe(createHash("sha256").update(stream).digest("hex"));
    expect(Number(fm.size)).toBe(stream.length);
    expect(Number(fm.end_epoch)).toBeGreaterThanOrEqual(Number(fm.start_epoch));
    expect(existsSync(join(dirs.store, "backups", fullId, "checkpoints"))).toBe(true);
    // The stream is a real mariadb-backup stream: gzip and mbstream read it.
    const extracted = join(sandbox.root, "extracted");
    mkdirSync(extracted);
    const x = spawnSync("sh", ["-c", 'gzip -dc "$1" | mbstream -x -C "$2"', "sh", join(dirs.store, "backups", fullId, "backup.xbstream.gz"), extracted], {
      encoding: "utf8",
    });
    expect(x.stderr).toBe("");
    expect(readdirSync(extracted)).toEqual(expect.arrayContaining(["ibdata1", "appdb", "xtrabackup_checkpoints"]));
    expect(metric("full", "ha_web_backup_last_run_success")).toBe("1");
    expect(metric("full", "ha_web_backup_last_success_timestamp_seconds")).toBe(fm.end_epoch);
    expect(metric("full", "ha_web_backup_last_size_bytes")).toBe(fm.size);

    for (let i = 51; i <= 60; i++) sql(`INSERT INTO appdb.t VALUES (${i}, 'row ${i}')`);
    await new Promise((r) => setTimeout(r, 1100)); // ids are per second
    const incr = await backup("incremental");
    expect(incr.code).toBe(0);
    const incrId = backups().find((id) => id.endsWith("-incremental"))!;
    const im = manifest(incrId);
    expect(im).toMatchObject({ kind: "incremental", base: fullId, full: fullId });
    expect(im.gtid).toBe(sql("SELECT @@gtid_binlog_pos"));
    expect(Number(im.size)).toBeLessThan(Number(fm.size));
    expect(metric("incremental", "ha_web_backup_last_run_success")).toBe("1");
    // Nothing half-written is left beside them.
    expect(backups()).toEqual([fullId, incrId]);
  }, 180000);

  test("a failed run exits non-zero, says so loudly, leaves no backup, and sets last_run_success 0 (keeping the last success)", async () => {
    const before = backups();
    const lastSuccess = metric("full", "ha_web_backup_last_success_timestamp_seconds");
    await sandbox.stop(server!);
    await new Promise((r) => setTimeout(r, 1100));
    const failed = await backup("full");
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain("BACKUP FAILED");
    expect(backups()).toEqual(before);
    expect(metric("full", "ha_web_backup_last_run_success")).toBe("0");
    expect(metric("full", "ha_web_backup_last_success_timestamp_seconds")).toBe(lastSuccess);
    expect(Number(metric("full", "ha_web_backup_last_run_timestamp_seconds"))).toBeGreaterThan(Number(lastSuccess));
    expect(readdirSync(dirs.metrics).sort()).toEqual(["ha_web_backup_full.prom", "ha_web_backup_incremental.prom"]);
  }, 120000);
});
