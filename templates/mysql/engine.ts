/**
 * The two database engines we render for. Everything that differs between them
 * (binary names, option names, replication statements) is looked up here, so the
 * templates themselves stay one code path.
 */
export type MysqlEngine = "mariadb" | "mysql";

export const SUPPORTED_ENGINE_VERSIONS: Readonly<Record<MysqlEngine, readonly string[]>> = {
  /** What Debian ships as its MySQL server, and what the lab runs end to end. */
  mariadb: ["10.11"],
  /** Rendered and unit-tested; not run end to end on this machine (no MySQL 8 server in Debian). */
  mysql: ["8.4"],
};

/** The version each engine runs when none is given. */
export const DEFAULT_ENGINE_VERSION: Readonly<Record<MysqlEngine, string>> = { mariadb: "10.11", mysql: "8.4" };

export interface EngineDialect {
  readonly engine: MysqlEngine;
  /** Server binary. */
  readonly server: string;
  /** Command-line client. */
  readonly client: string;
  /** Admin tool (ping, shutdown). */
  readonly admin: string;
  /** Shell command that creates the system tables in an empty data directory. */
  initializeCommand(defaultsFile: string, dataDir: string): string;
  /** Option that keeps replication threads stopped while we bootstrap. */
  readonly skipReplicaStart: string;
  /** Name of the "replica applies its own updates to its binlog" option. */
  readonly logReplicaUpdates: string;
  /** Privileges of the replication user. */
  readonly replicationGrants: string;
  /** Option that keeps a server from waiting for semi-sync acknowledgements (`loose-`: harmless when semi-sync is off). */
  readonly semiSyncPrimaryOff: string;
}

export const DIALECTS: Readonly<Record<MysqlEngine, EngineDialect>> = {
  mariadb: {
    engine: "mariadb",
    server: "mariadbd",
    client: "mariadb",
    admin: "mariadb-admin",
    initializeCommand: (defaultsFile, dataDir) =>
      `mariadb-install-db --defaults-file=${defaultsFile} --user=mysql --datadir=${dataDir} --skip-test-db --auth-root-authentication-method=socket`,
    skipReplicaStart: "--skip-slave-start",
    logReplicaUpdates: "log_slave_updates",
    replicationGrants: "REPLICATION SLAVE, REPLICATION CLIENT",
    semiSyncPrimaryOff: "--loose-rpl-semi-sync-master-enabled=OFF",
  },
  mysql: {
    engine: "mysql",
    server: "mysqld",
    client: "mysql",
    admin: "mysqladmin",
    initializeCommand: (defaultsFile, dataDir) => `mysqld --defaults-file=${defaultsFile} --initialize-insecure --user=mysql --datadir=${dataDir}`,
    skipReplicaStart: "--skip-replica-start",
    logReplicaUpdates: "log_replica_updates",
    replicationGrants: "REPLICATION SLAVE, REPLICATION CLIENT",
    semiSyncPrimaryOff: "--loose-rpl-semi-sync-source-enabled=OFF",
  },
};

export function isSupportedEngine(engine: string, version: string): boolean {
  return (SUPPORTED_ENGINE_VERSIONS as Record<string, readonly string[]>)[engine]?.includes(version) ?? false;
}

export function supportedEnginesText(): string {
  return Object.entries(SUPPORTED_ENGINE_VERSIONS)
    .map(([engine, versions]) => versions.map((v) => `${engine} ${v}`).join(", "))
    .join(", ");
}
