/**
 * Every metric the dashboard and the alert rules read is one the exporters
 * really expose: the names the lab's Prometheus scraped from the running stack
 * (__tests__/fixtures/lab-scraped-metric-names.json, written from and checked
 * against the lab's scrape in __tests__/lab/monitoring.test.ts), or one the lab
 * cannot produce, listed there with the reason. A renamed metric in a panel or
 * a rule fails here, without the lab.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { alertRules } from "../../../templates/monitoring/alert-rules";
import { dashboardPanels } from "../../../templates/monitoring/grafana-dashboard";
import { metricNamesIn } from "../../helpers/promql-metrics";

const fixture = JSON.parse(readFileSync(join(__dirname, "..", "..", "fixtures", "lab-scraped-metric-names.json"), "utf8")) as {
  scraped: string[];
  notInTheLab: Record<string, string>;
};
const known = new Set([...fixture.scraped, ...Object.keys(fixture.notInTheLab)]);

describe.each(["mariadb", "mysql"] as const)("metric names (%s)", (engine) => {
  test("every dashboard panel reads metrics the exporters expose", () => {
    const used = dashboardPanels({ engine }).flatMap((p) => p.queries.flatMap((q) => metricNamesIn(q.expr).map((name) => `${p.title}: ${name}`)));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((u) => !known.has(u.split(": ")[1]))).toEqual([]);
  });

  test("every alert rule reads metrics the exporters expose", () => {
    const used = alertRules({ engine }).flatMap((g) => g.rules.flatMap((r) => metricNamesIn(r.expr).map((name) => `${r.alert}: ${name}`)));
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((u) => !known.has(u.split(": ")[1]))).toEqual([]);
  });
});

test("on MariaDB, the engine the lab runs, only the node exporter's names were not scraped (Docker runs no node exporter)", () => {
  const used = [
    ...dashboardPanels({ engine: "mariadb" }).flatMap((p) => p.queries.flatMap((q) => metricNamesIn(q.expr))),
    ...alertRules({ engine: "mariadb" }).flatMap((g) => g.rules.flatMap((r) => metricNamesIn(r.expr))),
  ];
  expect([...new Set(used.filter((n) => !fixture.scraped.includes(n)))].sort()).toEqual([
    "node_filesystem_avail_bytes",
    "node_filesystem_readonly",
    "node_filesystem_size_bytes",
  ]);
});

test("metricNamesIn reads metric names, not functions, keywords or labels", () => {
  expect(
    metricNamesIn('histogram_quantile(0.95, sum by (le, node) (rate(http_request_duration_seconds_bucket{route!="/health"}[5m]))) > on (node) group_left up'),
  ).toEqual(["http_request_duration_seconds_bucket", "up"]);
  expect(metricNamesIn('mysql_up == 0 unless on (node) (up{job="node"} == 0)')).toEqual(["mysql_up", "up"]);
});
