/**
 * The contract between tiers and targets, exercised without either provider: a
 * fake target records what the tiers declare. The tiers must work through the
 * interface alone, and a target that cannot honour a declaration refuses it
 * at synth under the user's construct and prop.
 */
import { App, TerraformStack, Testing } from "cdktf";
import { Construct } from "constructs";
import {
  AppArtifact,
  ColocatedAddress,
  DeployedHost,
  DeploymentTarget,
  HostSpec,
  LoadBalancerTier,
  MonitoringTier,
  MysqlCluster,
  Secret,
  TargetSupport,
  WebAppTier,
  FloatingAddress,
  FloatingAddressRequest,
  TlsCertificate,
} from "../../../lib";
import type { BackupStore, BackupStoreRequest } from "../../../lib";
import { HostRegistry } from "../../../lib/private/host-registry";

const FULL: TargetSupport = {
  name: "FakeTarget",
  artifacts: ["bundle", "image"],
  protocols: ["tcp", "udp", "vrrp"],
  capabilities: true,
  healthChecks: true,
  secretFiles: true,
  secretLocations: ["file"],
  floatingAddresses: true,
  backupStores: true,
};

/** Records hosts; addresses are `<name>.fake`; no resource is created. */
class FakeTarget extends Construct implements DeploymentTarget {
  readonly hosts: HostSpec[] = [];
  private readonly registry: HostRegistry;
  constructor(
    scope: Construct,
    id: string,
    readonly support: TargetSupport = FULL,
  ) {
    super(scope, id);
    this.registry = new HostRegistry(this, support);
  }
  colocated(hostName: string, serviceName: string): ColocatedAddress {
    return { address: `${serviceName}.${hostName}.local`, bindAddress: "192.0.2.1" };
  }
  movableAddress(name: string): string {
    return `${name}.moving.fake`;
  }
  hostAddress(hostName: string): string {
    return `${hostName}.fake`;
  }
  moveAddressCommand(name: string): string | undefined {
    return `fake-move ${name} "$NEW_PRIMARY_HOST"`;
  }
  createSecret(_scope: Construct, _id: string, name: string): Secret {
    return { name, value: `\${fake_secret.${name}.value}` };
  }
  /** Documentation addresses (RFC 5737): the virtual one, then one per member. */
  floatingAddress(_scope: Construct, request: FloatingAddressRequest): FloatingAddress {
    const addresses = request.members.map((_, i) => `192.0.2.${11 + i}`);
    return {
      address: "192.0.2.10",
      virtualAddresses: ["192.0.2.10/24"],
      members: Object.fromEntries(request.members.map((m, i) => [m, { address: addresses[i], peerAddresses: addresses.filter((_, j) => j !== i) }])),
    };
  }
  readonly stores: BackupStoreRequest[] = [];
  /** A directory per cluster, on its backup source. */
  backupStore(_scope: Construct, request: BackupStoreRequest): BackupStore {
    this.stores.push(request);
    return { config: { kind: "directory", path: `/fake/backups/${request.name}` }, offSite: false };
  }
  addHost(_scope: Construct, spec: HostSpec): DeployedHost {
    this.registry.register(spec);
    this.hosts.push(spec);
    const movable = Object.fromEntries(spec.services.flatMap((s) => s.movableAddresses ?? []).map((n) => [n, this.movableAddress(n)]));
    const publish = spec.services.find((s) => s.publish)?.publish;
    return {
      name: spec.name,
      address: `${spec.name}.fake`,
      resources: {},
      published: publish ? { address: "203.0.113.7", ports: Object.fromEntries(publish.ports.map((p) => [p, p])) } : undefined,
      movableAddresses: movable,
      metrics: spec.services.flatMap((s) =>
        (s.metrics ?? []).map((m) => ({
          job: m.job,
          role: s.role,
          group: s.group,
          port: m.port,
          path: m.path,
          address: `${spec.name}.fake:${m.port}`,
          node: spec.name,
        })),
      ),
    };
  }
}

