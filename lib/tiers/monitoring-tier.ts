import { Construct } from "constructs";
import { AlertRule, renderAlertRules, ShippedAlertName } from "../../templates/monitoring/alert-rules";
import { BackupAlertName } from "../../templates/monitoring/backup-alert-rules";
import { AlertReceiver, renderAlertmanagerConfig } from "../../templates/monitoring/alertmanager";
import { PrometheusDuration } from "../../templates/monitoring/common";
import { renderGrafanaDashboard } from "../../templates/monitoring/grafana-dashboard";
import { PROMETHEUS_DEFAULTS, renderPrometheusConfig, ScrapeJob } from "../../templates/monitoring/prometheus";
import { PATHS } from "../../templates/paths";
import { MONITORING_PORTS, renderAlertmanagerStartScript, renderPrometheusStartScript } from "../../templates/scripts/monitoring";
import { IMonitored } from "../interfaces";
import { httpHealthCheck, httpHealthcheckFile, startCommand, startScriptFile } from "../private/host-files";
import { warnProp } from "../private/validation";
import { DeployedHost, DeploymentTarget, Egress, MetricsEndpoint, ServiceSpec } from "../targets/target";
import { alertRulesConfigOf, egressPortOf, validateMonitoringTierProps } from "./validate-monitoring-tier-props";

/** Overrides of the shipped alert rules. */
export interface MonitoringAlertRulesProps {
  /** Replica lag that alerts, in seconds. @default 30 */
  readonly replicationLagSeconds?: number;
  /** Share of 5xx answers that alerts (0-1). @default 0.05 */
  readonly http5xxRatio?: number;
  /** Below this many requests per second the 5xx ratio does not alert. @default 0.1 */
  readonly http5xxMinRequestsPerSecond?: number;
  /** Free disk share under which DiskNearlyFull fires (0-1). @default 0.1 */
  readonly diskFreeRatio?: number;
  /**
   * Age in seconds of the binlog archive's last success above which
   * BackupBinlogArchiveStale fires: how much recent history a restore may lack
   * before you hear of it. At least 20 (the archiver reports every 10 s).
   * @default 300
   */
  readonly backupBinlogMaxAgeSeconds?: number;
  /** Window of the rates. @default "5m" */
  readonly rateWindow?: PrometheusDuration;
  /** Each shipped alert's `for:`, by alert name. @default ALERT_RULES_DEFAULTS.for */
  readonly for?: Partial<Record<ShippedAlertName, PrometheusDuration>>;
  /**
   * Shipped alerts to leave out, by name (see the README's table), the backup
   * alerts' too (BACKUP_ALERT_NAMES: BackupFullStale, BackupIncrementalStale,
   * BackupBinlogArchiveStale, BackupFailed, BackupMetricsMissing). @default none
   */
  readonly disabled?: readonly (ShippedAlertName | BackupAlertName)[];
  /** Your own rules, in a group of their own after the shipped ones. @default none */
  readonly extraRules?: readonly AlertRule[];
}

/** How Alertmanager groups and repeats notifications. */
export interface MonitoringNotificationProps {
  /** @default "30s" */
  readonly groupWait?: PrometheusDuration;
  /** @default "5m" */
  readonly groupInterval?: PrometheusDuration;
  /** @default "4h" */
  readonly repeatInterval?: PrometheusDuration;
  /** @default ["alertname", "job"] */
  readonly groupBy?: readonly string[];
}

