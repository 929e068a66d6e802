import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { dashboardPanels, DashboardEngine, renderGrafanaDashboard, validateGrafanaDashboardConfig } from "../../../templates/monitoring/grafana-dashboard";
import { hasBinary } from "../../helpers/binaries";

const engines: DashboardEngine[] = ["mariadb", "mysql"];

interface PanelJson {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { expr: string; refId: string; datasource: { uid: string } }[];
}

describe.each(engines)("the Grafana dashboard (%s)", (engine) => {
  const dashboard = JSON.parse(renderGrafanaDashboard({ engine })) as {
    uid: string;
    panels: PanelJson[];
    templating: { list: { name: string; type: string }[] };
  };

  test("imports against any Prometheus: every panel and query uses the data source variable", () => {
    expect(dashboard.uid).toBe("cdktf-ha-web");
    expect(dashboard.templating.list).toEqual([expect.objectContaining({ name: "datasource", type: "datasource" })]);
    for (const panel of dashboard.panels) {
      expect(panel.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const t of panel.targets) expect(t.datasource.uid).toBe("${datasource}");
    }
  });

  test("shows what the issue asks: request rate, errors, latency percentiles per node, backend state, replication lag, connections", () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    expect(exprs).toContain("rate(haproxy_server_http_responses_total");
    expect(exprs).toContain('code="5xx"');
    expect(exprs).toMatch(/histogram_quantile\(0\.99, sum by \(le, instance\)/);
    expect(exprs).toContain("haproxy_server_status");
    expect(exprs).toContain(engine === "mysql" ? "mysql_slave_status_seconds_behind_source" : "mysql_slave_status_seconds_behind_master");
    expect(exprs).toContain("mysql_global_status_threads_connected");
  });

  test("panels do not overlap and have unique ids and refIds", () => {
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const cell = `${x},${y}`;
          expect(cells.has(cell)).toBe(false);
          cells.add(cell);
        }
      }
      expect(new Set(p.targets.map((t) => t.refId)).size).toBe(p.targets.length);
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });
});

test.each([
  [{ engine: "postgres" as DashboardEngine }, "engine"],
  [{ engine: "mariadb" as DashboardEngine, rateWindow: "5 minutes" }, "rateWindow"],
  [{ engine: "mariadb" as DashboardEngine, uid: "a b" }, "uid"],
])("rejects bad input %#", (config, field) => {
  expect(validateGrafanaDashboardConfig(config).map((p) => p.field)).toEqual([field]);
  expect(() => renderGrafanaDashboard(config)).toThrow(field);
});

const promtool = hasBinary("promtool") ? test : test.skip;
promtool("every panel's query is valid PromQL (promtool check rules, as recording rules), for both engines", () => {
  const dir = mkdtempSync(join(tmpdir(), "dashboard-promql-"));
  try {
    for (const engine of engines) {
      const rules = dashboardPanels({ engine }).flatMap((p, i) =>
        p.queries.map((q, j) => `      - record: dashboard:panel${i}_query${j}\n        expr: ${JSON.stringify(q.expr)}`),
      );
      const file = join(dir, `${engine}.yml`);
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);
      const result = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
      expect({ engine, status: result.status, out: result.status === 0 ? "" : result.stdout + result.stderr }).toEqual({ engine, status: 0, out: "" });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
