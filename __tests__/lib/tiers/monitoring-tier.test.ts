import "cdktf/lib/testing/adapters/jest";
import { TerraformStack, Testing } from "cdktf";
import { DockerTarget, LoadBalancerTier, MonitoringTier, MonitoringTierProps, MysqlCluster, WebAppTier } from "../../../lib";
import { PATHS } from "../../../templates/paths";
import { annotations, containers, synthDocker, uploaded } from "../../helpers/synth";
import { runIn, tempDirPerFile } from "../../templates/monitoring/tools";

const RECEIVER = { webhookUrl: "http://alert-receiver:9095/alerts" };

describe("MonitoringTier on Docker", () => {
  let monitoring!: MonitoringTier;
  const { parsed } = synthDocker((stack, target) => {
    const database = new MysqlCluster(stack, "db", { target, replicas: 1 });
    const web = new WebAppTier(stack, "web", { target, database });
    const lb = new LoadBalancerTier(stack, "lb", { target, webTier: web });
    monitoring = new MonitoringTier(stack, "monitoring", { target, monitor: [database, web, lb], receiver: RECEIVER });
  });
  const byName = containers(parsed);
  const networkNames = Object.fromEntries(
    Object.entries(parsed.resource.docker_network).map(([key, n]) => [`\${docker_network.${key}.name}`, n as { name: string; internal: boolean }]),
  );
  const workDir = tempDirPerFile("hw-monitoring-tier-");

  test("Prometheus joins only the networks of the exporters it scrapes, Alertmanager's and its unrouted publish network; only Alertmanager has a route out", () => {
    const networksOf = (name: string) => byName[name].networks_advanced.map((n) => [networkNames[n.name].name, networkNames[n.name].internal]);
    expect(networksOf("haweb-monitoring")).toEqual([
      ["haweb-mon-db", true],
      ["haweb-mon-app", true],
      ["haweb-mon-web", true],
      ["haweb-mon-lb", true],
      ["haweb-mon-mon", true],
      // Docker forwards a published port only over a non-internal network: this one has no masquerading, so no way out.
      ["haweb-mon-pub", false],
    ]);
    const pub = Object.values(networkNames).find((n) => n.name === "haweb-mon-pub") as { options?: Record<string, string> };
    expect(pub.options).toEqual({ "com.docker.network.bridge.enable_ip_masquerade": "false" });
    // Alertmanager is a container of its own (a network_mode sidecar can stay down after a reboot), reached on mon-mon.
    const alertmanager = byName["haweb-monitoring-alertmanager"];
    expect(alertmanager.network_mode).toBeUndefined();
    expect(networksOf("haweb-monitoring-alertmanager")).toEqual([
      ["haweb-mon-mon", true],
      ["haweb-mon-out", false],
    ]);
    expect(monitoring.prometheusConfig).toContain('- "monitoring-alertmanager:9093"');
    expect(uploaded(alertmanager, `${PATHS.binDir}/start-alertmanager.sh`)).toContain("--web.listen-address='0.0.0.0:9093'");
  });

  test("its UI is published for operators on loopback; its data lives in a named volume", () => {
    const prometheus = byName["haweb-monitoring"];
    // The next free publish port after the load balancers' four (8080-8083).
    expect(prometheus.ports).toEqual([{ internal: 9090, external: 8084, ip: "127.0.0.1" }]);
    expect(monitoring.prometheusUrl).toBe("http://127.0.0.1:8084");
    expect(prometheus.volumes).toEqual([{ volume_name: expect.stringContaining("docker_volume."), container_path: PATHS.prometheusVolume }]);
    expect(Object.values(parsed.resource.docker_volume).map((v) => v.name)).toContain("haweb-monitoring-data");
  });

  test("the rendered prometheus.yml, rules and alertmanager.yml are what promtool and amtool accept", () => {
    const prometheus = byName["haweb-monitoring"];
    const config = uploaded(prometheus, PATHS.prometheusConfig);
    const rules = uploaded(prometheus, PATHS.alertRules);
    expect(config).toBe(monitoring.prometheusConfig);
    // promtool resolves rule_files: check the config with the rules beside it.
    const checked = runIn(workDir(), { "prometheus.yml": config.replace(PATHS.alertRules, "alert-rules.yml"), "alert-rules.yml": rules }, "promtool", [
      "check",
      "config",
      "prometheus.yml",
    ]);
    expect(checked.output).toContain("SUCCESS");
    expect(checked.status).toBe(0);
    const am = runIn(workDir(), { "alertmanager.yml": uploaded(byName["haweb-monitoring-alertmanager"], PATHS.alertmanagerConfig) }, "amtool", [
      "check-config",
      "alertmanager.yml",
    ]);
    expect(am.status).toBe(0);
    expect(monitoring.alertmanagerConfig).toContain('url: "http://alert-receiver:9095/alerts"');
  });

  test("scrape targets come from the tiers: every exporter of every node, labelled with its node", () => {
    const config = monitoring.prometheusConfig;
    for (const target of [
      "db-primary:9104",
      "db-replica-1:9104",
      "db-replica-1:9100",
      "web-1:9113",
      "web-2:9113",
      "web-1-app:9464",
      "web-2-app:9464",
      "lb-1:8405",
      "lb-2:8405",
    ])
      expect(config).toContain(`"${target}"`);
    // "textfile": the backup source's backup metrics (a node exporter beside it on Docker).
    expect(monitoring.scrapeJobs.map((j) => j.job)).toEqual(["mysql", "textfile", "app", "nginx", "haproxy", "prometheus", "alertmanager"]);
    expect(monitoring.scrapeJobs.flatMap((j) => j.targets).every((t) => t.labels.node !== undefined)).toBe(true);
  });

  test("the watched cluster's backups get their alerts, thresholds from its plan's schedules; promtool accepts the file", () => {
    expect(monitoring.alertRules).toContain("name: ha-web-backup");
    // fullSchedule "0 3 * * *": 86400 s between full backups, plus the hour's margin; hourly incrementals: 3600 + 3600.
    expect(monitoring.alertRules).toContain('time() - ha_web_backup_last_success_timestamp_seconds{cluster="db", kind="full"} > 90000');
    expect(monitoring.alertRules).toContain('time() - ha_web_backup_last_success_timestamp_seconds{cluster="db", kind="incremental"} > 7200');
    for (const name of ["BackupFullStale", "BackupIncrementalStale", "BackupBinlogArchiveStale", "BackupFailed", "BackupMetricsMissing"])
      expect(monitoring.alertRules).toContain(`alert: ${name}\n`);
    const run = runIn(workDir(), { "rules.yml": monitoring.alertRules }, "promtool", ["check", "rules", "rules.yml"]);
    expect(run.output).toContain("SUCCESS");
    expect(run.status).toBe(0);
  });

  test("the dashboard ships with the tier, for the monitored engine", () => {
    const dashboard = JSON.parse(monitoring.dashboardJson) as { panels: { targets: { expr: string }[] }[] };
    expect(dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n")).toContain("mysql_slave_status_seconds_behind_master");
  });
});

/** The Prometheus start script the tier gives its host. */
function uploadedScript(tier: MonitoringTier): string {
  const files = Object.values(containers(JSON.parse(Testing.synth(tier.node.scope as TerraformStack)))).find((c) => c.name === "haweb-monitoring")!;
  return uploaded(files, `${PATHS.binDir}/start-prometheus.sh`);
}

describe("MonitoringTier props", () => {
  const declare = (props: Partial<MonitoringTierProps>, engine: "mariadb" | "mysql" = "mariadb") => {
    const stack = new TerraformStack(Testing.app(), "bad");
    const target = new DockerTarget(stack, "docker");
    const database = new MysqlCluster(stack, "db", { target, replicas: 1, engine });
    return new MonitoringTier(stack, "monitoring", { target, monitor: [database], receiver: RECEIVER, ...props });
  };

  test("a compound retention (1d12h) is a Prometheus duration: accepted, passed as given", () => {
    expect(uploadedScript(declare({ retention: "1d12h" }))).toContain("--storage.tsdb.retention.time=1d12h");
  });

  test("thresholds and for: durations reach the rules; MySQL 8.4 gets its own metric names", () => {
    const tier = declare({ alertRules: { replicationLagSeconds: 5, for: { MysqlDown: "30s" }, disabled: ["DiskNearlyFull"] } }, "mysql");
    expect(tier.alertRules).toContain("mysql_slave_status_seconds_behind_source > 5");
    // Debian's exporters are too old to read a MySQL 8.4 replica: said at synth, with the override.
    expect(annotations(tier, "warn")).toEqual([
      expect.stringMatching(
        /prop `monitor` watches a MySQL 8\.4 cluster: its replica status .* needs prometheus-mysqld-exporter 0\.16 or later.*Fix: run a newer exporter/,
      ),
    ]);
    expect(tier.alertRules).not.toContain("alert: DiskNearlyFull");
    expect(tier.alertRules).toMatch(/alert: MysqlDown\n\s+expr: .*\n\s+for: 30s/);
  });

  test.each<[Partial<MonitoringTierProps>, RegExp]>([
    [
      { monitor: [] },
      /MonitoringTier 'bad\/monitoring' has invalid props:\n- prop `monitor` names no tier with a metrics endpoint\. Fix: pass the tiers to watch/,
    ],
    [
      { receiver: { webhookUrl: "alerts.example.com" } },
      /prop `receiver`: receiver\.webhookUrl "alerts\.example\.com" is not an http:\/\/ or https:\/\/ URL\. Fix: give exactly one of webhookUrl/,
    ],
    [{ retention: "two weeks" }, /prop `retention` "two weeks" is not a duration\. Fix: use a Prometheus duration such as "15d"/],
    [{ retentionSize: "18 gigs" }, /prop `retentionSize` "18 gigs" is not a size/],
    [{ storageSizeGb: 0.5 }, /prop `storageSizeGb` is 0\.5; it must be a whole number of GB from 1 to 16384/],
    [{ port: 0 }, /prop `port` is 0; it must be a whole number in 1-65535\. Fix: use 9090/],
    [{ port: 9093 }, /prop `port` is 9093, a port another program of the monitoring host listens on \(9093\)\. Fix: use 9090/],
    [
      { receiver: { webhookUrl: "https://bot:s3cret@hooks.example.com/alerts" } },
      /prop `receiver\.webhookUrl` carries a user name or password, which would be written in plain text/,
    ],
    [{ namePrefix: "Mon" }, /prop `namePrefix` "Mon" does not make valid DNS labels/],
    [{ scrapeInterval: "fast" }, /prop `scrapeInterval`: scrapeInterval "fast" is not a Prometheus duration/],
    [{ alertRules: { http5xxRatio: 5 } }, /prop `alertRules`: thresholds\.http5xxRatio is 5; it must be a ratio between 0 and 1/],
    [{ alertRules: { disabled: ["NoSuchAlert" as never] } }, /prop `alertRules\.disabled`: disabled names "NoSuchAlert", which is not a shipped alert/],
    [{ notifications: { groupWait: "soon" } }, /prop `notifications\.groupWait`: groupWait "soon" is not a duration/],
    [{ externalLabels: { job: "x" } }, /prop `externalLabels`: label "job" is set by Prometheus itself/],
  ])("rejects %j", (props, message) => {
    expect(() => declare(props)).toThrow(message);
  });

  test("databases of two engines in one MonitoringTier are refused (the rules use one engine's names)", () => {
    const stack = new TerraformStack(Testing.app(), "two");
    const target = new DockerTarget(stack, "docker");
    const a = new MysqlCluster(stack, "a", { target, replicas: 0 });
    const b = new MysqlCluster(stack, "b", { target, replicas: 0, engine: "mysql", namePrefix: "legacy" });
    expect(() => new MonitoringTier(stack, "monitoring", { target, monitor: [a, b], receiver: RECEIVER })).toThrow(
      /prop `monitor` holds databases of two engines \(mariadb, mysql\)/,
    );
  });
});
