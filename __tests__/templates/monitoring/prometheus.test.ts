import { renderAlertRules } from "../../../templates/monitoring/alert-rules";
import { PrometheusConfig, renderPrometheusConfig, validatePrometheusConfig } from "../../../templates/monitoring/prometheus";
import { ConfigValidationError } from "../../../templates/validate";
import { hasBinary } from "../../helpers/binaries";
import { runIn, tempDirPerFile } from "./tools";

const base: PrometheusConfig = {
  ruleFiles: ["rules.yml"],
  alertmanagers: ["alertmanager:9093"],
  jobs: [
    {
      job: "haproxy",
      targets: [
        { address: "lb-1:8404", labels: { node: "lb-1", tier: "load-balancer" } },
        { address: "lb-2:8404", labels: { node: "lb-2", tier: "load-balancer" } },
      ],
    },
    { job: "node", targets: [{ address: "10.0.1.11:9100", labels: { node: "web-1" } }] },
    { job: "mysql", metricsPath: "/probe/metrics", scheme: "https", scrapeInterval: "5s", targets: [{ address: "db-1:9104", labels: {} }] },
  ],
};

describe("renderPrometheusConfig", () => {
  const yml = renderPrometheusConfig(base);

  test("global intervals default to 15 s, with Prometheus' 10 s scrape timeout", () => {
    expect(yml).toContain("global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\n  evaluation_interval: 15s\n");
    expect(yml).not.toContain("external_labels");
  });

  test("rule files and the alertmanagers are listed", () => {
    expect(yml).toContain("rule_files:\n  - rules.yml\n");
    expect(yml).toContain('alerting:\n  alertmanagers:\n    - static_configs:\n        - targets:\n            - "alertmanager:9093"\n');
  });

  test("one scrape config per job, one static config per target with its own labels", () => {
    expect(yml).toContain(
      [
        "  - job_name: haproxy",
        "    metrics_path: /metrics",
        "    scheme: http",
        "    static_configs:",
        "      - targets:",
        '          - "lb-1:8404"',
        "        labels:",
        "          node: lb-1",
        "          tier: load-balancer",
        "      - targets:",
        '          - "lb-2:8404"',
      ].join("\n"),
    );
    // A target without labels has no labels key; a job's own interval shorter than the timeout brings its own timeout.
    expect(yml).toContain(
      '  - job_name: mysql\n    scrape_interval: 5s\n    scrape_timeout: 5s\n    metrics_path: /probe/metrics\n    scheme: https\n    static_configs:\n      - targets:\n          - "db-1:9104"\n',
    );
  });

  test("intervals, timeout and external labels are configurable; a short interval shortens the default timeout", () => {
    const custom = renderPrometheusConfig({ ...base, scrapeInterval: "5s", evaluationInterval: "30s", externalLabels: { stack: "prod", on: "yes" } });
    expect(custom).toContain("  scrape_interval: 5s\n  scrape_timeout: 5s\n  evaluation_interval: 30s\n");
    // Values YAML would read as booleans stay strings.
    expect(custom).toContain('  external_labels:\n    stack: prod\n    "on": "yes"\n');
    expect(renderPrometheusConfig({ ...base, scrapeTimeout: "3s" })).toContain("  scrape_timeout: 3s\n");
  });

  test("no alertmanagers: no alerting section", () => {
    expect(renderPrometheusConfig({ jobs: base.jobs })).not.toContain("alerting:");
  });

  test.each<[Partial<PrometheusConfig>, string, RegExp]>([
    [{ jobs: [] }, "jobs", /at least one scrape job/],
    [{ jobs: [base.jobs[0], { ...base.jobs[1], job: "haproxy" }] }, "jobs", /"haproxy" is used by more than one job/],
    [{ jobs: [{ job: "-x", targets: [{ address: "a:1", labels: {} }] }] }, "jobs[0].job", /letters, digits/],
    [{ jobs: [{ job: "x", targets: [] }] }, "jobs[0].targets", /no targets/],
    [{ jobs: [{ job: "x", targets: [{ address: "web-1", labels: {} }] }] }, "jobs[0].targets[0].address", /host:port/],
    [{ jobs: [{ job: "x", targets: [{ address: "web-1:0", labels: {} }] }] }, "jobs[0].targets[0].address", /host:port/],
    [{ jobs: [{ job: "x", targets: [{ address: "http://web-1:80", labels: {} }] }] }, "jobs[0].targets[0].address", /host:port/],
    [
      {
        jobs: [
          {
            job: "x",
            targets: [
              { address: "a:1", labels: {} },
              { address: "a:1", labels: {} },
            ],
          },
        ],
      },
      "jobs[0].targets",
      /listed twice/,
    ],
    [{ jobs: [{ job: "x", targets: [{ address: "a:1", labels: { "1bad": "v" } }] }] }, "jobs[0].targets[0].labels", /not a Prometheus label name/],
    [{ jobs: [{ job: "x", targets: [{ address: "a:1", labels: { __address__: "v" } }] }] }, "jobs[0].targets[0].labels", /not a Prometheus label name/],
    [{ jobs: [{ job: "x", targets: [{ address: "a:1", labels: { job: "y" } }] }] }, "jobs[0].targets[0].labels", /set by Prometheus itself/],
    [{ jobs: [{ job: "x", targets: [{ address: "a:1", labels: { node: "" } }] }] }, "jobs[0].targets[0].labels", /empty value/],
    [{ jobs: [{ job: "x", metricsPath: "metrics", targets: [{ address: "a:1", labels: {} }] }] }, "jobs[0].metricsPath", /absolute URL path/],
    [{ jobs: [{ job: "x", scrapeInterval: "5", targets: [{ address: "a:1", labels: {} }] }] }, "jobs[0].scrapeInterval", /duration/],
    [{ jobs: [{ job: "x", scrapeTimeout: "20s", targets: [{ address: "a:1", labels: {} }] }] }, "jobs[0].scrapeTimeout", /longer than/],
    [{ scrapeInterval: "15 s" }, "scrapeInterval", /duration/],
    [{ scrapeInterval: "0s" }, "scrapeInterval", /longer than zero/],
    [{ evaluationInterval: "1h30" }, "evaluationInterval", /duration/],
    [{ scrapeTimeout: "30s" }, "scrapeTimeout", /longer than scrapeInterval/],
    [{ alertmanagers: ["alertmanager"] }, "alertmanagers", /host:port/],
    [{ alertmanagers: ["am:9093", "am:9093"] }, "alertmanagers", /listed twice/],
    [{ externalLabels: { "bad-name": "x" } }, "externalLabels", /label name/],
    [{ ruleFiles: [""] }, "ruleFiles", /file path/],
  ])("rejects bad input %#: %s", (override, field, message) => {
    const config = { ...base, ...override };
    const problems = validatePrometheusConfig(config);
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.join("; ")).toMatch(message);
    expect(() => renderPrometheusConfig(config)).toThrow(ConfigValidationError);
  });

  test("the base config is valid", () => {
    expect(validatePrometheusConfig(base)).toEqual([]);
  });
});

