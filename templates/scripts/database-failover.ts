import { DIALECTS, MysqlEngine } from "../mysql/engine";
import { replicationSourceTlsOptions } from "../mysql/replication-tls";
import { assertNoProblems, ConfigProblem, duplicates, isDnsLabel, isHostName, isPort, isSqlIdentifier } from "../validate";
import { READ_SECRET_FUNCTION, SCRIPT_HEADER, SECRET_ENV, shellQuote } from "./shell";

/** Name under which the script is installed on every database host. */
export const DATABASE_FAILOVER_SCRIPT_NAME = "ha-web-db-failover";

/** Environment variable (or `<NAME>_FILE`) holding the failover user's password. */
export const FAILOVER_PASSWORD_ENV = SECRET_ENV.failoverPassword;

/** The bounded waits of `ha-web-db-failover`. */
export const DATABASE_FAILOVER_DEFAULTS = {
  /**
   * Seconds a node may take to catch up: a replica applying its relay log, or
   * receiving and applying what a fenced (reachable) old primary has; also the
   * rejoin's wait for both replication threads, and the old primary's shutdown.
   */
  catchUpTimeoutSeconds: 30,
  /** Connect timeout of every SQL connection (an address nobody answers costs this). */
  connectTimeoutSeconds: 3,
  /** Seconds between two polls of a GTID position or a thread state. */
  pollIntervalSeconds: 0.2,
} as const;

/** Exit codes of `ha-web-db-failover`. */
export const DATABASE_FAILOVER_EXIT = { ok: 0, failed: 1, refused: 2, usage: 64 } as const;

export interface DatabaseFailoverNode {
  /** Stable name of the node (a DNS label, for example `db-1`): what `--candidate`, `rejoin` and `--primary` take. */
  readonly name: string;
  /** DNS name or IPv4 address the node's server listens on, as other nodes reach it. */
  readonly host: string;
  /** The server's TCP port. */
  readonly port: number;
}

export interface DatabaseFailoverScriptConfig {
  /** Engine of every node: decides client binary, statements and GTID arithmetic. */
  readonly engine: MysqlEngine;
  /** Every node of the cluster (the primary and all replicas), by a stable name. At least two. */
  readonly nodes: readonly DatabaseFailoverNode[];
  /** The database user the script logs in as (see FAILOVER_GRANTS); its password comes from $HAWEB_DB_FAILOVER_PASSWORD. */
  readonly failoverUser: string;
  /** The replication user a rejoined node streams with, by its client certificate (replication-tls.ts): no password. */
  readonly replicationUser: string;
  /**
   * Seconds to wait for a node to catch up (relay log applied, everything of a
   * fenced old primary received and applied, both threads running after a rejoin).
   * @default 30 (DATABASE_FAILOVER_DEFAULTS)
   */
  readonly catchUpTimeoutSeconds?: number;
  /** Connect timeout of every SQL connection, in seconds. @default 3 (DATABASE_FAILOVER_DEFAULTS) */
  readonly connectTimeoutSeconds?: number;
  /**
   * Shell snippet run (by `sh -c`) after a promotion, with NEW_PRIMARY_NAME,
   * NEW_PRIMARY_HOST and NEW_PRIMARY_PORT exported: moves the writer endpoint
   * (AWS: a Route 53 update). Its failure makes `promote` exit 1.
   * @default none: the script prints that the caller must move the writer endpoint, and exits 0
   */
  readonly moveWriterCommand?: string;
}

export function validateDatabaseFailoverScriptConfig(config: DatabaseFailoverScriptConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));
  if (!(config.engine in DIALECTS)) add("engine", `engine "${config.engine}" is not one of: ${Object.keys(DIALECTS).join(", ")}`);
  if (config.nodes.length < 2) add("nodes", `nodes lists ${config.nodes.length} node(s); a failover needs at least 2`);
  config.nodes.forEach((node, i) => {
    if (!isDnsLabel(node.name)) add(`nodes.${i}.name`, `node name "${node.name}" is not a DNS label (lower-case letters, digits, dashes)`);
    if (!isHostName(node.host)) add(`nodes.${i}.host`, `node ${node.name}: host "${node.host}" is not a host name or IPv4 address`);
    if (!isPort(node.port)) add(`nodes.${i}.port`, `node ${node.name}: port ${node.port} is outside 1-65535`);
  });
  for (const name of duplicates(config.nodes.map((n) => n.name))) add("nodes", `node name "${name}" is used more than once`);
  for (const address of duplicates(config.nodes.map((n) => `${n.host}:${n.port}`))) add("nodes", `address ${address} is used by more than one node`);
  for (const key of ["failoverUser", "replicationUser"] as const) {
    if (!isSqlIdentifier(config[key])) add(key, `${key} "${config[key]}" is not a valid identifier (letters, digits, _; at most 32)`);
  }
  if (config.failoverUser === config.replicationUser) add("failoverUser", "failoverUser and replicationUser must differ");
  const seconds = (key: "catchUpTimeoutSeconds" | "connectTimeoutSeconds", max: number) => {
    const value = config[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > max))
      add(key, `${key} is ${value}; it must be a whole number from 1 to ${max}`);
  };
  seconds("catchUpTimeoutSeconds", 3600);
  seconds("connectTimeoutSeconds", 300);
  if (config.moveWriterCommand !== undefined && (config.moveWriterCommand.trim() === "" || config.moveWriterCommand.includes("\0"))) {
    add("moveWriterCommand", "moveWriterCommand must be a non-empty shell snippet (omit it to move the writer endpoint yourself)");
  }
  return problems;
}

