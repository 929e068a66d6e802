import { BACKUP_COMMANDS, BackupPlan } from "../mysql/backup-plan";
import { PATHS } from "../paths";
import { DIALECTS, MysqlEngine } from "../mysql/engine";
import { renderPrimaryInitSql, renderReplicaInitSql } from "../mysql/replication-sql";
import { copyTlsFilesShell, replicationClientTlsFlags } from "../mysql/replication-tls";
import { READ_SECRET_FUNCTION, SCRIPT_HEADER, SECRET_ENV, shellQuote, STOP_WHILE_WAITING } from "./shell";

/**
 * The file a start script leaves in a data directory it initialized completely
 * (and ha-web-restore in one it restored): without it, data in the directory is
 * refused, never written over.
 */
export const DATADIR_MARKER = ".ha-web-initialized";

/**
 * The bounded waits of the database start scripts: the one source for the
 * scripts and for the health checks' start periods (see `databaseStartWaitSeconds`).
 */
export const DATABASE_SCRIPT_DEFAULTS = {
  /** Attempts to reach the bootstrap server's socket during the first start (60 s in all). */
  bootstrapWaitAttempts: 600,
  /**
   * Seconds between those attempts: the bootstrap server is ready about 0.3 s after it starts, so a
   * 0.5 s interval made every first start wait 0.5 s for it (lab bring-up: issue 14's figure).
   */
  bootstrapWaitIntervalSeconds: 0.1,
  /**
   * Seconds a replica keeps trying to reach its primary before its server starts (its data directory is
   * built first, meanwhile the primary starts); then the server starts and its IO thread retries on its own.
   */
  primaryWaitSeconds: 45,
  /**
   * Seconds between those attempts: short, because the replica's data directory is already built
   * when it waits (only the server's start waits), so the replica comes up within this of its primary
   * (0.5 s cost the lab's bring-up up to 0.5 s; issue 14's figure).
   */
  primaryWaitIntervalSeconds: 0.2,
  /** Connect timeout of each of those attempts: an address nobody answers costs this, so the wait can end this much after its bound. */
  primaryConnectTimeoutSeconds: 2,
  /** Seconds a start waits for the writer's name to resolve (1 s apart) before it takes the configured role. */
  writerWaitSeconds: 30,
} as const;

interface DatabaseScriptCommon {
  readonly engine: MysqlEngine;
  /**
   * The writer's movable name (`db-writer`): at every start the node looks it up
   * and runs as the primary (writable, the semi-sync source) if it points at one
   * of the node's own addresses, else as a read-only replica. A promotion moves
   * the name, so a restarted node comes back as what it is now, never as a
   * second writable primary. Unresolvable for `writerWaitSeconds`: the
   * configured role. @default none (the configured role, from the option file)
   */
  readonly writerHost?: string;
  /** Whether the cluster runs semi-sync (the primary's source side is set with the role). @default false */
  readonly semiSync?: boolean;
  /** Attempts to wait for the bootstrap server's socket (0.1 s apart). @default 600 (DATABASE_SCRIPT_DEFAULTS) */
  readonly bootstrapWaitAttempts?: number;
  /**
   * The cluster's backup plan and this node's name: on the plan's source node
   * the script starts ha-web-backup-scheduler, and ha-web-binlog-archiver when
   * the plan archives binlogs, beside the server (both stop when the server's
   * PID is gone). @default none (no backups started here)
   */
  readonly backup?: { readonly plan: BackupPlan; readonly nodeName: string };
}

export interface PrimaryStartScriptConfig extends DatabaseScriptCommon {
  readonly database: string;
  readonly appUser: string;
  readonly replicationUser: string;
  /** Common name of the replication client certificate the replication user requires (see replication-tls.ts). */
  readonly replicationCertificateName: string;
  /** @default "%" */
  readonly allowedHost?: string;
  /** @default true */
  readonly createDemoSchema?: boolean;
  /** The Prometheus exporter's user, created with its password from $HAWEB_DB_EXPORTER_PASSWORD (SECRET_ENV). @default none */
  readonly exporterUser?: string;
  /** The failover script's user (FAILOVER_GRANTS), created with its password from $HAWEB_DB_FAILOVER_PASSWORD (SECRET_ENV). @default none */
  readonly failoverUser?: string;
}

