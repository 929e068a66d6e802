import { MysqlEngine } from "./engine";
import { renderCreateUser, SqlQuotedText } from "./replication-sql";

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
