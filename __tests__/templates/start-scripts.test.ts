/**
 * The start scripts as rendered: valid shell for both shells the images run
 * them with (dash: Debian, Ubuntu; bash as sh: the Oracle Linux MySQL image),
 * the pieces the real-binary tests (database-start, web-start) rely on, and the
 * tiers' stop timeouts and health-check start periods against the scripts' and
 * servers' own bounds.
 */
import { spawnSync } from "child_process";
import { TerraformStack, Testing } from "cdktf";
import { Construct } from "constructs";
import {
  BackupStore,
  ColocatedAddress,
  DeployedHost,
  DeploymentTarget,
  HostSpec,
  LoadBalancerTier,
  MysqlCluster,
  Secret,
  TargetSupport,
  WebAppTier,
} from "../../lib";
import { PATHS } from "../../templates/paths";
import { renderAppStartScript } from "../../templates/scripts/app";
import { DATABASE_SCRIPT_DEFAULTS, databaseStartWaitSeconds, renderPrimaryStartScript, renderReplicaStartScript } from "../../templates/scripts/database";
import { renderLoadBalancerStartScript } from "../../templates/scripts/load-balancer";
import { renderWebStartScript, validateWebStartScriptConfig, WEB_START_SCRIPT_DEFAULTS } from "../../templates/scripts/web";

const scripts: Record<string, string> = {
  "load balancer": renderLoadBalancerStartScript(),
  "web (no app host)": renderWebStartScript(),
  "web (app host name)": renderWebStartScript({ appHost: "web-1-app" }),
  "web (app host address)": renderWebStartScript({ appHost: "127.0.0.1" }),
  app: renderAppStartScript(),
  "primary (mariadb)": renderPrimaryStartScript({
    engine: "mariadb",
    database: "appdb",
    appUser: "app",
    replicationUser: "repl",
    replicationCertificateName: "db-replication",
  }),
  "primary (mysql)": renderPrimaryStartScript({
    engine: "mysql",
    database: "appdb",
    appUser: "app",
    replicationUser: "repl",
    replicationCertificateName: "db-replication",
  }),
  "replica (mariadb)": renderReplicaStartScript({ engine: "mariadb", primaryHost: "db-primary", replicationUser: "repl" }),
  "replica (mysql)": renderReplicaStartScript({ engine: "mysql", primaryHost: "db-primary", replicationUser: "repl" }),
};

describe("every start script parses", () => {
  const shells = [
    ["dash", ["-n"]],
    ["bash", ["--posix", "-n"]],
  ] as const;
  test.each(Object.keys(scripts))("%s: sh -n (dash) and bash --posix -n", (name) => {
    for (const [shell, args] of shells) {
      const result = spawnSync(shell, [...args], { input: scripts[name], encoding: "utf8" });
      expect({ shell, status: result.status, stderr: result.stderr }).toEqual({ shell, status: 0, stderr: "" });
    }
  });
});

describe("web start script", () => {
  test("waits for a host name, bounded, before nginx -t; not for an address, nor without a host", () => {
    const script = scripts["web (app host name)"];
    expect(script).toContain("APP_HOST='web-1-app'");
    expect(script).toContain(`APP_HOST_WAIT_SECONDS=${WEB_START_SCRIPT_DEFAULTS.appHostWaitSeconds}`);
    expect(WEB_START_SCRIPT_DEFAULTS.appHostWaitSeconds).toBe(60);
    expect(script).toContain('until getent hosts "$APP_HOST" >/dev/null 2>&1; do');
    expect(script.indexOf("getent hosts")).toBeLessThan(script.indexOf("nginx -t"));
    expect(script).toContain("trap 'stop_requested TERM 143' TERM");
    expect(script).toContain("trap 'stop_requested QUIT 131' QUIT");
    expect(script).toContain("trap - TERM INT QUIT");
    for (const name of ["web (app host address)", "web (no app host)"]) {
      expect(scripts[name]).not.toMatch(/getent|trap/);
      expect(scripts[name]).toContain('exec nginx -c "$CONFIG"');
    }
    expect(renderWebStartScript({ appHost: "app", appHostWaitSeconds: 5 })).toContain("APP_HOST_WAIT_SECONDS=5");
  });

  test.each([
    [{ appHost: "app; rm -rf /" }, /appHost "app; rm -rf \/" is not a host name/],
    [{ appHost: "app", appHostWaitSeconds: 0 }, /appHostWaitSeconds is 0/],
    [{ appHost: "app", appHostWaitSeconds: 1.5 }, /whole number of seconds from 1 to 3600/],
  ])("rejects bad input %#", (config, message) => {
    expect(validateWebStartScriptConfig(config).join("; ")).toMatch(message);
    expect(() => renderWebStartScript(config)).toThrow(message);
  });
});

