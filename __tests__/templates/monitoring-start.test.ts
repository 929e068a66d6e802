/**
 * The monitoring programs' start scripts: valid POSIX sh, the flags Debian's
 * binaries take (checked against the installed binaries' own --help), secrets
 * kept off the command line. The lab runs them for real (__tests__/lab/monitoring.test.ts).
 */
import { spawnSync } from "child_process";
import {
  renderAlertmanagerStartScript,
  renderMysqldExporterStartScript,
  renderNginxExporterStartScript,
  renderPrometheusStartScript,
} from "../../templates/scripts/monitoring";
import { hasBinary } from "../helpers/binaries";

const scripts = {
  prometheus: renderPrometheusStartScript({
    configPath: "/etc/ha-web/prometheus.yml",
    dataDir: "/var/lib/ha-web/prometheus/data",
    retentionTime: "15d",
    retentionSize: "18GB",
    listenAddress: ":9090",
  }),
  "prometheus-alertmanager": renderAlertmanagerStartScript({
    configPath: "/etc/ha-web/alertmanager.yml",
    storageDir: "/var/lib/ha-web/alertmanager",
    listenAddress: "127.0.0.1:9093",
  }),
  "prometheus-nginx-exporter": renderNginxExporterStartScript({ scrapeUri: "http://127.0.0.1:8081/stub_status", listenAddress: ":9113" }),
  "prometheus-mysqld-exporter": renderMysqldExporterStartScript({ host: "127.0.0.1", port: 3306, user: "exporter", listenAddress: ":9104" }),
};

/** The long flags a script passes to its binary (`--name=`), in order. */
function flagsOf(script: string): string[] {
  const exec = script.slice(script.indexOf("exec setpriv"));
  return [...exec.matchAll(/ --([a-z][a-z0-9.-]+)=/g)].map((m) => m[1]).filter((f) => !["reuid", "regid"].includes(f));
}

describe("monitoring start scripts", () => {
  test.each(Object.entries(scripts))("%s: valid sh, drops to the prometheus user, runs in the foreground", (binary, script) => {
    const parsed = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
    expect(parsed.stderr).toBe("");
    expect(parsed.status).toBe(0);
    expect(script).toContain(`exec setpriv --reuid=prometheus --regid=prometheus --init-groups -- ${binary} \\`);
  });

  test("Prometheus checks its config first and keeps its data where it is told", () => {
    expect(scripts.prometheus).toContain('promtool check config "$CONFIG" >/dev/null');
    expect(scripts.prometheus).toContain("--storage.tsdb.retention.time=15d");
    expect(scripts.prometheus).toContain("--storage.tsdb.retention.size=18GB");
  });

  test("Alertmanager runs alone: the gossip cluster is off, so no extra port opens", () => {
    expect(scripts["prometheus-alertmanager"]).toContain("--cluster.listen-address= \\");
  });

  test("the MySQL exporter's password goes into a private my.cnf, never on the command line or into the exporter's environment", () => {
    const script = scripts["prometheus-mysqld-exporter"];
    expect(script).toContain("umask 077");
    expect(script).toContain("unset PASSWORD HAWEB_DB_EXPORTER_PASSWORD HAWEB_DB_EXPORTER_PASSWORD_FILE");
    const exec = script.slice(script.indexOf("exec setpriv"));
    expect(exec).not.toMatch(/PASSWORD/);
  });

  test.each([
    [
      () => renderPrometheusStartScript({ configPath: "prometheus.yml", dataDir: "/d", retentionTime: "15d", listenAddress: ":9090" }),
      /configPath "prometheus\.yml" is not an absolute path/,
    ],
    [
      () => renderPrometheusStartScript({ configPath: "/p.yml", dataDir: "/d", retentionTime: "two weeks", listenAddress: ":9090" }),
      /retentionTime "two weeks" is not a duration/,
    ],
    [() => renderAlertmanagerStartScript({ configPath: "/a.yml", storageDir: "/d", listenAddress: "9093" }), /listenAddress "9093" is not "address:port"/],
    [
      () => renderNginxExporterStartScript({ scrapeUri: "file:///etc/passwd", listenAddress: ":9113" }),
      /scrapeUri "file:\/\/\/etc\/passwd" is not an http URL/,
    ],
    [() => renderMysqldExporterStartScript({ host: "db", port: 0, user: "exporter", listenAddress: ":9104" }), /port 0 is outside 1-65535/],
    [
      () => renderMysqldExporterStartScript({ host: "db", port: 3306, user: "ex'porter", listenAddress: ":9104" }),
      /user "ex'porter" is not a database user name/,
    ],
  ])("rejects bad input %#", (render, message) => {
    expect(render).toThrow(message);
  });
});

// Debian 12's binaries name every flag the scripts pass in their --help (an unknown flag would stop the program at start).
// In CI they must be there (scripts/install-test-deps.sh installs them): never skipped.
const binaries = process.env.CI || Object.keys(scripts).every((b) => hasBinary(b)) ? describe : describe.skip;
binaries("the flags are the installed programs' own", () => {
  test.each(Object.entries(scripts))("%s knows every flag its script passes", (binary, script) => {
    const help = spawnSync(binary, ["--help"], { encoding: "utf8" });
    const text = `${help.stdout}${help.stderr}`;
    const flags = flagsOf(script);
    expect(flags.length).toBeGreaterThan(0);
    expect(flags.filter((f) => !new RegExp(`-{1,2}${f.replace(/\./g, "\\.")}[=\\s]`).test(text))).toEqual([]);
  });
});