/** Everything that differs between the engines, as the script uses it. */
interface FailoverDialect {
  /** SQL printing the node's GTID position on one line. */
  readonly positionSql: string;
  /** Shell function `gtid_missing FROM HAVE VIA`: prints the GTIDs of FROM that HAVE lacks (empty: none). */
  readonly gtidMissing: string[];
  readonly showReplicaStatus: string;
  readonly stopReplica: string;
  readonly startReplica: string;
  readonly resetReplica: string;
  readonly fence: string;
  readonly unfence: string;
  readonly field: { readonly host: string; readonly port: string; readonly io: string; readonly sql: string; readonly received: string };
  readonly semiSync: { readonly sourceStatus: string; readonly replicaStatus: string; readonly sourceEnabled: string; readonly replicaEnabled: string };
  /** CHANGE MASTER TO / CHANGE REPLICATION SOURCE TO (host and port as shell text), with extra options, by GTID. */
  changeSource(host: string, port: string, extra: string[]): string;
  /** Status fields the `status` line shows for the GTID position. */
  readonly statusPositionSql: string;
}

const FAILOVER_DIALECTS: Readonly<Record<MysqlEngine, FailoverDialect>> = {
  mariadb: {
    // gtid_binlog_state: the last GTID of every (domain, server) pair the node logged (its own writes and,
    // with log_slave_updates, what it applied); gtid_slave_pos: what its SQL thread applied.
    positionSql: "SELECT CONCAT_WS(',', NULLIF(@@GLOBAL.gtid_binlog_state, ''), NULLIF(@@GLOBAL.gtid_slave_pos, ''))",
    gtidMissing: [
      "# MariaDB GTIDs are domain-server-seq_no. Compared per (domain, server): one server's seq_no only grows, so",
      "# a higher one has all the lower ones of that server. Per domain alone is not enough: after a failover the",
      "# new primary continues the domain's numbering (0-2-1351 after 0-1-1349), and a 0-1-1350 that only the old",
      "# primary logged (unacknowledged, then the crash) would look included. Found against the real server.",
      "gtid_missing() {",
      '  awk -v from="$1" -v have="$2" \'BEGIN {',
      '    gsub(/[ \\t]/, "", from); gsub(/[ \\t]/, "", have)',
      '    n = split(have, a, ","); for (i = 1; i <= n; i++) if (split(a[i], g, "-") == 3) { k = g[1] "-" g[2]; if (!(k in seq) || g[3] + 0 > seq[k] + 0) seq[k] = g[3] }',
      '    n = split(from, a, ","); out = ""',
      "    for (i = 1; i <= n; i++) {",
      '      if (split(a[i], g, "-") != 3) continue',
      '      k = g[1] "-" g[2]',
      "      if (!(k in seq) || seq[k] + 0 < g[3] + 0) {",
      "        if (!(k in best) || g[3] + 0 > best[k] + 0) { best[k] = g[3]; gtid[k] = a[i] }",
      "      }",
      "    }",
      '    for (k in gtid) out = out (out == "" ? "" : ",") gtid[k]',
      "    print out",
      "  }'",
      "}",
    ],
    showReplicaStatus: "SHOW SLAVE STATUS",
    stopReplica: "STOP SLAVE",
    startReplica: "START SLAVE",
    resetReplica: "RESET SLAVE ALL",
    fence: "SET GLOBAL read_only = ON",
    unfence: "SET GLOBAL read_only = OFF",
    field: { host: "Master_Host", port: "Master_Port", io: "Slave_IO_Running", sql: "Slave_SQL_Running", received: "Gtid_IO_Pos" },
    semiSync: {
      sourceStatus: "Rpl_semi_sync_master_status",
      replicaStatus: "Rpl_semi_sync_slave_status",
      sourceEnabled: "rpl_semi_sync_master_enabled",
      replicaEnabled: "rpl_semi_sync_slave_enabled",
    },
    changeSource: (host, port, extra) =>
      [`CHANGE MASTER TO MASTER_HOST = '${host}'`, `MASTER_PORT = ${port}`, ...extra, "MASTER_USE_GTID = slave_pos"].join(", "),
    statusPositionSql:
      "SELECT CONCAT('gtid_binlog_pos=', IF(@@GLOBAL.gtid_binlog_pos = '', '-', @@GLOBAL.gtid_binlog_pos), ' gtid_slave_pos=', IF(@@GLOBAL.gtid_slave_pos = '', '-', @@GLOBAL.gtid_slave_pos))",
  },
  mysql: {
    positionSql: "SELECT REPLACE(@@GLOBAL.gtid_executed, '\\n', '')",
    gtidMissing: [
      "# MySQL GTID sets: the server does the arithmetic (GTID_SUBTRACT), on the node given as VIA.",
      "gtid_missing() {",
      '  case "$1$2" in *[!0-9A-Za-z:,_-]*) log "not a GTID set: $1 / $2"; return 1 ;; esac',
      "  sql \"$3\" \"SELECT REPLACE(GTID_SUBTRACT('$1', '$2'), '\\n', '')\"",
      "}",
    ],
    showReplicaStatus: "SHOW REPLICA STATUS",
    stopReplica: "STOP REPLICA",
    startReplica: "START REPLICA",
    resetReplica: "RESET REPLICA ALL",
    // super_read_only also stops users with CONNECTION_ADMIN (and implies read_only).
    fence: "SET GLOBAL super_read_only = ON",
    unfence: "SET GLOBAL super_read_only = OFF; SET GLOBAL read_only = OFF",
    field: { host: "Source_Host", port: "Source_Port", io: "Replica_IO_Running", sql: "Replica_SQL_Running", received: "Retrieved_Gtid_Set" },
    semiSync: {
      sourceStatus: "Rpl_semi_sync_source_status",
      replicaStatus: "Rpl_semi_sync_replica_status",
      sourceEnabled: "rpl_semi_sync_source_enabled",
      replicaEnabled: "rpl_semi_sync_replica_enabled",
    },
    changeSource: (host, port, extra) =>
      [`CHANGE REPLICATION SOURCE TO SOURCE_HOST = '${host}'`, `SOURCE_PORT = ${port}`, ...extra, "SOURCE_AUTO_POSITION = 1"].join(", "),
    statusPositionSql: "SELECT CONCAT('gtid_executed=', IF(@@GLOBAL.gtid_executed = '', '-', REPLACE(@@GLOBAL.gtid_executed, '\\n', '')))",
  },
};

