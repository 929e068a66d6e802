/**
 * The lab's reading of a synthesized stack: Terraform references resolved the
 * way Terraform would, anything else refused with its JSON path; the containers'
 * labels read as facts (lab/stack.ts), a missing fact refused by name. No root needed.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { Testing } from "cdktf";
import { DESCRIBE_LABEL_PREFIX } from "../../lib/targets/docker/docker-target";
import { planFromJson } from "../../lab/spec";
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
    expect(stack.loadBalancer("lb-1")).toEqual({ hostname: "lb-1", statsPort: 8404, check: { interMs: 2000, fall: 3, rise: 2, path: "/health" } });
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

  test("the synthesized local stack carries every fact the lab's probes read", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { LocalStack } = require("../../main") as typeof import("../../main");
    const app = Testing.app();
    new LocalStack(app, "local");
    app.synth();
    const file = join(app.outdir, "stacks", "local", "cdk.tf.json");
    const stack = new StackFacts(planFromJson(JSON.parse(readFileSync(file, "utf8")) as never, join(app.outdir, "stacks", "local"), file));
    const [lb] = stack.hostnames("load-balancer");
    expect(stack.loadBalancer(lb).check).toEqual({ interMs: 2000, fall: 3, rise: 2, path: expect.any(String) });
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
  });
});
