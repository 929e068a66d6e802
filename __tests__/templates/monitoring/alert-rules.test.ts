import {
  ALERT_RULES_DEFAULTS,
  AlertRulesConfig,
  alertRules,
  MYSQL_EXPORTER_METRICS,
  MysqlExporterMetrics,
  renderAlertRules,
  SHIPPED_ALERT_NAMES,
  SHIPPED_ALERTS,
  ShippedAlertName,
  validateAlertRulesConfig,
} from "../../../templates/monitoring/alert-rules";
import { prometheusDurationMs } from "../../../templates/monitoring/common";
import { toYaml } from "../../../templates/monitoring/yaml";
import { ConfigValidationError } from "../../../templates/validate";
import { hasBinary } from "../../helpers/binaries";
import { promtoolTestRules, runIn, tempDirPerFile } from "./tools";

const ENGINES = ["mariadb", "mysql"] as const;
type Labels = Record<string, string>;

/** One input series in promtool's notation ("1x20": 21 samples of 1, one per interval). */
interface Series {
  readonly metric: string;
  readonly labels: Labels;
  readonly values: string;
}

/** Input series, and at given times which alerts must be firing (an empty list: must not fire). */
interface AlertCase {
  readonly name: string;
  readonly config?: Omit<AlertRulesConfig, "engine">;
  readonly series: (m: MysqlExporterMetrics) => Series[];
  readonly checks: readonly { readonly alert: ShippedAlertName; readonly at: string; readonly fires: readonly Labels[] }[];
}

/** promtool's and the rules' step: the default scrape and evaluation interval. */
const STEP = "15s";
const STEP_MS = 15000;
const forOf = (alert: ShippedAlertName) => prometheusDurationMs(ALERT_RULES_DEFAULTS.for[alert]) ?? 0;
const seconds = (ms: number) => `${ms / 1000}s`;
/** A time safely after `alert`'s for: has elapsed on a condition true from the start. */
const afterFor = (alert: ShippedAlertName) => seconds(forOf(alert) + 2 * STEP_MS);
/** A time before `alert`'s for: has elapsed on a condition true from the start. */
const beforeFor = (alert: ShippedAlertName) => seconds(forOf(alert) - STEP_MS);

const lb1 = { job: "haproxy", instance: "lb-1:8404", node: "lb-1" };
const web1 = { job: "node", instance: "web-1:9100", node: "web-1" };
const app1 = { job: "app", instance: "web-1:3000", node: "web-1" };
const nginx1 = { job: "nginx", instance: "web-1:9113", node: "web-1" };
const primary = { job: "mysql", instance: "db-1:9104", node: "db-1" };
const replica = { job: "mysql", instance: "db-2:9104", node: "db-2" };
const replicaStatus = { ...replica, master_host: "db-1" };
const db2 = { job: "node", instance: "db-2:9100", node: "db-2" };
const s = (metric: string, labels: Labels, values: string): Series => ({ metric, labels, values });
const server = (name: string, state: string, values: string) => s("haproxy_server_status", { ...lb1, proxy: "web_nodes", server: name, state }, values);
const responses = (proxy: string, code: string, values: string) => s("haproxy_frontend_http_responses_total", { ...lb1, proxy, code }, values);
const filesystem = (fstype: string, avail: number, readonly = 0): Series[] => {
  const labels = { ...db2, device: "/dev/nvme1n1", fstype, mountpoint: "/var/lib/mysql" };
  return [
    s("node_filesystem_avail_bytes", labels, `${avail}x40`),
    s("node_filesystem_size_bytes", labels, "100x40"),
    s("node_filesystem_readonly", labels, `${readonly}x40`),
  ];
};
const fsLabels = { ...db2, device: "/dev/nvme1n1", fstype: "ext4", mountpoint: "/var/lib/mysql" };

