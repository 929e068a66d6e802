/**
 * The abuse limits of the edge (issue 13, item 4), as rendered into haproxy.cfg
 * and nginx.conf, checked by the real binaries (haproxy -c, nginx -t), and the
 * props' validation in the constructs. The lab proves their effect
 * (__tests__/lab/abuse.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { EdgeLimitsProps, LoadBalancerTier, MysqlCluster, WebAppTier, WebLimitsProps } from "../../lib";
import { HAPROXY_LIMITS_DEFAULTS, NGINX_LIMITS_DEFAULTS } from "../../templates/edge-limits";
import { HaproxyConfig, renderHaproxyConfig, validateHaproxyConfig } from "../../templates/haproxy";
import { NginxConfig, renderNginxConfig, validateNginxConfig } from "../../templates/nginx";
import { PATHS } from "../../templates/paths";
import { hasBinary, isRoot } from "../helpers/binaries";
import { haproxyConfigCheck } from "../helpers/haproxy";
import { nginxConfigTest } from "../helpers/nginx";
import { containers, synthDocker, uploaded } from "../helpers/synth";

const lb: HaproxyConfig = {
  nodeName: "lb-1",
  servers: [
    { name: "web-1", host: "web-1", port: 80 },
    { name: "web-2", host: "web-2", port: 80 },
  ],
};
const web: NginxConfig = { nodeName: "web-1", app: { host: "127.0.0.1", port: 3000 } };

/** The lines of one section of a haproxy.cfg (`frontend http`, `backend web_nodes`). */
const section = (cfg: string, header: string) => cfg.split(`\n${header}\n`)[1].split("\n\n")[0].split("\n");

describe("HAProxy's abuse limits", () => {
  const cfg = renderHaproxyConfig(lb);

  test("by default: a 10 s body wait, 1,000 connections and 20,000 requests per 10 s per client, 3,000 on the listeners, 128 per web node and backend", () => {
    const front = section(cfg, "frontend http");
    expect(front).toEqual(
      expect.arrayContaining([
        "    maxconn 3000",
        "    stick-table type ip size 100000 expire 30000ms store conn_cur,http_req_rate(10000ms)",
        "    tcp-request connection track-sc0 src",
        "    tcp-request connection reject if { sc_conn_cur(0) gt 1000 }",
        "    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 20000 }",
        "    http-request wait-for-body time 10000ms",
        "    http-request set-header X-Real-IP %[src]",
      ]),
    );
    // The per-client rules come before any other request rule (a redirect), the body wait before a web node is chosen.
    const firstRule = front.findIndex((l) => /^\s+http-request /.test(l));
    expect(front[firstRule]).toContain("deny deny_status 429");
    const back = section(cfg, "backend web_nodes");
    const maxconn = back.indexOf("    default-server maxconn 128");
    expect(maxconn).toBeGreaterThan(0);
    expect(back.findIndex((l) => l.startsWith("    server "))).toBeGreaterThan(maxconn);
    // The global maxconn stays above the listeners', so the stats and metrics listeners are never starved.
    expect(cfg).toContain("global\n    log stdout format raw local0 info\n    maxconn 4096\n");
    // Stats and metrics listeners carry no per-client limit.
    expect(section(cfg, "frontend stats").join("\n")).not.toMatch(/stick-table|maxconn|wait-for-body/);
  });

  test("every limit is a prop", () => {
    const custom = renderHaproxyConfig({
      ...lb,
      limits: {
        bodyTimeoutMs: 4000,
        maxConnections: 500,
        maxConnectionsPerClient: 50,
        maxRequestsPerClient: 300,
        requestRateWindowMs: 1000,
        trackedClients: 2000,
        maxConnectionsPerServer: 64,
      },
    });
    for (const line of [
      "    maxconn 500",
      "    stick-table type ip size 2000 expire 3000ms store conn_cur,http_req_rate(1000ms)",
      "    tcp-request connection reject if { sc_conn_cur(0) gt 50 }",
      "    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 300 }",
      "    http-request wait-for-body time 4000ms",
      "    default-server maxconn 64",
    ])
      expect(custom).toContain(`${line}\n`);
  });

  test.each([
    [{ bodyTimeoutMs: 0 }, "limits.bodyTimeoutMs", /limits.bodyTimeoutMs is 0; it must be a whole number of milliseconds/],
    [{ maxConnections: 4096 }, "limits.maxConnections", /limits.maxConnections \(4096\) must be below the global maxConnections \(4096\)/],
    [{ maxConnectionsPerClient: 3001 }, "limits.maxConnectionsPerClient", /above limits.maxConnections \(3000\): it would never apply/],
    [{ maxRequestsPerClient: 1.5 }, "limits.maxRequestsPerClient", /limits.maxRequestsPerClient is 1.5; it must be a whole number/],
    [{ maxConnectionsPerServer: 0 }, "limits.maxConnectionsPerServer", /limits.maxConnectionsPerServer is 0/],
  ])("refuses %j, naming the field", (limits, field, message) => {
    const problems = validateHaproxyConfig({ ...lb, limits });
    expect(problems.map((p) => p.field)).toEqual([field]);
    expect(problems.join("; ")).toMatch(message);
  });
});

