import type { BackupPlan } from "../mysql/backup-plan";
import type { MysqlEngine } from "../mysql/engine";
import { BACKUP_ALERT_DEFAULTS, BACKUP_ALERT_NAMES, backupAlertRules } from "./backup-alert-rules";
import { assertNoProblems, ConfigProblem, duplicates } from "../validate";
import { isPositivePrometheusDuration, isPrometheusDuration, isPrometheusLabelName, NODE_LABEL, PrometheusDuration } from "./common";
import { toYaml, YamlValue } from "./yaml";

export type AlertSeverity = "critical" | "warning" | "info";

/** One alerting rule, shipped or the user's own. */
export interface AlertRule {
  /** The alert's name (`alertname`): letters, digits and _, starting with a letter or _. */
  readonly alert: string;
  /** The PromQL expression; every series it returns is one firing alert. */
  readonly expr: string;
  /** How long the expression must hold before the alert fires ("0s": at once). */
  readonly for: PrometheusDuration;
  /** The `severity` label Alertmanager routes on. */
  readonly severity: AlertSeverity;
  /** One line: what is wrong, where (label templates such as `{{ $labels.instance }}` allowed). */
  readonly summary: string;
  /** What it means and what to check first. */
  readonly description: string;
  /** More labels on the alert. @default none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The alerts the library ships, in the order they are rendered. */
export const SHIPPED_ALERT_NAMES = [
  "HaproxyServerDown",
  "HaproxyNoBackendAlive",
  "HaproxyHigh5xxRatio",
  "NginxDown",
  "AppDown",
  "MysqlDown",
  "MysqlReplicationIoThreadStopped",
  "MysqlReplicationSqlThreadStopped",
  "MysqlReplicationLagHigh",
  "MysqlSemiSyncFellBackToAsync",
  "DiskNearlyFull",
  "InstanceDown",
  "PrometheusTargetScrapeFailing",
] as const;

export type ShippedAlertName = (typeof SHIPPED_ALERT_NAMES)[number];

/** Numbers and durations the shipped rules use; every one can be overridden. */
export interface AlertThresholds {
  /** MysqlReplicationLagHigh fires above this many seconds of lag. @default 30 */
  readonly replicationLagSeconds: number;
  /** HaproxyHigh5xxRatio fires when more than this share of a frontend's responses are 5xx (0-1). @default 0.05 */
  readonly http5xxRatio: number;
  /** ... and only while the frontend answers more than this many requests per second (a quiet site's lone error is no incident). @default 0.1 */
  readonly http5xxMinRequestsPerSecond: number;
  /** DiskNearlyFull fires when less than this share of a file system is free (0-1). @default 0.1 */
  readonly diskFreeRatio: number;
  /**
   * BackupBinlogArchiveStale fires when the binlog archive's last success is
   * older than this many seconds (the archiver reports every 10 s while current).
   * @default 300
   */
  readonly backupBinlogMaxAgeSeconds: number;
  /** The window rates are taken over. At least four scrape intervals. @default "5m" */
  readonly rateWindow: PrometheusDuration;
  /** Each shipped alert's `for:`. @default see ALERT_RULES_DEFAULTS.for */
  readonly for: Readonly<Record<ShippedAlertName, PrometheusDuration>>;
}

/** Scrape job names the rules refer to; they must match the jobs in prometheus.yml. */
export interface AlertRuleJobs {
  /** The node exporters' job: its `up` is the machine's. @default "node" */
  readonly node: string;
  /** The app's own metrics endpoint. @default "app" */
  readonly app: string;
}

export interface AlertRulesConfig {
  /** The database engine: it decides the mysqld_exporter metric names the database rules use. */
  readonly engine: MysqlEngine;
  /** Overrides of the thresholds and `for:` durations. @default ALERT_RULES_DEFAULTS */
  readonly thresholds?: Partial<Omit<AlertThresholds, "for">> & { readonly for?: Partial<Record<ShippedAlertName, PrometheusDuration>> };
  /** Scrape job names, when the config's differ. @default ALERT_RULES_DEFAULTS.jobs */
  readonly jobs?: Partial<AlertRuleJobs>;
  /** The user's own rules, rendered in their own group after the shipped ones. @default none */
  readonly extraRules?: readonly AlertRule[];
  /** Shipped alerts to leave out, by name (the backup alerts' names too). @default none */
  readonly disabled?: readonly string[];
  /**
   * The backup plans of the watched clusters: their alerts (BACKUP_ALERT_NAMES,
   * thresholds from each plan's schedules) go into a group of their own,
   * `ha-web-backup`, after the shipped ones. @default none
   */
  readonly backupPlans?: readonly BackupPlan[];
}

export const ALERT_RULES_DEFAULTS = {
  replicationLagSeconds: 30,
  http5xxRatio: 0.05,
  http5xxMinRequestsPerSecond: 0.1,
  diskFreeRatio: 0.1,
  backupBinlogMaxAgeSeconds: BACKUP_ALERT_DEFAULTS.binlogMaxAgeSeconds,
  rateWindow: "5m",
  for: {
    HaproxyServerDown: "1m",
    HaproxyNoBackendAlive: "30s",
    HaproxyHigh5xxRatio: "5m",
    NginxDown: "1m",
    AppDown: "1m",
    MysqlDown: "1m",
    MysqlReplicationIoThreadStopped: "1m",
    MysqlReplicationSqlThreadStopped: "1m",
    MysqlReplicationLagHigh: "2m",
    MysqlSemiSyncFellBackToAsync: "1m",
    DiskNearlyFull: "5m",
    InstanceDown: "1m",
    PrometheusTargetScrapeFailing: "5m",
  },
  jobs: { node: "node", app: "app" },
} as const satisfies AlertThresholds & { jobs: AlertRuleJobs };

/**
 * The mysqld_exporter metrics whose names differ by engine. The exporter names
 * `SHOW ... STATUS` columns `mysql_slave_status_<column, lower-cased>` and status
 * variables `mysql_global_status_<name>`, variables `mysql_global_variables_<name>`
 * (collector/slave_status.go, global_status.go, global_variables.go):
 * - MariaDB 10.11 answers `SHOW ALL SLAVES STATUS` (Slave_IO_Running, Slave_SQL_Running,
 *   Seconds_Behind_Master) and has semi-sync built in (Rpl_semi_sync_master_status).
 * - MySQL 8.4 removed `SHOW SLAVE STATUS`; mysqld_exporter 0.16.0 and later fall back to
 *   `SHOW REPLICA STATUS` (Replica_IO_Running, Replica_SQL_Running, Seconds_Behind_Source),
 *   and the semisync_source plugin names its status Rpl_semi_sync_source_status. An older
 *   exporter (Debian 12's 0.14) gets no replica status from MySQL 8.4 at all.
 */
export interface MysqlExporterMetrics {
  readonly ioThreadRunning: string;
  readonly sqlThreadRunning: string;
  readonly secondsBehind: string;
  readonly semiSyncStatus: string;
  readonly semiSyncEnabled: string;
}

export const MYSQL_EXPORTER_METRICS: Readonly<Record<MysqlEngine, MysqlExporterMetrics>> = {
  mariadb: {
    ioThreadRunning: "mysql_slave_status_slave_io_running",
    sqlThreadRunning: "mysql_slave_status_slave_sql_running",
    secondsBehind: "mysql_slave_status_seconds_behind_master",
    semiSyncStatus: "mysql_global_status_rpl_semi_sync_master_status",
    semiSyncEnabled: "mysql_global_variables_rpl_semi_sync_master_enabled",
  },
  mysql: {
    ioThreadRunning: "mysql_slave_status_replica_io_running",
    sqlThreadRunning: "mysql_slave_status_replica_sql_running",
    secondsBehind: "mysql_slave_status_seconds_behind_source",
    semiSyncStatus: "mysql_global_status_rpl_semi_sync_source_status",
    semiSyncEnabled: "mysql_global_variables_rpl_semi_sync_source_enabled",
  },
};

/** What each shipped alert means, for the README and for users deciding what to disable. */
export const SHIPPED_ALERTS: Readonly<Record<ShippedAlertName, { readonly group: string; readonly severity: AlertSeverity; readonly meaning: string }>> = {
  HaproxyServerDown: {
    group: "haproxy",
    severity: "warning",
    meaning: "HAProxy's health check marks a web node DOWN; the others carry its traffic.",
  },
  HaproxyNoBackendAlive: { group: "haproxy", severity: "critical", meaning: "No web node is UP in a backend: every request gets HAProxy's 503." },
  HaproxyHigh5xxRatio: {
    group: "haproxy",
    severity: "critical",
    meaning: "A large share of a frontend's responses are 5xx (thresholds.http5xxRatio), under real traffic.",
  },
  NginxDown: { group: "web", severity: "warning", meaning: "The Nginx exporter runs but cannot read Nginx's stub_status: Nginx is down or hung on that node." },
  AppDown: {
    group: "web",
    severity: "warning",
    meaning: "The app's /metrics endpoint does not answer on a node that is itself up: the app process is down or hung.",
  },
  MysqlDown: { group: "database", severity: "critical", meaning: "mysqld_exporter runs but cannot reach its database server." },
  MysqlReplicationIoThreadStopped: {
    group: "database",
    severity: "critical",
    meaning: "A replica's IO thread is not running (or stuck connecting): it receives nothing from the primary.",
  },
  MysqlReplicationSqlThreadStopped: {
    group: "database",
    severity: "critical",
    meaning: "A replica's SQL thread is not running: it receives but applies nothing, usually after an error.",
  },
  MysqlReplicationLagHigh: {
    group: "database",
    severity: "warning",
    meaning: "A replica is more than thresholds.replicationLagSeconds behind: reads served by it are stale.",
  },
  MysqlSemiSyncFellBackToAsync: {
    group: "database",
    severity: "warning",
    meaning: "Semi-synchronous replication is enabled on the primary but has fallen back to asynchronous: a failover now could lose commits.",
  },
  DiskNearlyFull: { group: "hosts", severity: "warning", meaning: "A writable file system has less than thresholds.diskFreeRatio free." },
  InstanceDown: { group: "hosts", severity: "critical", meaning: "A machine's node exporter does not answer: the VM or container is down or unreachable." },
  PrometheusTargetScrapeFailing: {
    group: "hosts",
    severity: "warning",
    meaning:
      "An exporter (HAProxy, Nginx exporter, mysqld_exporter, Prometheus, ...) does not answer scrapes on a machine that is itself up: its metrics and the alerts on them are blind.",
  },
};

interface RuleContext {
  readonly t: AlertThresholds;
  readonly m: MysqlExporterMetrics;
  readonly jobs: AlertRuleJobs;
  /** `unless` clause that drops series of machines whose node exporter is down (InstanceDown covers them). */
  readonly unlessNodeDown: string;
}

const percent = (ratio: number) => `${Number((ratio * 100).toPrecision(6))}%`;

/** Expression, summary and description of each shipped alert. */
const SHIPPED_RULES: Readonly<Record<ShippedAlertName, (c: RuleContext) => Pick<AlertRule, "expr" | "summary" | "description">>> = {
  HaproxyServerDown: () => ({
    // state="DOWN" only: MAINT and DRAIN are an operator's choice, not a failure.
    expr: 'haproxy_server_status{state="DOWN"} == 1',
    summary: "HAProxy {{ $labels.instance }}: server {{ $labels.server }} of backend {{ $labels.proxy }} is DOWN",
    description:
      "HAProxy's health checks to {{ $labels.server }} keep failing, so it sends that web node no traffic. " +
      "Check the node: is Nginx running (NginxDown), does the app answer /health (AppDown, the app's log), can the load balancer reach it? " +
      'haproxy_server_check_status{server="{{ $labels.server }}"} and HAProxy\'s log say why the check fails.',
  }),
  HaproxyNoBackendAlive: () => ({
    expr: "haproxy_backend_active_servers + haproxy_backend_backup_servers == 0",
    summary: "HAProxy {{ $labels.instance }}: backend {{ $labels.proxy }} has no server UP",
    description:
      "Every request to backend {{ $labels.proxy }} is answered with 503 by HAProxy. Check the web nodes (HaproxyServerDown, NginxDown, AppDown, InstanceDown) " +
      "and whether the app's /health fails everywhere at once, for example because the database is down (MysqlDown).",
  }),
  HaproxyHigh5xxRatio: ({ t }) => {
    const total = `sum by (job, instance, ${NODE_LABEL}, proxy) (rate(haproxy_frontend_http_responses_total[${t.rateWindow}]))`;
    return {
      expr: [
        `sum by (job, instance, ${NODE_LABEL}, proxy) (rate(haproxy_frontend_http_responses_total{code="5xx"}[${t.rateWindow}]))`,
        `  / ${total}`,
        `  > ${t.http5xxRatio}`,
        `and ${total} > ${t.http5xxMinRequestsPerSecond}`,
      ].join("\n"),
      summary: `HAProxy {{ $labels.instance }}: more than ${percent(t.http5xxRatio)} of frontend {{ $labels.proxy }}'s responses are 5xx`,
      description:
        `Over the last ${t.rateWindow} more than ${percent(t.http5xxRatio)} of the responses were server errors. ` +
        "Check which ones: 503 from HAProxy itself means no web node was available (HaproxyNoBackendAlive); 502/504 point at a node that fails or times out; " +
        '5xx from the app usually means the database (MysqlDown, the app\'s log). haproxy_server_http_responses_total{code="5xx"} shows which node answers them.',
    };
  },
  NginxDown: () => ({
    expr: "nginx_up == 0",
    summary: "Nginx on {{ $labels.instance }} is down",
    description:
      "The Nginx exporter answers but cannot read Nginx's stub_status. Check that Nginx runs on the node (its service or container, its error log) " +
      "and that stub_status still listens on 127.0.0.1. HAProxy takes the node out (HaproxyServerDown).",
  }),
  AppDown: ({ jobs, unlessNodeDown }) => ({
    expr: `up{job="${jobs.app}"} == 0\n${unlessNodeDown}`,
    summary: "The app on {{ $labels.instance }} does not answer",
    description:
      "Prometheus cannot scrape the app's /metrics on a node that is itself up: the Node.js process is down, hung or restarting. " +
      "Check the app's service or container and its log on the node; HAProxy should have taken the node out (HaproxyServerDown).",
  }),
  MysqlDown: () => ({
    expr: "mysql_up == 0",
    summary: "Database server behind {{ $labels.instance }} is down",
    description:
      "mysqld_exporter answers but cannot connect to its database server. Check the server's service or container and its error log, " +
      "the disk (DiskNearlyFull), and that the exporter's user can still log in.",
  }),
  MysqlReplicationIoThreadStopped: ({ m }) => ({
    expr: `${m.ioThreadRunning} == 0`,
    summary: "Replica {{ $labels.instance }}: replication IO thread is not running",
    description:
      "The replica receives no changes from its primary ({{ $labels.master_host }}). Run SHOW REPLICA STATUS (MariaDB: SHOW SLAVE STATUS) on it: " +
      "Last_IO_Error says why (primary unreachable, replication user or password, a purged binlog). While connecting the thread also counts as not running.",
  }),
  MysqlReplicationSqlThreadStopped: ({ m }) => ({
    expr: `${m.sqlThreadRunning} == 0`,
    summary: "Replica {{ $labels.instance }}: replication SQL thread is not running",
    description:
      "The replica receives changes but applies none, so its data ages. Run SHOW REPLICA STATUS (MariaDB: SHOW SLAVE STATUS): " +
      "Last_SQL_Error names the statement that failed (often a write made on the replica). Fix the cause before restarting the thread; skipping events loses data.",
  }),
  MysqlReplicationLagHigh: ({ t, m }) => ({
    expr: `${m.secondsBehind} > ${t.replicationLagSeconds}`,
    summary: `Replica {{ $labels.instance }} is more than ${t.replicationLagSeconds} s behind its primary`,
    description:
      "Reads served by this replica are stale. Check the primary's write load, long transactions or DDL on the primary, and the replica's disk and CPU; " +
      "SHOW REPLICA STATUS (MariaDB: SHOW SLAVE STATUS) shows what it is applying. The lag is not reported while the SQL thread is stopped (MysqlReplicationSqlThreadStopped).",
  }),
  MysqlSemiSyncFellBackToAsync: ({ m }) => ({
    // Only on a primary (a server without replica status) where semi-sync is enabled at all.
    expr: [`${m.semiSyncStatus} == 0`, `and on (job, instance) ${m.semiSyncEnabled} == 1`, `unless on (job, instance) ${m.ioThreadRunning}`].join("\n"),
    summary: "Primary {{ $labels.instance }}: semi-synchronous replication fell back to asynchronous",
    description:
      "No replica acknowledged a commit within the semi-sync timeout, so commits no longer wait for a replica and a failover now could lose them. " +
      "Check that the replicas run and are connected (MysqlReplicationIoThreadStopped, InstanceDown) and SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%clients'. " +
      "Semi-sync switches back on by itself once a replica catches up.",
  }),
  DiskNearlyFull: ({ t }) => {
    const fs = 'fstype!~"tmpfs|ramfs|devtmpfs|squashfs|nsfs|autofs"';
    return {
      expr: [`node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}} < ${t.diskFreeRatio}`, `and node_filesystem_readonly{${fs}} == 0`].join(
        "\n",
      ),
      summary: `{{ $labels.instance }}: less than ${percent(t.diskFreeRatio)} free on {{ $labels.mountpoint }}`,
      description:
        "The file system {{ $labels.mountpoint }} ({{ $labels.device }}) is nearly full; a full disk stops the database and Prometheus. " +
        "Check what grows (du -x): binary logs (binlog_expire_logs_seconds), Prometheus' data (retention), logs; then free space or grow the volume.",
    };
  },
  InstanceDown: ({ jobs }) => ({
    expr: `up{job="${jobs.node}"} == 0`,
    summary: "Machine {{ $labels.instance }} does not answer",
    description:
      "The node exporter on this machine does not answer scrapes, so the VM or container is down, unreachable or overloaded. " +
      "Check the instance (EC2 console or docker ps), its network path from Prometheus (security group, firewall) and the node exporter service.",
  }),
  PrometheusTargetScrapeFailing: ({ jobs, unlessNodeDown }) => ({
    expr: `up{job!="${jobs.node}", job!="${jobs.app}"} == 0\n${unlessNodeDown}`,
    summary: "Prometheus cannot scrape {{ $labels.job }} on {{ $labels.instance }}",
    description:
      "This exporter does not answer although its machine is up, so its metrics, and the alerts built on them, are missing. " +
      "Check the exporter's service or container on the node, that it listens on the scraped port, the flow from Prometheus to it, and " +
      "scrape_duration_seconds against the scrape timeout.",
  }),
};

function effectiveThresholds(config: AlertRulesConfig): AlertThresholds {
  const d = ALERT_RULES_DEFAULTS;
  const given = config.thresholds ?? {};
  return {
    replicationLagSeconds: given.replicationLagSeconds ?? d.replicationLagSeconds,
    http5xxRatio: given.http5xxRatio ?? d.http5xxRatio,
    http5xxMinRequestsPerSecond: given.http5xxMinRequestsPerSecond ?? d.http5xxMinRequestsPerSecond,
    diskFreeRatio: given.diskFreeRatio ?? d.diskFreeRatio,
    backupBinlogMaxAgeSeconds: given.backupBinlogMaxAgeSeconds ?? d.backupBinlogMaxAgeSeconds,
    rateWindow: given.rateWindow ?? d.rateWindow,
    for: { ...d.for, ...given.for },
  };
}

const ALERT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const JOB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const SEVERITIES: readonly string[] = ["critical", "warning", "info"];

export function validateAlertRulesConfig(config: AlertRulesConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));
  const given = config.thresholds ?? {};
  const shipped: readonly string[] = SHIPPED_ALERT_NAMES;

  if (config.engine !== "mariadb" && config.engine !== "mysql") add("engine", `engine "${config.engine}" is neither "mariadb" nor "mysql"`);
  const lag = given.replicationLagSeconds;
  if (lag !== undefined && !(Number.isFinite(lag) && lag > 0))
    add("thresholds.replicationLagSeconds", `thresholds.replicationLagSeconds is ${lag}; it must be a number of seconds above 0`);
  for (const field of ["http5xxRatio", "diskFreeRatio"] as const) {
    const value = given[field];
    if (value !== undefined && !(Number.isFinite(value) && value > 0 && value < 1))
      add(`thresholds.${field}`, `thresholds.${field} is ${value}; it must be a ratio between 0 and 1 (0.05 is 5%)`);
  }
  const binlogAge = given.backupBinlogMaxAgeSeconds;
  if (binlogAge !== undefined && !(Number.isInteger(binlogAge) && binlogAge >= 20))
    add(
      "thresholds.backupBinlogMaxAgeSeconds",
      `thresholds.backupBinlogMaxAgeSeconds is ${binlogAge}; it must be a whole number of seconds, at least 20 (the archiver reports every 10 s)`,
    );
  const minRate = given.http5xxMinRequestsPerSecond;
  if (minRate !== undefined && !(Number.isFinite(minRate) && minRate >= 0))
    add("thresholds.http5xxMinRequestsPerSecond", `thresholds.http5xxMinRequestsPerSecond is ${minRate}; it must be 0 or more`);
  if (given.rateWindow !== undefined && !isPositivePrometheusDuration(given.rateWindow))
    add("thresholds.rateWindow", `thresholds.rateWindow "${given.rateWindow}" is not a Prometheus duration longer than zero (for example "5m")`);
  for (const [name, value] of Object.entries(given.for ?? {})) {
    if (!shipped.includes(name)) add(`thresholds.for.${name}`, `thresholds.for names "${name}", which is not a shipped alert (${shipped.join(", ")})`);
    else if (typeof value !== "string" || !isPrometheusDuration(value))
      add(`thresholds.for.${name}`, `thresholds.for.${name} "${value}" is not a Prometheus duration (for example "1m", "0s")`);
  }
  for (const [key, job] of Object.entries(config.jobs ?? {}))
    if (typeof job !== "string" || !JOB_NAME.test(job)) add(`jobs.${key}`, `jobs.${key} "${job}" is not a scrape job name (letters, digits, _, . and -)`);

  const backup: readonly string[] = BACKUP_ALERT_NAMES;
  for (const name of config.disabled ?? [])
    if (!shipped.includes(name) && !backup.includes(name))
      add("disabled", `disabled names "${name}", which is not a shipped alert (${[...shipped, ...backup].join(", ")})`);
  const enabled = SHIPPED_ALERT_NAMES.filter((n) => !(config.disabled ?? []).includes(n));
  const extra = config.extraRules ?? [];
  for (const name of duplicates(extra.map((r) => r.alert))) add("extraRules", `extra rule "${name}" is defined twice`);
  extra.forEach((rule, i) => {
    const at = `extraRules[${i}]`;
    if (!ALERT_NAME.test(rule.alert)) add(`${at}.alert`, `alert name "${rule.alert}" must be letters, digits and _, not starting with a digit`);
    if ((enabled as readonly string[]).includes(rule.alert))
      add(`${at}.alert`, `alert name "${rule.alert}" is a shipped alert's; disable the shipped one (disabled) or pick another name`);
    if (rule.expr.trim() === "") add(`${at}.expr`, `extra rule "${rule.alert}" has an empty expression`);
    if (!isPrometheusDuration(rule.for))
      add(`${at}.for`, `extra rule "${rule.alert}": for "${rule.for}" is not a Prometheus duration (for example "1m", "0s")`);
    if (!SEVERITIES.includes(rule.severity))
      add(`${at}.severity`, `extra rule "${rule.alert}": severity "${rule.severity}" is not one of ${SEVERITIES.join(", ")}`);
    if (rule.summary.trim() === "") add(`${at}.summary`, `extra rule "${rule.alert}" needs a summary`);
    if (rule.description.trim() === "") add(`${at}.description`, `extra rule "${rule.alert}" needs a description that says what to check`);
    for (const label of Object.keys(rule.labels ?? {})) {
      if (!isPrometheusLabelName(label)) add(`${at}.labels`, `label name "${label}" is not a Prometheus label name`);
      if (label === "severity" || label === "alertname") add(`${at}.labels`, `label "${label}" is set from the rule itself; leave it out of labels`);
    }
  });
  return problems;
}

