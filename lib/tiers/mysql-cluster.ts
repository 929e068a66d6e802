import { Construct } from "constructs";
import { renderBackupFiles } from "../../templates/mysql/backup-files";
import { BackupPlan } from "../../templates/mysql/backup-plan";
import { binlogExpireSeconds, cronMaxIntervalSeconds } from "../../templates/mysql/backup-schedule";
import { DEFAULT_ENGINE_VERSION, DIALECTS, MysqlEngine } from "../../templates/mysql/engine";
import { MYSQL_DEFAULTS, renderMyCnf } from "../../templates/mysql/my-cnf";
import { FAILOVER_USER_DEFAULT } from "../../templates/mysql/replication-sql";
import { PATHS } from "../../templates/paths";
import { databaseStartWaitSeconds, renderPrimaryStartScript, renderReplicaStartScript } from "../../templates/scripts/database";
import { DATABASE_FAILOVER_DEFAULTS, DATABASE_FAILOVER_SCRIPT_NAME, renderDatabaseFailoverScript } from "../../templates/scripts/database-failover";
import { MONITORING_PORTS, renderMysqldExporterStartScript } from "../../templates/scripts/monitoring";
import { SECRET_ENV } from "../../templates/scripts/shell";
import { Endpoint, IDatabase, IMonitored } from "../interfaces";
import { httpHealthCheck, httpHealthcheckFile, startCommand, startScriptFile } from "../private/host-files";
import { renderablePlan } from "../private/backup-plan-rendering";
import { BackupStore, DeployedHost, DeploymentTarget, HostFile, MetricsEndpoint, Secret, ServiceSpec } from "../targets/target";
import { createMysqlClusterTls } from "../private/mysql-cluster-tls";
import { validateMysqlClusterProps } from "./validate-mysql-cluster-props";