/**
 * `ha-web-db-failover`: a manual, lossless database failover and the old
 * primary's rejoin, for MariaDB 10.11 and MySQL 8.4. POSIX sh, installed on
 * every database host; it talks to every node over TCP with the engine's client,
 * as the failover user (FAILOVER_GRANTS), its password in a 0600 option file in
 * a private temporary directory (never on a command line).
 *
 * - `status`: one line per node (reachability, read_only, GTID position,
 *   replication source and threads, semi-sync status).
 * - `promote [--candidate NAME] [--force]`: fences the old primary if it is
 *   reachable (read_only, its client sessions killed), waits until the
 *   candidates have everything it has, shuts it down; promotes the most advanced
 *   replica; repoints the others by GTID; runs `moveWriterCommand`.
 * - `rejoin NAME [--primary NAME]`: makes NAME (typically the old primary, after
 *   a restart) a replica of the current primary, unless it holds transactions the
 *   primary lacks (errant GTIDs).
 *
 * Refusals (exit 2; `--force` overrides all but the errant-GTID and
 * two-writable-primaries ones):
 * - the old primary is reachable and the candidate has not received and applied
 *   everything it has within `catchUpTimeoutSeconds` (the fence is then lifted);
 * - the old primary is unreachable and another configured replica is unreachable
 *   too (it may hold acknowledged transactions the candidate lacks);
 * - a candidate does not apply its relay log within the timeout;
 * - `--candidate` names a replica that lacks transactions another replica has,
 *   or no replica has everything the others have (diverged histories);
 * - the old primary is unreachable and the candidate was not a semi-synchronous
 *   replica when it lost it. The signal is the candidate's own
 *   Rpl_semi_sync_slave_status (MySQL: Rpl_semi_sync_replica_status). Observed
 *   on MariaDB 10.11: after the primary is SIGKILLed it stays ON while the IO
 *   thread reconnects ("Connecting"); it is OFF once the IO thread is stopped or
 *   semi-sync is off on the replica. It is also ON when the primary's own
 *   semi-sync was off or had fallen back to async, which a replica cannot see: the
 *   signal proves the replica took part in semi-sync, not that the primary waited
 *   for it. Watch Rpl_semi_sync_master_status (the monitoring alert) for that.
 *
 * With AFTER_SYNC every acknowledged commit is on at least one semi-sync replica:
 * the most advanced of all replicas, after each applied its relay log, holds them all.
 */
export function renderDatabaseFailoverScript(config: DatabaseFailoverScriptConfig): string {
  assertNoProblems("Database failover script", validateDatabaseFailoverScriptConfig(config));
  const d = FAILOVER_DIALECTS[config.engine];
  const catchUp = config.catchUpTimeoutSeconds ?? DATABASE_FAILOVER_DEFAULTS.catchUpTimeoutSeconds;
  const connect = config.connectTimeoutSeconds ?? DATABASE_FAILOVER_DEFAULTS.connectTimeoutSeconds;
  const nodes = config.nodes.map((n) => `${n.name} ${n.host} ${n.port}`).join("\n");
  return [
    SCRIPT_HEADER,
    READ_SECRET_FUNCTION,
    "",
    `# ${DATABASE_FAILOVER_SCRIPT_NAME}: manual, lossless database failover and rejoin (${config.engine}).`,
    `ENGINE=${config.engine}`,
    `CLIENT=${DIALECTS[config.engine].client}`,
    `FAILOVER_USER=${config.failoverUser}`,
    `REPLICATION_USER=${config.replicationUser}`,
    `CATCH_UP_TIMEOUT=${catchUp}`,
    `CONNECT_TIMEOUT=${connect}`,
    `POLL_INTERVAL=${DATABASE_FAILOVER_DEFAULTS.pollIntervalSeconds}`,
    "# One node per line: name host port.",
    `NODES=${shellQuote(nodes)}`,
    `MOVE_WRITER_COMMAND=${shellQuote(config.moveWriterCommand ?? "")}`,
    "",
    ...usageFunction(),
    ...helperFunctions(d),
    ...d.gtidMissing,
    ...statusCommand(d),
    ...promoteCommand(d),
    ...rejoinCommand(d),
    ...mainFunction(),
    "",
  ].join("\n");
}

