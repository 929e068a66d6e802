/**
 * End-to-end: the monitoring tier of issue 10 ("Monitoring: Prometheus,
 * Alertmanager, exporters, the shipped alerts and a dashboard"), run for real by
 * the lab with Debian 12's packages: Prometheus 2.42 and Alertmanager 0.25 on the
 * monitoring host, HAProxy's own /metrics, the app's prom-client endpoint, and
 * the Nginx (0.11) and mysqld (0.14) exporters as sidecars in their servers'
 * network namespaces (`network_mode = "container:..."`).
 *
 * The local stack is synthesized with lab-friendly timings (scrapes and rule
 * evaluations every 2 s, short `for:`, Alertmanager grouping of 1 s / 2 s) and a
 * webhook receiver the lab can answer: `http://alert-receiver:9095/alerts`. The
 * receiver is a namespace outside the stack attached to the monitoring host's
 * outbound network (`haweb-mon-out`, the one network that is not internal) under
 * the DNS alias `alert-receiver`, which the monitoring host's DNS answers, as
 * Docker's does for a client run with `--network-alias`. Prometheus' API is read
 * from the host through its published loopback port only.
 *
 * Scenarios, in order:
 *  1. every scrape target is up, and the metric names the dashboard and the
 *     mariadb rules read are scraped (__tests__/fixtures/lab-scraped-metric-names.json);
 *  2. a web node killed: HaproxyServerDown fires and reaches the receiver within a
 *     bound computed from the config; started again, it resolves;
 *  3. replication stopped on the replica: the IO and SQL thread alerts fire and
 *     reach the receiver; started again, they resolve;
 *  4. under a bounded write load, with the replica's SQL thread held back by a
 *     table lock, the dashboard's replication-lag query returns a value above 0.
 *
 * Its own lab: instance `m`, state in `$TMPDIR/hwl-lab-m`, published ports at
 * LAB_PORT_OFFSET + 300; it takes turns with the other lab files (take-turns.ts).
 */
import { readFileSync } from "fs";
import { join } from "path";
import type { SeedStackOptions } from "../../examples/seed-stack";
import { backupSource, FrozenArchiver, freezeArchiver } from "../../lab/backup";
import { ReceivedWebhook, webhookReceiver } from "../../lab/client";
import { fixedRate, request } from "../../lab/load";
import { backendServers, entryUrl, lookupFrom, sql, stackOf } from "../../lab/probes";

import { Lab } from "../../lab/runner";
import { DatabaseFacts, StackFacts } from "../../lab/stack";
import { sleep, waitUntil } from "../../lab/sys";
import { alertRules } from "../../templates/monitoring/alert-rules";
import { BACKUP_METRICS } from "../../templates/mysql/backup-plan";
import { BINLOG_ARCHIVER_DEFAULTS } from "../../templates/scripts/database-binlog-archiver";
import { dashboardPanels } from "../../templates/monitoring/grafana-dashboard";
import { metricNamesIn } from "../helpers/promql-metrics";
import { describeWhenLabRuns, LOCAL_STACK_PACKAGES, localStackLab } from "./bring-up";

/** The namespace that stands in for the alert receiver, its DNS alias on the monitoring host's outbound network, its port. */
const RECEIVER = "receiver";
const RECEIVER_ALIAS = "alert-receiver";
const RECEIVER_PORT = 9095;
/** How long the receiver listens at most (the whole file, with room). */
const RECEIVER_LIFETIME_MS = 600_000;
const FIXTURE = join(__dirname, "..", "fixtures", "lab-scraped-metric-names.json");
/** Slack on top of every computed bound: notification HTTP, polling, a loaded 2-core machine. */
const SLACK_MS = 5000;

/**
 * The monitoring tier as the lab runs it: the receiver above, and timings short enough for a test (the
 * MonitoringTier's own props; the example keeps the shipped defaults). Scrapes and evaluations every 2 s,
 * `for:` 6 s and 4 s, Alertmanager's group_wait 1 s and group_interval 2 s: every scenario still waits out
 * each step of the chain (a scrape, an evaluation, `for:`, a notification), and the bounds are computed from
 * these values as rendered. Before, with 5 s, 20 s, 10 s and 5 s, the same file spent about 70 s waiting.
 */
