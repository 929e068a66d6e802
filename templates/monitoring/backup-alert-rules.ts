import { BACKUP_METRICS, BackupPlan } from "../mysql/backup-plan";
import { cronMaxIntervalSeconds } from "../mysql/backup-schedule";
import type { AlertRule, AlertSeverity } from "./alert-rules";

/**
 * The alerts on a cluster's backups, from its plan: each kind of backup must
 * have succeeded within its schedule's longest gap (cronMaxIntervalSeconds)
 * plus a margin for the run itself; the binlog archive within a few minutes;
 * a failed run alerts at once; and metrics that never appear (the commands
 * never ran, or nobody scrapes them) alert after one full-backup interval.
 * The metrics are the backup commands' BACKUP_METRICS (label `cluster`, `kind`).
 */
export const BACKUP_ALERT_NAMES = ["BackupFullStale", "BackupIncrementalStale", "BackupBinlogArchiveStale", "BackupFailed", "BackupMetricsMissing"] as const;

/** The name of a backup alert (BACKUP_ALERT_NAMES). */
export type BackupAlertName = (typeof BACKUP_ALERT_NAMES)[number];

/** The numbers the backup alerts use unless BackupAlertsConfig overrides them. */
export const BACKUP_ALERT_DEFAULTS = {
  /** Time a backup run may take beyond its schedule's longest gap before it counts as stale. */
  marginSeconds: 3600,
  /** The binlog archive may lag this long (the archiver writes its success continuously). */
  binlogMaxAgeSeconds: 300,
  /** How long the binlog archiver's metrics may be missing (its first connection, a restart). */
  binlogMissingForSeconds: 900,
} as const;

/** Each backup alert's severity and what it means (for docs and runbooks). */
export const BACKUP_ALERTS: Readonly<Record<BackupAlertName, { readonly severity: AlertSeverity; readonly meaning: string }>> = {
  BackupFullStale: {
    severity: "critical",
    meaning: "No full backup succeeded within the full schedule's longest gap plus the margin: restores would start from an older backup.",
  },
  BackupIncrementalStale: {
    severity: "warning",
    meaning: "No incremental backup succeeded within the incremental schedule's longest gap plus the margin (MariaDB).",
  },
  BackupBinlogArchiveStale: {
    severity: "critical",
    meaning: "The binlog archive has not caught up with the writer for minutes: point-in-time recovery would lose the time since.",
  },
  BackupFailed: { severity: "warning", meaning: "The last run of a kind of backup failed (the next scheduled run retries; staleness alerts follow)." },
  BackupMetricsMissing: {
    severity: "critical",
    meaning: "A cluster's backup metrics are absent: no backup has run on its source node, or its textfile metrics are not scraped.",
  },
};

/** What backupAlertRules renders: the plans, the margins, the alerts left out. */
export interface BackupAlertsConfig {
  /** The clusters' backup plans (MysqlCluster.backupPlan). */
  readonly plans: readonly BackupPlan[];
  /** @default BACKUP_ALERT_DEFAULTS.marginSeconds (1 hour) */
  readonly marginSeconds?: number;
  /** @default BACKUP_ALERT_DEFAULTS.binlogMaxAgeSeconds (5 minutes) */
  readonly binlogMaxAgeSeconds?: number;
  /** Backup alerts to leave out, by name. @default none */
  readonly disabled?: readonly string[];
}

/** A Prometheus duration for whole seconds, in the largest unit that divides it ("25h", "5m", "90s"). */
export function secondsDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

const quote = (value: string) => JSON.stringify(value);

