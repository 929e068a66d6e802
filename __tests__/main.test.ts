import "cdktf/lib/testing/adapters/jest";
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, Testing } from "cdktf";
import { Container } from "@cdktf/provider-docker/lib/container";
import { Network } from "@cdktf/provider-docker/lib/network";
import { LocalStack } from "../main";
import { MysqlCluster } from "../lib";
import { KEEPALIVED_INTERFACE_PLACEHOLDER } from "../templates/keepalived";
import { PATHS } from "../templates/paths";
import { writeThrowawayCertificate } from "./helpers/tls";
import { hasBinary, isRoot } from "./helpers/binaries";
import { haproxyConfigCheck } from "./helpers/haproxy";
import { nginxConfigTest, withNginxStateDir } from "./helpers/nginx";
import { findPlainTextSecrets } from "./helpers/secrets";
import { containers, DockerContainerJson, SynthesizedStack, terraformLiteral, uploaded } from "./helpers/synth";

/** The example `local` stack, synthesized once for every test in this file. */
const json = Testing.synth(new LocalStack(Testing.app(), "local"));
const parsed = JSON.parse(json) as SynthesizedStack;
const byName = containers(parsed);

describe("the local example stack (the seed's topology on Docker)", () => {
  test("has the seed's nodes, its weaknesses fixed: a load-balancer pair, two web nodes with their apps, a primary and a replica, all watched", () => {
    expect(Object.keys(byName).sort()).toEqual([
      "haweb-db-primary",
      "haweb-db-primary-exporter",
      "haweb-db-replica-1",
      "haweb-db-replica-1-exporter",
      // The backup source's backup metrics (MysqlCluster's backups are on by default).
      "haweb-db-replica-1-textfile-exporter",
      "haweb-lb-1",
      "haweb-lb-2",
      "haweb-monitoring",
      "haweb-monitoring-alertmanager",
      "haweb-web-1",
      "haweb-web-1-app",
      "haweb-web-1-nginx-exporter",
      "haweb-web-2",
      "haweb-web-2-app",
      "haweb-web-2-nginx-exporter",
    ]);
  });

  test("one network per tier boundary; only the edge network and the monitoring host's way out reach outside, Prometheus' publish network only the host", () => {
    expect(json).toHaveResourceWithProperties(Network, { name: "haweb-edge", internal: false });
    expect(json).toHaveResourceWithProperties(Network, { name: "haweb-mon-out", internal: false });
    for (const boundary of ["lb-web", "web-app", "app-db", "db-db", "mon-lb", "mon-web", "mon-app", "mon-db", "mon-mon"]) {
      expect(json).toHaveResourceWithProperties(Network, { name: `haweb-${boundary}`, internal: true });
    }
    // Prometheus' published UI needs a non-internal network to be forwarded; without masquerading it is no way out.
    expect(json).toHaveResourceWithProperties(Network, {
      name: "haweb-mon-pub",
      internal: false,
      options: { "com.docker.network.bridge.enable_ip_masquerade": "false" },
    });
    expect(Object.keys(parsed.resource.docker_network)).toHaveLength(12);
  });

  test("only the load balancers (HTTP and HTTPS) and Prometheus' UI publish ports, on 127.0.0.1", () => {
    expect(json).toHaveResourceWithProperties(Container, {
      name: "haweb-lb-1",
      ports: [
        { internal: 80, external: 8080, ip: "127.0.0.1" },
        { internal: 443, external: 8081, ip: "127.0.0.1" },
      ],
    });
    expect(
      Object.values(byName)
        .filter((c) => c.ports)
        .map((c) => c.name),
    ).toEqual(["haweb-lb-1", "haweb-lb-2", "haweb-monitoring"]);
    expect(byName["haweb-monitoring"].ports).toEqual([{ internal: 9090, external: 8084, ip: "127.0.0.1" }]);
  });

  test("outputs the entry URL (the pair's virtual address, HTTPS) and the database endpoints", () => {
    expect(parsed.output).toMatchObject({
      url: { value: "https://10.213.0.10" },
      "load-balancer-node-urls": { value: "https://127.0.0.1:8081,https://127.0.0.1:8083" },
      "database-writer": { value: "db-writer:3306" },
      "database-readers": { value: "db-replica-1:3306" },
    });
  });

  test("no secret appears in plain text anywhere in the synthesized JSON", () => {
    expect(findPlainTextSecrets(parsed)).toEqual([]);
    // The passwords themselves exist only as deploy-time resources.
    for (const p of Object.values(parsed.resource.random_password)) expect(p).toMatchObject({ length: 32, special: false });
  });

  test("the secret scan does find a plain-text password", () => {
    expect(findPlainTextSecrets({ env: ["DB_PASSWORD=hunter2"], sql: "CREATE USER 'a'@'%' IDENTIFIED BY 'hunter2'" })).toHaveLength(2);
  });

  test("shell and SQL expansions are escaped so Terraform passes them through literally", () => {
    const raw = byName["haweb-db-primary"].upload.find((u) => u.file.endsWith("start-db-primary.sh"))!.content!;
    expect(raw).toContain("PASSWORD('$${APP_PASSWORD_SQL}')");
    expect(raw).not.toMatch(/(^|[^$])\$\{(?!TfToken)/);
    expect(uploaded(byName["haweb-db-primary"], `${PATHS.binDir}/start-db-primary.sh`)).toContain("PASSWORD('${APP_PASSWORD_SQL}')");
  });

  test("whole-stack snapshot", () => {
    // The bundle's hash changes with every app change; the snapshot is about the stack.
    const stable = json.replace(/assets\/[^"]+\/server\.js/g, "assets/<bundle>/server.js").replace(/"source_hash": "[0-9A-F]+"/g, '"source_hash": "<hash>"');
    expect(stable).toMatchSnapshot();
  });
});

describe("the uploaded configs pass the real validators", () => {
  const dir = mkdtempSync(join(tmpdir(), "seed-configs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const haproxy = hasBinary("haproxy") && hasBinary("openssl") ? test : test.skip;
  haproxy.each(["haweb-lb-1", "haweb-lb-2"])("haproxy -c -f on %s's haproxy.cfg (with a throwaway certificate in place of the deploy-time one)", (name) => {
    const cert = join(dir, `${name}.pem`);
    writeThrowawayCertificate(cert);
    const file = join(dir, `${name}.cfg`);
    writeFileSync(file, uploaded(byName[name], PATHS.haproxyConfig).replace(PATHS.tlsCertificate, cert));
    const result = haproxyConfigCheck(file);
    expect({ status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ status: 0, stderr: "" });
  });

  const keepalived = hasBinary("keepalived") ? test : test.skip;
  keepalived.each(["haweb-lb-1", "haweb-lb-2"])("keepalived -t on %s's keepalived.conf (the interface filled in as the start script does)", (name) => {
    const iface = readdirSync("/sys/class/net").find((n) => n !== "lo")!;
    const file = join(dir, `${name}-keepalived.conf`);
    writeFileSync(file, uploaded(byName[name], PATHS.keepalivedConfig).replace(KEEPALIVED_INTERFACE_PLACEHOLDER, iface));
    const result = spawnSync("keepalived", ["-t", "-f", file], { encoding: "utf8" });
    expect({ status: result.status, out: result.status === 0 ? "" : result.stdout + result.stderr }).toEqual({ status: 0, out: "" });
  });

  const nginx = hasBinary("nginx") && isRoot() ? test : test.skip;
  nginx.each(["haweb-web-1", "haweb-web-2"])("nginx -t on %s's nginx.conf", (name) => {
    // The app's alias resolves only on the Docker network: validate with loopback in its place.
    const conf = uploaded(byName[name], PATHS.nginxConfig).replace(/server [\w-]+-app:/, "server 127.0.0.1:");
    // Its pid and temp paths go to a temp dir, so the check never creates PATHS.nginxStateDir here.
    const result = nginxConfigTest((stateDir) => withNginxStateDir(conf, stateDir));
    expect({ status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ status: 0, stderr: "" });
  });

  test("every start script is valid sh", () => {
    const scripts = Object.values(byName).flatMap((c: DockerContainerJson) => c.upload.filter((u) => u.file.endsWith(".sh") && u.content));
    expect(scripts.length).toBeGreaterThanOrEqual(7);
    for (const s of scripts) {
      const content = terraformLiteral(s.content!);
      const shell = content.startsWith("#!/bin/bash") ? "bash" : "sh";
      expect({ file: s.file, stderr: spawnSync(shell, ["-n"], { input: content, encoding: "utf8" }).stderr }).toEqual({ file: s.file, stderr: "" });
    }
  });
});

test("bad input fails at synth time and writes no JSON", () => {
  const outdir = mkdtempSync(join(tmpdir(), "bad-synth-"));
  const app = new App({ outdir });
  expect(() => {
    const stack = new LocalStack(app, "local");
    new MysqlCluster(stack, "more-db", { target: stack.node.findChild("docker") as never, replicas: -2, namePrefix: "extra" });
    app.synth();
  }).toThrow(/MysqlCluster 'local\/more-db' has invalid props:\n- prop `replicas` is -2/);
  expect(existsSync(join(outdir, "stacks")) ? readdirSync(join(outdir, "stacks")) : []).toEqual([]);
  rmSync(outdir, { recursive: true, force: true });
});