function declareSeed(target: FakeTarget, stack: Construct) {
  const database = new MysqlCluster(stack, "db", { target, replicas: 1 });
  const web = new WebAppTier(stack, "web", { target, database, nodes: 2 });
  const lb = new LoadBalancerTier(stack, "lb", { target, webTier: web });
  const monitoring = new MonitoringTier(stack, "monitoring", {
    target,
    monitor: [database, web, lb],
    receiver: { webhookUrl: "https://hooks.example.com:8443/alerts" },
  });
  return { database, web, lb, monitoring };
}

describe("the tiers on a fake target (no provider)", () => {
  const stack = new TerraformStack(Testing.app(), "fake");
  const target = new FakeTarget(stack, "target");
  const { database, web, lb, monitoring } = declareSeed(target, stack);
  const service = (name: string) => target.hosts.flatMap((h) => h.services).find((s) => s.name === name)!;

  test("hosts in dependency order, each a DNS label", () => {
    expect(target.hosts.map((h) => h.name)).toEqual(["db-primary", "db-replica-1", "web-1", "web-2", "lb-1", "lb-2", "monitoring"]);
    expect(target.hosts.map((h) => h.role)).toEqual(["database", "database", "web", "web", "load-balancer", "load-balancer", "monitoring"]);
  });

  test("endpoints come from the target: the writer is the movable address, readers and backends the hosts' addresses", () => {
    expect(database.writerEndpoint).toEqual({ host: "db-writer.moving.fake", port: 3306 });
    expect(database.readerEndpoints).toEqual([{ host: "db-replica-1.fake", port: 3306 }]);
    expect(web.backends.map((b) => b.host)).toEqual(["web-1.fake", "web-2.fake"]);
    // A pair: clients reach the floating address; each node stays reachable where the target published it.
    expect(lb.endpoint).toEqual({ host: "192.0.2.10", port: 443, url: "https://192.0.2.10" });
    expect(lb.endpoints.map((e) => e.url)).toEqual(["https://203.0.113.7", "https://203.0.113.7"]);
  });

  test("the app is wired through the contract: colocated address, bind address, writer, secrets by reference", () => {
    const app = service("web-1-app");
    expect(app.environment).toMatchObject({ BIND_ADDRESS: "192.0.2.1", DB_WRITER_HOST: "db-writer.moving.fake", DB_READER_HOSTS: "db-replica-1.fake:3306" });
    expect(app.secretEnvironment.DB_PASSWORD.value).toBe("${fake_secret.db-app-password.value}");
    expect(app.artifact).toMatchObject({ kind: "bundle", path: "/opt/ha-web/app/server.js" });
    expect(service("web-1").files.find((f) => f.path.endsWith("nginx.conf"))?.content).toContain("server web-1-app.web-1.local:3000");
  });

  test("flows, health checks, stop timeouts and facts are declared target-neutrally", () => {
    expect(service("lb-1").ingress).toEqual([
      { port: 80, from: "internet", description: expect.any(String) },
      { port: 443, from: "internet", description: expect.any(String) },
      { port: 0, protocol: "vrrp", from: "load-balancer", description: expect.any(String) },
      { port: 8405, from: "monitoring", description: expect.any(String) },
    ]);
    expect(service("lb-1").floatingAddress).toBe("lb");
    expect(service("lb-1").capabilities).toEqual(["NET_ADMIN", "NET_RAW"]);
    expect(Object.keys(service("lb-1").secretFiles ?? {})).toEqual(["/etc/ha-web/tls/site.pem", "/etc/ha-web/tls/site.pem.key"]);
    expect(service("web-1-app").egress).toEqual([{ port: 3306, to: "database", toGroup: "db", description: expect.any(String) }]);
    expect(service("db-primary").healthCheck.startPeriodSeconds).toBeGreaterThanOrEqual(120);
    expect(service("db-primary").stopTimeoutSeconds).toBe(60);
    expect(service("db-primary").facts).toMatchObject({ engine: "mariadb", "db-role": "primary" });
    expect(service("lb-1").facts).toMatchObject({
      "stats-port": "8404",
      "health-check": "inter=1000 fastinter=250 fall=3 rise=2 timeout=500 bound=3000 path=/health",
    });
  });

  test("the monitoring host: one scrape job per exporter kind from the tiers, a flow to each exporter port, one to the receiver", () => {
    expect(monitoring.scrapeJobs.map((j) => [j.job, j.targets.map((t) => `${t.address} node=${t.labels.node}`)])).toEqual([
      ["mysql", ["db-primary.fake:9104 node=db-primary", "db-replica-1.fake:9104 node=db-replica-1"]],
      ["app", ["web-1.fake:9464 node=web-1", "web-2.fake:9464 node=web-2"]],
      ["nginx", ["web-1.fake:9113 node=web-1", "web-2.fake:9113 node=web-2"]],
      ["haproxy", ["lb-1.fake:8405 node=lb-1", "lb-2.fake:8405 node=lb-2"]],
      ["prometheus", ["127.0.0.1:9090 node=monitoring"]],
      ["alertmanager", ["monitoring-alertmanager.monitoring.local:9093 node=monitoring"]],
    ]);
    expect(service("monitoring").egress.map((e) => `${e.port}->${e.to}${e.toGroup ? `/${e.toGroup}` : ""}`)).toEqual([
      "9104->database/db",
      "9464->app",
      "9113->web",
      "8405->load-balancer",
      "9093->monitoring",
    ]);
    expect(service("monitoring").ingress).toEqual([]);
    expect(service("monitoring").publish).toEqual({ ports: [9090], audience: "operators" });
    expect(service("monitoring").dataVolume).toEqual({ mountPath: "/var/lib/ha-web/prometheus", sizeGb: undefined });
    // Alertmanager: a service of its own on the host, which only Prometheus reaches.
    expect(service("monitoring-alertmanager").sharesNetworkWith).toBeUndefined();
    // Within the host: a VM carries it over loopback and opens nothing; Docker gives the two containers a network.
    expect(service("monitoring-alertmanager").ingress).toEqual([{ port: 9093, from: "monitoring", description: expect.any(String), withinHost: true }]);
    expect(service("monitoring-alertmanager").egress).toEqual([{ port: 8443, to: "internet", description: expect.any(String) }]);
    // Every exporter's port is open to the monitoring hosts, and only to them.
    for (const name of ["db-primary-exporter", "web-1-nginx-exporter", "lb-1", "web-1-app"])
      expect(
        service(name)
          .ingress.filter((i) => i.from === "monitoring")
          .map((i) => i.port),
      ).toEqual([service(name).metrics![0].port]);
    expect(monitoring.prometheusUrl).toBe("http://203.0.113.7:9090");
  });

  test("backups through the contract: one store per cluster, the last replica writes it and serves textfile metrics, every node may read it", () => {
    // Expiry: 7 days of retention, plus the 1-day gap between full backups (the oldest one still needed), plus a day.
    expect(target.stores.map((s) => ({ name: s.name, retentionDays: s.retentionDays, expireAfterDays: s.expireAfterDays }))).toEqual([
      { name: "db", retentionDays: 7, expireAfterDays: 9 },
    ]);
    expect(service("db-replica-1").backupStore).toEqual({ name: "db", access: "write" });
    expect(service("db-replica-1").textfileMetricsDir).toBe(database.backupPlan!.metricsDir);
    expect(service("db-primary").backupStore).toEqual({ name: "db", access: "read" });
    expect(service("db-primary").textfileMetricsDir).toBeUndefined();
    expect(database.backupPlan).toMatchObject({
      sourceNode: "db-replica-1",
      writerHost: "db-writer.moving.fake",
      store: { kind: "directory", path: "/fake/backups/db" },
    });
  });
});

