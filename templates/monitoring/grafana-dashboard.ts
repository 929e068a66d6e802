import { assertNoProblems, ConfigProblem } from "../validate";

/**
 * A Grafana dashboard for the stack, rendered from the same typed description
 * the tests read: every panel's PromQL is checked by promtool (as a recording
 * rule), and its metric names against what the exporters expose. Grafana itself
 * is optional: the JSON is for users to import (Dashboards > New > Import).
 */
export type DashboardEngine = "mariadb" | "mysql";

export interface GrafanaDashboardConfig {
  /** The database engine: its exporter names the replication metrics differently. */
  readonly engine: DashboardEngine;
  /** @default "cdktf-ha-web" */
  readonly title?: string;
  /** Stable id, so a re-import replaces the dashboard. @default "cdktf-ha-web" */
  readonly uid?: string;
  /** How far `rate()` looks back; at least 4 scrape intervals. @default "5m" */
  readonly rateWindow?: string;
}

export const GRAFANA_DASHBOARD_DEFAULTS = { title: "cdktf-ha-web", uid: "cdktf-ha-web", rateWindow: "5m" } as const;

/** One query of a panel. */
export interface DashboardQuery {
  readonly expr: string;
  readonly legend: string;
}

/** One panel: what it shows, its unit and its queries. */
export interface DashboardPanel {
  readonly title: string;
  readonly description: string;
  readonly type: "timeseries" | "state-timeline";
  /** Grafana unit id: "reqps", "percentunit", "s", "short". */
  readonly unit: string;
  readonly queries: readonly DashboardQuery[];
}

/** The replication lag metric of each engine's exporter (MySQL 8.4 reports SHOW REPLICA STATUS). */
const LAG_METRIC: Readonly<Record<DashboardEngine, string>> = {
  mariadb: "mysql_slave_status_seconds_behind_master",
  mysql: "mysql_slave_status_seconds_behind_source",
};

/** The panels, in order: the edge, the web tier, the database. */
export function dashboardPanels(config: GrafanaDashboardConfig): DashboardPanel[] {
  const w = config.rateWindow ?? GRAFANA_DASHBOARD_DEFAULTS.rateWindow;
  const backend = 'proxy="web_nodes"';
  return [
    {
      title: "Requests per second, by web node",
      description: "What HAProxy sends to each web node (all load balancers together). An even split means round-robin works.",
      type: "timeseries",
      unit: "reqps",
      queries: [{ expr: `sum by (server) (rate(haproxy_server_http_responses_total{${backend}}[${w}]))`, legend: "{{server}}" }],
    },
    {
      title: "Share of 5xx answers",
      description: "5xx responses over all responses from the web nodes, as HAProxy saw them.",
      type: "timeseries",
      unit: "percentunit",
      queries: [
        {
          expr: `sum(rate(haproxy_server_http_responses_total{${backend},code="5xx"}[${w}])) / sum(rate(haproxy_server_http_responses_total{${backend}}[${w}]))`,
          legend: "5xx ratio",
        },
      ],
    },
    {
      title: "App latency percentiles, by web node",
      description: "The app's own request duration (prom-client histogram): p50, p90, p99 per node.",
      type: "timeseries",
      unit: "s",
      queries: [0.5, 0.9, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le, instance) (rate(http_request_duration_seconds_bucket[${w}])))`,
        legend: `p${Math.round(q * 100)} {{instance}}`,
      })),
    },
    {
      title: "Web nodes up in HAProxy",
      description: "HAProxy's view of each web node (1 up, 0 down), per load balancer.",
      type: "state-timeline",
      unit: "short",
      queries: [{ expr: `haproxy_server_status{${backend}}`, legend: "{{instance}} {{server}}" }],
    },
    {
      title: "Replication lag",
      description: "Seconds each replica is behind the primary, as the replica reports it (1 s granularity).",
      type: "timeseries",
      unit: "s",
      queries: [{ expr: LAG_METRIC[config.engine], legend: "{{instance}}" }],
    },
    {
      title: "Database connections",
      description: "Connections each database server holds, and the app's pools (used, free, queued).",
      type: "timeseries",
      unit: "short",
      queries: [
        { expr: "mysql_global_status_threads_connected", legend: "server {{instance}}" },
        { expr: "sum by (pool, state) (db_pool_connections)", legend: "app pool {{pool}} {{state}}" },
      ],
    },
    {
      title: "Reads by server",
      description: "Reads the apps served from a replica or from the primary, and fallbacks to the primary.",
      type: "timeseries",
      unit: "reqps",
      queries: [
        { expr: `sum by (served_by) (rate(db_reads_total[${w}]))`, legend: "{{served_by}}" },
        { expr: `sum(rate(db_read_fallbacks_total[${w}]))`, legend: "fallbacks" },
      ],
    },
  ];
}

export function validateGrafanaDashboardConfig(config: GrafanaDashboardConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!["mariadb", "mysql"].includes(config.engine)) problems.push(new ConfigProblem("engine", `engine "${config.engine}" is not mariadb or mysql`));
  const w = config.rateWindow ?? GRAFANA_DASHBOARD_DEFAULTS.rateWindow;
  if (!/^[1-9]\d*[smh]$/.test(w)) problems.push(new ConfigProblem("rateWindow", `rateWindow "${w}" is not a duration such as 5m`));
  const uid = config.uid ?? GRAFANA_DASHBOARD_DEFAULTS.uid;
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(uid)) problems.push(new ConfigProblem("uid", `uid "${uid}" must be 1-40 letters, digits, - or _`));
  return problems;
}

/** The dashboard JSON (Grafana 10 schema), with a data source variable so it imports against any Prometheus. */
export function renderGrafanaDashboard(config: GrafanaDashboardConfig): string {
  assertNoProblems("Grafana dashboard", validateGrafanaDashboardConfig(config));
  const d = GRAFANA_DASHBOARD_DEFAULTS;
  const datasource = { type: "prometheus", uid: "${datasource}" };
  const panels = dashboardPanels(config).map((p, i) => ({
    id: i + 1,
    type: p.type,
    title: p.title,
    description: p.description,
    datasource,
    // Two panels a row, each 12 of Grafana's 24 columns wide and 8 high.
    gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
    options: {},
    targets: p.queries.map((q, j) => ({ datasource, expr: q.expr, legendFormat: q.legend, refId: String.fromCharCode(65 + j) })),
  }));
  const dashboard = {
    title: config.title ?? d.title,
    uid: config.uid ?? d.uid,
    tags: ["cdktf-ha-web"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    templating: { list: [{ name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus" }] },
    panels,
  };
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
