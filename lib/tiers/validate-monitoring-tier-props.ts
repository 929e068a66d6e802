import { Construct } from "constructs";
import { AlertRulesConfig, validateAlertRulesConfig } from "../../templates/monitoring/alert-rules";
import { AlertReceiver, validateAlertmanagerConfig } from "../../templates/monitoring/alertmanager";
import { isPositivePrometheusDuration } from "../../templates/monitoring/common";
import { validatePrometheusConfig } from "../../templates/monitoring/prometheus";
import { MysqlEngine } from "../../templates/mysql/engine";
import { MONITORING_PORTS } from "../../templates/scripts/monitoring";
import { isDnsLabel, isPort } from "../../templates/validate";
import { PropValidator } from "../private/validation";
import { MetricsEndpoint } from "../targets/target";
import type { MonitoringAlertRulesProps, MonitoringTierProps } from "./monitoring-tier";

/** The props with their defaults filled in, as the tier uses them. */
export interface ResolvedMonitoringTierProps {
  readonly namePrefix: string;
  readonly port: number;
  readonly retention: string;
  /** The database engines among the monitored tiers. */
  readonly engines: readonly MysqlEngine[];
  readonly endpoints: readonly MetricsEndpoint[];
  readonly storageSizeGb?: number;
}

/** The template's config for the tier's `alertRules` prop: one mapping for the validation and the rendering. */
export function alertRulesConfigOf(rules: MonitoringAlertRulesProps = {}, engine: MysqlEngine): AlertRulesConfig {
  const { disabled, extraRules, ...thresholds } = rules;
  return { engine, thresholds, disabled, extraRules };
}

/** The port Alertmanager connects to for the receiver (the URL's, or the SMTP server's). */
export function egressPortOf(receiver: AlertReceiver | undefined): number | undefined {
  if (receiver === undefined) return undefined;
  if ("webhookUrl" in receiver) {
    try {
      const url = new URL(receiver.webhookUrl);
      return url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    } catch {
      return undefined;
    }
  }
  const port = Number(/:(\d+)$/.exec(receiver.email?.smarthost ?? "")?.[1]);
  return isPort(port) ? port : undefined;
}

/**
 * The rules of MonitoringTierProps, checked before anything is created: throws
 * one error listing every problem, each under the prop that caused it.
 */