/** The rules `renderAlertRules` writes, as data: shipped ones (minus the disabled), then the extra ones. */
export function alertRules(config: AlertRulesConfig): { group: string; rules: AlertRule[] }[] {
  assertNoProblems("alert rules", validateAlertRulesConfig(config));
  const t = effectiveThresholds(config);
  const jobs: AlertRuleJobs = { ...ALERT_RULES_DEFAULTS.jobs, ...config.jobs };
  const context: RuleContext = {
    t,
    m: MYSQL_EXPORTER_METRICS[config.engine],
    jobs,
    unlessNodeDown: `unless on (${NODE_LABEL}) (up{job="${jobs.node}", ${NODE_LABEL}!=""} == 0)`,
  };
  const groups = new Map<string, AlertRule[]>();
  for (const name of SHIPPED_ALERT_NAMES) {
    if ((config.disabled ?? []).includes(name)) continue;
    const { group, severity } = SHIPPED_ALERTS[name];
    const rules = groups.get(group) ?? [];
    rules.push({ alert: name, for: t.for[name], severity, ...SHIPPED_RULES[name](context) });
    groups.set(group, rules);
  }
  const result = [...groups].map(([group, rules]) => ({ group: `ha-web-${group}`, rules }));
  const backupRules = backupAlertRules({ plans: config.backupPlans ?? [], disabled: config.disabled, binlogMaxAgeSeconds: t.backupBinlogMaxAgeSeconds });
  if (backupRules.length > 0) result.push({ group: "ha-web-backup", rules: backupRules });
  if ((config.extraRules ?? []).length > 0) result.push({ group: "ha-web-extra", rules: [...(config.extraRules ?? [])] });
  return result;
}

/** Renders the rules file Prometheus loads (`rule_files`). */
export function renderAlertRules(config: AlertRulesConfig): string {
  const groups = alertRules(config);
  const document: YamlValue = {
    groups: groups.map(({ group, rules }) => ({
      name: group,
      rules: rules.map((rule) => ({
        alert: rule.alert,
        expr: rule.expr,
        for: rule.for,
        labels: { severity: rule.severity, ...rule.labels },
        annotations: { summary: rule.summary, description: rule.description },
      })),
    })),
  };
  return toYaml(document, ["Rendered by cdktf-ha-web. Do not edit: change the construct props instead.", `Database metric names for ${config.engine}.`]);
}
