import { PATHS } from "../paths";
import { serverTlsOptions } from "./replication-tls";
import { assertNoProblems, ConfigProblem, isPort } from "../validate";
import { DIALECTS, isSupportedEngine, MysqlEngine, supportedEnginesText } from "./engine";

export type MysqlRole = "primary" | "replica";

/** Every default of the server config: the one source the constructs, their docs and tests read. */
export const MYSQL_DEFAULTS = {
  port: 3306,
  innodbBufferPoolSize: "128M",
  maxConnections: 200,
  /**
   * 1 s, not the servers' 10 s: with one replica, its outage holds the commit that
   * finds it gone for the whole timeout, longer than a web request should wait
   * (the lab's replica-failure scenario saw those writes time out at 10 s).
   */
  semiSyncTimeoutMs: 1000,
  /**
   * 7 days: what the servers' own defaults come to (MariaDB's expire_logs_days 0
   * keeps forever; MySQL's 30 days). With a backup plan, the construct passes
   * binlogExpireSeconds(plan) instead (twice the longest gap between full backups).
   */
  binlogExpireSeconds: 604800,
  /**
   * 4 applier threads on a replica, not MariaDB's 0 (one SQL thread): at 500
   * writes/s for 20 s one thread fell 10 s behind (p99 lag 10.9 s) while 4 kept
   * the lag at p99 125 ms (bench/README.md, replication). MySQL 8.4's own default.
   */
  replicaParallelThreads: 4,
} as const;

/** The most applier threads a replica may run (MariaDB's slave_parallel_threads limit is 16383; more only costs memory). */
export const MAX_REPLICA_PARALLEL_THREADS = 256;

export interface MyCnfConfig {
  readonly engine: MysqlEngine;
  /** Major.minor version, for example "10.11" or "8.4". */
  readonly version: string;
  readonly role: MysqlRole;
  /**
   * Unique, deterministic server id (1 for the primary, 2.. for replicas):
   * random ids collide, and GTIDs carry it.
   */
  readonly serverId: number;
  /** @default 3306 */
  readonly port?: number;
  /** @default "128M" */
  readonly innodbBufferPoolSize?: string;
  /** @default 200 */
  readonly maxConnections?: number;
  /**
   * Semi-synchronous replication with the AFTER_SYNC wait point: a commit returns
   * only once a replica has the transaction. Falls back to async after
   * `semiSyncTimeoutMs` without an acknowledgement. The source side is on for the
   * primary only (see renderMyCnf); every node is a semi-sync replica. @default false
   */
  readonly semiSync?: boolean;
  /** @default 1000 */
  readonly semiSyncTimeoutMs?: number;
  /**
   * How long the server keeps its binlogs (binlog_expire_logs_seconds). With
   * backups, derive it from the plan (backup-schedule.ts's binlogExpireSeconds)
   * so a replica seeded from the newest backup can still catch up by GTID.
   * @default 604800 (7 days)
   */
  readonly binlogExpireSeconds?: number;
  /**
   * Applier threads when the node replicates (MariaDB's `slave_parallel_threads`
   * in `optimistic` mode, MySQL's `replica_parallel_workers` with
   * `replica_preserve_commit_order`): transactions commit in the primary's order
   * either way, so GTID positions and failover stay exact. 0 is one SQL thread.
   * Rendered on every node, as any node may become a replica after a failover.
   * @default 4
   */
  readonly replicaParallelThreads?: number;
}

/** Smallest buffer pool MariaDB 10.11 and MySQL 8.4 start with (smaller values are raised or refused). */
export const MIN_INNODB_BUFFER_POOL_BYTES = 5 * 1024 * 1024;

/** "128M" -> bytes, or undefined when it is not a size MySQL's option parser reads. */
export function parseMysqlSize(value: string): number | undefined {
  const m = /^([1-9]\d{0,9})([KMG])$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as "K" | "M" | "G"];
}

export function validateMyCnfConfig(config: MyCnfConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));
  if (!isSupportedEngine(config.engine, config.version)) {
    add("version", `engine "${config.engine} ${config.version}" is not supported; use one of: ${supportedEnginesText()}`);
  }
  if (!Number.isInteger(config.serverId) || config.serverId < 1 || config.serverId > 4294967295) {
    add("serverId", `serverId ${config.serverId} must be a whole number from 1 to 4294967295`);
  }
  if (config.port !== undefined && !isPort(config.port)) add("port", `port ${config.port} is outside 1-65535`);
  if (config.innodbBufferPoolSize !== undefined) {
    const bytes = parseMysqlSize(config.innodbBufferPoolSize);
    if (bytes === undefined)
      add("innodbBufferPoolSize", `innodbBufferPoolSize "${config.innodbBufferPoolSize}" must look like 128M or 2G (a whole number with K, M or G)`);
    else if (bytes < MIN_INNODB_BUFFER_POOL_BYTES)
      add("innodbBufferPoolSize", `innodbBufferPoolSize "${config.innodbBufferPoolSize}" is below the 5M the servers accept`);
  }
  if (config.maxConnections !== undefined && (!Number.isInteger(config.maxConnections) || config.maxConnections < 10 || config.maxConnections > 100000)) {
    add("maxConnections", `maxConnections is ${config.maxConnections}; it must be a whole number from 10 to 100000`);
  }
  if (config.semiSyncTimeoutMs !== undefined && (!Number.isInteger(config.semiSyncTimeoutMs) || config.semiSyncTimeoutMs < 1)) {
    add("semiSyncTimeoutMs", `semiSyncTimeoutMs is ${config.semiSyncTimeoutMs}; it must be a whole number of milliseconds, at least 1`);
  }
  const threads = config.replicaParallelThreads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 0 || threads > MAX_REPLICA_PARALLEL_THREADS)) {
    add("replicaParallelThreads", `replicaParallelThreads is ${threads}; it must be a whole number from 0 (one SQL thread) to ${MAX_REPLICA_PARALLEL_THREADS}`);
  }
  if (
    config.binlogExpireSeconds !== undefined &&
    (!Number.isInteger(config.binlogExpireSeconds) || config.binlogExpireSeconds < 1 || config.binlogExpireSeconds > 8553600)
  ) {
    add(
      "binlogExpireSeconds",
      `binlogExpireSeconds is ${config.binlogExpireSeconds}; it must be a whole number of seconds from 1 to 8553600 (99 days, MariaDB's limit)`,
    );
  }
  return problems;
}