export interface MysqlClusterProps {
  /** Where the nodes run (DockerTarget, AwsTarget). */
  readonly target: DeploymentTarget;
  /** Number of read replicas. 0 is allowed: reads then go to the primary. @default 1 */
  readonly replicas?: number;
  /** @default "mariadb" (what Debian ships as its MySQL server; verified end to end) */
  readonly engine?: MysqlEngine;
  /**
   * Major.minor version: picks the image tag on Docker and the package on AWS.
   * @default "10.11" for mariadb, "8.4" for mysql (DEFAULT_ENGINE_VERSION)
   */
  readonly version?: string;
  /** Prefix of node names: `<prefix>-primary`, `<prefix>-replica-1`, ...; also names the writer, `<prefix>-writer`. @default "db" */
  readonly namePrefix?: string;
  /** @default 3306 */
  readonly port?: number;
  /** Schema of the application. @default "appdb" */
  readonly database?: string;
  /** Database user of the application (SELECT, INSERT, UPDATE, DELETE on `database`). @default "app" */
  readonly appUser?: string;
  /**
   * Replication user (REPLICATION SLAVE, REPLICATION CLIENT). It has no password:
   * it logs in over TLS with a client certificate the cluster generates at deploy
   * time (subject `/CN=<namePrefix>-replication`), so no replication secret is
   * ever stored in a data directory (MariaDB keeps a replica's password in clear
   * in master.info). @default "repl"
   */
  readonly replicationUser?: string;
  /** Password of the application user, as a reference. @default generated at deploy time */
  readonly appPassword?: Secret;
  /**
   * Semi-synchronous replication with the AFTER_SYNC wait point: the primary
   * acknowledges a commit only once a replica has it in its relay log, and no
   * other session sees the transaction before that, so a failover to the most
   * advanced replica loses no acknowledged write. Costs one network round trip
   * per commit. MariaDB's built-in `rpl_semi_sync_master_*`/`_slave_*`
   * variables; MySQL 8.4's `semisync_source`/`semisync_replica` plugins.
   * @default true when the cluster has at least one replica (false without one: nobody could acknowledge)
   */
  readonly semiSync?: boolean;
  /**
   * How long the primary waits for a replica's acknowledgement before it falls
   * back to asynchronous replication (and commits without one). The trade-off:
   * a longer timeout keeps the no-loss guarantee through longer replica outages
   * but stalls every commit that long when no replica answers; after the
   * fallback a failover can lose the writes acknowledged since. The monitoring
   * tier's `MysqlSemiSyncFellBackToAsync` alert fires on it; the primary switches back
   * by itself once a replica catches up.
   * With one replica, its outage stalls the first commit after it for this long
   * (then commits go on asynchronously); with two or more, one acknowledgement
   * suffices and a single replica's outage stalls nothing.
   * @default 1000 (1 s; the servers' own default, 10 s, would stall that commit past a web request's patience)
   */
  readonly semiSyncTimeoutMs?: number;
  /**
   * Applier threads on each replica (MariaDB's `slave_parallel_threads`,
   * optimistic mode; MySQL's `replica_parallel_workers`); commits stay in the
   * primary's order. 0 is one SQL thread, which fell 10 s behind at 500 writes/s
   * in the lab's benchmark where 4 kept the lag's p99 near 125 ms.
   * @default 4
   */
  readonly replicaParallelThreads?: number;
  /** @default "128M" */
  readonly innodbBufferPoolSize?: string;
  /** Create the demo app's tables: `items`, and `idempotency_keys` (its Idempotency-Key records). @default true */
  readonly createDemoSchema?: boolean;
  /**
   * The MySQL exporter (prometheus-mysqld-exporter) beside every node, logged
   * in as a least-privilege user the bootstrap creates; only the monitoring
   * hosts reach its port. `false`: no exporter, no user.
   * @default port 9104, user "exporter", password generated at deploy time
   */
  readonly exporter?: MysqlExporterProps | false;
  /**
   * The manual failover: `ha-web-db-failover` (status, promote, rejoin; see the
   * README's runbook) installed on every node, a least-privilege database user
   * for it (FAILOVER_GRANTS) that the bootstrap creates, and the right to move
   * the writer's name where the target has one (AWS: an UPSERT of the writer's
   * DNS record, nothing else). `false`: none of it.
   * @default on when the cluster has a replica: user "failover", password generated at deploy time
   */
  readonly failover?: MysqlFailoverProps | false;
  /**
   * Backups, on by default: full (and on MariaDB incremental) physical backups
   * on a schedule from one node, the writer's binlogs archived continuously for
   * point-in-time recovery, results as metrics the MonitoringTier alerts on,
   * and the restore command on every node. Where they are kept is the
   * target's: AwsTarget a dedicated S3 bucket per cluster (off-site, versioned,
   * encrypted, expired after `retentionDays`) plus EBS snapshots of the data
   * volumes; DockerTarget a named volume on the source node, which is NOT
   * off-site (DockerTarget's `backupHostDirectory` binds a host directory
   * instead). See docs/backup-stores.md.
   * `false`: no backups at all. Not recommended: a failover protects against a
   * lost node, not against a dropped table or a bad deploy.
   * @default on, with the defaults of MysqlBackupProps
   */
  readonly backup?: MysqlBackupProps | false;
}

/** The backups of a cluster (MysqlClusterProps.backup). */
export interface MysqlBackupProps {
  /** When full backups run: a five-field cron expression in UTC. @default "0 3 * * *" (daily at 03:00 UTC) */
  readonly fullSchedule?: string;
  /**
   * When incremental backups run (five-field cron, UTC): MariaDB only, based
   * on the newest backup. MySQL 8.4 backs up with mysqldump, which has no
   * incrementals: leave it unset there (the binlog archive covers the time
   * between full backups). `false`: full backups only.
   * @default "0 * * * *" (hourly) on MariaDB; none on MySQL
   */
  readonly incrementalSchedule?: string | false;
  /**
   * Days a full backup, its incrementals and the binlogs it needs are kept;
   * at least the longest gap between two full backups. @default 7
   */
  readonly retentionDays?: number;
  /**
   * The node that takes the backups and archives the binlogs (a node name,
   * for example "db-replica-1"): a replica spares the primary the load.
   * @default the last replica (`<namePrefix>-replica-<replicas>`); the primary when there is no replica
   */
  readonly sourceNode?: string;
  /**
   * Archive the writer's binlogs continuously from the source node, so a
   * restore can reach any point in time since the oldest kept full backup.
   * `false`: restores reach the backups' own points in time only.
   * @default true
   */
  readonly binlogArchive?: boolean;
}