/** The props of MonitoringTier: what it watches, where alerts go, how long data is kept. */
export interface MonitoringTierProps {
  readonly target: DeploymentTarget;
  /** What to watch: the tiers (LoadBalancerTier, WebAppTier, MysqlCluster) or anything IMonitored. Its scrape jobs come from them. */
  readonly monitor: readonly IMonitored[];
  /**
   * Where alerts go: `{ webhookUrl }` (Alertmanager's webhook JSON, POSTed) or
   * `{ email: {...} }`. The URL is plain configuration, not a secret: keep
   * tokens out of it (use a relay that holds them).
   */
  readonly receiver: AlertReceiver;
  /** Name of the monitoring host (Prometheus); Alertmanager is `<name>-alertmanager`. @default "monitoring" */
  readonly namePrefix?: string;
  /** How often every target is scraped. @default "15s" */
  readonly scrapeInterval?: PrometheusDuration;
  /** How often the alert rules are evaluated. @default "15s" */
  readonly evaluationInterval?: PrometheusDuration;
  /** How long samples are kept. @default "15d" */
  readonly retention?: PrometheusDuration;
  /** Upper bound of Prometheus' data on disk, for example "18GB" (keep it under `storageSizeGb`). @default none (time only) */
  readonly retentionSize?: string;
  /**
   * Size of Prometheus' data volume in GB where volumes have a size (AWS: its
   * encrypted EBS volume). Docker's named volume grows with the disk.
   * @default the target's data volume size (AwsTarget: `dataVolumeSizeGb`, 20 GB)
   */
  readonly storageSizeGb?: number;
  /** Labels on every series and alert, for example `{ stack: "prod" }`. @default none */
  readonly externalLabels?: Record<string, string>;
  /** Thresholds, `for:` durations, disabled and extra rules. @default the shipped rules as documented */
  readonly alertRules?: MonitoringAlertRulesProps;
  /** Notification grouping. @default wait 30 s, interval 5 m, repeat 4 h, by alertname and job */
  readonly notifications?: MonitoringNotificationProps;
  /**
   * Port of Prometheus' UI and API. Operators reach it: Docker publishes it on its
   * publish address (loopback by default); AWS gives it no public address (use
   * SSM port forwarding). @default 9090
   */
  readonly port?: number;
}

/** The defaults of MonitoringTierProps (the one source for code, docs and tests). */
export const MONITORING_TIER_DEFAULTS = {
  namePrefix: "monitoring",
  scrapeInterval: PROMETHEUS_DEFAULTS.scrapeInterval,
  evaluationInterval: PROMETHEUS_DEFAULTS.evaluationInterval,
  retention: "15d",
  port: MONITORING_PORTS.prometheus,
  alertmanagerPort: MONITORING_PORTS.alertmanager,
} as const;

/** Prometheus replays its write-ahead log at start: slack for a large one. */
const PROMETHEUS_START_PERIOD_SECONDS = 120;
/** Prometheus closes its TSDB cleanly on SIGTERM: head compaction can take a while. */
const PROMETHEUS_STOP_TIMEOUT_SECONDS = 60;

/**
 * Prometheus and Alertmanager on one host, watching the tiers it is given: the
 * scrape jobs come from their exporters (no hand-kept target lists), the shipped
 * alert rules (README "Monitoring") with your thresholds, and one receiver.
 * Prometheus' data lives on the host's data volume (a named volume on Docker,
 * an encrypted EBS volume on AWS). Every scrape flow is declared: only this
 * host reaches the exporters' ports.
 */
export class MonitoringTier extends Construct {
  /** The monitoring host (Prometheus, with Alertmanager beside it). */
  public readonly host: DeployedHost;
  /** Where operators reach Prometheus' UI: the published port on Docker, the host's private address on AWS. */
  public readonly prometheusUrl: string;
  /** The rendered prometheus.yml, for tests and for users who run their own Prometheus. */
  public readonly prometheusConfig: string;
  /** The rendered alert rules file (the shipped rules with the tier's thresholds, and extra rules). */
  public readonly alertRules: string;
  /** The rendered alertmanager.yml (the receiver and the notification timing). */
  public readonly alertmanagerConfig: string;
  /** The Grafana dashboard of the stack (import it: Dashboards > New > Import). */
  public readonly dashboardJson: string;
  /** Every endpoint scraped, as the jobs list them. */
  public readonly scrapeJobs: readonly ScrapeJob[];

