import { TEST_BACKUP_PLAN } from "../../helpers/backup-plan";
import { alertRules, renderAlertRules, validateAlertRulesConfig } from "../../../templates/monitoring/alert-rules";
import { BACKUP_ALERT_DEFAULTS, BACKUP_ALERT_NAMES, BACKUP_ALERTS, BackupAlertName, backupAlertRules } from "../../../templates/monitoring/backup-alert-rules";
import { toYaml } from "../../../templates/monitoring/yaml";
import { BACKUP_METRICS, BackupPlan } from "../../../templates/mysql/backup-plan";
import { hasBinary } from "../../helpers/binaries";
import { runIn, tempDirPerFile } from "./tools";

/** A plan with short schedules, so promtool's tests span minutes: full every 10 minutes, incrementals every minute. */
const PLAN: BackupPlan = {
  ...TEST_BACKUP_PLAN,
  cluster: "db",
  sourceNode: "db-replica-1",
  fullSchedule: "*/10 * * * *",
  incrementalSchedule: "* * * * *",
  store: { kind: "directory", path: "/var/lib/ha-web/backups" },
  metricsDir: "/var/lib/ha-web/backup-metrics",
};
/** The margin the cases use: thresholds are full 600 + 60 = 660 s, incremental 60 + 60 = 120 s, binlog 300 s. */
const MARGIN = 60;
const scrape = { job: "textfile", instance: "db-replica-1:9100", node: "db-replica-1" };

type Labels = Record<string, string>;
interface Series {
  readonly metric: string;
  readonly labels: Labels;
  readonly values: string;
}
interface Case {
  readonly name: string;
  readonly series: Series[];
  readonly checks: readonly { readonly alert: BackupAlertName; readonly at: string; readonly fires: readonly Labels[] }[];
}

const metric = (name: string, kind: string, values: string, cluster = "db"): Series => ({ metric: name, labels: { ...scrape, cluster, kind }, values });
/** A kind that last succeeded (and ran) at time 0, successfully: its age grows with the evaluation time. */
const ranAtZero = (kind: string): Series[] => [
  metric(BACKUP_METRICS.lastSuccess, kind, "0x120"),
  metric(BACKUP_METRICS.lastRun, kind, "0x120"),
  metric(BACKUP_METRICS.lastRunSuccess, kind, "1x120"),
];
const at = (kind: string) => ({ ...scrape, cluster: "db", kind });

const CASES: readonly Case[] = [
  {
    name: "a full backup older than the full schedule's longest gap plus the margin",
    series: [...ranAtZero("full"), ...ranAtZero("binlog")],
    checks: [
      { alert: "BackupFullStale", at: "10m", fires: [] },
      { alert: "BackupFullStale", at: "11m15s", fires: [at("full")] },
    ],
  },
  {
    name: "an incremental older than its schedule's gap plus the margin",
    series: [...ranAtZero("incremental")],
    checks: [
      { alert: "BackupIncrementalStale", at: "1m45s", fires: [] },
      { alert: "BackupIncrementalStale", at: "2m15s", fires: [at("incremental")] },
    ],
  },
  {
    name: "the binlog archive behind by more than 5 minutes",
    series: [...ranAtZero("binlog")],
    checks: [
      { alert: "BackupBinlogArchiveStale", at: "4m45s", fires: [] },
      { alert: "BackupBinlogArchiveStale", at: "5m15s", fires: [at("binlog")] },
    ],
  },
  {
    name: "a backup kept fresh does not alert",
    // The last success follows the evaluation time (one sample per 15 s step, 15 s apart).
    series: [metric(BACKUP_METRICS.lastSuccess, "full", "0+15x120"), metric(BACKUP_METRICS.lastRun, "full", "0+15x120")],
    checks: [{ alert: "BackupFullStale", at: "20m", fires: [] }],
  },
  {
    name: "a failed run alerts at once, a successful one does not",
    series: [metric(BACKUP_METRICS.lastRunSuccess, "full", "1 1 0x10"), metric(BACKUP_METRICS.lastRunSuccess, "incremental", "1x12")],
    checks: [
      { alert: "BackupFailed", at: "15s", fires: [] },
      { alert: "BackupFailed", at: "1m", fires: [at("full")] },
    ],
  },
  {
    name: "metrics that never appear alert after one full interval plus the margin (full), 15 minutes (binlog)",
    series: [metric("up", "none", "1x100", "other")],
    checks: [
      { alert: "BackupMetricsMissing", at: "10m", fires: [] },
      { alert: "BackupMetricsMissing", at: "12m", fires: [{ cluster: "db", kind: "full" }] },
      {
        alert: "BackupMetricsMissing",
        at: "16m",
        fires: [
          { cluster: "db", kind: "full" },
          { cluster: "db", kind: "binlog" },
        ],
      },
    ],
  },
  {
    name: "another cluster's failure is its own alert",
    series: [metric(BACKUP_METRICS.lastRunSuccess, "full", "0x10", "other"), metric(BACKUP_METRICS.lastRunSuccess, "full", "1x10")],
    checks: [{ alert: "BackupFailed", at: "1m", fires: [] }],
  },
];