/** The failover script on every database node. */
export interface MysqlFailoverProps {
  /** Its database user. @default "failover" */
  readonly user?: string;
  /** Its password, as a reference. @default generated at deploy time */
  readonly password?: Secret;
  /**
   * Seconds a promotion waits for a replica to catch up (apply its relay log, or
   * receive everything a reachable old primary has) before it refuses.
   * @default 30
   */
  readonly catchUpTimeoutSeconds?: number;
}

/** The MySQL exporter beside every database node. */
export interface MysqlExporterProps {
  /** @default 9104 */
  readonly port?: number;
  /** Its database user (PROCESS, replication monitoring, SELECT on performance_schema; 3 connections). @default "exporter" */
  readonly user?: string;
  /** Its password, as a reference. @default generated at deploy time */
  readonly password?: Secret;
}

/** The defaults of MysqlClusterProps (the one source for code, docs and tests). */
export const MYSQL_CLUSTER_DEFAULTS = {
  replicas: 1,
  engine: "mariadb" as MysqlEngine,
  namePrefix: "db",
  port: MYSQL_DEFAULTS.port,
  database: "appdb",
  appUser: "app",
  replicationUser: "repl",
  semiSyncTimeoutMs: MYSQL_DEFAULTS.semiSyncTimeoutMs,
  replicaParallelThreads: MYSQL_DEFAULTS.replicaParallelThreads,
  exporter: { port: MONITORING_PORTS.mysqldExporter, user: "exporter" },
  failover: { user: FAILOVER_USER_DEFAULT, catchUpTimeoutSeconds: DATABASE_FAILOVER_DEFAULTS.catchUpTimeoutSeconds },
  backup: { fullSchedule: "0 3 * * *", mariadbIncrementalSchedule: "0 * * * *", retentionDays: 7, binlogArchive: true },
} as const;

/** Where the backup source node writes its backup metrics (node exporter textfiles), on every target. */
export const BACKUP_METRICS_DIR = "/var/lib/ha-web/backup-metrics";

/** An exporter holds no state: it stops at once. */
const EXPORTER_STOP_TIMEOUT_SECONDS = 5;
/** The exporter answers (mysql_up 0) before its server does. */
const EXPORTER_START_PERIOD_SECONDS = 20;

/**
 * On top of the start scripts' bounded waits (databaseStartWaitSeconds): creating
 * the system tables, the init SQL, and the server's own start with crash recovery.
 */
const DATABASE_START_SLACK_SECONDS = 60;
/** How long the primary may take to become healthy: the bootstrap server's start (60 s) and the writer's name (30 s) plus slack = 150 s. */
const DATABASE_PRIMARY_START_PERIOD_SECONDS = databaseStartWaitSeconds("primary") + DATABASE_START_SLACK_SECONDS;
/**
 * How long a replica may take: it bootstraps (60 s), waits for its primary
 * (45 s, plus the 2.2 s of an attempt that straddles the bound) and for the
 * writer's name (30 s): 138 s, plus slack = 198 s. Derived from the script's own bounds, so they cannot drift apart.
 */
const DATABASE_REPLICA_START_PERIOD_SECONDS = databaseStartWaitSeconds("replica") + DATABASE_START_SLACK_SECONDS;
/**
 * mysqld flushes and closes tables on SIGTERM (the images' stop signal): with the
 * default 128M buffer pool that takes seconds, and 60 s leaves room for a larger
 * pool's dirty pages. A stop during the first start takes less: the script lets
 * mariadb-install-db finish (seconds), kills the bootstrap server and removes its
 * unfinished data directory.
 */
const DATABASE_STOP_TIMEOUT_SECONDS = 60;

/**
 * A primary and `replicas` read replicas with GTID replication. The app writes to
 * `writerEndpoint` (a stable name that a failover can move) and reads from
 * `readerEndpoints`.
 */