describe("promtool check config", () => {
  const dir = tempDirPerFile("prometheus-config-");
  const run = hasBinary("promtool") ? test : test.skip;

  run.each(["mariadb", "mysql"] as const)("accepts the rendered config with the %s rules next to it", (engine) => {
    const result = runIn(dir(), { "prometheus.yml": renderPrometheusConfig(base), "rules.yml": renderAlertRules({ engine }) }, "promtool", [
      "check",
      "config",
      "prometheus.yml",
    ]);
    expect(result.output).toContain("SUCCESS: 1 rule files found");
    expect(result.status).toBe(0);
  });

  run("accepts a config with custom intervals, external labels and no alertmanager", () => {
    const config = renderPrometheusConfig({ jobs: base.jobs, scrapeInterval: "5s", evaluationInterval: "10s", externalLabels: { stack: "lab", on: "yes" } });
    const result = runIn(dir(), { "prometheus.yml": config }, "promtool", ["check", "config", "prometheus.yml"]);
    expect(result.output).toContain("is valid prometheus config file syntax");
    expect(result.status).toBe(0);
  });

  run("fails when a rule file is missing (so the check above really looked)", () => {
    const result = runIn(dir(), { "prometheus.yml": renderPrometheusConfig(base) }, "promtool", ["check", "config", "prometheus.yml"]);
    expect(result.status).not.toBe(0);
  });
});