describe("a target refuses what it cannot honour, under the user's construct and prop", () => {
  test("a load-balancer pair on a target without floating addresses", () => {
    const stack = new TerraformStack(new App(), "refuse-pair");
    const target = new FakeTarget(stack, "target", { ...FULL, floatingAddresses: false });
    const backends = [{ name: "x", host: "x", port: 80 }];
    expect(() => new LoadBalancerTier(stack, "lb", { target, backends })).toThrow(
      /^LoadBalancerTier 'refuse-pair\/lb' has invalid props:\n- prop `nodes` is 2, a pair sharing a virtual address, which FakeTarget cannot give\. Fix: set nodes to 1/,
    );
    expect(() => new LoadBalancerTier(stack, "single", { target, backends, nodes: 1, namePrefix: "one" })).not.toThrow();
  });

  test("backups (on by default) on a target that keeps none; backup: false deploys", () => {
    const stack = new TerraformStack(new App(), "refuse-backup");
    const target = new FakeTarget(stack, "target", { ...FULL, backupStores: false });
    expect(() => new MysqlCluster(stack, "db", { target, replicas: 1 })).toThrow(
      /^MysqlCluster 'refuse-backup\/db' has invalid props:\n- prop `backup` is on \(the default\), but the target FakeTarget keeps no backups\. Fix: use DockerTarget or AwsTarget, give your target a backupStore, or set backup: false/,
    );
    const cluster = new MysqlCluster(stack, "off", { target, replicas: 1, namePrefix: "off", backup: false });
    expect(cluster.backupPlan).toBeUndefined();
    expect(target.hosts.flatMap((h) => h.services).filter((s) => s.backupStore || s.textfileMetricsDir)).toEqual([]);
  });

  test("a certificate kept where the target cannot read it", () => {
    const stack = new TerraformStack(new App(), "refuse-cert");
    const target = new FakeTarget(stack, "target", { ...FULL, secretLocations: ["file"] });
    const certificate = TlsCertificate.fromSsmParameters("/site/cert", "/site/key");
    expect(() => new LoadBalancerTier(stack, "lb", { target, backends: [{ name: "x", host: "x", port: 80 }], certificate })).toThrow(
      /prop `certificate` is read from an SSM SecureString parameter \(tls-certificate\), which FakeTarget cannot read\. Fix: on FakeTarget keep it in a file on the deploying machine/,
    );
  });

  test("an image on a target that runs bundles only", () => {
    const stack = new TerraformStack(new App(), "refuse");
    const target = new FakeTarget(stack, "target", { ...FULL, artifacts: ["bundle"] });
    const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
    expect(() => new WebAppTier(stack, "web", { target, database, app: { artifact: AppArtifact.fromImage("acme/shop:1") } })).toThrow(
      /^WebAppTier 'refuse\/web' has invalid props:\n- prop `app.artifact` is the image "acme\/shop:1", but FakeTarget runs bundle artifacts only \(service web-1-app\)/,
    );
  });

  test("a health check on a target without a health-check runner is warned about", () => {
    const stack = new TerraformStack(new App(), "warn");
    const target = new FakeTarget(stack, "target", { ...FULL, healthChecks: false });
    const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
    const web = new WebAppTier(stack, "web", { target, database, nodes: 2, app: { healthCheck: ["/bin/true"] } });
    expect(web.node.metadata.map((m) => m.data)).toEqual([
      expect.stringMatching(/^WebAppTier 'warn\/web': prop `app.healthCheck` has no effect on FakeTarget/),
    ]);
  });

  test("duplicate names and undeclared dependencies, checked once for every target", () => {
    const stack = new TerraformStack(new App(), "order");
    const target = new FakeTarget(stack, "target");
    const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
    new WebAppTier(stack, "web", { target, database, nodes: 1 });
    expect(() => new WebAppTier(stack, "again", { target, database, nodes: 1 })).toThrow(
      /FakeTarget 'order\/target' has invalid props:\n- prop `host name` "web-1" is used by two hosts/,
    );
    expect(
      () =>
        new LoadBalancerTier(stack, "lb", {
          target,
          webTier: { backends: [{ name: "x", host: "x", port: 80 }], healthPath: "/health", dependables: ["nowhere"] },
        }),
    ).toThrow(/prop `dependsOn` of lb-1 names nowhere, which is not deployed yet/);
  });
});