export class MysqlCluster extends Construct implements IDatabase, IMonitored {
  public readonly engine: MysqlEngine;
  /** Prefix of the node names; also scopes the cluster's network and security group. */
  public readonly namePrefix: string;
  public readonly version: string;
  public readonly port: number;
  public readonly databaseName: string;
  public readonly appUser: string;
  public readonly replicationUser: string;
  /** Reference to the application user's password (hand it to the app). */
  public readonly appPassword: Secret;
  /** Common name of the replication client certificate (subject and issuer) the replication user requires. */
  public readonly replicationCertificateName: string;
  /** Whether commits wait for a replica's acknowledgement (semi-synchronous replication, AFTER_SYNC). */
  public readonly semiSync: boolean;
  /** The writer: `<prefix>-writer`, which belongs to the primary today. */
  public readonly writerEndpoint: Endpoint;
  public readonly readerEndpoints: Endpoint[];
  public readonly primaryHost: DeployedHost;
  public readonly replicaHosts: DeployedHost[];
  public readonly dependables: readonly string[];
  public readonly flowGroup: string;
  /** The exporter's user and password reference; undefined with `exporter: false`. */
  public readonly exporterUser?: string;
  public readonly exporterPassword?: Secret;
  /** The failover script's database user and password reference; undefined with `failover: false` or no replica. */
  public readonly failoverUser?: string;
  public readonly failoverPassword?: Secret;
  /** The exporters' endpoints (hand the cluster to a MonitoringTier). */
  public readonly metricsEndpoints: readonly MetricsEndpoint[];
  /**
   * The backup plan every node's files are rendered from (schedules, source
   * node, the target's store); undefined with `backup: false`. A MonitoringTier
   * given the cluster alerts on its metrics. Store fields may be deploy-time
   * references (AWS: the bucket's name).
   */
  public readonly backupPlan?: BackupPlan;
  /** Whether the cluster's backups leave its machines (AWS S3: yes; a Docker volume: no). Undefined with `backup: false`. */
  public readonly backupOffSite?: boolean;

