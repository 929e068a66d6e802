import { MysqlEngine } from "./engine";

/**
 * The contract between the backup templates (templates/mysql/backup*.ts,
 * templates/scripts/database-backup*.ts) and the constructs (MysqlCluster's
 * `backup` prop, the targets' backup stores). Framework-free: the same plan
 * renders the scripts for a container, a VM and the lab.
 *
 * What a plan makes a cluster do:
 * - its backup source node (a replica when one exists, so the primary is spared)
 *   takes full and incremental physical backups on a schedule and streams them
 *   compressed to the store;
 * - the same node archives the writer's binlogs continuously (the engine's
 *   binlog client reading from the writer with --stop-never), so a restore can
 *   reach any point in time since the oldest kept full backup;
 * - every run writes its result as Prometheus metrics (BACKUP_METRICS) into a
 *   textfile directory that the node's exporter serves;
 * - every database node has the restore command, which restores into an empty
 *   data directory only.
 */

/** Where backups and archived binlogs are kept. */
export type BackupStoreConfig =
  /**
   * A directory on the backup source (Docker: a named volume or a bound host
   * directory mounted there; the lab: a directory of the lab). Not off-site.
   */
  | { readonly kind: "directory"; readonly path: string }
  /** An S3 bucket, written with the AWS CLI under the host's role. */
  | {
      readonly kind: "s3";
      readonly bucket: string;
      /** Key prefix (no leading or trailing slash), for example the cluster's name prefix. */
      readonly prefix: string;
      readonly region: string;
      /** SSE-KMS key (ARN or id); unset: the bucket's default encryption. @default none */
      readonly kmsKeyId?: string;
    };

export interface BackupPlan {
  readonly engine: MysqlEngine;
  /** The cluster's name prefix: names metrics' `cluster` label and the store's layout. */
  readonly cluster: string;
  /** The node that takes backups and archives binlogs (its host name). */
  readonly sourceNode: string;
  /** Five-field cron expression, UTC (minute hour day-of-month month day-of-week), for full backups. */
  readonly fullSchedule: string;
  /** Five-field cron expression, UTC, for incremental backups; undefined: none (the engine may not support them). */
  readonly incrementalSchedule?: string;
  /** Days a full backup (with its incrementals and the binlogs it needs) is kept. */
  readonly retentionDays: number;
  /** Whether binlogs are archived continuously (point-in-time recovery). */
  readonly binlogArchive: boolean;
  /** The writer's movable name, which the binlog archiver reads from (it follows a promotion). */
  readonly writerHost: string;
  /** The writer's port (the archiver's connection, a seeded replica's CHANGE MASTER). @default 3306 */
  readonly writerPort?: number;
  /**
   * The replication user (it logs in with the cluster's replication client
   * certificate, no password): the binlog archiver reads the writer's binlogs as
   * it, and a replica seeded from a backup replicates as it. @default "repl"
   */
  readonly replicationUser?: string;
  readonly store: BackupStoreConfig;
  /** Directory of the node exporter's textfile collector, where each run writes `<name>.prom` atomically. */
  readonly metricsDir: string;
}

/**
 * Metric names every backup run and the archiver write (gauges, label
 * `kind` = "full" | "incremental" | "binlog", plus `cluster`); the monitoring
 * tier's staleness alerts are written against them.
 */
export const BACKUP_METRICS = {
  /** Unix time of the last successful run of a kind. */
  lastSuccess: "ha_web_backup_last_success_timestamp_seconds",
  /** Unix time of the last run of a kind, successful or not. */
  lastRun: "ha_web_backup_last_run_timestamp_seconds",
  /** 1 when the last run of a kind succeeded, 0 when it failed. */
  lastRunSuccess: "ha_web_backup_last_run_success",
  /** Size in bytes of the last successful backup of a kind. */
  lastSizeBytes: "ha_web_backup_last_size_bytes",
} as const;

/** Where the backup commands are installed on every database node. */
export const BACKUP_COMMANDS = {
  /** `ha-web-backup full|incremental`: one backup now, into the store, metrics written. */
  backup: "/opt/ha-web/bin/ha-web-backup",
  /**
   * `ha-web-restore --to "<UTC time>" | --gtid <gtid> | --latest | --seed-replica [--datadir DIR]`:
   * restore into an empty data directory (a point in time, or a new replica attached by GTID).
   */
  restore: "/opt/ha-web/bin/ha-web-restore",
  /** Long-running: archives the writer's binlogs into the store. */
  binlogArchiver: "/opt/ha-web/bin/ha-web-binlog-archiver",
  /** Long-running: runs `ha-web-backup` on the plan's schedules (no cron or systemd needed in a container). */
  scheduler: "/opt/ha-web/bin/ha-web-backup-scheduler",
} as const;

/**
 * Functions the backup templates provide (the constructs call them):
 * - templates/mysql/backup-schedule.ts: `parseCronSchedule(expr)` (throws an
 *   Error naming the bad field and what is allowed), `cronMaxIntervalSeconds(expr)`
 *   (the longest gap between two consecutive runs: alert thresholds, binlog
 *   expiry), `backupPlanProblems(plan): string[]` (retention shorter than the
 *   full interval, a schedule that does not parse, ...), `binlogExpireSeconds(plan)`.
 * - templates/mysql/backup-files.ts: `renderBackupFiles(plan, nodeName)`: the
 *   files a database node gets (every node: the restore command; the source
 *   node: the backup command, the archiver and the scheduler).
 * - The database start scripts take `backup?: { plan; nodeName }` and, on the
 *   source node, start the scheduler and the archiver beside the server.
 */
export interface BackupFile {
  readonly path: string;
  readonly content: string;
  /** @default false */
  readonly executable?: boolean;
}