describe("database start script", () => {
  const primary = scripts["primary (mariadb)"];

  test("initializes next to the data directory and renames it into place only when complete", () => {
    expect(primary).toContain(`DATADIR=${PATHS.mysqlDataDir}`);
    expect(primary).toContain('INITDIR="$DATADIR.initializing"');
    expect(primary).toContain("mariadb-install-db --defaults-file=$CONF --user=mysql --datadir=$INITDIR");
    expect(primary).toContain('mariadbd --defaults-file="$CONF" --datadir="$INITDIR" --user=mysql --skip-networking');
    const marker = primary.indexOf('touch "$INITDIR/$MARKER_NAME"');
    const rename = primary.indexOf('mv "$INITDIR" "$DATADIR"');
    expect(marker).toBeGreaterThan(primary.indexOf("SQL\n  mariadb-admin"));
    expect(rename).toBeGreaterThan(marker);
    expect(primary).not.toContain('mkdir -p "$DATADIR"');
    expect(scripts["primary (mysql)"]).toContain("mysqld --defaults-file=$CONF --initialize-insecure --user=mysql --datadir=$INITDIR");
  });

  test("a stop or a failure throws the unfinished initialization away; a leftover is removed at the next start", () => {
    expect(primary).toContain("trap abandon_initialization EXIT");
    expect(primary).toMatch(/abandon_initialization\(\) \{[\s\S]*kill -KILL "\$BOOT_PID"[\s\S]*rm -rf "\$INITDIR"[\s\S]*\n\}/);
    expect(primary).toMatch(
      /if \[ -e "\$INITDIR" \]; then\n {2}log "removing \$INITDIR, left by an initialization that was killed part-way"\n {2}rm -rf "\$INITDIR"\nfi/,
    );
    // The traps end before the server takes over: its own signal handling applies.
    expect(primary.indexOf("trap - EXIT TERM INT QUIT")).toBeLessThan(primary.indexOf('exec mariadbd --defaults-file="$CONF" --user=mysql'));
  });

  test("keeps refusing data without the marker", () => {
    expect(primary).toContain('if [ -e "$DATADIR" ] && [ -n "$(ls -A "$DATADIR")" ]; then');
    expect(primary).toContain("move the data away to start fresh");
  });

  test("hands files owned by another user back to mysql, recursively, never following links", () => {
    expect(primary).toContain(`find "$DATADIR" \\( \\! -user mysql -o \\! -group mysql \\) -exec chown -h mysql:mysql '{}' +`);
    expect(primary.indexOf("-exec chown -h")).toBeLessThan(primary.indexOf("exec mariadbd --defaults-file"));
  });

  test("the waits use the exported bounds", () => {
    const replica = scripts["replica (mariadb)"];
    expect(replica).toContain(`--connect-timeout=${DATABASE_SCRIPT_DEFAULTS.primaryConnectTimeoutSeconds} ping`);
    expect(replica).toContain(`  deadline=$(($(date +%s) + ${DATABASE_SCRIPT_DEFAULTS.primaryWaitSeconds}))\n`);
    expect(replica).toContain(
      `    if [ "$(date +%s)" -ge "$deadline" ]; then log "primary db-primary:3306 not reachable after ${DATABASE_SCRIPT_DEFAULTS.primaryWaitSeconds} s;`,
    );
    expect(replica).toContain(`    pause ${DATABASE_SCRIPT_DEFAULTS.primaryWaitIntervalSeconds}\n`);
    expect(primary).toContain(`if [ "$i" -ge ${DATABASE_SCRIPT_DEFAULTS.bootstrapWaitAttempts} ]`);
    expect(primary).toContain(`    pause ${DATABASE_SCRIPT_DEFAULTS.bootstrapWaitIntervalSeconds}\n`);
    expect(databaseStartWaitSeconds("primary")).toBe(90); // 600 x 0.1 s + the writer's name 30 s
    expect(databaseStartWaitSeconds("replica")).toBe(138); // 60 s + 45 s + a last attempt (2 s connect timeout, 0.2 s apart) + 30 s
    expect(databaseStartWaitSeconds("replica", { primaryWaitSeconds: 10, bootstrapWaitAttempts: 20 })).toBe(45); // 20 x 0.1 + 10 + 2.2 + 30 s
  });

  test("a replica builds its data directory while its primary starts: the first start waits for the primary only before the server", () => {
    const replica = scripts["replica (mariadb)"];
    const firstStart = replica.slice(replica.indexOf('if [ ! -f "$MARKER" ]; then'));
    // Inside the first start's branch, after the bootstrap, before the branch ends (and so before the exec).
    expect(firstStart).toMatch(/\n {2}bootstrap\n {2}wait_for_primary\nfi\n/);
    expect(replica.match(/^\s*wait_for_primary$/gm)).toHaveLength(1);
    expect(primary).not.toContain("wait_for_primary");
  });
});