export interface ReplicaStartScriptConfig extends DatabaseScriptCommon {
  readonly primaryHost: string;
  /** @default 3306 */
  readonly primaryPort?: number;
  readonly replicationUser: string;
  /**
   * Seconds to keep trying the primary (0.2 s apart) after the replica built its data directory and before
   * its server starts; the replica's IO thread keeps retrying after that. @default 45 (DATABASE_SCRIPT_DEFAULTS)
   */
  readonly primaryWaitSeconds?: number;
}

/**
 * The longest a database start script waits by design before its server takes
 * connections, on the first start: the bootstrap server's start, then a
 * replica's wait for its primary (its bound, plus one attempt's connect timeout
 * and interval when the bound passes during an attempt), then the wait for the
 * writer's name to resolve (writerWaitSeconds; a cluster without a movable
 * writer name skips it, counted anyway). Not included: the work
 * itself (creating the system tables, the init SQL, the final server's start and
 * crash recovery), for which a health check's start period adds slack.
 */
export function databaseStartWaitSeconds(role: "primary" | "replica", config: { bootstrapWaitAttempts?: number; primaryWaitSeconds?: number } = {}): number {
  const d = DATABASE_SCRIPT_DEFAULTS;
  // In milliseconds: 600 x 0.1 is 60.000000000000014 in floating point, which would round up to 61.
  const bootstrapMs = (config.bootstrapWaitAttempts ?? d.bootstrapWaitAttempts) * Math.round(d.bootstrapWaitIntervalSeconds * 1000);
  const primaryMs =
    role === "replica"
      ? ((config.primaryWaitSeconds ?? d.primaryWaitSeconds) + d.primaryConnectTimeoutSeconds) * 1000 + Math.round(d.primaryWaitIntervalSeconds * 1000)
      : 0;
  return Math.ceil((bootstrapMs + primaryMs + d.writerWaitSeconds * 1000) / 1000);
}

/** Start script of the primary: initializes an empty data directory once, then runs the server. */
export function renderPrimaryStartScript(config: PrimaryStartScriptConfig): string {
  const sql = renderPrimaryInitSql({
    engine: config.engine,
    database: config.database,
    appUser: config.appUser,
    appPassword: "${APP_PASSWORD_SQL}",
    replicationUser: config.replicationUser,
    replicationCertificateName: config.replicationCertificateName,
    allowedHost: config.allowedHost,
    createDemoSchema: config.createDemoSchema,
    exporter: config.exporterUser === undefined ? undefined : { user: config.exporterUser, password: "${EXPORTER_PASSWORD_SQL}" },
    failover: config.failoverUser === undefined ? undefined : { user: config.failoverUser, password: "${FAILOVER_PASSWORD_SQL}" },
  });
  const secrets = [
    ...readSqlSecret("APP_PASSWORD", SECRET_ENV.appPassword),
    ...(config.exporterUser === undefined ? [] : readSqlSecret("EXPORTER_PASSWORD", SECRET_ENV.exporterPassword)),
    ...(config.failoverUser === undefined ? [] : readSqlSecret("FAILOVER_PASSWORD", SECRET_ENV.failoverPassword)),
  ];
  return renderDatabaseScript(config, "primary", secrets, sql, []);
}

/**
 * Start script of a replica: initializes once (pointed at the primary by GTID; nothing of that needs the
 * primary, so it is built while the primary starts), waits (bounded) for the primary, then runs the server.
 */
