import { assertNoProblems, ConfigProblem, duplicates, isHostName, isPort } from "../validate";
import { isPositivePrometheusDuration, isPrometheusLabelName, PrometheusDuration, prometheusDurationMs } from "./common";
import { toYaml, YamlValue } from "./yaml";

/** One endpoint Prometheus scrapes. */
export interface ScrapeTarget {
  /** "host:port" (a host name or an IPv4 address, and a port). */
  readonly address: string;
  /**
   * Labels added to every series of this target, for example `{ node: "web-1", tier: "web" }`.
   * Give every target a `node` label (NODE_LABEL) naming its machine: the shipped rules use it.
   */
  readonly labels: Readonly<Record<string, string>>;
}

/** One scrape job: a set of targets that expose the same metrics (one exporter on each of a tier's nodes). */
export interface ScrapeJob {
  /** The `job` label of everything scraped, unique in the config. Letters, digits, `_`, `.` and `-`. */
  readonly job: string;
  /** The endpoints. At least one. */
  readonly targets: readonly ScrapeTarget[];
  /** HTTP path of the metrics. @default "/metrics" */
  readonly metricsPath?: string;
  /** @default "http" */
  readonly scheme?: "http" | "https";
  /** This job's own scrape interval. @default the global scrapeInterval */
  readonly scrapeInterval?: PrometheusDuration;
  /** This job's own scrape timeout, at most its interval. @default the global scrapeTimeout */
  readonly scrapeTimeout?: PrometheusDuration;
}

/** prometheus.yml: the jobs come from the caller (the monitoring tier builds them from the other tiers). */
export interface PrometheusConfig {
  /** How often every target is scraped. @default "15s" */
  readonly scrapeInterval?: PrometheusDuration;
  /** How long a scrape may take, at most the scrape interval. @default "10s", or the scrape interval when shorter */
  readonly scrapeTimeout?: PrometheusDuration;
  /** How often the alert rules are evaluated. @default "15s" */
  readonly evaluationInterval?: PrometheusDuration;
  /** Labels added to every series and alert sent out, for example `{ stack: "prod" }`. @default none */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** Rule files, absolute or relative to the config file (globs allowed). @default none */
  readonly ruleFiles?: readonly string[];
  /** Alertmanagers, as "host:port". @default none (alerts are evaluated but sent nowhere) */
  readonly alertmanagers?: readonly string[];
  /** The scrape jobs. */
  readonly jobs: readonly ScrapeJob[];
}

export const PROMETHEUS_DEFAULTS = {
  scrapeInterval: "15s",
  evaluationInterval: "15s",
  /** Prometheus' own default, cut to the scrape interval when that is shorter. */
  scrapeTimeout: "10s",
  metricsPath: "/metrics",
  scheme: "http",
} as const;

/** "host:port" with a host name or IPv4 address and a port from 1 to 65535. */
export function isHostPort(value: string): boolean {
  const match = /^([^:]+):(\d{1,5})$/.exec(value);
  return match !== null && isHostName(match[1]) && isPort(Number(match[2]));
}

