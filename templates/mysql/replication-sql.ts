import { assertNoProblems, ConfigProblem, isDnsLabel, isPort, isSqlIdentifier } from "../validate";
import { MysqlEngine } from "./engine";
import { isCertificateCommonName, replicationSourceTlsOptions, replicationUserRequirement } from "./replication-tls";

/**
 * Text placed verbatim between single quotes in SQL. Use `escapeSqlString()` for a
 * literal, or a shell reference such as `${APP_PASSWORD_SQL}` when the SQL is
 * embedded in a start script that escapes the secret at run time (secrets never
 * appear in rendered files).
 */
export type SqlQuotedText = string;

/** Escapes a value for a single-quoted SQL string (backslash and quote). */
export function escapeSqlString(value: string): SqlQuotedText {
  return value.replace(/\\/g, "\\\\").replace(/'/g, "''");
}

export interface PrimaryInitSqlConfig {
  readonly engine: MysqlEngine;
  /** Schema of the application. */
  readonly database: string;
  readonly appUser: string;
  readonly appPassword: SqlQuotedText;
  readonly replicationUser: string;
  /**
   * Common name of the replication client certificate: the replication user has
   * no password and requires a certificate with this subject and issuer (see
   * replication-tls.ts), so no replication secret is ever written to a data directory.
   */
  readonly replicationCertificateName: string;
  /** Host pattern the app and replication users may connect from. @default "%" */
  readonly allowedHost?: string;
  /** Create the demo app's tables (`items`, `idempotency_keys`). @default true */
  readonly createDemoSchema?: boolean;
  /**
   * The Prometheus exporter's user (prometheus-mysqld-exporter), created with
   * only what it reads: PROCESS, the replication monitoring privilege, SELECT on
   * performance_schema, at most 3 connections. @default none
   */
  readonly exporter?: { readonly user: string; readonly password: SqlQuotedText };
  /**
   * The user `ha-web-db-failover` logs in as (FAILOVER_GRANTS: replication and
   * read-only administration, no data access), from `allowedHost`. @default none
   */
  readonly failover?: { readonly user: string; readonly password: SqlQuotedText };
}

/**
 * The privileges mysqld_exporter's default collectors need: PROCESS (InnoDB and
 * process state), reading replica status (MariaDB 10.5+ split it from
 * REPLICATION CLIENT into SLAVE MONITOR, and REPLICATION CLIENT became BINLOG
 * MONITOR), and SELECT on performance_schema. Nothing that reads or writes data.
 */
export const EXPORTER_GRANTS: Readonly<Record<MysqlEngine, string>> = {
  mariadb: "PROCESS, BINLOG MONITOR, SLAVE MONITOR",
  mysql: "PROCESS, REPLICATION CLIENT",
};

/** Where the exporter's user may log in from: its own node's loopback (it shares the server's network namespace). */
export const EXPORTER_HOST = "127.0.0.1";

export interface ReplicaInitSqlConfig {
  readonly engine: MysqlEngine;
  readonly primaryHost: string;
  /** @default 3306 */
  readonly primaryPort?: number;
  readonly replicationUser: string;
  /** Seconds between reconnect attempts to the primary. @default 2 */
  readonly connectRetrySeconds?: number;
}

export function validatePrimaryInitSqlConfig(config: PrimaryInitSqlConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [key, value] of Object.entries({ database: config.database, appUser: config.appUser, replicationUser: config.replicationUser })) {
    if (!isSqlIdentifier(value))
      problems.push(new ConfigProblem(key, `${key} "${value}" is not a valid identifier (letters, digits, _; at most 32; not a system schema)`));
  }
  if (config.appUser === config.replicationUser) problems.push(new ConfigProblem("replicationUser", "appUser and replicationUser must differ"));
  if (!isCertificateCommonName(config.replicationCertificateName))
    problems.push(
      new ConfigProblem(
        "replicationCertificateName",
        `replicationCertificateName "${config.replicationCertificateName}" must be letters, digits, dots and hyphens (at most 64, starting with a letter or digit)`,
      ),
    );
  if (config.exporter !== undefined) {
    if (!isSqlIdentifier(config.exporter.user))
      problems.push(new ConfigProblem("exporter.user", `exporter.user "${config.exporter.user}" is not a valid identifier (letters, digits, _; at most 32)`));
    if ([config.appUser, config.replicationUser].includes(config.exporter.user))
      problems.push(new ConfigProblem("exporter.user", "the exporter's user must differ from appUser and replicationUser"));
  }
  if (config.failover !== undefined) {
    if (!isSqlIdentifier(config.failover.user))
      problems.push(new ConfigProblem("failover.user", `failover.user "${config.failover.user}" is not a valid identifier (letters, digits, _; at most 32)`));
    if ([config.appUser, config.replicationUser, config.exporter?.user].includes(config.failover.user))
      problems.push(new ConfigProblem("failover.user", "the failover user must differ from appUser, replicationUser and the exporter's user"));
  }
  if (config.allowedHost !== undefined && !/^[A-Za-z0-9.%_-]+$/.test(config.allowedHost))
    problems.push(new ConfigProblem("allowedHost", `allowedHost "${config.allowedHost}" is not a host pattern`));
  return problems;
}