  constructor(scope: Construct, id: string, props: MysqlClusterProps) {
    super(scope, id);
    const d = MYSQL_CLUSTER_DEFAULTS;
    const replicaCount = props.replicas ?? d.replicas;
    this.engine = props.engine ?? d.engine;
    this.version = props.version ?? DEFAULT_ENGINE_VERSION[this.engine] ?? "";
    this.port = props.port ?? d.port;
    this.databaseName = props.database ?? d.database;
    this.appUser = props.appUser ?? d.appUser;
    this.replicationUser = props.replicationUser ?? d.replicationUser;
    const prefix = props.namePrefix ?? d.namePrefix;
    this.semiSync = props.semiSync ?? replicaCount > 0;
    const primaryName = `${prefix}-primary`;
    const writerName = `${prefix}-writer`;
    const nodeNames = [
      primaryName,
      ...Array.from(
        { length: Number.isInteger(replicaCount) && replicaCount >= 0 && replicaCount <= 1000 ? replicaCount : 0 },
        (_, i) => `${prefix}-replica-${i + 1}`,
      ),
    ];
    const backup = resolveBackup(props.backup, this.engine, nodeNames);
    validateMysqlClusterProps(this, props, {
      replicas: replicaCount,
      engine: this.engine,
      version: this.version,
      port: this.port,
      database: this.databaseName,
      appUser: this.appUser,
      replicationUser: this.replicationUser,
      namePrefix: prefix,
      nodeNames,
      backup,
    });
    this.namePrefix = prefix;
    this.flowGroup = prefix;

    this.appPassword = props.appPassword ?? props.target.createSecret(this, "app-password", `${prefix}-app-password`);
    // Every node gets the servers' pair and the replication client's pair: any node may be either.
    const tls = createMysqlClusterTls(this, prefix);
    this.replicationCertificateName = tls.replicationCertificateName;

    const exporter = props.exporter === false ? undefined : { ...d.exporter, ...props.exporter };
    this.exporterUser = exporter?.user;
    this.exporterPassword = exporter ? (exporter.password ?? props.target.createSecret(this, "exporter-password", `${prefix}-exporter-password`)) : undefined;
    const exporterOf = (node: string): ServiceSpec[] => (exporter ? [this.exporterService(node, exporter.port, exporter.user, this.exporterPassword!)] : []);

    // Each node decides at start whether it is the primary by where this name points (see writerHost).
    const writerAddress = props.target.movableAddress(writerName);

    // The backup store comes from the target (asked before the hosts that use it are added).
    let store: BackupStore | undefined;
    if (backup) {
      store = props.target.backupStore!(this, {
        name: prefix,
        retentionDays: backup.retentionDays,
        expireAfterDays: backup.retentionDays + Math.ceil(cronMaxIntervalSeconds(backup.fullSchedule) / 86400) + 1,
        declaredBy: { construct: "MysqlCluster", scope: this, props: {} },
      });
      this.backupPlan = {
        engine: this.engine,
        cluster: prefix,
        sourceNode: backup.sourceNode,
        fullSchedule: backup.fullSchedule,
        ...(backup.incrementalSchedule === undefined ? {} : { incrementalSchedule: backup.incrementalSchedule }),
        retentionDays: backup.retentionDays,
        binlogArchive: backup.binlogArchive,
        writerHost: writerAddress,
        writerPort: this.port,
        replicationUser: this.replicationUser,
        store: store.config,
        metricsDir: BACKUP_METRICS_DIR,
      };
      this.backupOffSite = store.offSite;
    }
    const plan = this.backupPlan ? renderablePlan(this.backupPlan) : undefined;
    const backupOf = (node: string) => (plan ? { plan: plan.literal, nodeName: node } : undefined);
    // What every target installs on a node for its role in the plan (the source node: the backup
    // command, its scheduler, the archiver; every node: the restore command).
    const backupFilesOf = (node: string): HostFile[] =>
      plan
        ? renderBackupFiles(plan.literal, node).map((f) => ({ path: f.path, content: plan.resolve(f.content), ...(f.executable ? { executable: true } : {}) }))
        : [];
    const backupServiceOf = (node: string): Partial<ServiceSpec> =>
      this.backupPlan && store
        ? {
            backupStore: { name: prefix, access: node === this.backupPlan.sourceNode ? "write" : "read" },
            ...(node === this.backupPlan.sourceNode ? { textfileMetricsDir: this.backupPlan.metricsDir } : {}),
            ...((store.tools ?? []).length > 0 ? { tools: [...store.tools!] } : {}),
          }
        : {};

    const failover = props.failover === false || replicaCount === 0 ? undefined : { ...d.failover, ...props.failover };
    this.failoverUser = failover?.user;
    this.failoverPassword = failover ? (failover.password ?? props.target.createSecret(this, "failover-password", `${prefix}-failover-password`)) : undefined;
    // The same script on every node: any survivor can run the promotion.
    const failoverFiles: HostFile[] = failover
      ? [
          {
            path: `${PATHS.binDir}/${DATABASE_FAILOVER_SCRIPT_NAME}`,
            executable: true,
            content: renderDatabaseFailoverScript({
              engine: this.engine,
              nodes: nodeNames.map((name) => ({ name, host: props.target.hostAddress(name), port: this.port })),
              failoverUser: failover.user,
              replicationUser: this.replicationUser,
              catchUpTimeoutSeconds: failover.catchUpTimeoutSeconds,
              moveWriterCommand: props.target.moveAddressCommand(writerName),
            }),
          },
        ]
      : [];
    const failoverSecrets: Record<string, Secret> = this.failoverPassword ? { [SECRET_ENV.failoverPassword]: this.failoverPassword } : {};
    const common = {
      engine: this.engine,
      version: this.version,
      port: this.port,
      semiSync: this.semiSync,
      semiSyncTimeoutMs: props.semiSyncTimeoutMs,
      replicaParallelThreads: props.replicaParallelThreads,
      innodbBufferPoolSize: props.innodbBufferPoolSize,
      // A replica seeded from the oldest useful backup must still find the binlogs after it.
      ...(plan ? { binlogExpireSeconds: binlogExpireSeconds(plan.literal) } : {}),
    };

    this.primaryHost = props.target.addHost(this, {
      name: primaryName,
      role: "database",
      services: [
        {
          ...this.databaseService(primaryName, [], {
            cnf: renderMyCnf({ ...common, role: "primary", serverId: 1 }),
            script: renderPrimaryStartScript({
              engine: this.engine,
              writerHost: writerAddress,
              semiSync: this.semiSync,
              database: this.databaseName,
              appUser: this.appUser,
              replicationUser: this.replicationUser,
              replicationCertificateName: this.replicationCertificateName,
              createDemoSchema: props.createDemoSchema,
              exporterUser: exporter?.user,
              failoverUser: failover?.user,
              backup: backupOf(primaryName),
            }),
            scriptRole: "db-primary",
            secrets: {
              [SECRET_ENV.appPassword]: this.appPassword,
              ...(this.exporterPassword ? { [SECRET_ENV.exporterPassword]: this.exporterPassword } : {}),
              ...failoverSecrets,
            },
            dbRole: "primary",
            secretFiles: tls.secretFiles,
            extraFiles: [...failoverFiles, ...backupFilesOf(primaryName)],
            movesWriter: failover ? writerName : undefined,
            backup: backupServiceOf(primaryName),
          }),
          // The writer's name belongs to the primary until a failover moves it.
          movableAddresses: [writerName],
        },
        ...exporterOf(primaryName),
      ],
    });

    this.replicaHosts = [];
    for (let i = 1; i <= replicaCount; i++) {
      const name = `${prefix}-replica-${i}`;
      const service = this.databaseService(name, [primaryName], {
        // Deterministic and unique: the primary is 1, replica i is i + 1.
        cnf: renderMyCnf({ ...common, role: "replica", serverId: i + 1 }),
        script: renderReplicaStartScript({
          engine: this.engine,
          writerHost: writerAddress,
          semiSync: this.semiSync,
          // The writer's name, not the first primary's host: a replica built after a failover follows the new primary.
          primaryHost: writerAddress,
          primaryPort: this.port,
          replicationUser: this.replicationUser,
          backup: backupOf(name),
        }),
        scriptRole: "db-replica",
        secrets: failoverSecrets,
        dbRole: "replica",
        secretFiles: tls.secretFiles,
        extraFiles: [...failoverFiles, ...backupFilesOf(name)],
        movesWriter: failover ? writerName : undefined,
        backup: backupServiceOf(name),
      });
      this.replicaHosts.push(props.target.addHost(this, { name, role: "database", services: [service, ...exporterOf(name)] }));
    }

    // The failover script lists its peers by the addresses the target promised.
    for (const host of [this.primaryHost, ...this.replicaHosts]) {
      if (failover && host.address !== props.target.hostAddress(host.name)) {
        throw new Error(
          `MysqlCluster '${this.node.path}': the target gave ${host.name} the address ${host.address}, but hostAddress() said ${props.target.hostAddress(host.name)}; fix the target so both agree`,
        );
      }
    }
    if (this.primaryHost.movableAddresses[writerName] !== writerAddress) {
      // The start scripts name the writer by the address the target promised: a target that breaks that promise is a bug.
      throw new Error(
        `MysqlCluster '${this.node.path}': the target gave the writer '${writerName}' the address ${this.primaryHost.movableAddresses[writerName]}, but movableAddress() said ${writerAddress}; fix the target so both agree`,
      );
    }
    this.writerEndpoint = { host: this.primaryHost.movableAddresses[writerName], port: this.port };
    this.readerEndpoints = this.replicaHosts.map((r) => ({ host: r.address, port: this.port }));
    this.dependables = [primaryName];
    this.metricsEndpoints = [this.primaryHost, ...this.replicaHosts].flatMap((h) => h.metrics);
  }