const CASES: readonly AlertCase[] = [
  {
    name: "a web node's server goes DOWN in HAProxy",
    series: () => [server("web-1", "DOWN", "1x20"), server("web-1", "UP", "0x20"), server("web-2", "DOWN", "0x20"), server("web-2", "UP", "1x20")],
    checks: [
      { alert: "HaproxyServerDown", at: beforeFor("HaproxyServerDown"), fires: [] },
      { alert: "HaproxyServerDown", at: afterFor("HaproxyServerDown"), fires: [{ ...lb1, proxy: "web_nodes", server: "web-1", state: "DOWN" }] },
    ],
  },
  {
    name: "a server DOWN for less than for: (a blip) or in MAINT does not alert",
    series: () => [server("web-1", "DOWN", "1 1 0x20"), server("web-2", "MAINT", "1x20"), server("web-2", "DOWN", "0x20")],
    checks: [{ alert: "HaproxyServerDown", at: afterFor("HaproxyServerDown"), fires: [] }],
  },
  {
    name: "no web node UP in the backend",
    series: () => [
      s("haproxy_backend_active_servers", { ...lb1, proxy: "web_nodes" }, "2 1 0x20"),
      s("haproxy_backend_backup_servers", { ...lb1, proxy: "web_nodes" }, "0x22"),
    ],
    checks: [
      { alert: "HaproxyNoBackendAlive", at: "30s", fires: [] },
      { alert: "HaproxyNoBackendAlive", at: "90s", fires: [{ ...lb1, proxy: "web_nodes" }] },
    ],
  },
  {
    name: "a backup server still UP keeps the backend alive",
    series: () => [
      s("haproxy_backend_active_servers", { ...lb1, proxy: "web_nodes" }, "0x20"),
      s("haproxy_backend_backup_servers", { ...lb1, proxy: "web_nodes" }, "1x20"),
    ],
    checks: [{ alert: "HaproxyNoBackendAlive", at: afterFor("HaproxyNoBackendAlive"), fires: [] }],
  },
  {
    name: "13% of the http frontend's responses are 5xx (the stats frontend's 2xx do not dilute it)",
    series: () => [responses("http", "5xx", "0+15x60"), responses("http", "2xx", "0+100x60"), responses("stats", "2xx", "0+1000x60")],
    checks: [
      { alert: "HaproxyHigh5xxRatio", at: "5m", fires: [] },
      { alert: "HaproxyHigh5xxRatio", at: "10m", fires: [{ ...lb1, proxy: "http" }] },
    ],
  },
  {
    name: "4% of responses 5xx is under the 5% threshold",
    series: () => [responses("http", "5xx", "0+4x60"), responses("http", "2xx", "0+96x60")],
    checks: [{ alert: "HaproxyHigh5xxRatio", at: "10m", fires: [] }],
  },
  {
    name: "a quiet frontend's few errors are no incident (below the minimum request rate)",
    series: () => [responses("http", "5xx", "0+1x60"), responses("http", "2xx", "0+0x60")],
    checks: [{ alert: "HaproxyHigh5xxRatio", at: "10m", fires: [] }],
  },
  {
    name: "the 5xx threshold can be raised",
    config: { thresholds: { http5xxRatio: 0.2 } },
    series: () => [responses("http", "5xx", "0+15x60"), responses("http", "2xx", "0+100x60")],
    checks: [{ alert: "HaproxyHigh5xxRatio", at: "10m", fires: [] }],
  },
  {
    name: "Nginx down behind a running exporter",
    series: () => [s("nginx_up", nginx1, "0x20"), s("up", nginx1, "1x20"), s("up", web1, "1x20")],
    checks: [
      { alert: "NginxDown", at: beforeFor("NginxDown"), fires: [] },
      { alert: "NginxDown", at: afterFor("NginxDown"), fires: [nginx1] },
      { alert: "PrometheusTargetScrapeFailing", at: "6m", fires: [] },
    ],
  },
  {
    name: "Nginx restarting briefly does not alert",
    series: () => [s("nginx_up", nginx1, "0 0 1x20")],
    checks: [{ alert: "NginxDown", at: afterFor("NginxDown"), fires: [] }],
  },
  {
    name: "the app does not answer on a node that is up",
    series: () => [s("up", app1, "0x40"), s("up", web1, "1x40")],
    checks: [
      { alert: "AppDown", at: beforeFor("AppDown"), fires: [] },
      { alert: "AppDown", at: afterFor("AppDown"), fires: [app1] },
      // The app's own alert, not the generic one.
      { alert: "PrometheusTargetScrapeFailing", at: "6m", fires: [] },
    ],
  },
  {
    name: "a whole web node down: InstanceDown only, not AppDown or scrape failures",
    series: () => [s("up", app1, "0x40"), s("up", web1, "0x40"), s("up", nginx1, "0x40")],
    checks: [
      { alert: "InstanceDown", at: beforeFor("InstanceDown"), fires: [] },
      { alert: "InstanceDown", at: afterFor("InstanceDown"), fires: [web1] },
      { alert: "AppDown", at: afterFor("AppDown"), fires: [] },
      { alert: "PrometheusTargetScrapeFailing", at: "6m", fires: [] },
    ],
  },
  {
    name: "a node exporter answering again resolves InstanceDown",
    series: () => [s("up", web1, "0 0 0 1x40")],
    checks: [{ alert: "InstanceDown", at: afterFor("InstanceDown"), fires: [] }],
  },
  {
    name: "the database server is down behind its exporter",
    series: () => [s("mysql_up", primary, "0x20")],
    checks: [
      { alert: "MysqlDown", at: beforeFor("MysqlDown"), fires: [] },
      { alert: "MysqlDown", at: afterFor("MysqlDown"), fires: [primary] },
    ],
  },
  {
    name: "the database server up",
    series: () => [s("mysql_up", primary, "1x20"), s("mysql_up", replica, "0 1x20")],
    checks: [{ alert: "MysqlDown", at: afterFor("MysqlDown"), fires: [] }],
  },
  {
    name: "replication stopped on the replica (STOP SLAVE / STOP REPLICA)",
    series: (m) => [s(m.ioThreadRunning, replicaStatus, "1 1 0x20"), s(m.sqlThreadRunning, replicaStatus, "1 1 0x20")],
    checks: [
      { alert: "MysqlReplicationIoThreadStopped", at: "45s", fires: [] },
      { alert: "MysqlReplicationSqlThreadStopped", at: "45s", fires: [] },
      { alert: "MysqlReplicationIoThreadStopped", at: seconds(2 * STEP_MS + forOf("MysqlReplicationIoThreadStopped") + STEP_MS), fires: [replicaStatus] },
      { alert: "MysqlReplicationSqlThreadStopped", at: seconds(2 * STEP_MS + forOf("MysqlReplicationSqlThreadStopped") + STEP_MS), fires: [replicaStatus] },
    ],
  },
  {
    name: "only the SQL thread stopped (an apply error)",
    series: (m) => [s(m.ioThreadRunning, replicaStatus, "1x20"), s(m.sqlThreadRunning, replicaStatus, "0x20")],
    checks: [
      { alert: "MysqlReplicationIoThreadStopped", at: afterFor("MysqlReplicationIoThreadStopped"), fires: [] },
      { alert: "MysqlReplicationSqlThreadStopped", at: afterFor("MysqlReplicationSqlThreadStopped"), fires: [replicaStatus] },
    ],
  },
  {
    name: "the IO thread reconnecting briefly does not alert",
    series: (m) => [s(m.ioThreadRunning, replicaStatus, "0 0 1x20"), s(m.sqlThreadRunning, replicaStatus, "1x20")],
    checks: [
      { alert: "MysqlReplicationIoThreadStopped", at: afterFor("MysqlReplicationIoThreadStopped"), fires: [] },
      { alert: "MysqlReplicationSqlThreadStopped", at: afterFor("MysqlReplicationSqlThreadStopped"), fires: [] },
    ],
  },
  {
    name: "replication lag above 30 s",
    series: (m) => [s(m.secondsBehind, replicaStatus, "45x20")],
    checks: [
      { alert: "MysqlReplicationLagHigh", at: beforeFor("MysqlReplicationLagHigh"), fires: [] },
      { alert: "MysqlReplicationLagHigh", at: afterFor("MysqlReplicationLagHigh"), fires: [replicaStatus] },
    ],
  },
  {
    name: "replication lag at the threshold",
    series: (m) => [s(m.secondsBehind, replicaStatus, "30x20")],
    checks: [{ alert: "MysqlReplicationLagHigh", at: afterFor("MysqlReplicationLagHigh"), fires: [] }],
  },
  {
    name: "the lag threshold can be raised",
    config: { thresholds: { replicationLagSeconds: 60 } },
    series: (m) => [s(m.secondsBehind, replicaStatus, "45x20")],
    checks: [{ alert: "MysqlReplicationLagHigh", at: afterFor("MysqlReplicationLagHigh"), fires: [] }],
  },
  {
    name: "the primary's semi-sync fell back to async; a replica's own semi-sync source status does not count",
    series: (m) => [
      s(m.semiSyncStatus, primary, "1 1 0x20"),
      s(m.semiSyncEnabled, primary, "1x22"),
      s(m.semiSyncStatus, replica, "0x22"),
      s(m.semiSyncEnabled, replica, "1x22"),
      s(m.ioThreadRunning, replicaStatus, "1x22"),
    ],
    checks: [
      { alert: "MysqlSemiSyncFellBackToAsync", at: "45s", fires: [] },
      { alert: "MysqlSemiSyncFellBackToAsync", at: seconds(2 * STEP_MS + forOf("MysqlSemiSyncFellBackToAsync") + STEP_MS), fires: [primary] },
    ],
  },
  {
    name: "semi-sync not enabled at all",
    series: (m) => [s(m.semiSyncStatus, primary, "0x20"), s(m.semiSyncEnabled, primary, "0x20")],
    checks: [{ alert: "MysqlSemiSyncFellBackToAsync", at: afterFor("MysqlSemiSyncFellBackToAsync"), fires: [] }],
  },
  {
    name: "semi-sync off for a moment (a replica reconnecting)",
    series: (m) => [s(m.semiSyncStatus, primary, "0 0 1x20"), s(m.semiSyncEnabled, primary, "1x22")],
    checks: [{ alert: "MysqlSemiSyncFellBackToAsync", at: afterFor("MysqlSemiSyncFellBackToAsync"), fires: [] }],
  },
  {
    name: "5% free on the database's file system",
    series: () => filesystem("ext4", 5),
    checks: [
      { alert: "DiskNearlyFull", at: beforeFor("DiskNearlyFull"), fires: [] },
      { alert: "DiskNearlyFull", at: afterFor("DiskNearlyFull"), fires: [fsLabels] },
    ],
  },
  {
    name: "11% free is above the 10% threshold",
    series: () => filesystem("ext4", 11),
    checks: [{ alert: "DiskNearlyFull", at: afterFor("DiskNearlyFull"), fires: [] }],
  },
  {
    name: "read-only and tmpfs file systems do not count",
    series: () => [...filesystem("ext4", 1, 1), ...filesystem("tmpfs", 1)],
    checks: [{ alert: "DiskNearlyFull", at: afterFor("DiskNearlyFull"), fires: [] }],
  },
  {
    name: "the disk threshold can be raised",
    config: { thresholds: { diskFreeRatio: 0.15, for: { DiskNearlyFull: "1m" } } },
    series: () => filesystem("ext4", 11),
    checks: [{ alert: "DiskNearlyFull", at: "90s", fires: [fsLabels] }],
  },
  {
    name: "an exporter fails its scrapes on a machine that is up",
    series: () => [s("up", replica, "0x40"), s("up", db2, "1x40")],
    checks: [
      { alert: "PrometheusTargetScrapeFailing", at: beforeFor("PrometheusTargetScrapeFailing"), fires: [] },
      { alert: "PrometheusTargetScrapeFailing", at: afterFor("PrometheusTargetScrapeFailing"), fires: [replica] },
      { alert: "InstanceDown", at: afterFor("PrometheusTargetScrapeFailing"), fires: [] },
    ],
  },
  {
    name: "a target without a node label still alerts when another machine is down",
    series: () => [s("up", { job: "haproxy", instance: "10.0.0.5:8404" }, "0x40"), s("up", db2, "0x40")],
    checks: [
      { alert: "PrometheusTargetScrapeFailing", at: afterFor("PrometheusTargetScrapeFailing"), fires: [{ job: "haproxy", instance: "10.0.0.5:8404" }] },
      { alert: "InstanceDown", at: afterFor("InstanceDown"), fires: [db2] },
    ],
  },
  {
    name: "scrapes failing for less than for: do not alert",
    series: () => [s("up", replica, "0x10 1x30"), s("up", db2, "1x40")],
    checks: [{ alert: "PrometheusTargetScrapeFailing", at: afterFor("PrometheusTargetScrapeFailing"), fires: [] }],
  },
];