/**
 * SQL run once on the primary's fresh data directory. It is written to the binlog
 * on purpose: replicas start from an empty GTID position and receive the schema
 * and users from it, so every node agrees on one history.
 */
export function renderPrimaryInitSql(config: PrimaryInitSqlConfig): string {
  assertNoProblems("Primary init SQL", validatePrimaryInitSqlConfig(config));
  const host = config.allowedHost ?? "%";
  const lines = ["-- Rendered by cdktf-ha-web: primary bootstrap.", `CREATE DATABASE IF NOT EXISTS ${config.database} CHARACTER SET utf8mb4;`];
  if (config.createDemoSchema ?? true) {
    lines.push(
      `CREATE TABLE IF NOT EXISTS ${config.database}.items (`,
      "  id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,",
      "  name VARCHAR(200) NOT NULL,",
      "  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)",
      ") ENGINE=InnoDB;",
      "-- Idempotency keys of POST /api/items, written in the same transaction as the item (app/README.md).",
      `CREATE TABLE IF NOT EXISTS ${config.database}.idempotency_keys (`,
      "  idem_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,",
      "  request_hash BINARY(32) NOT NULL,",
      "  status SMALLINT UNSIGNED NOT NULL,",
      "  response TEXT NOT NULL,",
      "  location VARCHAR(255) NULL,",
      "  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),",
      "  expires_at TIMESTAMP(3) NOT NULL,",
      "  KEY idempotency_keys_expires (expires_at)",
      ") ENGINE=InnoDB;",
    );
  }
  const createUser = (user: string, password: SqlQuotedText, options = "") => renderCreateUser(config.engine, `'${user}'@'${host}'`, password, options);
  lines.push(
    "-- Replication: only what a replica needs to stream the binlog (and report its state); no password, a pinned client certificate.",
    `CREATE USER '${config.replicationUser}'@'${host}' ${replicationUserRequirement(config.replicationCertificateName)};`,
    `GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${config.replicationUser}'@'${host}';`,
    "-- The application: data access on its own schema, nothing else.",
    ...createUser(config.appUser, config.appPassword),
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${config.database}.* TO '${config.appUser}'@'${host}';`,
  );
  if (config.exporter) {
    // The exporter runs beside its server and logs in over loopback (skip_name_resolve: as 127.0.0.1), from nowhere else.
    const user = `'${config.exporter.user}'@'${EXPORTER_HOST}'`;
    lines.push(
      "-- The Prometheus exporter, from its own node only: server and replication state, performance_schema; no data, at most 3 connections.",
      ...renderCreateUser(config.engine, user, config.exporter.password, " WITH MAX_USER_CONNECTIONS 3"),
      `GRANT ${EXPORTER_GRANTS[config.engine]} ON *.* TO ${user};`,
      `GRANT SELECT ON performance_schema.* TO ${user};`,
    );
  }
  if (config.failover) {
    lines.push(
      "-- The failover script: fences, promotes and repoints nodes; reads no data.",
      ...renderFailoverUserSql(config.engine, config.failover.user, config.failover.password, host),
    );
  }
  lines.push("");
  return lines.join("\n");
}

/**
 * `CREATE USER` that writes no password in clear to the binlog (which replicas
 * copy into their relay logs). MariaDB logs `IDENTIFIED BY '<password>'` as
 * written, so the user is created from the password's hash, computed in the
 * session: the logged statement carries only the hash. MySQL 8.4 logs the
 * statement rewritten with the salted caching_sha2 hash already.
 */
export function renderCreateUser(engine: MysqlEngine, user: string, password: SqlQuotedText, options = ""): string[] {
  if (engine === "mysql") return [`CREATE USER ${user} IDENTIFIED BY '${password}'${options};`];
  const inString = (text: string) => text.replace(/'/g, "''");
  return [
    `SET @ha_web_hash = PASSWORD('${password}');`,
    `EXECUTE IMMEDIATE CONCAT('CREATE USER ${inString(user)} IDENTIFIED BY PASSWORD ''', @ha_web_hash, '''${inString(options)}');`,
    "SET @ha_web_hash = NULL;",
  ];
}

export function validateReplicaInitSqlConfig(config: ReplicaInitSqlConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!/^[A-Za-z0-9.-]+$/.test(config.primaryHost) || (!isDnsLabel(config.primaryHost.split(".")[0]) && !/^[0-9.]+$/.test(config.primaryHost))) {
    problems.push(new ConfigProblem("primaryHost", `primaryHost "${config.primaryHost}" is not a host name or address`));
  }
  if (config.primaryPort !== undefined && !isPort(config.primaryPort))
    problems.push(new ConfigProblem("primaryPort", `primaryPort ${config.primaryPort} is outside 1-65535`));
  if (!isSqlIdentifier(config.replicationUser))
    problems.push(new ConfigProblem("replicationUser", `replicationUser "${config.replicationUser}" is not a valid identifier`));
  return problems;
}

/**
 * SQL run once on a replica's fresh data directory: points it at the primary by
 * GTID. Not written to the replica's own binlog, so the replica's GTID history
 * stays the primary's. Replication starts when the server starts for real.
 */
export function renderReplicaInitSql(config: ReplicaInitSqlConfig): string {
  assertNoProblems("Replica init SQL", validateReplicaInitSqlConfig(config));
  const port = config.primaryPort ?? 3306;
  const retry = config.connectRetrySeconds ?? 2;
  const lines = ["-- Rendered by cdktf-ha-web: replica bootstrap.", "SET SESSION sql_log_bin = 0;"];
  if (config.engine === "mariadb") {
    lines.push(
      "CHANGE MASTER TO",
      `  MASTER_HOST = '${config.primaryHost}',`,
      `  MASTER_PORT = ${port},`,
      `  MASTER_USER = '${config.replicationUser}',`,
      ...replicationSourceTlsOptions("mariadb").map((o) => `  ${o},`),
      `  MASTER_CONNECT_RETRY = ${retry},`,
      "  MASTER_USE_GTID = slave_pos;",
    );
  } else {
    lines.push(
      "CHANGE REPLICATION SOURCE TO",
      `  SOURCE_HOST = '${config.primaryHost}',`,
      `  SOURCE_PORT = ${port},`,
      `  SOURCE_USER = '${config.replicationUser}',`,
      ...replicationSourceTlsOptions("mysql").map((o) => `  ${o},`),
      `  SOURCE_CONNECT_RETRY = ${retry},`,
      "  SOURCE_RETRY_COUNT = 86400,",
      "  SOURCE_AUTO_POSITION = 1;",
    );
  }
  lines.push("");
  return lines.join("\n");
}

/** Name of the database user `ha-web-db-failover` logs in as. */
export const FAILOVER_USER_DEFAULT = "failover";

/**
 * The least privileges `ha-web-db-failover` needs; no data access at all.
 *
 * MariaDB 10.11 (each checked against the real server, which names the
 * privilege it misses): READ_ONLY ADMIN (SET GLOBAL read_only), REPLICATION
 * SLAVE ADMIN (STOP/START SLAVE, CHANGE MASTER, RESET SLAVE, SET GLOBAL
 * gtid_slave_pos and rpl_semi_sync_slave_enabled), RELOAD (RESET SLAVE ALL
 * asks for it), REPLICATION MASTER ADMIN
 * (SET GLOBAL rpl_semi_sync_master_enabled), SLAVE MONITOR (SHOW SLAVE STATUS),
 * SHUTDOWN, PROCESS (every session in the process list) and CONNECTION ADMIN
 * (KILL another user's session). Not needed: BINLOG MONITOR (the script reads
 * @@gtid_binlog_pos, never SHOW MASTER STATUS); MASTER_GTID_WAIT() and SHOW
 * GLOBAL STATUS need nothing.
 *
 * MySQL 8.4: SYSTEM_VARIABLES_ADMIN (read_only, super_read_only, the semi-sync
 * variables), REPLICATION_SLAVE_ADMIN (STOP/START REPLICA, CHANGE REPLICATION
 * SOURCE, RESET REPLICA), REPLICATION CLIENT (SHOW REPLICA STATUS), SHUTDOWN,
 * PROCESS and CONNECTION_ADMIN (KILL). GTID_SUBSET() and
 * WAIT_FOR_EXECUTED_GTID_SET() need nothing.
 */
export const FAILOVER_GRANTS: Readonly<Record<MysqlEngine, string>> = {
  mariadb: "READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, RELOAD, REPLICATION MASTER ADMIN, SLAVE MONITOR, SHUTDOWN, PROCESS, CONNECTION ADMIN",
  mysql: "SYSTEM_VARIABLES_ADMIN, REPLICATION_SLAVE_ADMIN, REPLICATION CLIENT, SHUTDOWN, PROCESS, CONNECTION_ADMIN",
};

/**
 * Statements that create the failover user on the primary (they replicate to
 * every node): `CREATE USER` without the password in clear in the binlog (see
 * renderCreateUser), then the grants of FAILOVER_GRANTS.
 *
 * @param user a SQL identifier (not validated here: the caller's config is)
 * @param password escaped text for single quotes (escapeSqlString, or a shell reference such as `${FAILOVER_PASSWORD_SQL}`)
 * @param host host pattern the user may connect from
 */
export function renderFailoverUserSql(engine: MysqlEngine, user: string, password: SqlQuotedText, host = "%"): string[] {
  const account = `'${user}'@'${host}'`;
  return [...renderCreateUser(engine, account, password), `GRANT ${FAILOVER_GRANTS[engine]} ON *.* TO ${account};`];
}