  /** The exporter beside a database node: it reads the server on the node's loopback. */
  private exporterService(node: string, port: number, user: string, password: Secret): ServiceSpec {
    return {
      name: `${node}-exporter`,
      role: "database",
      group: this.namePrefix,
      software: "mysqld-exporter",
      sharesNetworkWith: node,
      command: startCommand("mysqld-exporter"),
      files: [
        startScriptFile("mysqld-exporter", renderMysqldExporterStartScript({ host: "127.0.0.1", port: this.port, user, listenAddress: `:${port}` })),
        httpHealthcheckFile(),
      ],
      environment: {},
      secretEnvironment: { [SECRET_ENV.exporterPassword]: password },
      ingress: [{ port, from: "monitoring", description: "Prometheus scrapes the MySQL exporter" }],
      egress: [],
      metrics: [{ job: "mysql", port }],
      healthCheck: { command: httpHealthCheck(port, "/metrics"), startPeriodSeconds: EXPORTER_START_PERIOD_SECONDS },
      user: "root", // the start script writes its credentials file, then drops to the prometheus user
      stopTimeoutSeconds: EXPORTER_STOP_TIMEOUT_SECONDS,
      dependsOn: [node],
      // It lives in the server's network namespace: a new server container needs a new exporter.
      restartWith: [node],
      facts: { "listen-port": String(port), cluster: this.namePrefix },
      declaredBy: { construct: "MysqlCluster", scope: this, props: {} },
    };
  }