function usageFunction(): string[] {
  return [
    "usage() {",
    "  cat >&2 <<'USAGE'",
    `usage: ${DATABASE_FAILOVER_SCRIPT_NAME} status`,
    `       ${DATABASE_FAILOVER_SCRIPT_NAME} promote [--candidate NAME] [--force]`,
    `       ${DATABASE_FAILOVER_SCRIPT_NAME} rejoin NAME [--primary NAME]`,
    `Password: $${FAILOVER_PASSWORD_ENV} (or ${FAILOVER_PASSWORD_ENV}_FILE). Replication logs in with the node's TLS files, never a password.`,
    "Exit: 0 done, 1 failed, 2 refused (nothing unsafe was done), 64 usage.",
    "USAGE",
    "  exit 64",
    "}",
  ];
}

function helperFunctions(d: FailoverDialect): string[] {
  return [
    'step() { echo "[$(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"; }',
    'fail() { step "FAILED: $*"; echo "$0: $*" >&2; exit 1; }',
    'refuse() { step "REFUSED: $*"; echo "$0: refused: $*" >&2; exit 2; }',
    'nap() { sleep "$POLL_INTERVAL" 2>/dev/null || sleep 1; }',
    "now() { date +%s; }",
    'node_host() { echo "$NODES" | awk -v n="$1" \'$1 == n { print $2 }\'; }',
    'node_port() { echo "$NODES" | awk -v n="$1" \'$1 == n { print $3 }\'; }',
    "node_names() { echo \"$NODES\" | awk '{ print $1 }'; }",
    'node_by_address() { echo "$NODES" | awk -v h="$1" -v p="$2" \'$2 == h && $3 == p { print $1; exit }\'; }',
    'is_node() { [ -n "$1" ] && [ -n "$(node_host "$1")" ]; }',
    'in_list() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }',
    "",
    "# The password goes to an option file only the script's user can read, in a directory removed on exit:",
    '# never on a command line (ps shows those). Option files take a double-quoted value with \\\\ and \\" escapes.',
    "write_option_file() {",
    `  password=$(read_secret ${FAILOVER_PASSWORD_ENV})`,
    '  case "$password" in *"',
    '"*) echo "$0: the failover password must not contain a line break" >&2; exit 64 ;; esac',
    "  escaped=$(printf '%s' \"$password\" | sed -e 's/\\\\/\\\\\\\\/g' -e 's/\"/\\\\\"/g')",
    '  printf \'[client]\\nuser=%s\\npassword="%s"\\n\' "$FAILOVER_USER" "$escaped" >"$WORK/client.cnf"',
    '  chmod 600 "$WORK/client.cnf"',
    "}",
    "",
    "# A statement may wait on a lock or a dead peer after connecting: bound it as a whole where timeout(1) exists.",
    'LIMIT=""',
    'if command -v timeout >/dev/null 2>&1; then LIMIT="timeout $((CATCH_UP_TIMEOUT + CONNECT_TIMEOUT + 10))"; fi',
    "# sql NODE STATEMENTS: runs on NODE over TCP, prints the rows tab-separated without a header. The statements",
    "# go on stdin (printf is a builtin: a password in them never reaches a command line).",
    "sql() {",
    '  printf \'%s\\n\' "$2" | $LIMIT "$CLIENT" --defaults-extra-file="$WORK/client.cnf" --protocol=TCP --host="$(node_host "$1")" --port="$(node_port "$1")" \\',
    '    --connect-timeout="$CONNECT_TIMEOUT" --batch --raw --skip-column-names',
    "}",
    "# sql_vertical NODE STATEMENT: one 'Field: value' line per column.",
    "sql_vertical() {",
    '  printf \'%s\\n\' "$2" | $LIMIT "$CLIENT" --defaults-extra-file="$WORK/client.cnf" --protocol=TCP --host="$(node_host "$1")" --port="$(node_port "$1")" \\',
    '    --connect-timeout="$CONNECT_TIMEOUT" --batch --raw --vertical',
    "}",
    'reachable() { sql "$1" "SELECT 1" >/dev/null 2>&1; }',
    `position() { sql "$1" ${shellQuote(d.positionSql)}; }`,
    'read_only() { sql "$1" "SELECT @@GLOBAL.read_only"; }',
    "status_var() { sql \"$1\" \"SHOW GLOBAL STATUS LIKE '$2'\" | awk '{ print $2 }'; }",
    "global_var() { sql \"$1\" \"SHOW GLOBAL VARIABLES LIKE '$2'\" | awk '{ print $2 }'; }",
    "# Replica status of NODE into $WORK/replica.NODE (empty when it is no replica); replica_field reads one field.",
    `load_replica_status() { sql_vertical "$1" ${shellQuote(d.showReplicaStatus)} >"$WORK/replica.$1" 2>/dev/null || : >"$WORK/replica.$1"; }`,
    "replica_field() {",
    '  awk -v f="$2" \'',
    "    /^\\*+ [0-9]+\\. row \\*+$/ { next }",
    '    match($0, /^ *[A-Za-z_]+:( |$)/) { name = $0; sub(/^ */, "", name); sub(/:.*/, "", name); cur = name; if (name == f) got = substr($0, RLENGTH + 1); next }',
    "    cur == f { got = got $0 }",
    '    END { print got }\' "$WORK/replica.$1"',
    "}",
    "",
    "# SURVEY: REACHABLE (names), WRITABLE (reachable with read_only OFF), OLD (the old primary, or empty),",
    "# OLD_REACHABLE (yes/no).",
    "survey() {",
    '  REACHABLE=""; WRITABLE=""; OLD=""; OLD_REACHABLE=no; SOURCE_ADDRESS=""',
    "  for n in $(node_names); do",
    '    if ! reachable "$n"; then step "$n ($(node_host "$n"):$(node_port "$n")) is unreachable"; continue; fi',
    '    REACHABLE="$REACHABLE $n"',
    '    if [ "$(read_only "$n")" = 0 ]; then WRITABLE="$WRITABLE $n"; fi',
    '    load_replica_status "$n"',
    `    host=$(replica_field "$n" ${d.field.host})`,
    `    if [ -n "$host" ] && [ -z "$SOURCE_ADDRESS" ]; then SOURCE_ADDRESS="$host $(replica_field "$n" ${d.field.port})"; fi`,
    "  done",
    "}",
    "",
    "# The old primary: the reachable writable node, else the node the replicas replicate from; when they",
    "# replicate from a name that is no node (the writer's), the one unreachable node (several: unknown).",
    "find_old_primary() {",
    "  set -- $WRITABLE",
    '  if [ $# -gt 1 ]; then refuse "several nodes are writable ($WRITABLE): fence all but one by hand first"; fi',
    "  if [ $# -eq 1 ]; then OLD=$1; OLD_REACHABLE=yes; return 0; fi",
    '  [ -n "$SOURCE_ADDRESS" ] || fail "no writable node and no replica: cannot tell which node is the primary"',
    "  OLD=$(node_by_address $SOURCE_ADDRESS)",
    '  if [ -n "$OLD" ]; then',
    '    if in_list "$OLD" "$REACHABLE"; then OLD_REACHABLE=yes; fi',
    "    return 0",
    "  fi",
    '  unreachable=""',
    '  for n in $(node_names); do in_list "$n" "$REACHABLE" || unreachable="$unreachable $n"; done',
    "  set -- $unreachable",
    '  if [ $# -eq 1 ]; then OLD=$1; step "replicas replicate from $SOURCE_ADDRESS (no node name): $OLD, the only unreachable node, was the primary"; return 0; fi',
    '  step "replicas replicate from $SOURCE_ADDRESS, which is no configured node; unreachable nodes:${unreachable:- none}"',
    "}",
    "",
    "# wait_until_has NODE TARGET: bounded wait until NODE has every GTID of TARGET; MISSING holds what it lacks.",
    "wait_until_has() {",
    "  end=$(($(now) + CATCH_UP_TIMEOUT))",
    "  while :; do",
    '    if pos=$(position "$1" 2>/dev/null); then',
    '      MISSING=$(gtid_missing "$2" "$pos" "$1") || MISSING="(cannot compare)"',
    '      if [ -z "$MISSING" ]; then return 0; fi',
    '    else MISSING="(unreachable)"; fi',
    '    if [ "$(now)" -ge "$end" ]; then return 1; fi',
    "    nap",
    "  done",
    "}",
    "",
    "# fence NODE: no more writes (read_only; a statement waiting on a lock gives up after the catch-up timeout),",
    "# then end its client sessions so none waits on a commit; replication and our own sessions stay.",
    "fence() {",
    `  sql "$1" "SET SESSION lock_wait_timeout = $CATCH_UP_TIMEOUT; ${d.fence}" || fail "could not fence $1 (read_only ON)"`,
    "  ids=$(sql \"$1\" \"SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler', '$FAILOVER_USER', '$REPLICATION_USER') AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')\" || true)",
    '  for id in $ids; do sql "$1" "KILL CONNECTION $id" >/dev/null 2>&1 || true; done',
    '  step "fenced $1: read-only, $(echo $ids | wc -w) client session(s) killed"',
    "}",
  ];
}

