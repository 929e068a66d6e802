import { TerraformOutput } from "cdktf";
import { Construct } from "constructs";
import { DeploymentTarget, LoadBalancerTier, MonitoringTier, MonitoringTierProps, MysqlCluster, WebAppTier } from "../lib";

/** Options of the example stack. */
export interface SeedStackOptions {
  /** Where the monitoring tier's alerts go (Alertmanager's webhook JSON). @default a placeholder on example.com: set yours */
  readonly alertWebhookUrl?: string;
  /** Other MonitoringTier props (intervals, rule thresholds, notification timing). @default the tier's defaults */
  readonly monitoring?: Partial<Omit<MonitoringTierProps, "target" | "monitor">>;
  /** Number of database read replicas (MysqlCluster's `replicas`). @default 1 */
  readonly databaseReplicas?: number;
  /** Number of web nodes (WebAppTier's `nodes`): the scale benchmark grows it. @default 2 */
  readonly webNodes?: number;
}

/** The example's alert receiver: example.com is reserved for documentation, so nothing real receives it. */
export const EXAMPLE_ALERT_WEBHOOK_URL = "https://alerts.example.com/cdktf-ha-web";

/**
 * The seed's stack on any target, with its weaknesses fixed: a load-balancer pair
 * sharing one address, HTTPS (a self-signed certificate by default), two web
 * nodes, a primary and one replica (more with `databaseReplicas`), and a
 * monitoring host (Prometheus and Alertmanager) watching them all.
 */
export function declareSeedStack(stack: Construct, target: DeploymentTarget, options: SeedStackOptions = {}) {
  const database = new MysqlCluster(stack, "database", { target, replicas: options.databaseReplicas ?? 1 });
  const web = new WebAppTier(stack, "web", { target, database, nodes: options.webNodes ?? 2 });
  // Debugging headers on: the lab's tests read who served what (X-Web-Node, X-Db-Role, ...).
  const loadBalancer = new LoadBalancerTier(stack, "load-balancer", { target, webTier: web, debugHeaders: true });
  const monitoring = new MonitoringTier(stack, "monitoring", {
    target,
    monitor: [database, web, loadBalancer],
    receiver: { webhookUrl: options.alertWebhookUrl ?? EXAMPLE_ALERT_WEBHOOK_URL },
    ...options.monitoring,
  });
  new TerraformOutput(stack, "url", { value: loadBalancer.endpoint.url, description: "Entry point of the stack: the load balancers' shared address" });
  new TerraformOutput(stack, "load-balancer-node-urls", {
    value: loadBalancer.endpoints.map((e) => e.url).join(","),
    description: "Each load balancer node directly",
  });
  new TerraformOutput(stack, "database-writer", { value: `${database.writerEndpoint.host}:${database.writerEndpoint.port}` });
  new TerraformOutput(stack, "database-readers", { value: database.readerEndpoints.map((r) => `${r.host}:${r.port}`).join(",") });
  new TerraformOutput(stack, "prometheus-url", { value: monitoring.prometheusUrl, description: "Prometheus' UI: alerts, targets, graphs" });
  return { database, web, loadBalancer, monitoring };
}
