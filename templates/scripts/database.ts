import { PATHS } from "../paths";
import { DIALECTS, MysqlEngine } from "../mysql/engine";
import { renderPrimaryInitSql, renderReplicaInitSql } from "../mysql/replication-sql";
import { READ_SECRET_FUNCTION, SCRIPT_HEADER, SECRET_ENV, shellQuote } from "./shell";

interface DatabaseScriptCommon {
  readonly engine: MysqlEngine;
  /** Attempts to wait for the bootstrap server's socket (0.5 s apart). @default 120 */
  readonly bootstrapWaitAttempts?: number;
}

export interface PrimaryStartScriptConfig extends DatabaseScriptCommon {
  readonly database: string;
  readonly appUser: string;
  readonly replicationUser: string;
  /** @default "%" */
  readonly allowedHost?: string;
  /** @default true */
  readonly createDemoSchema?: boolean;
}

export interface ReplicaStartScriptConfig extends DatabaseScriptCommon {
  readonly primaryHost: string;
  /** @default 3306 */
  readonly primaryPort?: number;
  readonly replicationUser: string;
  /** Attempts to reach the primary before configuring replication (2 s apart); the replica's IO thread keeps retrying after that. @default 90 */
  readonly primaryWaitAttempts?: number;
}

/** Start script of the primary: initializes an empty data directory once, then runs the server. */
export function renderPrimaryStartScript(config: PrimaryStartScriptConfig): string {
  const sql = renderPrimaryInitSql({
    engine: config.engine,
    database: config.database,
    appUser: config.appUser,
    appPassword: "${APP_PASSWORD_SQL}",
    replicationUser: config.replicationUser,
    replicationPassword: "${REPLICATION_PASSWORD_SQL}",
    allowedHost: config.allowedHost,
    createDemoSchema: config.createDemoSchema,
  });
  const secrets = [...readSqlSecret("APP_PASSWORD", SECRET_ENV.appPassword), ...readSqlSecret("REPLICATION_PASSWORD", SECRET_ENV.replicationPassword)];
  return renderDatabaseScript(config, "primary", secrets, sql, []);
}

/** Start script of a replica: initializes once, points itself at the primary by GTID, then runs the server. */
export function renderReplicaStartScript(config: ReplicaStartScriptConfig): string {
  const port = config.primaryPort ?? 3306;
  const sql = renderReplicaInitSql({
    engine: config.engine,
    primaryHost: config.primaryHost,
    primaryPort: port,
    replicationUser: config.replicationUser,
    replicationPassword: "${REPLICATION_PASSWORD_SQL}",
  });
  const secrets = readSqlSecret("REPLICATION_PASSWORD", SECRET_ENV.replicationPassword);
  const admin = DIALECTS[config.engine].admin;
  const attempts = config.primaryWaitAttempts ?? 90;
  const waitForPrimary = [
    "# Wait (bounded) for the primary; after that the replica's IO thread retries on its own.",
    "wait_for_primary() {",
    "  i=0",
    "  # As the replication user: an anonymous ping would log 'Access denied' on the primary.",
    `  REPLICATION_PASSWORD=$(read_secret ${SECRET_ENV.replicationPassword})`,
    `  until MYSQL_PWD="$REPLICATION_PASSWORD" ${admin} --no-defaults --host=${shellQuote(config.primaryHost)} --port=${port} --user=${config.replicationUser} --connect-timeout=2 ping >/dev/null 2>&1; do`,
    "    i=$((i + 1))",
    `    if [ "$i" -ge ${attempts} ]; then log "primary ${config.primaryHost}:${port} not reachable yet; replication keeps retrying"; return 0; fi`,
    "    sleep 2",
    "  done",
    `  log "primary ${config.primaryHost}:${port} is up"`,
    "}",
  ];
  return renderDatabaseScript(config, "replica", secrets, sql, waitForPrimary);
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
  const attempts = config.bootstrapWaitAttempts ?? 120;
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
    `RUNDIR=${PATHS.mysqlRunDir}`,
    'BOOT_SOCKET="$RUNDIR/bootstrap.sock"',
    'MARKER="$DATADIR/.ha-web-initialized"',
    ...extraFunctions,
    "",
    "bootstrap() {",
    `  log "initializing an empty data directory (${config.engine}, ${role})"`,
    ...secretLines.map((l) => `  ${l}`),
    `  ${d.initializeCommand("$CONF", "$DATADIR")} >/dev/null`,
    "  # A private server: no TCP listener, replication threads stopped.",
    `  ${d.server} --defaults-file="$CONF" --user=mysql --skip-networking --socket="$BOOT_SOCKET" ${d.skipReplicaStart} ${readOnlyOff} &`,
    "  pid=$!",
    "  i=0",
    `  until ${d.admin} --no-defaults --socket="$BOOT_SOCKET" --user=root ping >/dev/null 2>&1; do`,
    "    i=$((i + 1))",
    `    if [ "$i" -ge ${attempts} ] || ! kill -0 "$pid" 2>/dev/null; then log "bootstrap server did not come up"; exit 1; fi`,
    "    sleep 0.5",
    "  done",
    `  ${d.client} --no-defaults --socket="$BOOT_SOCKET" --user=root <<SQL`,
    ...localSql,
    roleSql.trimEnd(),
    "SQL",
    `  ${d.admin} --no-defaults --socket="$BOOT_SOCKET" --user=root shutdown`,
    '  wait "$pid" || true',
    '  touch "$MARKER"',
    '  log "data directory initialized"',
    "}",
    "",
    'mkdir -p "$DATADIR" "$RUNDIR"',
    'chown mysql:mysql "$DATADIR" "$RUNDIR"',
    'chmod 750 "$DATADIR"',
    'if [ ! -f "$MARKER" ]; then',
    '  if [ -n "$(ls -A "$DATADIR")" ]; then',
    '    log "$DATADIR holds data but no $MARKER: an earlier initialization was interrupted; move the data away to start fresh"',
    "    exit 1",
    "  fi",
    ...(role === "replica" ? ["  wait_for_primary"] : []),
    "  bootstrap",
    "fi",
    `log "starting ${d.server} (${role})"`,
    `exec ${d.server} --defaults-file="$CONF" --user=mysql`,
    "",
  ].join("\n");
}