  constructor(scope: Construct, id: string, props: MonitoringTierProps) {
    super(scope, id);
    const d = MONITORING_TIER_DEFAULTS;
    const prefix = props.namePrefix ?? d.namePrefix;
    const port = props.port ?? d.port;
    const retention = props.retention ?? d.retention;
    const engines = [...new Set((props.monitor ?? []).map((m) => m.engine).filter((e) => e !== undefined))];
    const engine = engines[0] ?? "mariadb";
    const endpoints = (props.monitor ?? []).flatMap((m) => m.metricsEndpoints);
    // The monitoring host's own exporters (the target's node exporter) are scraped on loopback.
    const own: MetricsEndpoint[] = (props.target?.hostExporters ?? []).map((e) => ({
      job: e.job,
      role: "monitoring",
      port: e.port,
      path: e.path,
      address: `127.0.0.1:${e.port}`,
      node: prefix,
    }));
    // Alertmanager runs as a service of its own on the host (not in Prometheus' network namespace: on
    // Docker such a sidecar can stay down after a reboot), reached where the target says.
    const alertmanagerName = `${prefix}-alertmanager`;
    const alertmanagerAt = props.target ? props.target.colocated(prefix, alertmanagerName) : { address: "127.0.0.1", bindAddress: "127.0.0.1" };
    const alertmanagerAddress = `${alertmanagerAt.address}:${d.alertmanagerPort}`;
    const self: MetricsEndpoint[] = [
      { job: "prometheus", role: "monitoring", port, address: `127.0.0.1:${port}`, node: prefix },
      { job: "alertmanager", role: "monitoring", port: d.alertmanagerPort, address: alertmanagerAddress, node: prefix },
    ];
    this.scrapeJobs = jobsOf([...endpoints, ...own, ...self]);
    const rules = props.alertRules ?? {};
    if (engine === "mysql") {
      // Known gap: the exporter reads MySQL 8.4's replicas with SHOW REPLICA STATUS from 0.16 on (upstream #837).
      warnProp(
        "MonitoringTier",
        this,
        "monitor",
        "watches a MySQL 8.4 cluster: its replica status (the replication alerts, the lag panel) needs prometheus-mysqld-exporter 0.16 or later, and Debian ships older ones (12: 0.14, 13: 0.15), which report none",
        'run a newer exporter: DockerTarget images["mysqld-exporter"], AwsTarget packages["mysqld-exporter"]',
      );
    }
    validateMonitoringTierProps(this, props, {
      namePrefix: prefix,
      port,
      retention,
      engines,
      endpoints,
      storageSizeGb: props.storageSizeGb,
    });

    this.prometheusConfig = renderPrometheusConfig({
      scrapeInterval: props.scrapeInterval ?? d.scrapeInterval,
      evaluationInterval: props.evaluationInterval ?? d.evaluationInterval,
      externalLabels: props.externalLabels,
      ruleFiles: [PATHS.alertRules],
      alertmanagers: [alertmanagerAddress],
      jobs: this.scrapeJobs,
    });
    // The watched clusters' backups: their staleness, failure and missing-metrics alerts (from each plan's schedules).
    const backupPlans = (props.monitor ?? []).flatMap((m) => (m.backupPlan ? [m.backupPlan] : []));
    this.alertRules = renderAlertRules({ ...alertRulesConfigOf(rules, engine), backupPlans });
    this.alertmanagerConfig = renderAlertmanagerConfig({ receiver: props.receiver, ...props.notifications });
    this.dashboardJson = renderGrafanaDashboard({ engine, rateWindow: rules.rateWindow });

    // Prometheus reaches every exporter's port on its role's nodes; Alertmanager reaches the receiver.
    const scrapeEgress = new Map<string, Egress>();
    for (const e of endpoints) {
      const key = `${e.role}/${e.group ?? ""}/${e.port}`;
      if (!scrapeEgress.has(key))
        scrapeEgress.set(key, { port: e.port, to: e.role, toGroup: e.group, description: `Prometheus scrapes the ${e.job} exporters` });
    }
    const declaredBy = { construct: "MonitoringTier", scope: this, props: {} };
    const prometheus: ServiceSpec = {
      name: prefix,
      role: "monitoring",
      software: "prometheus",
      command: startCommand("prometheus"),
      files: [
        { path: PATHS.prometheusConfig, content: this.prometheusConfig },
        { path: PATHS.alertRules, content: this.alertRules },
        startScriptFile(
          "prometheus",
          renderPrometheusStartScript({
            configPath: PATHS.prometheusConfig,
            dataDir: `${PATHS.prometheusVolume}/data`,
            retentionTime: retention,
            retentionSize: props.retentionSize,
            listenAddress: `:${port}`,
          }),
        ),
        httpHealthcheckFile(),
      ],
      environment: {},
      secretEnvironment: {},
      ingress: [],
      egress: [
        ...scrapeEgress.values(),
        { port: d.alertmanagerPort, to: "monitoring", description: "Prometheus sends alerts to Alertmanager", withinHost: true },
      ],
      healthCheck: { command: httpHealthCheck(port, "/-/ready"), startPeriodSeconds: PROMETHEUS_START_PERIOD_SECONDS },
      dataVolume: { mountPath: PATHS.prometheusVolume, sizeGb: props.storageSizeGb },
      user: "root", // owns its data directory, then drops to the prometheus user
      stopTimeoutSeconds: PROMETHEUS_STOP_TIMEOUT_SECONDS,
      publish: { ports: [port], audience: "operators" },
      dependsOn: [],
      facts: { "listen-port": String(port), "monitoring-role": "prometheus" },
      declaredBy,
    };
    const receiverPort = egressPortOf(props.receiver);
    const alertmanager: ServiceSpec = {
      name: alertmanagerName,
      role: "monitoring",
      software: "alertmanager",
      command: startCommand("alertmanager"),
      files: [
        { path: PATHS.alertmanagerConfig, content: this.alertmanagerConfig },
        startScriptFile(
          "alertmanager",
          renderAlertmanagerStartScript({
            configPath: PATHS.alertmanagerConfig,
            storageDir: PATHS.alertmanagerDataDir,
            // Alertmanager cannot pick the address toward its peer (Docker): its own container's
            // networks are the monitoring ones only, so every address of it is Prometheus' side.
            listenAddress: `${alertmanagerAt.bindTowardPeer ? "0.0.0.0" : alertmanagerAt.bindAddress}:${d.alertmanagerPort}`,
          }),
        ),
        httpHealthcheckFile(),
      ],
      environment: {},
      secretEnvironment: {},
      ingress: [{ port: d.alertmanagerPort, from: "monitoring", description: "Prometheus sends alerts to Alertmanager", withinHost: true }],
      egress: receiverPort === undefined ? [] : [{ port: receiverPort, to: "internet", description: "Alertmanager notifies the receiver" }],
      healthCheck: { command: httpHealthCheck(d.alertmanagerPort, "/-/ready"), startPeriodSeconds: 30 },
      user: "root", // owns its storage directory, then drops to the prometheus user
      stopTimeoutSeconds: 10,
      dependsOn: [],
      facts: { "listen-port": String(d.alertmanagerPort), "monitoring-role": "alertmanager" },
      declaredBy,
    };
    this.host = props.target.addHost(this, { name: prefix, role: "monitoring", services: [prometheus, alertmanager] });
    const published = this.host.published;
    this.prometheusUrl = published ? `http://${published.address}:${published.ports[port] ?? port}` : `http://${this.host.address}:${port}`;
  }
}

/** One scrape job per exporter kind, each target labelled with its machine. */
function jobsOf(endpoints: readonly MetricsEndpoint[]): ScrapeJob[] {
  const jobs = new Map<string, { path?: string; targets: { address: string; labels: Record<string, string> }[] }>();
  for (const e of endpoints) {
    const job = jobs.get(e.job) ?? { path: e.path, targets: [] };
    if (!job.targets.some((t) => t.address === e.address)) job.targets.push({ address: e.address, labels: { node: e.node } });
    jobs.set(e.job, job);
  }
  return [...jobs.entries()].map(([job, j]) => ({ job, targets: j.targets, ...(j.path ? { metricsPath: j.path } : {}) }));
}