const JOB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function validatePrometheusConfig(config: PrometheusConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));
  const d = PROMETHEUS_DEFAULTS;

  const checkInterval = (field: string, value: string | undefined) => {
    if (value !== undefined && !isPositivePrometheusDuration(value))
      add(field, `${field} "${value}" is not a Prometheus duration longer than zero (for example "15s", "1m", "1m30s")`);
  };
  const checkTimeout = (field: string, timeout: string | undefined, intervalField: string, interval: string) => {
    checkInterval(field, timeout);
    if (timeout === undefined || !isPositivePrometheusDuration(timeout) || !isPositivePrometheusDuration(interval)) return;
    if (ms(timeout) > ms(interval))
      add(field, `${field} "${timeout}" is longer than ${intervalField} "${interval}"; a scrape must end before the next one starts`);
  };
  const checkLabels = (field: string, labels: Readonly<Record<string, string>>) => {
    for (const [name, value] of Object.entries(labels)) {
      if (!isPrometheusLabelName(name))
        add(field, `label name "${name}" is not a Prometheus label name (letters, digits and _, not starting with a digit or __)`);
      if (name === "job" || name === "instance") add(field, `label "${name}" is set by Prometheus itself and cannot be given here`);
      if (typeof value !== "string" || value === "") add(field, `label "${name}" has an empty value; leave the label out instead`);
    }
  };

  const interval = config.scrapeInterval ?? d.scrapeInterval;
  checkInterval("scrapeInterval", config.scrapeInterval);
  checkInterval("evaluationInterval", config.evaluationInterval);
  checkTimeout("scrapeTimeout", config.scrapeTimeout, "scrapeInterval", interval);
  checkLabels("externalLabels", config.externalLabels ?? {});
  for (const file of config.ruleFiles ?? [])
    if (file.trim() === "" || /[\n\r]/.test(file)) add("ruleFiles", `rule file "${file}" is not a file path on one line`);
  for (const address of config.alertmanagers ?? []) if (!isHostPort(address)) add("alertmanagers", `alertmanager "${address}" is not in "host:port" form`);
  for (const address of duplicates([...(config.alertmanagers ?? [])])) add("alertmanagers", `alertmanager ${address} is listed twice`);

  if (config.jobs.length === 0) add("jobs", "jobs must hold at least one scrape job");
  for (const name of duplicates(config.jobs.map((j) => j.job)))
    add("jobs", `job name "${name}" is used by more than one job; every job's series would mix under one job label`);
  config.jobs.forEach((job, i) => {
    const at = `jobs[${i}]`;
    if (!JOB_NAME.test(job.job)) add(`${at}.job`, `job name "${job.job}" must be letters, digits, _, . and -, not starting with . or -`);
    if (job.metricsPath !== undefined && !/^\/[A-Za-z0-9_./~-]*$/.test(job.metricsPath))
      add(`${at}.metricsPath`, `metricsPath "${job.metricsPath}" is not an absolute URL path (for example "/metrics")`);
    if (job.scheme !== undefined && job.scheme !== "http" && job.scheme !== "https")
      add(`${at}.scheme`, `scheme "${job.scheme}" is neither "http" nor "https"`);
    checkInterval(`${at}.scrapeInterval`, job.scrapeInterval);
    checkTimeout(`${at}.scrapeTimeout`, job.scrapeTimeout, `${at}.scrapeInterval`, job.scrapeInterval ?? interval);
    if (job.targets.length === 0) add(`${at}.targets`, `job "${job.job}" has no targets`);
    job.targets.forEach((target, t) => {
      if (!isHostPort(target.address))
        add(`${at}.targets[${t}].address`, `target "${target.address}" is not in "host:port" form (a host name or IPv4 address and a port)`);
      checkLabels(`${at}.targets[${t}].labels`, target.labels);
    });
    for (const address of duplicates(job.targets.map((t) => t.address))) add(`${at}.targets`, `target ${address} is listed twice in job "${job.job}"`);
  });
  return problems;
}

const ms = (duration: string): number => prometheusDurationMs(duration) ?? 0;

/** Renders prometheus.yml. */
export function renderPrometheusConfig(config: PrometheusConfig): string {
  assertNoProblems("prometheus config", validatePrometheusConfig(config));
  const d = PROMETHEUS_DEFAULTS;
  const scrapeInterval = config.scrapeInterval ?? d.scrapeInterval;
  const scrapeTimeout = config.scrapeTimeout ?? (ms(scrapeInterval) < ms(d.scrapeTimeout) ? scrapeInterval : d.scrapeTimeout);
  const externalLabels = config.externalLabels ?? {};
  const document: Record<string, YamlValue | undefined> = {
    global: {
      scrape_interval: scrapeInterval,
      scrape_timeout: scrapeTimeout,
      evaluation_interval: config.evaluationInterval ?? d.evaluationInterval,
      external_labels: Object.keys(externalLabels).length > 0 ? { ...externalLabels } : undefined,
    },
    rule_files: [...(config.ruleFiles ?? [])],
    alerting: (config.alertmanagers ?? []).length > 0 ? { alertmanagers: [{ static_configs: [{ targets: [...(config.alertmanagers ?? [])] }] }] } : undefined,
    scrape_configs: config.jobs.map((job) => {
      // A job's own interval shorter than the global timeout needs its own timeout too.
      const ownInterval = job.scrapeInterval;
      const ownTimeout = job.scrapeTimeout ?? (ownInterval !== undefined && ms(ownInterval) < ms(scrapeTimeout) ? ownInterval : undefined);
      return {
        job_name: job.job,
        scrape_interval: ownInterval,
        scrape_timeout: ownTimeout,
        metrics_path: job.metricsPath ?? d.metricsPath,
        scheme: job.scheme ?? d.scheme,
        // One static config per target: each carries its own labels (its node, its tier).
        static_configs: job.targets.map((target) => ({
          targets: [target.address],
          labels: Object.keys(target.labels).length > 0 ? { ...target.labels } : undefined,
        })),
      };
    }),
  };
  return toYaml(document, ["Rendered by cdktf-ha-web. Do not edit: change the construct props instead."]);
}