function statusCommand(d: FailoverDialect): string[] {
  const s = d.semiSync;
  return [
    "",
    "cmd_status() {",
    "  for n in $(node_names); do",
    '    address="$(node_host "$n"):$(node_port "$n")"',
    '    if ! reachable "$n"; then echo "$n $address unreachable"; continue; fi',
    '    load_replica_status "$n"',
    `    source=$(replica_field "$n" ${d.field.host})`,
    `    if [ -n "$source" ]; then source="$source:$(replica_field "$n" ${d.field.port})"; else source="-"; fi`,
    `    io=$(replica_field "$n" ${d.field.io}); sql_thread=$(replica_field "$n" ${d.field.sql})`,
    `    echo "$n $address reachable read_only=$(read_only "$n") $(sql "$n" ${shellQuote(d.statusPositionSql)}) replicating_from=$source io=\${io:--} sql=\${sql_thread:--} ${s.sourceStatus}=$(status_var "$n" ${s.sourceStatus}) ${s.replicaStatus}=$(status_var "$n" ${s.replicaStatus})"`,
    "  done",
    "}",
  ];
}

function promoteCommand(d: FailoverDialect): string[] {
  const s = d.semiSync;
  return [
    "",
    "# Old primary reachable: fence it, wait until the candidates have all it has, choose, shut it down.",
    "promote_from_reachable() {",
    '  step "old primary $OLD is reachable: fencing it"',
    '  was_writable=no; if in_list "$OLD" "$WRITABLE"; then was_writable=yes; fi',
    '  fence "$OLD"',
    '  target=$(position "$OLD") || fail "cannot read the GTID position of $OLD"',
    '  step "$OLD is at ${target:-(empty)}; waiting up to ${CATCH_UP_TIMEOUT}s for the replicas to have all of it"',
    '  CAUGHT_UP=""',
    "  for c in $CANDIDATES; do",
    '    if wait_until_has "$c" "$target"; then CAUGHT_UP="$CAUGHT_UP $c"; step "$c has everything $OLD has"',
    '    else step "$c still lacks $MISSING"; fi',
    "  done",
    '  if [ -n "$CANDIDATE" ]; then NEW=$CANDIDATE; else set -- $CAUGHT_UP; NEW=${1:-}; fi',
    '  if [ -z "$NEW" ] || ! in_list "$NEW" "$CAUGHT_UP"; then',
    '    if [ "$FORCE" = yes ] && [ -n "$NEW" ]; then step "--force: promoting $NEW although it lacks transactions of $OLD"',
    "    else",
    "      # Nothing was changed but the fence: lift it, so the cluster keeps taking writes.",
    `      if [ "$was_writable" = yes ]; then sql "$OLD" ${shellQuote(d.unfence)} || true; step "lifted the fence on $OLD"; fi`,
    '      refuse "no replica caught up with the reachable old primary $OLD within ${CATCH_UP_TIMEOUT}s (candidate: ${NEW:-none})"',
    "    fi",
    "  fi",
    "  # Stopped, the old primary cannot take a write even if its read_only is lifted by mistake.",
    '  step "shutting $OLD down"',
    '  sql "$OLD" "SHUTDOWN" >/dev/null 2>&1 || true',
    "  end=$(($(now) + CATCH_UP_TIMEOUT))",
    '  while reachable "$OLD"; do',
    '    if [ "$(now)" -ge "$end" ]; then fail "$OLD still answers ${CATCH_UP_TIMEOUT}s after SHUTDOWN"; fi',
    "    nap",
    "  done",
    '  step "$OLD is down"',
    "}",
    "",
    "# Old primary unreachable: every replica applies what it received; the most advanced one that was a",
    "# semi-sync replica is promoted (with AFTER_SYNC it holds every acknowledged commit).",
    "promote_from_unreachable() {",
    '  step "old primary ${OLD:-(unknown)} is unreachable"',
    "  for n in $(node_names); do",
    '    if [ "$n" != "$OLD" ] && ! in_list "$n" "$REACHABLE"; then',
    '      if [ "$FORCE" = yes ]; then step "--force: ignoring the unreachable replica $n"',
    '      else refuse "replica $n is unreachable too: it may hold acknowledged transactions the others lack (--force to go on without it)"; fi',
    "    fi",
    "  done",
    '  APPLIED=""',
    "  for c in $CANDIDATES; do",
    '    load_replica_status "$c"',
    `    received=$(replica_field "$c" ${d.field.received})`,
    '    if wait_until_has "$c" "$received"; then APPLIED="$APPLIED $c"; step "$c applied all it received (${received:-nothing})"',
    '    elif [ "$FORCE" = yes ]; then APPLIED="$APPLIED $c"; step "--force: $c has not applied $MISSING; considering it anyway"',
    '    else step "$c has not applied $MISSING within ${CATCH_UP_TIMEOUT}s: not a candidate"; fi',
    "  done",
    '  if [ -n "$CANDIDATE" ] && ! in_list "$CANDIDATE" "$APPLIED"; then refuse "$CANDIDATE has not applied its relay log"; fi',
    "  NEW=$CANDIDATE",
    '  if [ -z "$NEW" ]; then',
    '    NEW=$(most_advanced) || refuse "no replica has every transaction the others have (diverged histories): choose one with --candidate NAME --force"',
    "    step \"$NEW is the most advanced: its GTIDs ($(position \"$NEW\" | tr , '\\n' | sort -u | tr '\\n' , | sed 's/,$//')) include every other candidate's\"",
    "  fi",
    "  for c in $APPLIED; do",
    '    [ "$c" = "$NEW" ] && continue',
    '    missing=$(gtid_missing "$(position "$c")" "$(position "$NEW")" "$NEW") || missing="(cannot compare)"',
    '    if [ -n "$missing" ]; then',
    '      if [ "$FORCE" = yes ]; then step "--force: $NEW is behind $c (lacks $missing)"',
    '      else refuse "$NEW is behind $c: it lacks $missing"; fi',
    "    fi",
    "  done",
    `  semi=$(status_var "$NEW" ${s.replicaStatus})`,
    '  if [ "$semi" != ON ]; then',
    `    if [ "$FORCE" = yes ]; then step "--force: $NEW was no semi-sync replica (${s.replicaStatus}=\${semi:-absent})"`,
    `    else refuse "$NEW was not a semi-synchronous replica when it lost the primary (${s.replicaStatus}=\${semi:-absent}): acknowledged commits may be missing"; fi`,
    "  fi",
    "}",
    "",
    "# Prints the candidate whose position includes every other candidate's; fails when there is none.",
    "most_advanced() {",
    "  for c in $APPLIED; do",
    '    ahead=yes; pc=$(position "$c")',
    "    for o in $APPLIED; do",
    '      [ "$o" = "$c" ] && continue',
    '      missing=$(gtid_missing "$(position "$o")" "$pc" "$c") || missing=x',
    '      if [ -n "$missing" ]; then ahead=no; break; fi',
    "    done",
    '    if [ "$ahead" = yes ]; then echo "$c"; return 0; fi',
    "  done",
    "  return 1",
    "}",
    "",
    "make_primary() {",
    '  step "promoting $NEW"',
    `  sql "$NEW" "${d.stopReplica}; ${d.resetReplica}" || fail "could not clear the replica state of $NEW"`,
    "  # Every node carries the semi-sync settings as a replica; the new primary turns the source side on.",
    `  if [ "$(global_var "$NEW" ${s.replicaEnabled})" = ON ]; then sql "$NEW" "SET GLOBAL ${s.sourceEnabled} = ON" || fail "could not turn semi-sync on on $NEW"; fi`,
    `  sql "$NEW" ${shellQuote(d.unfence)} || fail "could not make $NEW writable"`,
    '  step "$NEW is the primary (writable)"',
    "}",
    "",
    "# Every other reachable replica follows the new primary by GTID, unless it has transactions the new",
    "# primary lacks (errant GTIDs): replicating would then diverge, or stop on a duplicate.",
    "repoint_replicas() {",
    '  new_host=$(node_host "$NEW"); new_port=$(node_port "$NEW")',
    "  for r in $CANDIDATES; do",
    '    [ "$r" = "$NEW" ] && continue',
    '    errant=$(gtid_missing "$(position "$r")" "$(position "$NEW")" "$NEW") || errant="(cannot compare)"',
    '    if [ -n "$errant" ]; then step "NOT repointing $r: it has transactions $NEW lacks: $errant"; RC=2; continue; fi',
    `    if sql "$r" "${d.stopReplica}; ${d.changeSource("$new_host", "$new_port", [])}; ${d.startReplica}"; then`,
    '      step "$r now replicates from $NEW ($new_host:$new_port)"',
    '    else step "could not repoint $r"; RC=1; fi',
    "  done",
    "}",
    "",
    "move_writer() {",
    '  if [ -z "$MOVE_WRITER_COMMAND" ]; then',
    '    step "move the writer endpoint to $NEW ($(node_host "$NEW"):$(node_port "$NEW")) now: this script has no command for it"',
    "    return 0",
    "  fi",
    '  step "moving the writer endpoint to $NEW"',
    '  if NEW_PRIMARY_NAME="$NEW" NEW_PRIMARY_HOST="$(node_host "$NEW")" NEW_PRIMARY_PORT="$(node_port "$NEW")" \\',
    '    sh -c "$MOVE_WRITER_COMMAND"; then step "writer endpoint moved"; else step "moving the writer endpoint failed"; RC=1; fi',
    "}",
    "",
    "cmd_promote() {",
    "  RC=0",
    '  step "promote: surveying ${ENGINE} nodes"',
    "  survey",
    "  find_old_primary",
    '  CANDIDATES=""',
    '  for n in $REACHABLE; do [ "$n" != "$OLD" ] && CANDIDATES="$CANDIDATES $n"; done',
    '  if [ -n "$CANDIDATE" ]; then',
    '    [ "$CANDIDATE" != "$OLD" ] || refuse "$CANDIDATE is the old primary"',
    '    in_list "$CANDIDATE" "$CANDIDATES" || refuse "$CANDIDATE is unreachable"',
    "  fi",
    '  [ -n "$CANDIDATES" ] || refuse "no reachable replica to promote"',
    '  if [ "$OLD_REACHABLE" = yes ]; then promote_from_reachable; else promote_from_unreachable; fi',
    "  make_primary",
    "  repoint_replicas",
    "  move_writer",
    '  if [ "$RC" = 0 ]; then step "promote done: $NEW is the primary"; else step "promote finished with errors: $NEW is the primary"; fi',
    '  exit "$RC"',
    "}",
  ];
}