  private databaseService(
    name: string,
    dependsOn: string[],
    r: {
      cnf: string;
      script: string;
      scriptRole: string;
      secrets: Record<string, Secret>;
      secretFiles: Readonly<Record<string, Secret>>;
      dbRole: "primary" | "replica";
      extraFiles: HostFile[];
      movesWriter?: string;
      /** The node's part in the backups: its store access, textfile metrics and tools. */
      backup: Partial<ServiceSpec>;
    },
  ): ServiceSpec {
    const d = DIALECTS[this.engine];
    return {
      name,
      role: "database",
      group: this.namePrefix,
      software: this.engine,
      version: this.version,
      command: startCommand(r.scriptRole),
      files: [{ path: PATHS.mysqlConfig, content: r.cnf }, startScriptFile(r.scriptRole, r.script), ...r.extraFiles],
      environment: {},
      secretEnvironment: r.secrets,
      secretFiles: r.secretFiles,
      ingress: [
        { port: this.port, from: "app", description: "application servers to MySQL" },
        { port: this.port, from: "database", description: "replicas stream the binlog of the primary" },
      ],
      egress: [{ port: this.port, to: "database", toGroup: this.namePrefix, description: "replication to the primary" }],
      healthCheck: {
        command: [d.admin, `--defaults-file=${PATHS.mysqlConfig}`, "--user=root", "ping"],
        startPeriodSeconds: r.dbRole === "primary" ? DATABASE_PRIMARY_START_PERIOD_SECONDS : DATABASE_REPLICA_START_PERIOD_SECONDS,
      },
      dataVolume: { mountPath: PATHS.mysqlVolume },
      ...(r.movesWriter ? { movesAddresses: [r.movesWriter] } : {}),
      user: "root", // binds its port, then drops privileges
      stopTimeoutSeconds: DATABASE_STOP_TIMEOUT_SECONDS,
      dependsOn,
      facts: { engine: this.engine, "engine-version": this.version, "db-role": r.dbRole, cluster: this.namePrefix, "listen-port": String(this.port) },
      declaredBy: { construct: "MysqlCluster", scope: this, props: {} },
      ...r.backup,
    };
  }
}

/** MysqlBackupProps with the defaults filled in, as the cluster uses them. */
export interface ResolvedMysqlBackup {
  readonly fullSchedule: string;
  readonly incrementalSchedule?: string;
  readonly retentionDays: number;
  readonly sourceNode: string;
  readonly binlogArchive: boolean;
}

/** The backup props with their defaults; undefined with `backup: false`. */
function resolveBackup(props: MysqlBackupProps | false | undefined, engine: MysqlEngine, nodeNames: readonly string[]): ResolvedMysqlBackup | undefined {
  if (props === false) return undefined;
  const d = MYSQL_CLUSTER_DEFAULTS.backup;
  const given = props ?? {};
  const incremental =
    given.incrementalSchedule === false ? undefined : (given.incrementalSchedule ?? (engine === "mariadb" ? d.mariadbIncrementalSchedule : undefined));
  return {
    fullSchedule: given.fullSchedule ?? d.fullSchedule,
    ...(incremental === undefined ? {} : { incrementalSchedule: incremental }),
    retentionDays: given.retentionDays ?? d.retentionDays,
    // A replica spares the primary; the last one is the one a failover is least likely to promote first.
    sourceNode: given.sourceNode ?? nodeNames[nodeNames.length - 1],
    binlogArchive: given.binlogArchive ?? d.binlogArchive,
  };
}