describe("Nginx's abuse limits", () => {
  const conf = renderNginxConfig(web);

  test("by default: 10 s for headers and between body reads, 30 s send, 1,024 worker connections, 256 requests per client address", () => {
    for (const line of [
      "worker_rlimit_nofile 2048;",
      "    worker_connections 1024;",
      "    client_header_timeout 10s;",
      "    client_body_timeout 10s;",
      "    send_timeout 30s;",
      "    limit_conn_zone $limit_client zone=per_client:10m;",
      "    limit_conn per_client 256;",
      "    limit_conn_status 429;",
    ])
      expect(conf).toContain(`${line}\n`);
    // The client is the load balancer's X-Real-IP (HAProxy replaces a client's own), else the peer.
    expect(conf).toContain('    map $http_x_real_ip $limit_client {\n        default $http_x_real_ip;\n        "" $binary_remote_addr;\n    }\n');
  });

  test("every limit is a prop, and bad values are refused naming the field", () => {
    const custom = renderNginxConfig({
      ...web,
      limits: {
        clientHeaderTimeoutSeconds: 5,
        clientBodyTimeoutSeconds: 6,
        sendTimeoutSeconds: 7,
        workerConnections: 4096,
        maxConnectionsPerClient: 20,
        clientZoneMb: 2,
      },
    });
    for (const line of [
      "worker_rlimit_nofile 8192;",
      "    worker_connections 4096;",
      "    client_header_timeout 5s;",
      "    client_body_timeout 6s;",
      "    send_timeout 7s;",
      "    limit_conn_zone $limit_client zone=per_client:2m;",
      "    limit_conn per_client 20;",
    ])
      expect(custom).toContain(`${line}\n`);
    const problems = validateNginxConfig({
      ...web,
      limits: { clientBodyTimeoutSeconds: 0, workerConnections: 10, maxConnectionsPerClient: -1, clientZoneMb: 0.5 },
    });
    expect(problems.map((p) => p.field)).toEqual([
      "limits.clientBodyTimeoutSeconds",
      "limits.workerConnections",
      "limits.maxConnectionsPerClient",
      "limits.clientZoneMb",
    ]);
  });
});

describe("the tiers' limits props", () => {
  let lbTier!: LoadBalancerTier;
  const build = (lbLimits?: EdgeLimitsProps, webLimits?: WebLimitsProps) =>
    synthDocker((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target });
      const webTier = new WebAppTier(stack, "web", { target, database, limits: webLimits });
      lbTier = new LoadBalancerTier(stack, "lb", { target, webTier, limits: lbLimits });
    });

  test("the defaults synthesize; the web tier exposes its resolved limits", () => {
    const byName = containers(build({ bodyTimeoutMs: 7000 }, { sendTimeoutSeconds: 12 }).parsed);
    expect(uploaded(byName["haweb-lb-1"], PATHS.haproxyConfig)).toContain("    http-request wait-for-body time 7000ms\n");
    expect(uploaded(byName["haweb-web-1"], PATHS.nginxConfig)).toContain("    send_timeout 12s;\n");
    expect(lbTier.https).toBe(true);
    expect(HAPROXY_LIMITS_DEFAULTS.maxConnectionsPerServer * 2 + 32).toBeLessThanOrEqual(NGINX_LIMITS_DEFAULTS.workerConnections);
  });

  test("a bad value is refused at synth naming the construct, the prop and a fix", () => {
    expect(() => build({ bodyTimeoutMs: -5 })).toThrow(/LoadBalancerTier .*prop `limits`: limits.bodyTimeoutMs is -5.*Fix: use whole numbers/s);
    expect(() => build(undefined, { sendTimeoutSeconds: 0 })).toThrow(/WebAppTier .*prop `limits`: limits.sendTimeoutSeconds is 0/s);
  });

  test("a per-server maxconn the web nodes cannot hold is refused, naming both tiers' props", () => {
    // A node can get the cap from each of the two web backends: 2 x 2 x 300 + 32 > 1024.
    expect(() => build({ maxConnectionsPerServer: 300 })).toThrow(
      /prop `limits.maxConnectionsPerServer` is 300: a web node can get that from each of HAProxy's two web backends and would need 1232 Nginx connections .* more than the web tier's limits.workerConnections \(1024\).*Fix: use at most 248/s,
    );
    expect(() => build({ maxConnectionsPerServer: 300 }, { workerConnections: 4096, maxConnectionsPerClient: 500 })).toThrow(
      /is 300 per backend \(600 per node\), above the web tier's limits.maxConnectionsPerClient \(500\)/,
    );
    expect(() => build({ maxConnectionsPerServer: 450 }, { workerConnections: 2048, maxConnectionsPerClient: 1000 })).not.toThrow();
  });
});

const haproxy = hasBinary("haproxy") ? test : test.skip;
haproxy("haproxy -c accepts the limits, default and custom, without a warning", () => {
  const dir = mkdtempSync(join(tmpdir(), "haproxy-limits-"));
  try {
    for (const [name, config] of Object.entries({
      default: lb,
      custom: {
        ...lb,
        limits: { bodyTimeoutMs: 4000, maxConnections: 500, maxConnectionsPerClient: 50, requestRateWindowMs: 1000, maxConnectionsPerServer: 64 },
      },
    })) {
      const file = join(dir, `${name}.cfg`);
      writeFileSync(file, renderHaproxyConfig(config));
      const result = haproxyConfigCheck(file);
      expect({ name, status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ name, status: 0, stderr: "" });
      // The only warnings allowed: those of checking it here (haproxyConfigCheck).
      expect(result.warnings).toEqual([]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const nginx = hasBinary("nginx") && isRoot() ? test : test.skip;
nginx("nginx -t accepts the limits, default and custom", () => {
  for (const limits of [undefined, { workerConnections: 4096, maxConnectionsPerClient: 20, clientZoneMb: 2 }]) {
    const result = nginxConfigTest((stateDir) => renderNginxConfig({ ...web, stateDir, limits }));
    expect({ limits, status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ limits, status: 0, stderr: "" });
  }
});