function rejoinCommand(d: FailoverDialect): string[] {
  const s = d.semiSync;
  const mariadb = d.stopReplica === "STOP SLAVE";
  // The node's own TLS files (the same paths on every node) prove it is a replica; no password to store.
  const credentials = mariadb
    ? ["MASTER_USER = '$REPLICATION_USER'", ...replicationSourceTlsOptions("mariadb"), "MASTER_CONNECT_RETRY = 2"]
    : ["SOURCE_USER = '$REPLICATION_USER'", ...replicationSourceTlsOptions("mysql"), "SOURCE_CONNECT_RETRY = 2", "SOURCE_RETRY_COUNT = 86400"];
  return [
    "",
    "cmd_rejoin() {",
    '  step "rejoin: making $NODE a replica"',
    '  reachable "$NODE" || fail "$NODE is unreachable"',
    '  if [ -z "$PRIMARY" ]; then',
    "    for n in $(node_names); do",
    '      [ "$n" = "$NODE" ] && continue',
    '      if reachable "$n" && [ "$(read_only "$n")" = 0 ]; then',
    '        [ -z "$PRIMARY" ] || refuse "both $PRIMARY and $n are writable: name the primary with --primary"',
    "        PRIMARY=$n",
    "      fi",
    "    done",
    '    [ -n "$PRIMARY" ] || fail "no writable primary found besides $NODE: name it with --primary"',
    "  fi",
    '  [ "$PRIMARY" != "$NODE" ] || fail "$NODE cannot replicate from itself"',
    '  primary_pos=$(position "$PRIMARY") || fail "cannot read the GTID position of $PRIMARY"',
    '  node_pos=$(position "$NODE") || fail "cannot read the GTID position of $NODE"',
    "  # Transactions only NODE has (written on it after it lost the primary, or injected) would be lost or",
    "  # break replication: a human decides (discard them by rebuilding NODE, or replay them on the primary).",
    '  errant=$(gtid_missing "$node_pos" "$primary_pos" "$PRIMARY") || fail "cannot compare the GTID positions"',
    '  if [ -n "$errant" ]; then refuse "$NODE has transactions the primary $PRIMARY lacks (errant GTIDs): $errant"; fi',
    '  step "$NODE ($node_pos) has nothing $PRIMARY ($primary_pos) lacks"',
    `  sql "$NODE" "SET SESSION lock_wait_timeout = $CATCH_UP_TIMEOUT; ${d.fence}" || fail "could not make $NODE read-only"`,
    "  # Only a primary waits for semi-sync acknowledgements (see renderMyCnf): a replica's source side is off.",
    `  if [ -n "$(global_var "$NODE" ${s.sourceEnabled})" ]; then sql "$NODE" "SET GLOBAL ${s.sourceEnabled} = OFF" || fail "could not turn the semi-sync source side off on $NODE"; fi`,
    `  sql "$NODE" ${shellQuote(d.stopReplica)} || fail "could not stop replication on $NODE"`,
    ...(mariadb
      ? [
          "  # A former primary's binlog is ahead of its gtid_slave_pos: replication must start from what it logged.",
          '  binlog_pos=$(sql "$NODE" "SELECT @@GLOBAL.gtid_binlog_pos"); slave_pos=$(sql "$NODE" "SELECT @@GLOBAL.gtid_slave_pos")',
          '  if [ -n "$(gtid_missing "$binlog_pos" "$slave_pos" "$NODE")" ]; then',
          '    sql "$NODE" "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos" || fail "could not set gtid_slave_pos on $NODE"',
          '    step "gtid_slave_pos of $NODE set to its binlog position $binlog_pos"',
          "  fi",
        ]
      : []),
    '  primary_host=$(node_host "$PRIMARY"); primary_port=$(node_port "$PRIMARY")',
    `  sql "$NODE" "${d.changeSource("$primary_host", "$primary_port", credentials)}; ${d.startReplica}" || fail "could not start replication on $NODE"`,
    '  step "$NODE replicates from $PRIMARY ($primary_host:$primary_port); waiting for both threads"',
    "  end=$(($(now) + CATCH_UP_TIMEOUT))",
    "  while :; do",
    '    load_replica_status "$NODE"',
    `    io=$(replica_field "$NODE" ${d.field.io}); sql_thread=$(replica_field "$NODE" ${d.field.sql})`,
    '    if [ "$io" = Yes ] && [ "$sql_thread" = Yes ]; then step "rejoin done: $NODE replicates from $PRIMARY"; exit 0; fi',
    '    if [ "$(now)" -ge "$end" ]; then',
    '      fail "$NODE: IO thread $io, SQL thread $sql_thread after ${CATCH_UP_TIMEOUT}s: $(replica_field "$NODE" Last_IO_Error) $(replica_field "$NODE" Last_SQL_Error)"',
    "    fi",
    "    nap",
    "  done",
    "}",
  ];
}