function seriesSelector(series: Series): string {
  return `${series.metric}{${Object.entries(series.labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ")}}`;
}

function expand(template: string, labels: Labels): string {
  return template.replace(/\{\{ \$labels\.([A-Za-z_][A-Za-z0-9_]*) \}\}/g, (_m, name: string) => labels[name] ?? "");
}

/** The rules under test: the margin shortened so the cases span minutes. */
const rules = () => backupAlertRules({ plans: [PLAN], marginSeconds: MARGIN });

function rulesFile(): string {
  return toYaml({
    groups: [
      {
        name: "ha-web-backup",
        rules: rules().map((r) => ({
          alert: r.alert,
          expr: r.expr,
          for: r.for,
          labels: { severity: r.severity, ...r.labels },
          annotations: { summary: r.summary, description: r.description },
        })),
      },
    ],
  });
}

function promtoolTest(c: Case): string {
  return toYaml({
    rule_files: ["rules.yml"],
    evaluation_interval: "15s",
    tests: [
      {
        name: c.name,
        interval: "15s",
        input_series: c.series.map((s) => ({ series: seriesSelector(s), values: s.values })),
        alert_rule_test: c.checks.map((check) => ({
          eval_time: check.at,
          alertname: check.alert,
          exp_alerts: check.fires.map((labels) => {
            // Several rules share the name BackupMetricsMissing: the annotation is the matching rule's.
            const named = rules().filter((r) => r.alert === check.alert);
            const rule = named.find((r) => r.labels?.kind === labels.kind) ?? named[0];
            return {
              exp_labels: { ...labels, ...rule.labels, severity: rule.severity },
              exp_annotations: { summary: expand(rule.summary, labels), description: expand(rule.description, labels) },
            };
          }),
        })),
      },
    ],
  });
}

describe("alertRules: the binlog archive's age threshold (thresholds.backupBinlogMaxAgeSeconds)", () => {
  const binlogRule = (thresholds: { backupBinlogMaxAgeSeconds?: number }) =>
    alertRules({ engine: "mariadb", thresholds, backupPlans: [PLAN] })
      .flatMap((g) => g.rules)
      .find((r) => r.alert === "BackupBinlogArchiveStale")!;

  test("5 minutes by default; a given age reaches the rule", () => {
    expect(binlogRule({}).expr).toMatch(/ > 300$/);
    expect(binlogRule({ backupBinlogMaxAgeSeconds: 20 }).expr).toMatch(/ > 20$/);
  });

  test.each([0, 19, 30.5])("%s is refused: at least 20 whole seconds (the archiver reports every 10 s)", (age) => {
    const problems = validateAlertRulesConfig({ engine: "mariadb", thresholds: { backupBinlogMaxAgeSeconds: age } });
    expect(problems.map((p) => p.field)).toEqual(["thresholds.backupBinlogMaxAgeSeconds"]);
    expect(String(problems[0].message)).toMatch(/at least 20/);
  });
});