export function renderReplicaStartScript(config: ReplicaStartScriptConfig): string {
  const port = config.primaryPort ?? 3306;
  const sql = renderReplicaInitSql({
    engine: config.engine,
    primaryHost: config.primaryHost,
    primaryPort: port,
    replicationUser: config.replicationUser,
  });
  const admin = DIALECTS[config.engine].admin;
  const waitSeconds = config.primaryWaitSeconds ?? DATABASE_SCRIPT_DEFAULTS.primaryWaitSeconds;
  const waitForPrimary = [
    "# Wait (bounded) for the primary, once the data directory is built; after that the replica's IO thread retries on its own.",
    "wait_for_primary() {",
    // A bound in seconds, not attempts: an attempt takes from a refused connect (at once) to its connect timeout.
    `  deadline=$(($(date +%s) + ${waitSeconds}))`,
    "  # As the replication user (its certificate): an anonymous ping would log 'Access denied' on the primary.",
    `  until ${admin} --no-defaults ${replicationClientTlsFlags(config.engine)} --host=${shellQuote(config.primaryHost)} --port=${port} --user=${config.replicationUser} --connect-timeout=${DATABASE_SCRIPT_DEFAULTS.primaryConnectTimeoutSeconds} ping >/dev/null 2>&1; do`,
    `    if [ "$(date +%s)" -ge "$deadline" ]; then log "primary ${config.primaryHost}:${port} not reachable after ${waitSeconds} s; replication keeps retrying"; return 0; fi`,
    `    pause ${DATABASE_SCRIPT_DEFAULTS.primaryWaitIntervalSeconds}`,
    "  done",
    `  log "primary ${config.primaryHost}:${port} is up"`,
    "}",
  ];
  return renderDatabaseScript(config, "replica", [], sql, waitForPrimary);
}

/** Two steps, so a missing secret stops the script under `set -e` (a nested substitution would hide it). */
function readSqlSecret(variable: string, envName: string): string[] {
  return [`${variable}=$(read_secret ${envName})`, `${variable}_SQL=$(sql_escape "$${variable}")`];
}