function mainFunction(): string[] {
  return [
    "",
    "known_node() { is_node \"$1\" || { echo \"$0: unknown node '$1' (known: $(node_names | tr '\\n' ' '))\" >&2; exit 64; }; }",
    "",
    'CANDIDATE=""; FORCE=no; NODE=""; PRIMARY=""',
    "[ $# -ge 1 ] || usage",
    "COMMAND=$1; shift",
    'case "$COMMAND" in',
    "  status) [ $# -eq 0 ] || usage ;;",
    "  promote)",
    "    while [ $# -gt 0 ]; do",
    '      case "$1" in',
    '        --candidate) [ $# -ge 2 ] || usage; known_node "$2"; CANDIDATE=$2; shift 2 ;;',
    "        --force) FORCE=yes; shift ;;",
    "        *) usage ;;",
    "      esac",
    "    done ;;",
    "  rejoin)",
    '    [ $# -ge 1 ] || usage; known_node "$1"; NODE=$1; shift',
    "    while [ $# -gt 0 ]; do",
    '      case "$1" in',
    '        --primary) [ $# -ge 2 ] || usage; known_node "$2"; PRIMARY=$2; shift 2 ;;',
    "        *) usage ;;",
    "      esac",
    "    done ;;",
    "  *) usage ;;",
    "esac",
    "",
    "umask 077",
    'WORK=$(mktemp -d "${TMPDIR:-/tmp}/ha-web-db-failover.XXXXXX")',
    "trap 'rm -rf \"$WORK\"' EXIT",
    "# A signal still runs the EXIT trap (the option file goes).",
    "trap 'exit 130' INT",
    "trap 'exit 143' TERM",
    "write_option_file",
    'case "$COMMAND" in',
    "  status) cmd_status ;;",
    "  promote) cmd_promote ;;",
    "  rejoin) cmd_rejoin ;;",
    "esac",
  ];
}