/** Records what the tiers declare; nothing is deployed. */
class RecordingTarget extends Construct implements DeploymentTarget {
  readonly support: TargetSupport = {
    name: "RecordingTarget",
    artifacts: ["bundle", "image"],
    protocols: ["tcp", "udp", "vrrp"],
    capabilities: true,
    healthChecks: true,
    secretFiles: true,
    secretLocations: ["file"],
    floatingAddresses: false,
    backupStores: true,
  };
  readonly hosts: HostSpec[] = [];
  colocated(_hostName: string, serviceName: string): ColocatedAddress {
    return { address: serviceName, bindAddress: "0.0.0.0" };
  }
  movableAddress(name: string): string {
    return name;
  }
  hostAddress(hostName: string): string {
    return hostName;
  }
  moveAddressCommand(_name: string): string | undefined {
    return undefined;
  }
  createSecret(_scope: Construct, _id: string, name: string): Secret {
    return { name, value: `\${secret.${name}}` };
  }
  backupStore(): BackupStore {
    return { config: { kind: "directory", path: "/backups" }, offSite: false };
  }
  addHost(_scope: Construct, spec: HostSpec): DeployedHost {
    this.hosts.push(spec);
    return {
      name: spec.name,
      address: spec.name,
      resources: {},
      published: undefined,
      movableAddresses: Object.fromEntries(spec.services.flatMap((s) => s.movableAddresses ?? []).map((n) => [n, n])),
      metrics: [],
    };
  }
}

describe("stop timeouts and start periods cover the servers' and scripts' own bounds", () => {
  const stack = new TerraformStack(Testing.app(), "bounds");
  const target = new RecordingTarget(stack, "target");
  const database = new MysqlCluster(stack, "db", { target, replicas: 1 });
  const web = new WebAppTier(stack, "web", { target, database, nodes: 1 });
  new LoadBalancerTier(stack, "lb", { target, webTier: web, nodes: 1 });
  const service = (name: string) => target.hosts.flatMap((h) => h.services).find((s) => s.name === name)!;

  test("the load balancer outlasts HAProxy's hard-stop-after", () => {
    const lb = service("lb-1");
    const cfg = lb.files.find((f) => f.path === PATHS.haproxyConfig)!.content;
    const hardStopAfter = Number(/hard-stop-after (\d+)s/.exec(cfg)![1]);
    expect(hardStopAfter).toBe(30);
    expect(lb.stopTimeoutSeconds).toBeGreaterThan(hardStopAfter);
  });

  test("each database node's start period covers its script's bounded waits; mysqld keeps 60 s to stop", () => {
    const primary = service("db-primary");
    const replica = service("db-replica-1");
    expect(primary.healthCheck.startPeriodSeconds).toBeGreaterThanOrEqual(120);
    expect(primary.healthCheck.startPeriodSeconds).toBeGreaterThan(databaseStartWaitSeconds("primary"));
    expect(replica.healthCheck.startPeriodSeconds).toBeGreaterThan(databaseStartWaitSeconds("replica"));
    expect(replica.healthCheck.startPeriodSeconds).toBe(198);
    expect(primary.stopTimeoutSeconds).toBe(60);
    expect(replica.stopTimeoutSeconds).toBe(60);
  });
});