function renderDatabaseScript(
  config: DatabaseScriptCommon,
  role: "primary" | "replica",
  secretLines: string[],
  roleSql: string,
  extraFunctions: string[],
): string {
  const d = DIALECTS[config.engine];
  const attempts = config.bootstrapWaitAttempts ?? DATABASE_SCRIPT_DEFAULTS.bootstrapWaitAttempts;
  const readOnlyOff = config.engine === "mysql" ? "--read-only=OFF --super-read-only=OFF" : "--read-only=OFF";
  // Local-only statements (not replicated): root on MySQL logs in by socket like on MariaDB.
  const localSql =
    config.engine === "mysql"
      ? ["SET SESSION sql_log_bin = 0;", "ALTER USER 'root'@'localhost' IDENTIFIED WITH auth_socket;", "SET SESSION sql_log_bin = 1;"]
      : [];
  return [
    SCRIPT_HEADER,
    READ_SECRET_FUNCTION,
    `CONF=${PATHS.mysqlConfig}`,
    `DATADIR=${PATHS.mysqlDataDir}`,
    // The first start works next to DATADIR on the same volume and renames the folder to
    // DATADIR only when complete: a stop or a crash part-way never leaves a half DATADIR.
    "# Initialized here, renamed to DATADIR when complete.",
    'INITDIR="$DATADIR.initializing"',
    `RUNDIR=${PATHS.mysqlRunDir}`,
    'BOOT_SOCKET="$RUNDIR/bootstrap.sock"',
    `MARKER_NAME=${DATADIR_MARKER}`,
    'MARKER="$DATADIR/$MARKER_NAME"',
    'BOOT_PID=""',
    STOP_WHILE_WAITING,
    // Whenever the script ends before it execs the server (a stop, a failure), an unfinished
    // initialization is thrown away: the next start begins afresh instead of refusing the volume.
    "# On any exit before the exec (a stop, a failure): drop an unfinished initialization.",
    "abandon_initialization() {",
    "  trap '' TERM INT QUIT",
    '  if [ -n "$BOOT_PID" ]; then',
    '    log "stopping the bootstrap server"',
    '    kill -KILL "$BOOT_PID" 2>/dev/null || true',
    '    wait "$BOOT_PID" 2>/dev/null || true',
    '    rm -f "$BOOT_SOCKET" "$BOOT_SOCKET.lock"',
    "  fi",
    '  if [ -e "$INITDIR" ]; then',
    '    log "removing the unfinished $INITDIR: the next start initializes afresh"',
    '    rm -rf "$INITDIR" || true',
    "  fi",
    "}",
    "trap abandon_initialization EXIT",
    ...copyTlsFilesShell(),
    ...extraFunctions,
    "",
    // A stop while the system tables are created takes effect once that step ends (a few
    // seconds): killing mariadb-install-db would orphan the server it runs. The bootstrap
    // server is SIGKILLed on a stop: its data is being thrown away.
    "bootstrap() {",
    `  log "initializing a new data directory (${config.engine}, ${role})"`,
    ...secretLines.map((l) => `  ${l}`),
    '  mkdir -p "$INITDIR"',
    '  chown mysql:mysql "$INITDIR"',
    '  chmod 750 "$INITDIR"',
    `  ${d.initializeCommand("$CONF", "$INITDIR")} >/dev/null`,
    "  # A private server: no TCP listener, replication threads stopped, and no replica to wait for",
    "  # (semi-sync would hold each bootstrap commit for its whole timeout).",
    `  ${d.server} --defaults-file="$CONF" --datadir="$INITDIR" --user=mysql --skip-networking --socket="$BOOT_SOCKET" ${d.skipReplicaStart} ${d.semiSyncPrimaryOff} ${readOnlyOff} &`,
    "  BOOT_PID=$!",
    "  i=0",
    `  until ${d.admin} --no-defaults --socket="$BOOT_SOCKET" --user=root ping >/dev/null 2>&1; do`,
    "    i=$((i + 1))",
    `    if [ "$i" -ge ${attempts} ] || ! kill -0 "$BOOT_PID" 2>/dev/null; then log "bootstrap server did not come up"; exit 1; fi`,
    `    pause ${DATABASE_SCRIPT_DEFAULTS.bootstrapWaitIntervalSeconds}`,
    "  done",
    `  ${d.client} --no-defaults --socket="$BOOT_SOCKET" --user=root <<SQL`,
    ...localSql,
    roleSql.trimEnd(),
    "SQL",
    `  ${d.admin} --no-defaults --socket="$BOOT_SOCKET" --user=root shutdown`,
    '  wait "$BOOT_PID" || true',
    '  BOOT_PID=""',
    '  touch "$INITDIR/$MARKER_NAME"',
    "  # One rename on one file system: DATADIR appears complete or not at all.",
    '  mv "$INITDIR" "$DATADIR"',
    '  log "data directory initialized"',
    "}",
    "",
    'mkdir -p "$RUNDIR"',
    'chown mysql:mysql "$RUNDIR"',
    "install_tls_files",
    "# Left by a first start that was killed (SIGKILL, power loss): never complete.",
    'if [ -e "$INITDIR" ]; then',
    '  log "removing $INITDIR, left by an initialization that was killed part-way"',
    '  rm -rf "$INITDIR"',
    "fi",
    'if [ ! -f "$MARKER" ]; then',
    // Data without the marker is not ours to overwrite. An interrupted initialization no longer
    // leaves any (it works in INITDIR): such data comes from elsewhere or from an older version.
    '  if [ -e "$DATADIR" ] && [ -n "$(ls -A "$DATADIR")" ]; then',
    '    log "$DATADIR holds data but no $MARKER: it was not initialized here, or an earlier initialization was interrupted; move the data away to start fresh"',
    "    exit 1",
    "  fi",
    // Room for the rename. An empty DATADIR that cannot go is a mount point.
    '  if [ -e "$DATADIR" ] && ! rmdir "$DATADIR"; then log "cannot replace the empty $DATADIR (a mount point?): mount the volume at ${DATADIR%/*}"; exit 1; fi',
    "  bootstrap",
    // The replica's data directory needs nothing from the primary: it is built while the primary starts,
    // and only the server's start waits for it (the first start only; later ones replicate as they come).
    ...(role === "replica" ? ["  wait_for_primary"] : []),
    "fi",
    // Like the official images' entrypoints: files written under another image (another uid
    // for mysql) or restored by hand become the server's again. -h: never follow a link out.
    "# Ownership, recursively, as the official entrypoints do (another image's mysql uid).",
    `if [ -n "$(find "$DATADIR" \\( \\! -user mysql -o \\! -group mysql \\) -print | head -n 1)" ]; then`,
    '  log "handing files in $DATADIR owned by another user to mysql"',
    `  find "$DATADIR" \\( \\! -user mysql -o \\! -group mysql \\) -exec chown -h mysql:mysql '{}' +`,
    "fi",
    'chmod 750 "$DATADIR"',
    ...(config.writerHost === undefined
      ? [
          "trap - EXIT TERM INT QUIT",
          ...startBackupScheduler(config),
          `log "starting ${d.server} (${role})"`,
          `exec ${d.server} --defaults-file="$CONF" --user=mysql`,
        ]
      : [
          ...roleByWriterName(config, role),
          "trap - EXIT TERM INT QUIT",
          ...startBackupScheduler(config),
          `log "starting ${d.server} ($ROLE; configured as ${role}): $ROLE_OPTIONS"`,
          `exec ${d.server} --defaults-file="$CONF" --user=mysql $ROLE_OPTIONS`,
        ]),
    "",
  ].join("\n");
}

