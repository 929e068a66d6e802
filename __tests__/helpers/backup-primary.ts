import { ChildProcess, spawnSync } from "child_process";
import { mkdirSync, writeFileSync } from "fs";
import { basename, join } from "path";
import { BACKUP_COMMANDS, BackupPlan } from "../../templates/mysql/backup-plan";
import { renderMyCnf } from "../../templates/mysql/my-cnf";
import { replicationUserRequirement } from "../../templates/mysql/replication-tls";
import { PATHS } from "../../templates/paths";
import { renderBackupScript } from "../../templates/scripts/database-backup";
import { renderBinlogArchiverScript } from "../../templates/scripts/database-binlog-archiver";
import { TEST_BACKUP_PLAN } from "./backup-plan";
import { TEST_REPLICATION_CERTIFICATE_NAME, makeMysqlTlsFiles } from "./mysql-tls";
import { NamespaceSandbox, outputOf, waitFor } from "./namespace-sandbox";

/**
 * A MariaDB 10.11 primary for the backup, archiver and restore tests, in a
 * NamespaceSandbox so the scripts see the real paths (option file, socket,
 * TLS files, store, metrics): the server listens on 127.0.0.1:3306 inside the
 * sandbox's own network namespace, with the replication user requiring the
 * test's client certificate (as the start scripts create it). The plan's
 * writer is 127.0.0.1, so the archiver reads from this server over TCP + TLS.
 */
export const BACKUP_TEST_PLAN: BackupPlan = {
  ...TEST_BACKUP_PLAN,
  sourceNode: "db-1",
  writerHost: "127.0.0.1",
  writerPort: 3306,
  replicationUser: "repl",
};

export interface ScriptRun {
  code: number | null;
  output: string;
  ms: number;
}

export class BackupPrimary {
  readonly sandbox: NamespaceSandbox;
  server: ChildProcess | undefined;
  readonly dirs = { volume: "", run: "", store: "", metrics: "", restore: "" };
  /** Every script and config, at its real path (the restore script is added by its test). */
  readonly files: Record<string, { content: string; executable?: boolean }>;
  private runs = 0;

  /** Creates the sandbox only: call start() after registering cleanup(). */
  constructor(
    label: string,
    readonly plan: BackupPlan = BACKUP_TEST_PLAN,
  ) {
    // Rendered first: a render that throws leaves no sandbox behind.
    const cnf = renderMyCnf({ engine: "mariadb", version: "10.11", role: "primary", serverId: 1, innodbBufferPoolSize: "32M" });
    this.files = {
      [PATHS.mysqlConfig]: { content: cnf },
      [BACKUP_COMMANDS.backup]: { content: renderBackupScript(plan), executable: true },
      [BACKUP_COMMANDS.binlogArchiver]: { content: renderBinlogArchiverScript(plan), executable: true },
    };
    this.sandbox = new NamespaceSandbox(label);
    try {
      for (const k of Object.keys(this.dirs) as (keyof typeof this.dirs)[]) {
        this.dirs[k] = join(this.sandbox.root, "host", k);
        mkdirSync(this.dirs[k], { recursive: true });
      }
    } catch (error) {
      // Nothing is returned to clean up after: remove the sandbox here.
      void this.sandbox.cleanup();
      throw error;
    }
  }

  /** Where the restore tests restore into, inside the sandbox (a mounted host directory). */
  static readonly RESTORE_MOUNT = "/var/lib/mysql-restore";

  mounts(): Record<string, string> {
    return {
      [PATHS.mysqlVolume]: this.dirs.volume,
      [PATHS.mysqlRunDir]: this.dirs.run,
      [(this.plan.store as { path: string }).path]: this.dirs.store,
      [this.plan.metricsDir]: this.dirs.metrics,
      [BackupPrimary.RESTORE_MOUNT]: this.dirs.restore,
    };
  }

  async start(): Promise<void> {
    mkdirSync(join(this.dirs.run, "tls"));
    for (const [path, file] of Object.entries(makeMysqlTlsFiles())) {
      writeFileSync(join(this.dirs.run, "tls", basename(path)), file.content, { mode: 0o600 });
    }
    const install = spawnSync(
      "mariadb-install-db",
      ["--no-defaults", "--user=root", `--datadir=${join(this.dirs.volume, "data")}`, "--skip-test-db", "--auth-root-authentication-method=socket"],
      { encoding: "utf8", timeout: 60000 },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db: ${install.stderr}`);
    this.server = this.sandbox.start("db", {
      files: this.files,
      mounts: this.mounts(),
      command: ["mariadbd", `--defaults-file=${PATHS.mysqlConfig}`, "--user=root", "--innodb-log-file-size=16M", "--bind-address=127.0.0.1"],
      env: {},
    });
    const server = this.server;
    await waitFor("the server to serve", () => {
      if (server.exitCode !== null) throw new Error(`mariadbd exited: ${outputOf(server)}`);
      return this.trySql("SELECT 1") !== undefined;
    });
    this.sql(
      `CREATE USER 'repl'@'%' ${replicationUserRequirement(TEST_REPLICATION_CERTIFICATE_NAME)}; GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%';`,
    );
  }

  private trySql(statement: string, socket = join(this.dirs.run, "mysqld.sock")): string | undefined {
    const r = spawnSync("mariadb", ["--no-defaults", `--socket=${socket}`, "-uroot", "-N", "-B", "-e", statement], { encoding: "utf8", timeout: 15000 });
    return r.status === 0 ? r.stdout.trim() : undefined;
  }

  /** Runs SQL as root over the primary's socket (or another server's socket, a host path). */
  sql(statement: string, socket = join(this.dirs.run, "mysqld.sock")): string {
    const r = spawnSync("mariadb", ["--no-defaults", `--socket=${socket}`, "-uroot", "-N", "-B", "-e", statement], { encoding: "utf8", timeout: 30000 });
    if (r.status !== 0) throw new Error(`${statement}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Starts one of the installed commands inside the sandbox. */
  startScript(path: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    return this.sandbox.start(`run-${++this.runs}`, { files: this.files, mounts: this.mounts(), command: ["/bin/sh", path, ...args], env });
  }

  /** Runs one of the installed commands to its end (bounded). */
  async runScript(path: string, args: string[], timeoutMs = 120000): Promise<ScriptRun> {
    const started = Date.now();
    const child = this.startScript(path, args);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    clearTimeout(timer);
    return { code, output: outputOf(child), ms: Date.now() - started };
  }

  async cleanup(): Promise<void> {
    await this.sandbox.cleanup();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