/** BackupBinlogArchiveStale's threshold in this stack (scenario 5). */
const BINLOG_MAX_AGE_S = 20;
const STACK_OPTIONS: SeedStackOptions = {
  alertWebhookUrl: `http://${RECEIVER_ALIAS}:${RECEIVER_PORT}/alerts`,
  monitoring: {
    scrapeInterval: "2s",
    evaluationInterval: "2s",
    alertRules: {
      for: { HaproxyServerDown: "6s", MysqlReplicationIoThreadStopped: "4s", MysqlReplicationSqlThreadStopped: "4s" },
      // Scenario 5: the binlog archive may lag 20 s here, not the default 5 minutes.
      backupBinlogMaxAgeSeconds: BINLOG_MAX_AGE_S,
    },
    notifications: { groupWait: "1s", groupInterval: "2s" },
  },
};

const describeLab = describeWhenLabRuns("the lab monitoring scenarios", { packages: [...LOCAL_STACK_PACKAGES] });

/** One alert of a notification the receiver got (Alertmanager's webhook JSON, version 4). */
interface ReceivedAlert {
  at: number;
  /** The notification's status (the group's). */
  notification: string;
  status: string;
  labels: Record<string, string>;
}

/** A Prometheus duration ("5s", "1m", "500ms") in ms. */
function durationMs(value: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(value.trim());
  if (!m) throw new Error(`"${value}" is not a duration this test reads`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}

describeLab("the lab: monitoring (Prometheus, Alertmanager, exporters, the shipped alerts, the dashboard)", () => {
  const file = localStackLab({
    file: "monitoring.test.ts",
    what: "lab monitoring scenarios",
    instance: "m",
    portOffset: 300,
    turnWaitMs: 600_000,
    stackOptions: STACK_OPTIONS,
    beforeDown: async (up) => {
      try {
        if (replicationStopped) sql(up, replicationStopped, "START SLAVE");
      } catch {
        /* the lab goes anyway */
      }
      await up.detach(RECEIVER);
      await receiver?.done;
    },
  });
  const { timings, t } = file;
  let lab: Lab;
  let stack: StackFacts;
  let db: DatabaseFacts;
  let prometheusUrl: string;
  let receiver: ReturnType<typeof webhookReceiver>;
  /** The timings the bounds are computed from, read from the rendered files the containers were given. */
  let config: { scrapeMs: number; evalMs: number; groupWaitMs: number; groupIntervalMs: number; forMs: (alert: string) => number };
  /** Undone before the lab goes down whatever failed: replication stopped by scenario 3. */
  let replicationStopped: string | undefined;

  /** A file the stack uploads into one of its containers (its rendered config). */
  const uploaded = (file: string): string => {
    for (const c of lab.requireState().plan.containers) {
      const u = c.uploads.find((x) => x.file === file);
      if (u?.content !== undefined) return u.content;
    }
    throw new Error(`no container of the stack is given ${file}`);
  };
  /** GET on Prometheus' HTTP API through its published loopback port; its `data`. */
  const prom = async <T>(path: string): Promise<T> => {
    const r = await request(`${prometheusUrl}${path}`, { timeoutMs: 5000 });
    if (r.status !== 200) throw new Error(`Prometheus ${path}: ${r.status} ${r.error ?? r.body.slice(0, 300)}`);
    return (JSON.parse(r.body) as { data: T }).data;
  };
  const promQuery = (expr: string) =>
    prom<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  const promAlerts = async () => (await prom<{ alerts: { labels: Record<string, string>; state: string; activeAt: string }[] }>("/api/v1/alerts")).alerts;
  /** Every alert of every notification the receiver got, in arrival order. */
  const received = (): ReceivedAlert[] =>
    receiver.received
      .filter((r: ReceivedWebhook) => r.method === "POST")
      .flatMap((r) => {
        const n = JSON.parse(r.body) as { status: string; alerts: { status: string; labels: Record<string, string> }[] };
        return n.alerts.map((a) => ({ at: r.at, notification: n.status, status: a.status, labels: a.labels }));
      });
  /** The first alert the receiver got after `since` matching `alertname`, `status` and `labels`. */
  const firstReceived = (since: number, alertname: string, status: "firing" | "resolved", labels: Record<string, string> = {}) =>
    received().find(
      (a) => a.at >= since && a.labels.alertname === alertname && a.status === status && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
    );

  beforeAll(async () => {
    const started = Date.now();
    lab = file.lab;
    stack = stackOf(lab);
    db = stack.database();
    const [monitoring] = stack.hostnames("monitoring");
    expect(monitoring).toBe("monitoring");
    prometheusUrl = lab.publishedUrl(monitoring, Number(stack.facts(monitoring).facts["listen-port"]));

    const rules = uploaded("/etc/ha-web/alert-rules.yml");
    const prometheusYml = uploaded("/etc/ha-web/prometheus.yml");
    const alertmanagerYml = uploaded("/etc/ha-web/alertmanager.yml");
    const field = (text: string, key: string) => {
      const m = new RegExp(`^\\s*${key}: (\\S+)$`, "m").exec(text);
      if (!m) throw new Error(`no ${key} in the rendered config`);
      return durationMs(m[1]);
    };
    config = {
      scrapeMs: field(prometheusYml, "scrape_interval"),
      evalMs: field(prometheusYml, "evaluation_interval"),
      groupWaitMs: field(alertmanagerYml, "group_wait"),
      groupIntervalMs: field(alertmanagerYml, "group_interval"),
      forMs: (alert) => {
        const at = rules.indexOf(`- alert: ${alert}\n`);
        if (at < 0) throw new Error(`no rule ${alert} in alert-rules.yml`);
        return field(rules.slice(at), "for");
      },
    };
    expect(alertmanagerYml).toContain(STACK_OPTIONS.alertWebhookUrl);

    // The receiver: outside the stack, on the monitoring host's outbound network, named alert-receiver in its DNS.
    // Alertmanager is a container of its own (not in Prometheus' namespace): it alone has the way out.
    const alertmanager = `${monitoring}-alertmanager`;
    // Prometheus' one network that is not internal carries only its published port: no masquerading, no way out.
    expect(Object.keys(lab.addressesOf(monitoring)).filter((n) => !lab.requireState().networks.find((x) => x.name === n)?.internal)).toEqual(["haweb-mon-pub"]);
    const outbound = lab.requireState().networks.filter((n) => !n.internal && lab.addressesOf(alertmanager)[n.name] !== undefined);
    expect(outbound.map((n) => n.name)).toEqual(["haweb-mon-out"]);
    const client = lab.attach(RECEIVER, outbound[0].name, { aliases: [RECEIVER_ALIAS] });
    receiver = webhookReceiver(lab, RECEIVER, RECEIVER_PORT, { timeoutMs: RECEIVER_LIFETIME_MS });
    await receiver.ready;
    await waitUntil(
      `${RECEIVER_ALIAS} to resolve to ${client.address} on ${alertmanager}`,
      async () => {
        const answer = await lookupFrom(lab, alertmanager, RECEIVER_ALIAS);
        return Array.isArray(answer) && answer.length === 1 && answer[0] === client.address;
      },
      { timeoutMs: 5000, intervalMs: 100 },
    );
    t("receiver", started);
  }, 30_000);

  test("1. every scrape target is up; every metric name the dashboard and the mariadb rules read is scraped (the fixture)", async () => {
    const started = Date.now();
    const configured = [...uploaded("/etc/ha-web/prometheus.yml").matchAll(/^\s+- "([^"]+:\d+)"$/gm)].map((m) => m[1]);
    type Target = { labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string };
    let targets: Target[] = [];
    await waitUntil(
      "every scrape target up",
      async () => {
        targets = (await prom<{ activeTargets: Target[] }>("/api/v1/targets")).activeTargets;
        return targets.length > 0 && targets.every((x) => x.health === "up");
      },
      { timeoutMs: config.scrapeMs * 4 + 10_000, intervalMs: 500 },
    ).catch((error) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(targets.map((x) => [x.scrapeUrl, x.health, x.lastError]))}`);
    });
    console.log(`1. targets: ${targets.map((x) => `${x.labels.job} ${x.labels.instance} ${x.health}`).join(", ")}`);
    // textfile: the backup source's node exporter (textfile collector only), which serves the backup metrics.
    expect([...new Set(targets.map((x) => x.labels.job))].sort()).toEqual(["alertmanager", "app", "haproxy", "mysql", "nginx", "prometheus", "textfile"]);
    // Exactly the configured endpoints (prometheus.yml's, and Alertmanager's own address, which the alertmanager job scrapes).
    expect([...new Set(targets.map((x) => x.labels.instance))].sort()).toEqual([...new Set(configured)].sort());

    // Traffic, so the app's request and read counters have series.
    const url = entryUrl(lab);
    expect((await request(`${url}/api/items`, { method: "POST", body: { name: "monitoring-1" }, timeoutMs: 8000 })).status).toBe(201);
    for (let i = 0; i < 4; i++) expect((await request(`${url}/api/items`, { timeoutMs: 8000 })).status).toBe(200);

    const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as { engine: string; scraped: string[]; notInTheLab: Record<string, string> };
    expect(fixture.engine).toBe(db.engine);
    expect(fixture.scraped).toEqual([...new Set(fixture.scraped)].sort());
    // Every name the dashboard and the rules read (both engines) is either scraped here or listed with the reason it cannot be.
    const used = (engine: "mariadb" | "mysql") => [
      ...dashboardPanels({ engine }).flatMap((p) => p.queries.flatMap((q) => metricNamesIn(q.expr))),
      ...alertRules({ engine }).flatMap((g) => g.rules.flatMap((r) => metricNamesIn(r.expr))),
    ];
    const unaccounted = [...new Set([...used("mariadb"), ...used("mysql")])].filter((n) => !fixture.scraped.includes(n) && !(n in fixture.notInTheLab));
    expect(unaccounted).toEqual([]);
    expect(Object.keys(fixture.notInTheLab).filter((n) => fixture.scraped.includes(n))).toEqual([]);
    for (const reason of Object.values(fixture.notInTheLab)) expect(reason.length).toBeGreaterThan(20);
    // The mariadb dashboard and rules read nothing the lab cannot produce but the node exporter's file systems.
    expect([...new Set(used("mariadb"))].filter((n) => n in fixture.notInTheLab).every((n) => n.startsWith("node_filesystem_"))).toBe(true);

    let names: string[] = [];
    await waitUntil(
      "every name of the fixture scraped",
      async () => {
        names = await prom<string[]>("/api/v1/label/__name__/values");
        return fixture.scraped.every((n) => names.includes(n));
      },
      { timeoutMs: config.scrapeMs * 3 + 10_000, intervalMs: 1000 },
    ).catch((error) => {
      throw new Error(`${(error as Error).message}; missing: ${fixture.scraped.filter((n) => !names.includes(n)).join(", ")}`);
    });
    expect(fixture.scraped.filter((n) => !names.includes(n))).toEqual([]);
    // And what the lab cannot produce is indeed absent (if it appears, move it to `scraped`).
    expect(Object.keys(fixture.notInTheLab).filter((n) => names.includes(n))).toEqual([]);
    console.log(`1. ${names.length} metric names scraped; the fixture's ${fixture.scraped.length} all present`);
    // The backup source's binlog archiver keeps the archive current and says so through the textfile exporter (its probe: 10 s).
    const archiveMs = await waitUntil(
      "the binlog archive reported current",
      async () => (await promQuery(`${BACKUP_METRICS.lastRunSuccess}{kind="binlog"}`)).result.some((r) => r.value[1] === "1"),
      { timeoutMs: 45_000, intervalMs: 1000 },
    );
    console.log(`1. the binlog archive reported current (${BACKUP_METRICS.lastRunSuccess}{kind="binlog"} 1) after ${archiveMs} ms more`);
    // Nothing fires on a healthy stack.
    expect((await promAlerts()).filter((a) => a.state === "firing")).toEqual([]);
    t("1 targets and names", started);
  }, 90_000);

  test("2. a web node killed: HaproxyServerDown fires and reaches the receiver within the bound; started again, it resolves", async () => {
    const started = Date.now();
    const [lb] = stack.hostnames("load-balancer");
    const { check } = stack.loadBalancer(lb);
    const web = stack.hostnames("web")[0];
    const alert = "HaproxyServerDown";
    // HAProxy marks the node DOWN after `fall` failed checks (the first up to `inter` after the kill); a scrape sees it;
    // the rule holds at an evaluation after that scrape, and again `for:` later (so an evaluation more); Alertmanager
    // waits group_wait before the first notification of a new group.
    const fireBound = check.interMs * (check.fall + 1) + config.scrapeMs + 2 * config.evalMs + config.forMs(alert) + config.groupWaitMs + SLACK_MS;
    // Back UP after `rise` checks; a scrape; an evaluation without it resolves it; the group's next flush (group_interval) notifies.
    const resolveBound = check.interMs * (check.rise + 1) + config.scrapeMs + 2 * config.evalMs + config.groupIntervalMs + SLACK_MS;
    expect(lab.sidecarsOf(web)).toHaveLength(1);

    const killedAt = Date.now();
    await lab.kill(web);
    let firingInPrometheusAt = 0;
    await waitUntil(
      `${alert} for ${web} firing in Prometheus and at the receiver`,
      async () => {
        if (firingInPrometheusAt === 0 && (await promAlerts()).some((a) => a.labels.alertname === alert && a.labels.server === web && a.state === "firing"))
          firingInPrometheusAt = Date.now();
        return firingInPrometheusAt > 0 && firstReceived(killedAt, alert, "firing", { server: web }) !== undefined;
      },
      { timeoutMs: fireBound + 20_000, intervalMs: 250 },
    );
    const firing = firstReceived(killedAt, alert, "firing", { server: web })!;
    const fireMs = firing.at - killedAt;
    console.log(
      `2. ${web} killed: ${alert} firing in Prometheus after ${firingInPrometheusAt - killedAt} ms, at the receiver after ${fireMs} ms ` +
        `(bound ${fireBound} ms = inter ${check.interMs} x (fall ${check.fall} + 1) + scrape ${config.scrapeMs} + 2 x eval ${config.evalMs} + for ${config.forMs(alert)} + group_wait ${config.groupWaitMs} + slack ${SLACK_MS}); ` +
        `labels ${JSON.stringify(firing.labels)}`,
    );
    timings["2 fired after ms"] = fireMs;
    timings["2 fire bound ms"] = fireBound;
    expect(firing.labels).toMatchObject({ alertname: alert, server: web, severity: "warning", job: "haproxy" });
    expect(fireMs).toBeLessThanOrEqual(fireBound);

    // Started again (its exporter with it): HAProxy marks it UP, the alert resolves and the receiver is told, for
    // every load balancer whose alert fired (each HAProxy checks the node on its own).
    const restartedAt = Date.now();
    await lab.startContainer(web);
    await lab.waitHealthy([web, ...lab.sidecarsOf(web)], 60_000);
    const resolvedOf = () => {
      const fired = [
        ...new Set(
          received()
            .filter((a) => a.at >= killedAt && a.labels.alertname === alert && a.status === "firing")
            .map((a) => a.labels.instance),
        ),
      ];
      return fired.map((instance) => ({ instance, resolved: firstReceived(restartedAt, alert, "resolved", { server: web, instance }) }));
    };
    await waitUntil(`${alert} for ${web} resolved at the receiver (every load balancer's)`, async () => resolvedOf().every((r) => r.resolved !== undefined), {
      timeoutMs: resolveBound + 20_000,
      intervalMs: 250,
    });
    const resolved = resolvedOf();
    const resolveMs = Math.max(...resolved.map((r) => r.resolved!.at - restartedAt));
    console.log(
      `2. ${web} started again: ${alert} resolved at the receiver after ${resolved.map((r) => `${r.resolved!.at - restartedAt} ms (${r.instance})`).join(", ")} (bound ${resolveBound} ms = inter ${check.interMs} x (rise ${check.rise} + 1) + scrape + 2 x eval + group_interval ${config.groupIntervalMs} + slack)`,
    );
    // Both load balancers saw the node DOWN and UP again.
    expect(resolved.map((r) => r.instance.replace(/:\d+$/, "")).sort()).toEqual(stack.hostnames("load-balancer").sort());
    timings["2 resolved after ms"] = resolveMs;
    expect(resolveMs).toBeLessThanOrEqual(resolveBound);
    expect(Object.values(await backendServers(lab, lb)).map((s) => s.status)).toEqual(stack.hostnames("web").map(() => "UP"));
    expect((await promAlerts()).filter((a) => a.labels.alertname === alert)).toEqual([]);
    t("2 web node down", started);
  }, 180_000);

  test("3. replication stopped on the replica: the IO and SQL thread alerts fire and reach the receiver; started again, they resolve", async () => {
    const started = Date.now();
    const replica = db.replicas[0];
    const alerts = ["MysqlReplicationIoThreadStopped", "MysqlReplicationSqlThreadStopped"];
    const fireBound = config.scrapeMs + 2 * config.evalMs + Math.max(...alerts.map(config.forMs)) + config.groupWaitMs + SLACK_MS;
    const resolveBound = config.scrapeMs + 2 * config.evalMs + config.groupIntervalMs + SLACK_MS;
    const node = { node: replica };

    const stoppedAt = Date.now();
    replicationStopped = replica;
    sql(lab, replica, "STOP SLAVE");
    await waitUntil(`${alerts.join(" and ")} at the receiver`, () => alerts.every((a) => firstReceived(stoppedAt, a, "firing", node) !== undefined), {
      timeoutMs: fireBound + 20_000,
      intervalMs: 250,
    });
    const fired = alerts.map((a) => firstReceived(stoppedAt, a, "firing", node)!);
    const fireMs = Math.max(...fired.map((a) => a.at - stoppedAt));
    console.log(
      `3. STOP SLAVE on ${replica}: ${fired.map((a) => `${a.labels.alertname} at the receiver after ${a.at - stoppedAt} ms`).join(", ")} ` +
        `(bound ${fireBound} ms = scrape ${config.scrapeMs} + 2 x eval ${config.evalMs} + for ${Math.max(...alerts.map(config.forMs))} + group_wait ${config.groupWaitMs} + slack ${SLACK_MS})`,
    );
    timings["3 fired after ms"] = fireMs;
    for (const a of fired) expect(a.labels).toMatchObject({ severity: "critical", job: "mysql", node: replica });
    expect(fireMs).toBeLessThanOrEqual(fireBound);

    const startedAgainAt = Date.now();
    sql(lab, replica, "START SLAVE");
    replicationStopped = undefined;
    await waitUntil(
      `${alerts.join(" and ")} resolved at the receiver`,
      () => alerts.every((a) => firstReceived(startedAgainAt, a, "resolved", node) !== undefined),
      {
        timeoutMs: resolveBound + 20_000,
        intervalMs: 250,
      },
    );
    const resolveMs = Math.max(...alerts.map((a) => firstReceived(startedAgainAt, a, "resolved", node)!.at - startedAgainAt));
    console.log(`3. START SLAVE: both resolved at the receiver after ${resolveMs} ms (bound ${resolveBound} ms)`);
    timings["3 resolved after ms"] = resolveMs;
    expect(resolveMs).toBeLessThanOrEqual(resolveBound);
    t("3 replication stopped", started);
  }, 120_000);

  test("4. under a write load with the replica's SQL thread held back, the replication lag rises and the dashboard's lag query shows it", async () => {
    const started = Date.now();
    const replica = db.replicas[0];
    const database = stack.app().databaseName;
    const panel = dashboardPanels({ engine: db.engine }).find((p) => p.title === "Replication lag");
    expect(panel?.queries).toHaveLength(1);
    const lagQuery = panel!.queries[0].expr;
    const lagOf = async () => {
      const r = await promQuery(lagQuery);
      const series = r.result.find((s) => s.metric.node === replica);
      return series ? Number(series.value[1]) : undefined;
    };
    // In step with the primary before the load (scenario 3 restarted replication not long ago).
    await waitUntil(`${replica}'s lag to be 0`, async () => (await lagOf()) === 0, { timeoutMs: config.scrapeMs * 3 + 5000, intervalMs: 500 });

    // 20 POST/s through the load balancer; from 2 s in, a session on the replica holds a read lock on the table
    // the writes go to for 6 s (three scrapes), so its SQL thread waits on the first of them and
    // Seconds_Behind_Master grows; the load goes on 2 s past the lock.
    const lockMs = 6000;
    let i = 0;
    const load = fixedRate(`${entryUrl(lab)}/api/items`, {
      rate: 20,
      durationMs: lockMs + 4000,
      method: "POST",
      body: () => ({ name: `lag-${i++}` }),
      timeoutMs: 8000,
    });
    await sleep(2000);
    const lockedAt = Date.now();
    const lock = lab.execAsync(
      replica,
      [db.dialect.client, "--user=root", database, "-e", `LOCK TABLES items READ; DO SLEEP(${lockMs / 1000}); UNLOCK TABLES;`],
      { timeoutMs: lockMs + 15_000 },
    );
    const samples: { atMs: number; lag: number | undefined }[] = [];
    let maxLag = 0;
    for (let k = 0; k < 40 && Date.now() - lockedAt < lockMs + config.scrapeMs + 2000; k++) {
      const lag = await lagOf();
      samples.push({ atMs: Date.now() - lockedAt, lag });
      maxLag = Math.max(maxLag, lag ?? 0);
      await sleep(1000);
    }
    const locked = await lock;
    const { summary } = await load;
    // The replica catches up once the lock is gone: lag back to 0, every row there.
    await waitUntil(
      `${replica} to catch up`,
      () => sql(lab, replica, "SELECT @@gtid_slave_pos")[0]?.[0] === sql(lab, db.primary, "SELECT @@gtid_binlog_pos")[0]?.[0],
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    await waitUntil("the lag query to return 0 again", async () => (await lagOf()) === 0, { timeoutMs: config.scrapeMs * 3 + 5000, intervalMs: 500 });
    const end = Date.now() / 1000;
    const range = await prom<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(
      `/api/v1/query_range?query=${encodeURIComponent(lagQuery)}&start=${(lockedAt - 5000) / 1000}&end=${end}&step=1`,
    );
    const rangeMax = Math.max(0, ...(range.result.find((s) => s.metric.node === replica)?.values ?? []).map(([, v]) => Number(v)));
    console.log(
      `4. ${summary.sent} POSTs (${JSON.stringify(summary.byStatus)}), ${replica}'s table locked ${lockMs} ms (${locked.status === 0 ? "released" : `client: ${locked.error} ${locked.stderr}`}): ` +
        `dashboard query "${lagQuery}" samples ${JSON.stringify(samples)}; max ${maxLag} s (query_range max ${rangeMax} s); back to 0 after catching up`,
    );
    timings["4 max lag s"] = maxLag;
    expect(locked.status).toBe(0);
    expect(summary.byStatus).toEqual({ 201: summary.sent });
    expect(maxLag).toBeGreaterThan(0);
    expect(rangeMax).toBeGreaterThan(0);
    t("4 replication lag", started);
  }, 120_000);

  test("5. the binlog archiver frozen: BackupBinlogArchiveStale fires and reaches the receiver within the bound; continued, it resolves", async () => {
    const started = Date.now();
    const source = backupSource(lab);
    const alert = "BackupBinlogArchiveStale";
    const labels = { kind: "binlog" };
    expect(config.forMs(alert)).toBe(0);
    // The last success is at most now: it is BINLOG_MAX_AGE_S old at the latest that much after the freeze.
    const fireBound = BINLOG_MAX_AGE_S * 1000 + config.scrapeMs + 2 * config.evalMs + config.groupWaitMs + SLACK_MS;
    // Continued, the archiver reports at its next probe (every probeSeconds).
    const resolveBound = BINLOG_ARCHIVER_DEFAULTS.probeSeconds * 1000 + config.scrapeMs + 2 * config.evalMs + config.groupIntervalMs + SLACK_MS;
    let frozen: FrozenArchiver | undefined;
    let firedMs = 0;
    try {
      frozen = freezeArchiver(lab, source);
      const frozenAt = Date.now();
      await waitUntil(`${alert} at the receiver`, () => firstReceived(frozenAt, alert, "firing", labels) !== undefined, {
        timeoutMs: fireBound + 20_000,
        intervalMs: 250,
      });
      const fired = firstReceived(frozenAt, alert, "firing", labels)!;
      firedMs = fired.at - frozenAt;
      expect(fired.labels).toMatchObject({ severity: "critical", kind: "binlog" });
    } finally {
      frozen?.thaw();
    }
    const thawedAt = Date.now();
    console.log(
      `5. ${source}'s binlog archiver frozen: ${alert} at the receiver after ${firedMs} ms ` +
        `(bound ${fireBound} ms = max age ${BINLOG_MAX_AGE_S * 1000} + scrape ${config.scrapeMs} + 2 x eval ${config.evalMs} + group_wait ${config.groupWaitMs} + slack ${SLACK_MS})`,
    );
    timings["5 fired after ms"] = firedMs;
    expect(firedMs).toBeLessThanOrEqual(fireBound);
    await waitUntil(`${alert} resolved at the receiver`, () => firstReceived(thawedAt, alert, "resolved", labels) !== undefined, {
      timeoutMs: resolveBound + 20_000,
      intervalMs: 250,
    });
    const resolvedMs = firstReceived(thawedAt, alert, "resolved", labels)!.at - thawedAt;
    console.log(`5. continued: ${alert} resolved at the receiver after ${resolvedMs} ms (bound ${resolveBound} ms)`);
    timings["5 resolved after ms"] = resolvedMs;
    expect(resolvedMs).toBeLessThanOrEqual(resolveBound);
    t("5 archiver frozen", started);
  }, 120_000);
});