export function validateMonitoringTierProps(scope: Construct, props: MonitoringTierProps, r: ResolvedMonitoringTierProps): void {
  const v = new PropValidator("MonitoringTier", scope);
  v.check(props.target !== undefined && props.target !== null, "target", "is missing", "pass the DockerTarget or AwsTarget the monitoring host runs on");
  v.check(
    Array.isArray(props.monitor) && r.endpoints.length > 0,
    "monitor",
    "names no tier with a metrics endpoint",
    "pass the tiers to watch, for example [database, web, loadBalancer]",
  );
  v.check(
    props.receiver !== undefined && props.receiver !== null,
    "receiver",
    "is missing",
    'say where alerts go: { webhookUrl: "https://..." } or { email: {...} }',
  );
  v.check(
    r.engines.length <= 1,
    "monitor",
    `holds databases of two engines (${r.engines.join(", ")}); the shipped rules use one engine's metric names`,
    "monitor one engine's clusters per MonitoringTier",
  );
  v.check(
    isDnsLabel(r.namePrefix) && isDnsLabel(`${r.namePrefix}-alertmanager`),
    "namePrefix",
    `"${r.namePrefix}" does not make valid DNS labels (such as "${r.namePrefix}-alertmanager", at most 63 characters)`,
    'use lower-case letters, digits and dashes, for example "monitoring"',
  );
  v.check(isPort(r.port), "port", `is ${r.port}; it must be a whole number in 1-65535`, "use 9090");
  // The host's other listeners: Alertmanager's, and what the target runs on every machine (the node exporter).
  const taken = [MONITORING_PORTS.alertmanager, ...(props.target?.hostExporters ?? []).map((e) => e.port)];
  v.check(!taken.includes(r.port), "port", `is ${r.port}, a port another program of the monitoring host listens on (${taken.join(", ")})`, "use 9090");
  const webhook = props.receiver !== undefined && props.receiver !== null && "webhookUrl" in props.receiver ? props.receiver.webhookUrl : undefined;
  let credentials = false;
  try {
    credentials = webhook !== undefined && (new URL(webhook).username !== "" || new URL(webhook).password !== "");
  } catch {
    // Not a URL: the receiver check below says so.
  }
  v.check(
    !credentials,
    "receiver.webhookUrl",
    "carries a user name or password, which would be written in plain text into the synthesized JSON and the host's files",
    "point Alertmanager at a relay that holds the credentials, or use a URL without them",
  );
  v.check(isPositivePrometheusDuration(r.retention), "retention", `"${r.retention}" is not a duration`, 'use a Prometheus duration such as "15d"');
  v.check(
    props.retentionSize === undefined || /^[0-9]+(B|KB|MB|GB|TB|PB)$/.test(props.retentionSize),
    "retentionSize",
    `"${props.retentionSize}" is not a size`,
    'use a number and a unit such as "18GB"',
  );
  v.check(
    r.storageSizeGb === undefined || (Number.isInteger(r.storageSizeGb) && r.storageSizeGb >= 1 && r.storageSizeGb <= 16384),
    "storageSizeGb",
    `is ${r.storageSizeGb}; it must be a whole number of GB from 1 to 16384 (EBS' range)`,
    "use 20",
  );
  if (!v.ok) v.throwIfInvalid();
  if (props.receiver !== undefined && props.receiver !== null) {
    v.fromTemplate(validateAlertmanagerConfig({ receiver: props.receiver, ...props.notifications }), {
      receiver: { prop: "receiver", fix: 'give exactly one of webhookUrl (an http:// or https:// URL) and email { to, from, smarthost: "host:port" }' },
      groupWait: { prop: "notifications.groupWait", fix: 'use a duration such as "30s"' },
      groupInterval: { prop: "notifications.groupInterval", fix: 'use a duration such as "5m"' },
      repeatInterval: { prop: "notifications.repeatInterval", fix: 'use a duration such as "4h"' },
      groupBy: { prop: "notifications.groupBy", fix: 'use label names such as ["alertname", "job"]' },
    });
  }
  v.fromTemplate(validateAlertRulesConfig(alertRulesConfigOf(props.alertRules, r.engines[0] ?? "mariadb")), {
    engine: "checked",
    jobs: "checked",
    thresholds: { prop: "alertRules", fix: "see the README's Monitoring section for each threshold's range" },
    disabled: { prop: "alertRules.disabled", fix: "name shipped alerts only (the README's table)" },
    extraRules: {
      prop: "alertRules.extraRules",
      fix: "give each rule a unique alert name, an expression, a for: duration, a severity, a summary and a description",
    },
  });
  v.fromTemplate(
    validatePrometheusConfig({
      scrapeInterval: props.scrapeInterval,
      evaluationInterval: props.evaluationInterval,
      externalLabels: props.externalLabels,
      jobs: [{ job: "check", targets: [{ address: "127.0.0.1:9090", labels: {} }] }],
    }),
    {
      scrapeInterval: { prop: "scrapeInterval", fix: 'use a duration such as "15s"' },
      evaluationInterval: { prop: "evaluationInterval", fix: 'use a duration such as "15s"' },
      scrapeTimeout: { prop: "scrapeInterval", fix: 'use a duration such as "15s"' },
      externalLabels: { prop: "externalLabels", fix: "use Prometheus label names (letters, digits, _) other than job and instance, with non-empty values" },
      jobs: "checked",
    },
  );
  v.throwIfInvalid();
}