/** The backup rules for the plans, in BACKUP_ALERT_NAMES order, one rule per cluster where thresholds differ. */
export function backupAlertRules(config: BackupAlertsConfig): AlertRule[] {
  const margin = config.marginSeconds ?? BACKUP_ALERT_DEFAULTS.marginSeconds;
  const binlogMaxAge = config.binlogMaxAgeSeconds ?? BACKUP_ALERT_DEFAULTS.binlogMaxAgeSeconds;
  const m = BACKUP_METRICS;
  const rule = (alert: BackupAlertName, r: Omit<AlertRule, "alert" | "severity">): AlertRule => ({ alert, severity: BACKUP_ALERTS[alert].severity, ...r });
  // A rule per cluster (and kind) under one alert name: its labels tell them apart (promtool refuses look-alike rules).
  const labelsOf = (plan: BackupPlan, kind: string) => ({ labels: { cluster: plan.cluster, kind } });
  const selector = (plan: BackupPlan, kind: string) => `{cluster=${quote(plan.cluster)}, kind=${quote(kind)}}`;
  const byName: Record<BackupAlertName, AlertRule[]> = {
    BackupFullStale: [],
    BackupIncrementalStale: [],
    BackupBinlogArchiveStale: [],
    BackupFailed: [],
    BackupMetricsMissing: [],
  };
  for (const plan of config.plans) {
    const full = cronMaxIntervalSeconds(plan.fullSchedule) + margin;
    byName.BackupFullStale.push(
      rule("BackupFullStale", {
        expr: `time() - ${m.lastSuccess}${selector(plan, "full")} > ${full}`,
        for: "0s",
        ...labelsOf(plan, "full"),
        summary: `Cluster ${plan.cluster}: no full backup succeeded for more than ${secondsDuration(full)}`,
        description:
          `The last successful full backup of cluster ${plan.cluster} is older than fullSchedule's longest gap plus ${secondsDuration(margin)}. ` +
          `Check the backup source ${plan.sourceNode}: its log (ha-web-backup, the scheduler), free space in the store, and run ha-web-backup full by hand.`,
      }),
    );
    if (plan.incrementalSchedule !== undefined) {
      const incremental = cronMaxIntervalSeconds(plan.incrementalSchedule) + margin;
      byName.BackupIncrementalStale.push(
        rule("BackupIncrementalStale", {
          expr: `time() - ${m.lastSuccess}${selector(plan, "incremental")} > ${incremental}`,
          for: "0s",
          ...labelsOf(plan, "incremental"),
          summary: `Cluster ${plan.cluster}: no incremental backup succeeded for more than ${secondsDuration(incremental)}`,
          description:
            `The last successful incremental backup of cluster ${plan.cluster} is older than incrementalSchedule's longest gap plus ${secondsDuration(margin)}. ` +
            `Check the backup source ${plan.sourceNode}: its log, and whether a full backup exists to base incrementals on.`,
        }),
      );
    }
    if (plan.binlogArchive) {
      byName.BackupBinlogArchiveStale.push(
        rule("BackupBinlogArchiveStale", {
          expr: `time() - ${m.lastSuccess}${selector(plan, "binlog")} > ${binlogMaxAge}`,
          for: "0s",
          ...labelsOf(plan, "binlog"),
          summary: `Cluster ${plan.cluster}: the binlog archive is behind by more than ${secondsDuration(binlogMaxAge)}`,
          description:
            `The binlog archiver on ${plan.sourceNode} has not had everything the writer has for more than ${secondsDuration(binlogMaxAge)}: ` +
            "a point-in-time recovery could not reach the time since. Check the archiver's log, its connection to the writer (replication user, TLS) and the store.",
        }),
      );
    }
    byName.BackupMetricsMissing.push(
      rule("BackupMetricsMissing", {
        expr: `absent(${m.lastRun}${selector(plan, "full")})`,
        // A new cluster takes its first full backup within one interval.
        for: secondsDuration(full),
        ...labelsOf(plan, "full"),
        summary: `Cluster ${plan.cluster}: no full backup metrics`,
        description:
          `No full backup of cluster ${plan.cluster} has reported a result for ${secondsDuration(full)}: the backups never ran on ${plan.sourceNode}, ` +
          `or Prometheus does not scrape its textfile metrics (${plan.metricsDir}). Check the scheduler runs beside the server, and the scrape target.`,
      }),
    );
    if (plan.binlogArchive) {
      const missing = BACKUP_ALERT_DEFAULTS.binlogMissingForSeconds;
      byName.BackupMetricsMissing.push(
        rule("BackupMetricsMissing", {
          expr: `absent(${m.lastRun}${selector(plan, "binlog")})`,
          for: secondsDuration(missing),
          ...labelsOf(plan, "binlog"),
          summary: `Cluster ${plan.cluster}: no binlog archive metrics`,
          description:
            `The binlog archiver of cluster ${plan.cluster} has reported nothing for ${secondsDuration(missing)}: it is not running on ${plan.sourceNode}, ` +
            "or its textfile metrics are not scraped. Check the archiver beside the server, and the scrape target.",
        }),
      );
    }
  }
  if (config.plans.length > 0) {
    const clusters = config.plans.map((p) => p.cluster.replace(/[.]/g, "\\.")).join("|");
    byName.BackupFailed.push(
      rule("BackupFailed", {
        expr: `${m.lastRunSuccess}{cluster=~${quote(clusters)}} == 0`,
        for: "0s",
        summary: "Cluster {{ $labels.cluster }}: the last {{ $labels.kind }} backup run failed",
        description:
          "The last {{ $labels.kind }} run on {{ $labels.instance }} failed. Check its log (ha-web-backup, the scheduler or the archiver) for the BACKUP FAILED line: " +
          "the store (space, permissions), the backup tool's own log, the server's state.",
      }),
    );
  }
  const disabled = config.disabled ?? [];
  return BACKUP_ALERT_NAMES.filter((name) => !disabled.includes(name)).flatMap((name) => byName[name]);
}