/**
 * Renders the server's option file. Every node that may be promoted carries the
 * binlog and crash-safety settings, so promotion is a role change, not a rebuild.
 */
export function renderMyCnf(config: MyCnfConfig): string {
  assertNoProblems("MySQL config", validateMyCnfConfig(config));
  const dialect = DIALECTS[config.engine];
  const replica = config.role === "replica";
  const lines = [
    "# Rendered by cdktf-ha-web. Do not edit: change the construct props instead.",
    "[mysqld]",
    `server_id = ${config.serverId}`,
    "bind_address = 0.0.0.0",
    `port = ${config.port ?? MYSQL_DEFAULTS.port}`,
    `datadir = ${PATHS.mysqlDataDir}`,
    `socket = ${PATHS.mysqlSocket}`,
    `pid_file = ${PATHS.mysqlRunDir}/mysqld.pid`,
    "skip_name_resolve = ON",
    "character_set_server = utf8mb4",
    `max_connections = ${config.maxConnections ?? MYSQL_DEFAULTS.maxConnections}`,
    `innodb_buffer_pool_size = ${config.innodbBufferPoolSize ?? MYSQL_DEFAULTS.innodbBufferPoolSize}`,
    "",
    "# TLS: replication logs in with a client certificate, never a password (see replication-tls.ts).",
    ...serverTlsOptions(),
    "",
    "# Crash safety: a committed transaction survives a power cut, on every node.",
    "innodb_flush_log_at_trx_commit = 1",
    "sync_binlog = 1",
    "log_bin = mysql-bin",
    "binlog_format = ROW",
    `binlog_expire_logs_seconds = ${config.binlogExpireSeconds ?? MYSQL_DEFAULTS.binlogExpireSeconds}`,
    `${dialect.logReplicaUpdates} = ON`,
    "relay_log = relay-bin",
    "relay_log_recovery = ON",
    "",
  ];
  if (config.engine === "mariadb") {
    lines.push("# MariaDB: GTIDs are always on; strict mode refuses out-of-order transactions.", "gtid_strict_mode = ON");
  } else {
    lines.push("gtid_mode = ON", "enforce_gtid_consistency = ON");
  }
  const threads = config.replicaParallelThreads ?? MYSQL_DEFAULTS.replicaParallelThreads;
  lines.push("", "# Parallel appliers (commits stay in the primary's order): one SQL thread falls behind a busy primary.");
  if (config.engine === "mariadb") lines.push(`slave_parallel_threads = ${threads}`, "slave_parallel_mode = optimistic");
  else lines.push(`replica_parallel_workers = ${threads}`, "replica_preserve_commit_order = ON");
  if (replica) {
    lines.push("", "# Replicas serve reads only: the application user cannot write here.", "read_only = ON");
    if (config.engine === "mysql") lines.push("super_read_only = ON");
  }
  if (config.semiSync) {
    const timeout = config.semiSyncTimeoutMs ?? MYSQL_DEFAULTS.semiSyncTimeoutMs;
    // Only the primary waits for acknowledgements: a replica's applier would otherwise wait for
    // acknowledgements from replicas of its own (log_slave_updates) that do not exist. Every node
    // is a semi-sync replica and carries the wait point and timeout, so a promotion only has to
    // turn the source side on (ha-web-db-failover does, and turns it off on a node that rejoins).
    lines.push("", "# Semi-sync: commits wait for a replica's acknowledgement (AFTER_SYNC: nobody sees data a failover could lose).");
    const source = replica ? "OFF" : "ON";
    if (config.engine === "mariadb") {
      lines.push(
        `rpl_semi_sync_master_enabled = ${source}`,
        "rpl_semi_sync_slave_enabled = ON",
        "rpl_semi_sync_master_wait_point = AFTER_SYNC",
        `rpl_semi_sync_master_timeout = ${timeout}`,
      );
    } else {
      lines.push(
        "plugin_load_add = semisync_source.so",
        "plugin_load_add = semisync_replica.so",
        `rpl_semi_sync_source_enabled = ${source}`,
        "rpl_semi_sync_replica_enabled = ON",
        "rpl_semi_sync_source_wait_point = AFTER_SYNC",
        `rpl_semi_sync_source_timeout = ${timeout}`,
      );
    }
  }
  if (config.engine === "mysql") {
    lines.push("", "# root logs in through the socket only, as the OS root user.", "plugin_load_add = auth_socket.so");
  }
  lines.push("", "[client]", `socket = ${PATHS.mysqlSocket}`, "");
  return lines.join("\n");
}
