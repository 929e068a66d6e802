/**
 * The lab's reading of a synthesized stack: Terraform references resolved the
 * way Terraform would, anything else refused with its JSON path; the containers'
 * labels read as facts (lab/stack.ts), a missing fact refused by name. No root needed.
 */
import { spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { DESCRIBE_LABEL_PREFIX } from "../../lib/targets/docker/docker-target";
import { dnsHosts } from "../../lab/dns";
import { firewallConfig, firewallRuleset } from "../../lab/firewall";
import { planFromJson } from "../../lab/spec";
import { synthLocalStack } from "./bring-up";
import { ipv4InCidr } from "../../lab/ipv4";
import { containerFacts, FACT_LABEL_PREFIX, StackFacts } from "../../lab/stack";

type Resources = Record<string, Record<string, Record<string, unknown>>>;

function stack(container: Record<string, unknown> = {}, extra: Resources = {}) {
  return {
    resource: {
      docker_network: { net_A: { name: "lab-net", internal: true, driver: "bridge" } },
      docker_volume: { vol_B: { name: "lab-vol" } },
      docker_image: { img_C: { name: "nginx:1.22", keep_locally: true } },
      random_password: { pw_D: { length: 24, special: false } },
      docker_container: {
        web_E: {
          name: "lab-web",
          hostname: "web",
          image: "${docker_image.img_C.image_id}",
          entrypoint: ["/bin/sh"],
          command: ["/start.sh"],
          env: ["PASSWORD=${random_password.pw_D.result}"],
          user: "root",
          upload: [{ file: "/start.sh", content: 'echo "$${HOME:-/}" 100%%{x}', executable: true }],
          networks_advanced: [{ name: "${docker_network.net_A.name}", aliases: ["web"] }],
          volumes: [{ volume_name: "${docker_volume.vol_B.name}", container_path: "/data" }],
          healthcheck: { test: ["CMD", "true"], interval: "5s", timeout: "3s", retries: 3, start_period: "20s" },
          labels: [{ label: "peer", value: "${docker_container.web_E.id}" }],
          ...container,
        },
      },
      ...extra,
    } as Resources,
  };
}

describe("lab/spec: reading cdk.tf.json", () => {
  test("resolves the references the Docker target emits and unescapes $${ and %%{ like Terraform", () => {
    const plan = planFromJson(stack() as never, "/tmp/stack");
    const [c] = plan.containers;
    expect(c.networks).toEqual([{ network: "lab-net", aliases: ["web"] }]);
    expect(c.volumes).toEqual([{ volume: "lab-vol", containerPath: "/data", readOnly: false }]);
    expect(c.image).toBe("nginx:1.22");
    expect(c.env[0]).toMatch(/^PASSWORD=[A-Za-z0-9]{24}$/);
    expect(c.env[0].slice("PASSWORD=".length)).toBe(plan.secrets.pw_D);
    expect(c.uploads[0].content).toBe('echo "${HOME:-/}" 100%{x}');
    expect(c.labels.peer).toMatch(/^[0-9a-f]{64}$/);
    expect(c.healthcheck).toEqual({ test: ["CMD", "true"], intervalMs: 5000, timeoutMs: 3000, retries: 3, startPeriodMs: 20000 });
  });

  test("keeps generated passwords stable when given the previous ones", () => {
    const plan = planFromJson(stack() as never, "/tmp/stack", "/tmp/stack/cdk.tf.json", { pw_D: "kept" });
    expect(plan.containers[0].env).toEqual(["PASSWORD=kept"]);
  });

  test.each([
    [
      "an unescaped shell expansion",
      { upload: [{ file: "/s.sh", content: 'x="${1:-}"' }] },
      "$.resource.docker_container.web_E.upload[0].content: cannot resolve Terraform expression ${1:-}",
    ],
    ["a variable", { env: ["A=${var.secret}"] }, "$.resource.docker_container.web_E.env[0]: cannot resolve Terraform expression ${var.secret}"],
    [
      "an unknown attribute of a known resource",
      { env: ["A=${random_password.pw_D.id}"] },
      "env[0]: cannot resolve Terraform expression ${random_password.pw_D.id}",
    ],
    ["a reference to another stack's resource", { env: ["A=${random_password.other.result}"] }, "env[0]: cannot resolve"],
    ["a template directive", { command: ["%{ if true }x%{ endif }"] }, "command[0]: cannot resolve Terraform template directive %{ if true }"],
    [
      "an attribute the lab does not emulate",
      { privileged: true },
      "$.resource.docker_container.web_E.privileged: the lab does not emulate this container attribute",
    ],
  ])("fails loudly with the JSON path on %s", (_what, patch, message) => {
    expect(() => planFromJson(stack(patch) as never, "/tmp/stack", "/tmp/stack/cdk.tf.json", {})).toThrow(message);
  });

  test("refuses resource types it cannot create", () => {
    expect(() => planFromJson(stack({}, { docker_service: { s: { name: "x" } } }) as never, "/tmp/stack")).toThrow(
      '$.resource.docker_service: the lab does not know how to create "docker_service" resources',
    );
  });

  test("a network's ipam_config: its subnet and ip_range are kept, a fixed ipv4_address must lie inside the subnet", () => {
    const s = stack({
      networks_advanced: [{ name: "${docker_network.net_A.name}", aliases: ["web"], ipv4_address: "10.213.0.11" }],
    });
    s.resource.docker_network.net_A.ipam_config = [{ subnet: "10.213.0.0/24", ip_range: "10.213.0.128/25" }];
    const plan = planFromJson(s as never, "/tmp/stack");
    expect(plan.networks[0]).toMatchObject({ subnet: "10.213.0.0/24", ipRange: "10.213.0.128/25" });
    expect(plan.containers[0].networks[0].ipv4Address).toBe("10.213.0.11");

    s.resource.docker_container.web_E.networks_advanced = [{ name: "${docker_network.net_A.name}", ipv4_address: "10.9.0.11" }];
    expect(() => planFromJson(s as never, "/tmp/stack")).toThrow('ipv4_address 10.9.0.11 is outside network "lab-net"\'s subnet 10.213.0.0/24');
    s.resource.docker_network.net_A.ipam_config = [{ subnet: "10.213.0.0/24", ip_range: "10.214.0.0/25" }];
    expect(() => planFromJson(s as never, "/tmp/stack")).toThrow("ip_range: 10.214.0.0/25 is not inside the subnet 10.213.0.0/24");
    s.resource.docker_network.net_A.ipam_config = [{ subnet: "10.213.0.0/24", aux_address: { x: "10.213.0.5" } }];
    expect(() => planFromJson(s as never, "/tmp/stack")).toThrow("ipam_config[0].aux_address: not supported by the lab");
    // Without ipam_config Docker refuses a fixed address, and so does the lab.
    delete s.resource.docker_network.net_A.ipam_config;
    expect(() => planFromJson(s as never, "/tmp/stack")).toThrow('ipv4_address 10.9.0.11 on network "lab-net", which has no ipam_config subnet');
  });

  test("a built image is its BASE build argument's host binaries plus its PACKAGES; anything else in build fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "hwl-spec-"));
    try {
      mkdirSync(join(dir, "ctx"));
      const s = stack(
        { image: "${docker_image.built_F.image_id}" },
        {
          docker_image: {
            img_C: { name: "nginx:1.22" },
            built_F: {
              name: "haweb-tools:1",
              build: { context: "ctx", build_args: { BASE: "haproxy:2.6-trixie@sha256:00", PACKAGES: "iproute2 keepalived" } },
            },
          },
        },
      );
      const [c] = planFromJson(s as never, dir).containers;
      expect({ image: c.image, packages: c.packages }).toEqual({ image: "haproxy:2.6-trixie@sha256:00", packages: ["iproute2", "keepalived"] });
      (s.resource.docker_image.built_F.build as Record<string, unknown>).target = "x";
      expect(() => planFromJson(s as never, dir)).toThrow(
        "$.resource.docker_image.built_F.build.target: the lab knows a built image only as build_args.BASE plus build_args.PACKAGES",
      );
      s.resource.docker_image.built_F.build = { context: "missing", build_args: { BASE: "haproxy:2.6" } };
      expect(() => planFromJson(s as never, dir)).toThrow("build.context:");
      s.resource.docker_image.built_F.build = { context: "ctx", build_args: { PACKAGES: "keepalived" } };
      expect(() => planFromJson(s as never, dir)).toThrow("build_args.BASE: missing");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("tls_private_key and tls_self_signed_cert: made with openssl, resolved in uploads, kept across plans in the same directory; upload permissions honoured", () => {
    const dir = mkdtempSync(join(tmpdir(), "hwl-spec-"));
    try {
      const tls = {
        tls_private_key: { key_G: { algorithm: "ECDSA", ecdsa_curve: "P256" } },
        tls_self_signed_cert: {
          cert_H: {
            private_key_pem: "${tls_private_key.key_G.private_key_pem}",
            subject: [{ common_name: "localhost" }],
            dns_names: ["localhost"],
            validity_period_hours: 8760,
            allowed_uses: ["digital_signature", "key_encipherment", "server_auth"],
          },
        },
      };
      const s = stack(
        {
          upload: [
            { file: "/etc/tls/site.pem", content: "${tls_self_signed_cert.cert_H.cert_pem}", permissions: "0400" },
            { file: "/etc/tls/site.pem.key", content: "${tls_private_key.key_G.private_key_pem}", permissions: "0400" },
          ],
        },
        tls as never,
      );
      const plan = planFromJson(s as never, "/tmp/stack", "/tmp/stack/cdk.tf.json", { tlsDir: join(dir, "tls") });
      const [cert, key] = plan.containers[0].uploads;
      expect(cert.content).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
      expect(key.content).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
      expect([cert.mode, key.mode]).toEqual([0o400, 0o400]);
      expect(statSync(plan.tls.keys.key_G.file).mode & 0o777).toBe(0o600);
      const text = spawnSync("openssl", ["x509", "-noout", "-text"], { input: cert.content, encoding: "utf8" }).stdout;
      expect(text).toMatch(/Subject: CN = localhost/);
      expect(text).toMatch(/DNS:localhost/);
      expect(text).toMatch(/TLS Web Server Authentication/);
      expect(text).toMatch(/ASN1 OID: prime256v1/);
      // The certificate is the key's.
      const pub = (args: string[], input: string) => spawnSync("openssl", args, { input, encoding: "utf8" }).stdout;
      expect(pub(["x509", "-noout", "-pubkey"], cert.content!)).toBe(pub(["ec", "-pubout"], key.content!));
      // Stable: the same directory gives the same material (a start after a kill reuses it, like the passwords).
      const again = planFromJson(s as never, "/tmp/stack", "/tmp/stack/cdk.tf.json", { tlsDir: join(dir, "tls") });
      expect(again.containers[0].uploads.map((u) => u.content)).toEqual([cert.content, key.content]);

      s.resource.tls_self_signed_cert.cert_H.private_key_pem = "-----BEGIN EC PRIVATE KEY-----";
      expect(() => planFromJson(s as never, "/tmp/stack", "/tmp/stack/cdk.tf.json", { tlsDir: join(dir, "other") })).toThrow(
        "$.resource.tls_self_signed_cert.cert_H.private_key_pem: must be ${tls_private_key.X.private_key_pem}",
      );
      s.resource.tls_private_key.key_G.algorithm = "ED25519";
      expect(() => planFromJson(s as never, "/tmp/stack", "/tmp/stack/cdk.tf.json", { tlsDir: join(dir, "third") })).toThrow(
        '$.resource.tls_private_key.key_G.algorithm: "ED25519" is not an algorithm the lab generates',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('network_mode "container:X": a sidecar in X\'s namespace, started after X; other modes and what Docker refuses with it fail', () => {
    const s = stack();
    const web = s.resource.docker_container.web_E;
    const sidecar = {
      name: "lab-web-exporter",
      image: "${docker_image.img_C.image_id}",
      command: ["/exporter.sh"],
      network_mode: "container:${docker_container.web_E.name}",
      labels: [{ label: "ha-web.ingress", value: "9113/tcp:monitoring" }],
    };
    s.resource.docker_container = { a_exporter: sidecar, web_E: web };
    const plan = planFromJson(s as never, "/tmp/stack");
    // Terraform creates it after the container it names (the reference is a dependency), whatever the names' order.
    expect(plan.containers.map((c) => c.name)).toEqual(["lab-web", "lab-web-exporter"]);
    const exporter = plan.containers[1];
    expect({ networkOf: exporter.networkOf, dependsOn: exporter.dependsOn, networks: exporter.networks, hostname: exporter.hostname }).toEqual({
      networkOf: "lab-web",
      dependsOn: ["web_E"],
      networks: [],
      hostname: "lab-web-exporter",
    });
    expect(plan.containers[0].networkOf).toBeUndefined();

    for (const [patch, message] of [
      [{ network_mode: "host" }, 'a_exporter.network_mode: "host" is not supported by the lab (only "container:<name>"'],
      [{ network_mode: "container:elsewhere" }, 'a_exporter.network_mode: "container:elsewhere" names no docker_container of this stack'],
      [{ hostname: "x" }, 'a_exporter.hostname: conflicts with network_mode "container:lab-web"'],
      [{ networks_advanced: [{ name: "${docker_network.net_A.name}" }] }, "a_exporter.networks_advanced: conflicts with network_mode"],
      [{ ports: [{ internal: 9113, external: 9113 }] }, "a_exporter.ports: conflicts with network_mode"],
    ] as const) {
      s.resource.docker_container.a_exporter = { ...sidecar, ...patch };
      expect(() => planFromJson(s as never, "/tmp/stack")).toThrow(message);
    }
    // One level only: a container joining a sidecar's network is refused (join the owner).
    s.resource.docker_container.a_exporter = sidecar;
    s.resource.docker_container.b_second = { ...sidecar, name: "lab-second", network_mode: "container:${docker_container.a_exporter.name}" };
    expect(() => planFromJson(s as never, "/tmp/stack")).toThrow(
      'b_second.network_mode: "container:lab-web-exporter" joins a container that itself joins lab-web',
    );
  });

  test("starts containers in depends_on order", () => {
    const s = stack();
    const web = s.resource.docker_container.web_E;
    s.resource.docker_container = {
      a_web: { ...web, name: "a-web", hostname: "a-web", labels: undefined, depends_on: ["docker_container.z_db"] },
      z_db: { ...web, name: "z-db", hostname: "z-db", labels: undefined },
    };
    expect(planFromJson(s as never, "/tmp/stack").containers.map((c) => c.name)).toEqual(["z-db", "a-web"]);
  });
});

/** A container of a labelled stack: `labels` become Docker's `{label, value}` list under the ha-web. prefix. */
function labelled(name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    name: `haweb-${name}`,
    hostname: name,
    image: "${docker_image.img_C.image_id}",
    command: ["/start.sh"],
    networks_advanced: [{ name: "${docker_network.net_A.name}", aliases: [name] }],
    labels: Object.entries(labels).map(([k, v]) => ({ label: `ha-web.${k}`, value: v })),
    ...extra,
  };
}

/** The local stack's shape in small: a load balancer, a web node and its app, a primary (with the writer alias) and a replica. */
function labelledStack(patch: Record<string, Record<string, string>> = {}) {
  const facts: Record<string, Record<string, string>> = {
    "lb-1": { role: "load-balancer", host: "lb-1", "listen-port": "80", "stats-port": "8404", "health-check": "inter=2000 fall=3 rise=2 path=/health" },
    "web-1": { role: "web", host: "web-1", "listen-port": "80", "status-port": "8081" },
    "web-1-app": { role: "app", host: "web-1", "listen-port": "3000" },
    "db-primary": {
      role: "database",
      host: "db-primary",
      engine: "mariadb",
      "engine-version": "10.11",
      "db-role": "primary",
      cluster: "db",
      addresses: "db-writer",
      "listen-port": "3306",
    },
    "db-replica-1": {
      role: "database",
      host: "db-replica-1",
      engine: "mariadb",
      "engine-version": "10.11",
      "db-role": "replica",
      cluster: "db",
      "listen-port": "3306",
    },
  };
  for (const [host, labels] of Object.entries(patch)) {
    facts[host] = { ...facts[host], ...labels };
    for (const [k, v] of Object.entries(labels)) if (v === "") delete facts[host][k];
  }
  const s = stack();
  s.resource.docker_container = Object.fromEntries(
    Object.entries(facts).map(([host, labels]) => [
      `c_${host}`,
      labelled(
        host,
        labels,
        host === "web-1-app" ? { env: ["PORT=3000", "DB_WRITER_HOST=db-writer:3306", "DB_READER_HOSTS=db-replica-1:3306", "DB_NAME=appdb"] } : {},
      ),
    ]),
  );
  return new StackFacts(planFromJson(s as never, "/tmp/stack"));
}

describe("lab/stack: facts from the containers' labels", () => {
  /** The `local` stack's cdk.tf.json, synthesized once (bring-up.ts: shared with the lab files of this run). */
  let stackFile: string | undefined;
  let outdir: string | undefined;
  const localStack = () => {
    stackFile ??= synthLocalStack({}, (dir) => {
      outdir = dir;
    });
    return stackFile;
  };
  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  test("spec.ts keeps every label as a record on its container; stack.ts reads the ha-web. ones as facts", () => {
    const stack = labelledStack();
    const primary = stack.container("db-primary");
    expect(primary.labels).toMatchObject({ "ha-web.role": "database", "ha-web.db-role": "primary", "ha-web.addresses": "db-writer" });
    expect(containerFacts(stack.container("web-1-app"))).toMatchObject({
      name: "haweb-web-1-app",
      role: "app",
      host: "web-1",
      facts: { "listen-port": "3000" },
    });
    expect(stack.hostnames("load-balancer")).toEqual(["lb-1"]);
    expect(stack.hostnames("web")).toEqual(["web-1"]);
    expect(stack.appOf("web-1")).toBe("web-1-app");
    expect(stack.loadBalancer("lb-1")).toEqual({
      hostname: "lb-1",
      listenPort: 80,
      statsPort: 8404,
      check: { interMs: 2000, fall: 3, rise: 2, path: "/health" },
    });
    const db = stack.database();
    expect({ ...db, dialect: db.dialect.client }).toEqual({
      cluster: "db",
      engine: "mariadb",
      version: "10.11",
      dialect: "mariadb",
      primary: "db-primary",
      replicas: ["db-replica-1"],
      writerAddress: "db-writer",
      port: 3306,
    });
    expect(stack.app()).toMatchObject({ hostname: "web-1-app", host: "web-1", databaseName: "appdb", writerHost: "db-writer", readerHosts: ["db-replica-1"] });
    expect(stack.roles()).toMatchObject({ "haweb-lb-1": "load balancer", "haweb-db-replica-1": "database replica (mariadb 10.11)" });
  });

  test("the engine's client comes from the engine label (DIALECTS), not from a fixed binary name", () => {
    expect(labelledStack({ "db-primary": { engine: "mysql", "engine-version": "8.4" } }).dialect("db-primary").client).toBe("mysql");
  });

  test.each([
    [
      "no stats port",
      { "lb-1": { "stats-port": "" } },
      (s: StackFacts) => s.loadBalancer("lb-1"),
      'haweb-lb-1 ($.resource.docker_container.c_lb-1.labels): the label "ha-web.stats-port" is missing; the lab needs it to read HAProxy\'s stats',
    ],
    [
      "no check timing",
      { "lb-1": { "health-check": "" } },
      (s: StackFacts) => s.loadBalancer("lb-1"),
      'the label "ha-web.health-check" is missing; the lab needs it for HAProxy\'s check timing',
    ],
    [
      "a malformed check timing",
      { "lb-1": { "health-check": "inter=2s fall=3 rise=2" } },
      (s: StackFacts) => s.loadBalancer("lb-1"),
      'the label "ha-web.health-check" is "inter=2s fall=3 rise=2": inter= must be a positive integer',
    ],
    [
      "no engine",
      { "db-primary": { engine: "" } },
      (s: StackFacts) => s.database(),
      'haweb-db-primary ($.resource.docker_container.c_db-primary.labels): the label "ha-web.engine" is missing; the lab needs it to pick the database client',
    ],
    [
      "an unknown engine",
      { "db-replica-1": { engine: "postgres" } },
      (s: StackFacts) => s.dialect("db-replica-1"),
      'the label "ha-web.engine" is "postgres", not one of mariadb, mysql',
    ],
    [
      "no primary",
      { "db-primary": { "db-role": "replica" } },
      (s: StackFacts) => s.database(),
      'database cluster "db": 0 containers labelled ha-web.db-role=primary, expected exactly one',
    ],
    [
      "no role",
      { "web-1-app": { role: "" } },
      (s: StackFacts) => s.app("web-1-app"),
      'haweb-web-1-app ($.resource.docker_container.c_web-1-app.labels): the label "ha-web.role" is missing',
    ],
    ["the wrong role", {}, (s: StackFacts) => s.loadBalancer("web-1"), "haweb-web-1 is labelled ha-web.role=web, not load-balancer"],
  ])("a stack with %s fails with the container, the label and what it is for", (_what, patch, probe, message) => {
    expect(() => probe(labelledStack(patch))).toThrow(message);
  });

  test("an app without its database name in the environment fails naming the variable", () => {
    const stack = labelledStack();
    stack.container("web-1-app").env = ["DB_WRITER_HOST=db-writer"];
    expect(() => stack.app()).toThrow("haweb-web-1-app ($.resource.docker_container.c_web-1-app.env): no DB_NAME");
  });

  test("the prefix is the Docker target's", () => {
    expect(FACT_LABEL_PREFIX).toBe(DESCRIBE_LABEL_PREFIX);
  });

  test("the firewall of a namespace: its ingress label's flows, a role's sources are that role's addresses on shared networks, malformed entries fail", () => {
    const stack = labelledStack({
      "lb-1": { ingress: "80/tcp:internet 443/tcp:internet 0/vrrp:load-balancer" },
      "web-1": { ingress: "80/tcp:load-balancer" },
      "web-1-app": { ingress: "3000/tcp:web" },
      "db-primary": { ingress: "3306/tcp:app 3306/tcp:database" },
      "db-replica-1": { ingress: "3306/tcp:app 3306/tcp:database" },
    });
    const addresses: Record<string, string> = {
      "haweb-lb-1": "10.0.0.2",
      "haweb-web-1": "10.0.0.3",
      "haweb-web-1-app": "10.0.0.4",
      "haweb-db-primary": "10.0.0.5",
      "haweb-db-replica-1": "10.0.0.6",
    };
    const of = (name: string) => ({ "lab-net": addresses[name] });
    const config = (host: string) => firewallConfig(stack.plan, of, stack.container(host));
    expect(config("lb-1")!.rules).toEqual([
      { protocol: "tcp", port: 80, sources: "any", comment: "80/tcp from internet" },
      { protocol: "tcp", port: 443, sources: "any", comment: "443/tcp from internet" },
      // A single load balancer has no VRRP peer: nothing to allow.
    ]);
    expect(config("db-primary")!.rules).toEqual([
      { protocol: "tcp", port: 3306, sources: ["10.0.0.4"], comment: "3306/tcp from app" },
      { protocol: "tcp", port: 3306, sources: ["10.0.0.6"], comment: "3306/tcp from database" },
    ]);
    expect(firewallRuleset(stack.plan, of, stack.container("web-1-app"))).toMatch(/ip saddr \{ 10\.0\.0\.3 \} tcp dport 3000 accept/);
    for (const [bad, message] of [
      ["80/tcp:everyone", '"everyone" is neither a role'],
      ["80:internet", "not PORT/PROTOCOL:FROM"],
      ["112/vrrp:load-balancer", "a VRRP flow has port 0"],
    ]) {
      stack.container("web-1").labels["ha-web.ingress"] = bad;
      expect(() => config("web-1")).toThrow(`haweb-web-1 ($.resource.docker_container.c_web-1.labels): the label "ha-web.ingress" has "${bad}": ${message}`);
    }
    delete stack.container("web-1").labels["ha-web.ingress"];
    expect(() => config("web-1")).toThrow('the label "ha-web.ingress" is missing; the lab needs it for the namespace\'s firewall');
  });

  test("a sidecar's flows join its owner's ruleset (one per namespace); role look-ups list the servers, not their sidecars", () => {
    const base = labelledStack({ "lb-1": { ingress: "443/tcp:internet" }, "web-1": { ingress: "80/tcp:load-balancer" } });
    const plan = base.plan;
    const sidecar = (name: string, owner: string, labels: Record<string, string>) => ({
      ...plan.containers.find((c) => c.hostname === owner)!,
      key: `c_${name}`,
      name: `haweb-${name}`,
      hostname: `haweb-${name}`,
      networks: [],
      dependsOn: [`c_${owner}`],
      networkOf: `haweb-${owner}`,
      labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [`ha-web.${k}`, v])),
    });
    plan.containers.push(
      sidecar("web-1-nginx-exporter", "web-1", { role: "web", host: "web-1", ingress: "9113/tcp:monitoring" }),
      sidecar("db-replica-1-exporter", "db-replica-1", { role: "database", host: "db-replica-1", cluster: "db", ingress: "9104/tcp:monitoring" }),
      {
        ...plan.containers.find((c) => c.hostname === "lb-1")!,
        key: "c_monitoring",
        name: "haweb-monitoring",
        hostname: "monitoring",
        networkOf: undefined,
        labels: { "ha-web.role": "monitoring", "ha-web.host": "monitoring", "ha-web.ingress": "" },
      },
    );
    const stack = new StackFacts(plan);
    for (const c of plan.containers) c.labels["ha-web.ingress"] ??= "3306/tcp:app 3306/tcp:database 3000/tcp:web";
    const addresses: Record<string, string> = {
      "haweb-lb-1": "10.0.0.2",
      "haweb-web-1": "10.0.0.3",
      "haweb-web-1-app": "10.0.0.4",
      "haweb-db-primary": "10.0.0.5",
      "haweb-db-replica-1": "10.0.0.6",
      "haweb-monitoring": "10.0.0.9",
    };
    const of = (name: string): Record<string, string> => (addresses[name] ? { "lab-net": addresses[name] } : {});
    const web = firewallConfig(plan, of, stack.container("web-1"))!;
    expect(web.rules).toEqual([
      { protocol: "tcp", port: 80, sources: ["10.0.0.2"], comment: "80/tcp from load-balancer" },
      { protocol: "tcp", port: 9113, sources: ["10.0.0.9"], comment: "9113/tcp from monitoring" },
    ]);
    // The sidecar's own view is its namespace's: the same ruleset.
    expect(firewallConfig(plan, of, stack.container("haweb-web-1-nginx-exporter"))).toEqual(web);
    // The replica's exporter shares the database role, not its namespace's peers: only the primary is a database peer.
    expect(firewallConfig(plan, of, stack.container("db-replica-1"))!.rules).toContainEqual({
      protocol: "tcp",
      port: 3306,
      sources: ["10.0.0.5"],
      comment: "3306/tcp from database",
    });
    expect(firewallRuleset(plan, of, stack.container("db-replica-1"))).toMatch(/ip saddr \{ 10\.0\.0\.9 \} tcp dport 9104 accept/);
    expect(firewallConfig(plan, of, stack.container("monitoring"))!.rules).toEqual([]);

    expect(stack.hostnames("web")).toEqual(["web-1"]);
    expect(stack.hostnames("web", { sidecars: true })).toEqual(["web-1", "haweb-web-1-nginx-exporter"]);
    expect(stack.sidecarsOf("web-1")).toEqual(["haweb-web-1-nginx-exporter"]);
    expect(stack.database().replicas).toEqual(["db-replica-1"]);
    expect(stack.roles()).toMatchObject({
      "haweb-db-replica-1-exporter": "database exporter (beside haweb-db-replica-1)",
      "haweb-web-1-nginx-exporter": "web sidecar (beside haweb-web-1)",
      "haweb-monitoring": "monitoring",
    });
    // The DNS: a sidecar is in no record; a client attached with aliases is, on its network.
    const hosts = dnsHosts(plan, of, stack.container("monitoring"), () => true, [
      { network: "lab-net", address: "10.0.0.250", names: ["receiver", "alert-receiver"] },
      { network: "other-net", address: "10.1.0.250", names: ["elsewhere"] },
    ]);
    expect(hosts).toContain("10.0.0.250 receiver alert-receiver\n");
    expect(hosts).not.toMatch(/exporter|elsewhere/);
  });

  test("the synthesized local stack carries every fact the lab's probes read", () => {
    const file = localStack();
    const stack = new StackFacts(planFromJson(JSON.parse(readFileSync(file, "utf8")) as never, dirname(file), file));
    const [lb] = stack.hostnames("load-balancer");
    expect(stack.loadBalancer(lb).check).toEqual({ interMs: 1000, fall: 3, rise: 2, path: expect.any(String) });
    const db = stack.database();
    expect({ primary: db.primary, replicas: db.replicas, engine: db.engine, client: db.dialect.client }).toEqual({
      primary: "db-primary",
      replicas: ["db-replica-1"],
      engine: "mariadb",
      client: "mariadb",
    });
    expect(stack.hostnames("web").map((w) => stack.appOf(w))).toEqual(stack.hostnames("app"));
    // The apps write to the primary's movable address, which the lab's DNS answers with the primary.
    for (const a of stack.hostnames("app")) expect(stack.app(a).writerHost).toBe(db.writerAddress);
    expect(stack.container(db.primary).networks.every((n) => n.aliases.includes(db.writerAddress))).toBe(true);
    // The pair: both load balancers share one floating address, inside the edge network's subnet and outside its ip_range.
    const lbs = stack.hostnames("load-balancer").map((lb) => stack.loadBalancer(lb));
    expect(lbs.map((l) => [l.listenPort, l.httpsPort])).toEqual(lbs.map(() => [80, 443]));
    const [vip] = new Set(lbs.map((l) => l.floatingAddress));
    const edge = stack.plan.networks.find((n) => n.subnet !== undefined)!;
    expect(ipv4InCidr(vip!, edge.subnet!) && !ipv4InCidr(vip!, edge.ipRange!)).toBe(true);
    // The monitoring tier: Prometheus and Alertmanager, each a container of its own; the exporters as sidecars beside their servers.
    expect(stack.hostnames("monitoring")).toEqual(["monitoring", "monitoring-alertmanager"]);
    expect(Object.fromEntries(["monitoring", ...stack.hostnames("web"), db.primary, ...db.replicas].map((h) => [h, stack.sidecarsOf(h).length]))).toEqual({
      monitoring: 0,
      "web-1": 1,
      "web-2": 1,
      "db-primary": 1,
      // Its MySQL exporter, and the node exporter serving its backup metrics (the backup source).
      "db-replica-1": 2,
    });
    // Alertmanager's receiver is reached on the one network that is not internal besides the edge, and
    // Prometheus' published port arrives over mon-pub (not internal, not masqueraded: the host only).
    expect(
      stack.plan.networks
        .filter((n) => !n.internal)
        .map((n) => n.name)
        .sort(),
    ).toEqual(["haweb-edge", "haweb-mon-out", "haweb-mon-pub"]);
  });

  test("every container of the synthesized local stack gets a firewall that `nft -c` accepts", () => {
    const file = localStack();
    const plan = planFromJson(JSON.parse(readFileSync(file, "utf8")) as never, dirname(file), file);
    // Addresses as the runner gives them: a fixed ipv4_address, else one per container and network.
    const of = (name: string) =>
      Object.fromEntries(
        plan.containers
          .find((c) => c.name === name)!
          .networks.map((n, i) => [n.network, n.ipv4Address ?? `10.231.${i}.${10 + plan.containers.findIndex((c) => c.name === name)}`]),
      );
    const rulesets = plan.containers.map((c) => ({ host: c.hostname, ruleset: firewallRuleset(plan, of, c) }));
    for (const r of rulesets) expect(r.ruleset).toMatch(/policy drop;/);
    const lbRuleset = rulesets.find((r) => r.host === "lb-1")!.ruleset!;
    expect(lbRuleset).toMatch(/tcp dport 443 accept/);
    expect(lbRuleset).toMatch(/ip saddr \{ [^}]*10\.213\.0\.12[^}]* \} ip protocol 112 accept/);
    expect(rulesets.find((r) => r.host === "db-primary")!.ruleset).not.toMatch(/dport (80|443) /);
    if (typeof process.getuid !== "function" || process.getuid() !== 0 || spawnSync("sh", ["-c", "command -v nft"]).status !== 0) {
      if (process.env.CI && process.env.CI !== "false") throw new Error("CI must check the lab's rulesets with nft -c: run as root with nftables installed");
      console.warn("skipping nft -c: needs root and nftables");
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "hwl-nft-"));
    try {
      for (const r of rulesets) {
        const path = join(dir, `${r.host}.nft`);
        writeFileSync(path, r.ruleset!);
        // In a network namespace of its own: the check never touches this machine's ruleset.
        const check = spawnSync("unshare", ["--net", "nft", "-c", "-f", path], { encoding: "utf8", timeout: 20_000 });
        expect({ host: r.host, status: check.status, stderr: check.stderr }).toEqual({ host: r.host, status: 0, stderr: "" });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