/** promtool's series notation: metric{label="value", ...}. */
function seriesSelector(series: Series): string {
  const labels = Object.entries(series.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${series.metric}{${labels.join(", ")}}`;
}

/** Expands the `{{ $labels.x }}` templates, the only ones the shipped annotations use. */
function expand(template: string, labels: Labels): string {
  const expanded = template.replace(/\{\{ \$labels\.([A-Za-z_][A-Za-z0-9_]*) \}\}/g, (_m, name: string) => labels[name] ?? "");
  if (expanded.includes("{{")) throw new Error(`annotation uses a template the test cannot expand: ${template}`);
  return expanded;
}

/** The promtool unit-test file for one case against one engine's rules. */
function promtoolTest(engine: (typeof ENGINES)[number], c: AlertCase): string {
  const rules = new Map(
    alertRules({ engine, ...c.config })
      .flatMap((g) => g.rules)
      .map((r) => [r.alert, r]),
  );
  return toYaml({
    rule_files: ["rules.yml"],
    evaluation_interval: STEP,
    tests: [
      {
        name: `${engine}: ${c.name}`,
        interval: STEP,
        input_series: c.series(MYSQL_EXPORTER_METRICS[engine]).map((series) => ({ series: seriesSelector(series), values: series.values })),
        alert_rule_test: c.checks.map((check) => {
          const rule = rules.get(check.alert);
          if (!rule) throw new Error(`no rule ${check.alert}`);
          return {
            eval_time: check.at,
            alertname: check.alert,
            exp_alerts: check.fires.map((labels) => ({
              exp_labels: { ...labels, severity: rule.severity },
              exp_annotations: { summary: expand(rule.summary, labels), description: expand(rule.description, labels) },
            })),
          };
        }),
      },
    ],
  });
}

describe("renderAlertRules", () => {
  test.each(ENGINES)("ships every alert, each with for:, severity, summary and description (%s)", (engine) => {
    const rules = alertRules({ engine }).flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual([...SHIPPED_ALERT_NAMES]);
    for (const rule of rules) {
      expect(rule.for).toBe(ALERT_RULES_DEFAULTS.for[rule.alert as ShippedAlertName]);
      expect(rule.severity).toBe(SHIPPED_ALERTS[rule.alert as ShippedAlertName].severity);
      expect(rule.summary).not.toBe("");
      expect(rule.description).toMatch(/[Cc]heck|SHOW/);
    }
  });

  test("the database rules use each engine's own metric names", () => {
    const mariadb = renderAlertRules({ engine: "mariadb" });
    const mysql = renderAlertRules({ engine: "mysql" });
    for (const name of ["slave_io_running", "slave_sql_running", "seconds_behind_master", "rpl_semi_sync_master_status", "rpl_semi_sync_master_enabled"]) {
      expect(mariadb).toContain(`_${name}`);
      expect(mysql).not.toContain(`_${name}`);
    }
    for (const name of ["replica_io_running", "replica_sql_running", "seconds_behind_source", "rpl_semi_sync_source_status", "rpl_semi_sync_source_enabled"]) {
      expect(mysql).toContain(`_${name}`);
      expect(mariadb).not.toContain(`_${name}`);
    }
  });

  test("thresholds, for: durations and job names are overridable", () => {
    const yml = renderAlertRules({
      engine: "mariadb",
      thresholds: { replicationLagSeconds: 120, http5xxRatio: 0.1, diskFreeRatio: 0.2, rateWindow: "10m", for: { HaproxyServerDown: "30s" } },
      jobs: { node: "node-exporter", app: "web-app" },
    });
    expect(yml).toContain("mysql_slave_status_seconds_behind_master > 120");
    expect(yml).toContain("  > 0.1\n");
    expect(yml).toContain("[10m]");
    expect(yml).toContain("< 0.2\n");
    expect(yml).toMatch(/alert: HaproxyServerDown\n.*\n\s+for: 30s\n/);
    expect(yml).toContain(`expr: 'up{job="node-exporter"} == 0'`);
    expect(yml).toContain('up{job="web-app"} == 0');
    expect(yml).toContain('up{job!="node-exporter", job!="web-app"} == 0');
  });

  test("shipped alerts can be disabled and the user's own added", () => {
    const rules = alertRules({
      engine: "mysql",
      disabled: ["DiskNearlyFull", "HaproxyHigh5xxRatio"],
      extraRules: [
        {
          alert: "DiskNearlyFull",
          expr: 'node_filesystem_avail_bytes{mountpoint="/"} < 1e9',
          for: "10m",
          severity: "critical",
          summary: "less than 1 GB free",
          description: "Check du -x /",
          labels: { team: "ops" },
        },
      ],
    });
    const names = rules.flatMap((g) => g.rules.map((r) => r.alert));
    expect(names).not.toContain("HaproxyHigh5xxRatio");
    expect(names.filter((n) => n === "DiskNearlyFull")).toHaveLength(1);
    expect(rules.at(-1)?.group).toBe("ha-web-extra");
    const yml = renderAlertRules({
      engine: "mysql",
      extraRules: [{ alert: "Mine", expr: "vector(1)", for: "0s", severity: "info", summary: "s", description: "d", labels: { team: "ops" } }],
    });
    expect(yml).toContain(
      '  - name: ha-web-extra\n    rules:\n      - alert: Mine\n        expr: "vector(1)"\n        for: 0s\n        labels:\n          severity: info\n          team: ops\n',
    );
  });

  test("every shipped alert has a meaning for the README", () => {
    expect(Object.keys(SHIPPED_ALERTS).sort()).toEqual([...SHIPPED_ALERT_NAMES].sort());
  });

  const extra = { alert: "Mine", expr: "vector(1)", for: "1m", severity: "warning" as const, summary: "s", description: "d" };
  test.each<[Omit<AlertRulesConfig, "engine"> & { engine?: string }, string, RegExp]>([
    [{ engine: "postgres" }, "engine", /neither/],
    [{ thresholds: { replicationLagSeconds: 0 } }, "thresholds.replicationLagSeconds", /above 0/],
    [{ thresholds: { http5xxRatio: 5 } }, "thresholds.http5xxRatio", /ratio between 0 and 1/],
    [{ thresholds: { diskFreeRatio: 0 } }, "thresholds.diskFreeRatio", /ratio between 0 and 1/],
    [{ thresholds: { http5xxMinRequestsPerSecond: -1 } }, "thresholds.http5xxMinRequestsPerSecond", /0 or more/],
    [{ thresholds: { rateWindow: "5 minutes" } }, "thresholds.rateWindow", /duration/],
    [{ thresholds: { for: { InstanceDown: "1 m" } } }, "thresholds.for.InstanceDown", /duration/],
    [{ thresholds: { for: { NoSuchAlert: "1m" } as never } }, "thresholds.for.NoSuchAlert", /not a shipped alert/],
    [{ jobs: { node: "node exporter" } }, "jobs.node", /scrape job name/],
    [{ disabled: ["HaproxyDown"] }, "disabled", /not a shipped alert/],
    [{ extraRules: [extra, extra] }, "extraRules", /defined twice/],
    [{ extraRules: [{ ...extra, alert: "InstanceDown" }] }, "extraRules[0].alert", /shipped alert's/],
    [{ extraRules: [{ ...extra, alert: "my-alert" }] }, "extraRules[0].alert", /letters, digits/],
    [{ extraRules: [{ ...extra, expr: " " }] }, "extraRules[0].expr", /empty expression/],
    [{ extraRules: [{ ...extra, for: "soon" }] }, "extraRules[0].for", /duration/],
    [{ extraRules: [{ ...extra, severity: "page" as never }] }, "extraRules[0].severity", /critical, warning, info/],
    [{ extraRules: [{ ...extra, description: "" }] }, "extraRules[0].description", /what to check/],
    [{ extraRules: [{ ...extra, labels: { severity: "critical" } }] }, "extraRules[0].labels", /set from the rule/],
  ])("rejects bad input %#: %s", (override, field, message) => {
    const config = { engine: "mariadb", ...override } as AlertRulesConfig;
    const problems = validateAlertRulesConfig(config);
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.join("; ")).toMatch(message);
    expect(() => renderAlertRules(config)).toThrow(ConfigValidationError);
  });
});

describe("the unit-test cases", () => {
  test("cover every shipped alert, both firing and not firing", () => {
    for (const alert of SHIPPED_ALERT_NAMES) {
      const checks = CASES.flatMap((c) => c.checks).filter((check) => check.alert === alert);
      expect({ alert, fires: checks.some((check) => check.fires.length > 0) }).toEqual({ alert, fires: true });
      expect({ alert, silent: checks.some((check) => check.fires.length === 0) }).toEqual({ alert, silent: true });
    }
  });
});

const dir = tempDirPerFile("alert-rules-");
const run = hasBinary("promtool") ? test : test.skip;

describe.each(ENGINES)("promtool with the %s rules", (engine) => {
  run("check rules accepts the shipped rules, and with overrides and extra rules", () => {
    const files = {
      "default.yml": renderAlertRules({ engine }),
      "custom.yml": renderAlertRules({
        engine,
        thresholds: { replicationLagSeconds: 5, http5xxRatio: 0.01, rateWindow: "2m", for: { InstanceDown: "0s" } },
        disabled: ["DiskNearlyFull"],
        extraRules: [
          {
            alert: "AppSlow",
            expr: "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 1",
            for: "10m",
            severity: "warning",
            summary: "p99 above 1 s",
            description: "Check the database's load.",
          },
        ],
      }),
    };
    const result = runIn(dir(), files, "promtool", ["check", "rules", "default.yml", "custom.yml"]);
    expect(result.output).toContain(`SUCCESS: ${SHIPPED_ALERT_NAMES.length} rules found`);
    expect(result.output).toContain(`SUCCESS: ${SHIPPED_ALERT_NAMES.length} rules found`);
    expect(result.status).toBe(0);
  });

  run("check rules fails on a broken extra expression (so it really parses them)", () => {
    const files = {
      "rules.yml": renderAlertRules({
        engine,
        extraRules: [{ alert: "Broken", expr: "rate(up[5m]", for: "1m", severity: "info", summary: "s", description: "d" }],
      }),
    };
    expect(runIn(dir(), files, "promtool", ["check", "rules", "rules.yml"]).status).not.toBe(0);
  });

  /** Every case's rules and promtool test, run by one promtool process the first time a case asks for its result. */
  const suites = () =>
    Object.fromEntries(CASES.map((c, i) => [`case-${i}`, { "rules.yml": renderAlertRules({ engine, ...c.config }), "test.yml": promtoolTest(engine, c) }]));
  let batch: ReturnType<typeof promtoolTestRules> | undefined;
  run.each(CASES.map((c, i) => [c.name, i] as const))("test rules: %s", (_name, i) => {
    batch ??= promtoolTestRules(dir(), suites());
    const section = batch.sections[`case-${i}`];
    if (section !== "SUCCESS") {
      throw new Error(`promtool test rules failed:\n${section ?? batch.output}\n--- test.yml ---\n${promtoolTest(engine, CASES[i])}`);
    }
    expect(section).toBe("SUCCESS");
  });

  run("test rules really fails when an expected alert does not fire", () => {
    const c = CASES[0];
    const wrong: AlertCase = {
      ...c,
      checks: [{ alert: "HaproxyServerDown", at: beforeFor("HaproxyServerDown"), fires: [{ ...lb1, proxy: "web_nodes", server: "web-1", state: "DOWN" }] }],
    };
    // Beside a passing case, in one promtool run as the cases above are: the failure is this suite's alone.
    const result = promtoolTestRules(dir(), {
      right: { "rules.yml": renderAlertRules({ engine }), "test.yml": promtoolTest(engine, c) },
      wrong: { "rules.yml": renderAlertRules({ engine }), "test.yml": promtoolTest(engine, wrong) },
    });
    expect(result.status).not.toBe(0);
    expect(result.sections.right).toBe("SUCCESS");
    expect(result.sections.wrong).toMatch(/^FAILED:\n[\s\S]*alertname: HaproxyServerDown/);
  });
});
