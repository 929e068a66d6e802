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
import { PATHS } from "../../templates/paths";
import { SIDECAR_CHECK_SECONDS } from "../../templates/scripts/monitoring";
import { hasBinary, isRoot } from "../helpers/binaries";
import { NamespaceSandbox, waitFor } from "../helpers/namespace-sandbox";
import { Pid1Node, startAsPid1 } from "./pid1";

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
  const exec = script.slice(script.indexOf("setpriv --reuid"));
  return [...exec.matchAll(/ --([a-z][a-z0-9.-]+)=/g)].map((m) => m[1]).filter((f) => !["reuid", "regid"].includes(f));
}

describe("monitoring start scripts", () => {
  test.each(Object.entries(scripts))("%s: valid sh, drops to the prometheus user", (binary, script) => {
    const parsed = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
    expect(parsed.stderr).toBe("");
    expect(parsed.status).toBe(0);
    expect(script).toContain(`setpriv --reuid=prometheus --regid=prometheus --init-groups -- ${binary} \\`);
  });

  test("Prometheus and Alertmanager are exec'd (each owns its namespace); the exporter sidecars run under a script that watches theirs", () => {
    expect(scripts.prometheus).toContain("exec setpriv --reuid=prometheus");
    expect(scripts["prometheus-alertmanager"]).toContain("exec setpriv --reuid=prometheus");
    for (const sidecar of ["prometheus-nginx-exporter", "prometheus-mysqld-exporter"] as const) {
      expect(scripts[sidecar]).not.toContain("exec setpriv");
      expect(scripts[sidecar]).toContain("if ! has_network; then");
    }
  });

  test("the Nginx exporter waits for stub_status, bounded", () => {
    expect(scripts["prometheus-nginx-exporter"]).toContain('if [ "$waited" -ge 120 ]; then');
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
    const exec = script.slice(script.indexOf("setpriv --reuid"));
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

// A sidecar whose server's container restarted is left in a namespace with only `lo`: it must exit so the restart policy re-joins it.
const sandboxed = process.env.CI || (hasBinary("prometheus-mysqld-exporter") && hasBinary("unshare") && isRoot()) ? describe : describe.skip;
sandboxed("a sidecar's start script in a real network namespace (the MySQL exporter, as a container's PID 1)", () => {
  let sandbox: NamespaceSandbox;
  const nodes: Pid1Node[] = [];
  const script = `${PATHS.binDir}/start-mysqld-exporter.sh`;
  // The exporter serves /metrics (mysql_up 0) whether or not a server answers: enough to watch the script.
  const start = (name: string) => {
    const node = startAsPid1(sandbox, name, {
      files: { [script]: { content: scripts["prometheus-mysqld-exporter"], executable: true } },
      mounts: {},
      command: ["/bin/sh", script],
      env: { HAWEB_DB_EXPORTER_PASSWORD: "exporter-secret" },
    });
    nodes.push(node);
    return node;
  };

  beforeAll(() => {
    sandbox = new NamespaceSandbox("sidecar");
  });
  afterAll(async () => {
    for (const node of nodes) await node.kill();
    await sandbox?.cleanup();
  }, 60000);

  test("with only lo (its server's namespace is gone) it stops the program and exits 1 within one check", async () => {
    const node = start("orphan");
    await waitFor("the script to give up", () => !node.running(), 40, 250);
    expect(node.output()).toContain("no route any more");
    expect(node.child.exitCode).toBe(1);
  }, 30000);

  test("an interface without a route (a tunnel module's tunl0 in every namespace) does not count as a network", async () => {
    const r = sandbox.exec(["ip", "link", "add", "eth8", "type", "veth", "peer", "name", "eth8p"]);
    if (r.status !== 0) throw new Error(`ip link add: ${r.stderr}`);
    sandbox.exec(["ip", "link", "set", "eth8", "up"]);
    const node = start("no-route");
    await waitFor("the script to give up", () => !node.running(), 40, 250);
    expect(node.child.exitCode).toBe(1);
  }, 30000);

  test("a password my.cnf cannot carry is refused with a reason, before anything starts", async () => {
    const node = startAsPid1(sandbox, "bad-password", {
      files: { [`${PATHS.binDir}/start-mysqld-exporter.sh`]: { content: scripts["prometheus-mysqld-exporter"], executable: true } },
      mounts: {},
      command: ["/bin/sh", `${PATHS.binDir}/start-mysqld-exporter.sh`],
      env: { HAWEB_DB_EXPORTER_PASSWORD: "secret#rest" },
    });
    nodes.push(node);
    await waitFor("the refusal", () => !node.running(), 40, 250);
    expect(node.child.exitCode).toBe(64);
    expect(node.output()).toContain("holds a character my.cnf cannot carry");
  }, 30000);

  test("with a network it keeps running; a stop signal stops the program and the script at once", async () => {
    for (const args of [
      ["link", "add", "eth9", "type", "veth", "peer", "name", "eth9p"],
      ["addr", "add", "192.0.2.9/24", "dev", "eth9"],
      ["link", "set", "eth9", "up"],
    ]) {
      const r = sandbox.exec(["ip", ...args]);
      if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
    }
    const node = start("served");
    await waitFor(
      "the exporter to answer on 127.0.0.1:9104",
      () => {
        if (!node.running()) throw new Error(`the start script exited: ${node.output()}`);
        return sandbox.exec(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9104"]).status === 0;
      },
      80,
      250,
    );
    // Longer than a check: it is still there.
    await new Promise((resolve) => setTimeout(resolve, (SIDECAR_CHECK_SECONDS + 1) * 1000));
    expect(node.running()).toBe(true);
    const stopped = await node.stop("SIGTERM", 10000);
    expect(stopped).toMatchObject({ exitedInTime: true, code: 143 });
    expect(stopped.elapsedMs).toBeLessThan(5000);
  }, 60000);
});