describe("backupAlertRules", () => {
  test("one rule per kind a plan has, thresholds from its schedules plus the margin; a failed run across the clusters", () => {
    const daily: BackupPlan = { ...PLAN, fullSchedule: "0 3 * * *", incrementalSchedule: "0 * * * *" };
    const got = backupAlertRules({ plans: [daily] });
    expect(got.map((r) => r.alert)).toEqual([
      "BackupFullStale",
      "BackupIncrementalStale",
      "BackupBinlogArchiveStale",
      "BackupFailed",
      "BackupMetricsMissing",
      "BackupMetricsMissing",
    ]);
    const margin = BACKUP_ALERT_DEFAULTS.marginSeconds;
    expect(got[0].expr).toBe(`time() - ${BACKUP_METRICS.lastSuccess}{cluster="db", kind="full"} > ${86400 + margin}`);
    expect(got[1].expr).toBe(`time() - ${BACKUP_METRICS.lastSuccess}{cluster="db", kind="incremental"} > ${3600 + margin}`);
    expect(got[2].expr).toBe(`time() - ${BACKUP_METRICS.lastSuccess}{cluster="db", kind="binlog"} > 300`);
    expect(got[3].expr).toBe(`${BACKUP_METRICS.lastRunSuccess}{cluster=~"db"} == 0`);
    expect(got[4]).toMatchObject({ expr: `absent(${BACKUP_METRICS.lastRun}{cluster="db", kind="full"})`, for: "25h" });
    expect(got[5]).toMatchObject({ expr: `absent(${BACKUP_METRICS.lastRun}{cluster="db", kind="binlog"})`, for: "15m" });
    for (const r of got) expect(r.severity).toBe(BACKUP_ALERTS[r.alert as BackupAlertName].severity);
  });

  test("MySQL (no incrementals) and no binlog archive: only the rules that apply; none without plans", () => {
    const mysql: BackupPlan = { ...PLAN, engine: "mysql", incrementalSchedule: undefined, binlogArchive: false };
    expect(backupAlertRules({ plans: [mysql] }).map((r) => r.alert)).toEqual(["BackupFullStale", "BackupFailed", "BackupMetricsMissing"]);
    expect(backupAlertRules({ plans: [] })).toEqual([]);
  });

  test("alertRules puts them in a group of their own after the shipped ones; disabled removes them by name; unknown names are refused", () => {
    const groups = alertRules({ engine: "mariadb", backupPlans: [PLAN], disabled: ["BackupIncrementalStale"] });
    expect(groups[groups.length - 1].group).toBe("ha-web-backup");
    expect(groups[groups.length - 1].rules.map((r) => r.alert)).not.toContain("BackupIncrementalStale");
    expect(alertRules({ engine: "mariadb" }).map((g) => g.group)).not.toContain("ha-web-backup");
    expect(validateAlertRulesConfig({ engine: "mariadb", disabled: [...BACKUP_ALERT_NAMES] })).toEqual([]);
    expect(validateAlertRulesConfig({ engine: "mariadb", disabled: ["BackupNope"] }).map((p) => p.message)).toEqual([
      expect.stringMatching(/^disabled names "BackupNope", which is not a shipped alert \(.*BackupMetricsMissing\)$/),
    ]);
  });
});

const dir = tempDirPerFile("backup-alert-rules-");
const run = hasBinary("promtool") ? test : test.skip;

describe("promtool with the backup rules", () => {
  run("check rules accepts the rendered file with two clusters' backups", () => {
    const other: BackupPlan = { ...PLAN, cluster: "stats", incrementalSchedule: undefined };
    const files = { "rules.yml": renderAlertRules({ engine: "mariadb", backupPlans: [PLAN, other] }) };
    const result = runIn(dir(), files, "promtool", ["check", "rules", "rules.yml"]);
    expect(result.output).toContain("SUCCESS");
    expect(result.status).toBe(0);
  });

  run.each(CASES.map((c) => [c.name, c] as const))("test rules: %s", (_name, c) => {
    const files = { "rules.yml": rulesFile(), "test.yml": promtoolTest(c) };
    const result = runIn(dir(), files, "promtool", ["test", "rules", "test.yml"]);
    if (result.status !== 0) throw new Error(`promtool test rules failed:\n${result.output}\n--- test.yml ---\n${files["test.yml"]}`);
    expect(result.output).toContain("SUCCESS");
  });

  run("test rules really fails when an expected alert does not fire", () => {
    const wrong: Case = { ...CASES[0], checks: [{ alert: "BackupFullStale", at: "10m", fires: [at("full")] }] };
    const files = { "rules.yml": rulesFile(), "test.yml": promtoolTest(wrong) };
    expect(runIn(dir(), files, "promtool", ["test", "rules", "test.yml"]).status).not.toBe(0);
  });
});
