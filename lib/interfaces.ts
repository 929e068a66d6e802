import type { BackupPlan } from "../templates/mysql/backup-plan";
import type { MysqlEngine } from "../templates/mysql/engine";
import { MetricsEndpoint, Secret } from "./targets/target";

/** Where a service is reached: a host name (or address) and a port. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * A database the web tier can use: what MysqlCluster provides, and what your own
 * database (a managed one, for example) must provide to plug into WebAppTier.
 */
export interface IDatabase {
  /**
   * Where writes go: a stable name that moves with the writer (a failover
   * repoints it), never a host's own name.
   */
  readonly writerEndpoint: Endpoint;
  /** Where reads go; empty sends reads to the writer. */
  readonly readerEndpoints: readonly Endpoint[];
  /** The schema the application uses. */
  readonly databaseName: string;
  /** The application's database user. */
  readonly appUser: string;
  /** The application user's password, as a deploy-time reference. */
  readonly appPassword: Secret;
  /** Services (by name) an application server waits for before it starts. Empty for a database outside the stack. */
  readonly dependables: readonly string[];
  /**
   * The flow group clients join to reach it (a cluster's network or security
   * group). @default the default database group
   */
  readonly flowGroup?: string;
}

/** A web node as the load balancer sees it. */
export interface WebNode {
  /** Server name in HAProxy (a DNS label). */
  readonly name: string;
  /** Host name or address. */
  readonly host: string;
  readonly port: number;
}

/** The web nodes a load balancer balances over: what WebAppTier provides, or your own. */
export interface IWebBackends {
  readonly backends: readonly WebNode[];
  /** The liveness path every node answers with 200. */
  readonly healthPath: string;
  /** Services (by name) the load balancer waits for before it starts. */
  readonly dependables: readonly string[];
}

/** Where clients reach the load balancer. */
export interface LoadBalancerEndpoint extends Endpoint {
  readonly url: string;
}

/**
 * Something Prometheus watches: what every tier provides (its exporters'
 * endpoints), and what a MonitoringTier is given to generate its scrape jobs.
 */
export interface IMonitored {
  /** Where Prometheus scrapes its nodes, with the job and machine of each. */
  readonly metricsEndpoints: readonly MetricsEndpoint[];
  /** The database engine, when it is a database: it picks the exporter's metric names in the alert rules. @default none */
  readonly engine?: MysqlEngine;
  /**
   * The backups it takes, when it is a database with backups: a MonitoringTier
   * alerts when they go stale, fail or report nothing (the backup alerts).
   * @default none
   */
  readonly backupPlan?: BackupPlan;
}