/**
 * On the backup source node: the scheduler (and the binlog archiver when the
 * plan archives binlogs), started in the background just
 * before the exec, given this shell's PID, which `exec` hands to the server:
 * the scheduler stops when the server is gone.
 */
function startBackupScheduler(config: DatabaseScriptCommon): string[] {
  if (config.backup === undefined || config.backup.nodeName !== config.backup.plan.sourceNode) return [];
  return [
    "# Backups: this node is the plan's backup source. $$ becomes the server's PID at the exec below.",
    `${BACKUP_COMMANDS.scheduler} $$ &`,
    ...(config.backup.plan.binlogArchive
      ? ["# Point-in-time recovery: the writer's binlogs, archived as they are written.", `${BACKUP_COMMANDS.binlogArchiver} $$ &`]
      : []),
  ];
}

/**
 * Shell that sets ROLE and ROLE_OPTIONS from where the writer's name points:
 * the node's own addresses are the /32 "host LOCAL" entries of
 * /proc/net/fib_trie (no `ip` needed: the official images lack it); the name
 * resolves through getent (libc, in every image).
 */
function roleByWriterName(config: DatabaseScriptCommon, configured: "primary" | "replica"): string[] {
  const mysql = config.engine === "mysql";
  const readOnly = (on: "ON" | "OFF") => (mysql ? `--read-only=${on} --super-read-only=${on}` : `--read-only=${on}`);
  const semiSync = (on: "ON" | "OFF") => (config.semiSync ? ` --loose-rpl-semi-sync-${mysql ? "source" : "master"}-enabled=${on}` : "");
  // MariaDB 10.6+ (MDEV-21117): a server that starts as a semi-sync replica rolls back, at crash recovery, what its
  // binlog holds but no replica acknowledged (AFTER_SYNC: logged, never committed for the client), so a crashed
  // old primary does not come back with transactions the new primary lacks (errant GTIDs refuse the rejoin).
  const recovery = !mysql && config.semiSync ? " --init-rpl-role=SLAVE" : "";
  const wait = DATABASE_SCRIPT_DEFAULTS.writerWaitSeconds;
  return [
    "# The writer's name decides the role at every start (a promotion moves it): never two writable primaries.",
    `WRITER=${shellQuote(config.writerHost!)}`,
    "own_addresses() { awk '/32 host LOCAL/ { print prev } { prev = $2 }' /proc/net/fib_trie | sort -u; }",
    // An address is itself (getent would want a reverse entry for it); a name resolves through getent.
    "writer_addresses() {",
    '  case "$WRITER" in',
    '    *[!0-9.]*) { getent ahostsv4 "$WRITER"; getent hosts "$WRITER"; } 2>/dev/null | awk \'$1 ~ /^[0-9]+([.][0-9]+)+$/ { print $1 }\' | sort -u ;;',
    '    *) echo "$WRITER" ;;',
    "  esac",
    "}",
    `ROLE=${configured}`,
    "i=0",
    'until [ -n "$(writer_addresses)" ]; do',
    "  i=$((i + 1))",
    `  if [ "$i" -ge ${wait} ]; then log "$WRITER does not resolve after ${wait} s: starting as configured (${configured})"; break; fi`,
    "  pause 1",
    "done",
    'if [ -n "$(writer_addresses)" ]; then',
    "  ROLE=replica",
    '  for address in $(writer_addresses); do if own_addresses | grep -qxF "$address"; then ROLE=primary; fi; done',
    "fi",
    'if [ "$ROLE" = primary ]; then',
    `  ROLE_OPTIONS="${readOnly("OFF")}${semiSync("ON")}"`,
    "else",
    `  ROLE_OPTIONS="${readOnly("ON")}${semiSync("OFF")}${recovery}"`,
    "fi",
  ];
}
