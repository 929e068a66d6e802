import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  HAPROXY_DEFAULTS,
  HaproxyConfig,
  haproxyDetectionBoundMs,
  MOZILLA_INTERMEDIATE,
  renderHaproxyConfig,
  validateHaproxyConfig,
} from "../../templates/haproxy";
import { writeThrowawayCertificate } from "../helpers/tls";
import { hasBinary } from "../helpers/binaries";
import { haproxyConfigCheck } from "../helpers/haproxy";

/** The lines of one backend of a rendered config, up to the blank line after it. */
const backend = (cfg: string, name: string) => cfg.split(`\nbackend ${name}\n`)[1].split("\n\n")[0];

const base: HaproxyConfig = {
  nodeName: "lb-1",
  servers: [
    { name: "web-1", host: "web-1", port: 80 },
    { name: "web-2", host: "web-2", port: 80 },
  ],
};

describe("renderHaproxyConfig", () => {
  const cfg = renderHaproxyConfig(base);

  test("requestLog: a line per request by default; off, no log at all and no httplog", () => {
    expect(HAPROXY_DEFAULTS.requestLog).toBe(true);
    expect(cfg).toMatch(/^defaults\n {4}mode http\n {4}log global\n {4}option httplog\n {4}option dontlognull$/m);
    const quiet = renderHaproxyConfig({ ...base, requestLog: false });
    expect(quiet).toMatch(/^defaults\n {4}mode http\n {4}# requestLog off.*\n {4}no log$/m);
    expect(quiet).not.toContain("option httplog");
    expect(quiet).not.toContain("log global");
    // Nothing else changes.
    expect(quiet.replace(/ {4}# requestLog off.*\n {4}no log\n/, "")).toBe(cfg.replace("    log global\n    option httplog\n    option dontlognull\n", ""));
  });

  test("threads: no nbthread unless set (HAProxy's one per CPU); 1-64 rendered in global", () => {
    expect(HAPROXY_DEFAULTS.threads).toBeNull();
    expect(cfg).not.toContain("nbthread");
    const one = renderHaproxyConfig({ ...base, threads: 1 });
    expect(one).toMatch(/^global\n(?: {4}.*\n)* {4}nbthread 1\n/m);
    expect(renderHaproxyConfig({ ...base, threads: 64 })).toContain("    nbthread 64\n");
    for (const bad of [0, 65, 2.5, -1]) {
      expect(validateHaproxyConfig({ ...base, threads: bad }).join("; ")).toMatch(new RegExp(`threads is ${bad}; it must be a whole number from 1 to 64`));
    }
  });

  test("requestLog must be a boolean", () => {
    const config = { ...base, requestLog: "no" } as unknown as HaproxyConfig;
    expect(validateHaproxyConfig(config).join("; ")).toMatch(/requestLog is "no"; it must be true or false/);
    expect(() => renderHaproxyConfig(config)).toThrow(/requestLog/);
  });

  test("balances round-robin over every web node with active health checks", () => {
    expect(cfg).toMatch(/^backend web_nodes\n {4}balance roundrobin$/m);
    expect(cfg).toContain("    server web-1 web-1:80 resolvers system resolve-prefer ipv4");
    expect(cfg).toContain("    server web-2 web-2:80 resolvers system resolve-prefer ipv4");
    expect(cfg).toContain("http-check send meth GET uri /health ver HTTP/1.1");
    expect(cfg).toMatch(/default-server check inter 1000ms fastinter 250ms fall 3 rise 2 /);
  });

  test("a dead or frozen node is out within inter + fall x timeout check + (fall - 1) x fastinter = 3 s", () => {
    expect(cfg).toContain("timeout check 500ms");
    expect(cfg).toContain("timeout server 15000ms");
    expect(haproxyDetectionBoundMs(HAPROXY_DEFAULTS.healthCheck, HAPROXY_DEFAULTS.timeouts.checkMs)).toBe(3000);
    // Requests stuck on a node marked down end then, in both backends.
    expect(cfg.match(/on-marked-down shutdown-sessions/g)).toHaveLength(2);
    // HAProxy 2.6 ends a check on a node that never answers on its connect timer: timeout check's value there.
    for (const name of ["web_nodes_health", "web_nodes_hung"]) expect(backend(cfg, name)).toMatch(/^ {4}timeout connect 500ms$/m);
    expect(backend(renderHaproxyConfig({ ...base, timeouts: { checkMs: 800 } }), "web_nodes_hung")).toMatch(/^ {4}timeout connect 800ms$/m);
    // The traffic keeps timeouts.connectMs.
    for (const name of ["web_nodes", "web_nodes_once"]) expect(backend(cfg, name)).not.toContain("timeout connect");
  });

  test("the checks run in two check-only backends that no request reaches; each web backend tracks one", () => {
    expect(cfg).not.toMatch(/(use_backend|default_backend) web_nodes_(health|hung)/);
    const health = backend(cfg, "web_nodes_health");
    const hung = backend(cfg, "web_nodes_hung");
    for (const b of [health, hung]) {
      expect(b).toContain("http-check send meth GET uri /health ver HTTP/1.1 hdr Host lb-1");
      expect(b).toMatch(/default-server check inter 1000ms fastinter 250ms fall 3 rise 2 init-addr last,libc,none$/m);
      expect(b).toContain("    server web-1 web-1:80 resolvers system resolve-prefer ipv4\n");
      expect(b).not.toContain("shutdown-sessions");
    }
    // In web_nodes only with a 200; out of web_nodes_once only when Nginx does not answer in time (or at all).
    expect(health).toMatch(/^ {4}http-check expect status 200$/m);
    expect(hung).toMatch(/^ {4}http-check expect ! status 504$/m);
    expect(backend(cfg, "web_nodes")).toContain("    server web-1 web-1:80 resolvers system resolve-prefer ipv4 track web_nodes_health/web-1");
    expect(backend(cfg, "web_nodes_once")).toContain("    server web-2 web-2:80 resolvers system resolve-prefer ipv4 track web_nodes_hung/web-2");
    for (const name of ["web_nodes", "web_nodes_once"])
      expect(backend(cfg, name)).not.toMatch(/^ {4}(option httpchk|http-check |(default-)?server .*\bcheck\b)/m);
  });

  test("retries idempotent requests on another node, never a replayed POST", () => {
    expect(cfg).toContain("option redispatch 1");
    expect(cfg).toContain("retries 3");
    expect(backend(cfg, "web_nodes")).toContain("retry-on conn-failure empty-response junk-response response-timeout 425 502 504");
    // A database outage (the app's 503) must neither be retried nor take the nodes out.
    expect(cfg).not.toMatch(/retry-on .*(503|all-retryable-errors)/);
    // Not observe layer 7 either: a database outage makes every node answer 5xx, and marking them all down would
    // turn reads that still work (static files, replicas) into 503s.
    expect(cfg).not.toContain("observe layer7");
    expect(backend(cfg, "web_nodes")).toContain("http-request disable-l7-retry if { method POST PATCH } !{ req.hdr(idempotency-key) -m found }");
    // Writes without a key go to a backend that retries only what never reached an app: no connection, or Nginx's 425.
    expect(cfg).toContain("use_backend web_nodes_once if { method POST PATCH } !{ req.hdr(idempotency-key) -m found }");
    expect(cfg).toMatch(/^ {4}default_backend web_nodes$/m);
    const once = backend(cfg, "web_nodes_once");
    expect(once).toMatch(/^ {4}retry-on conn-failure 425$/m);
    expect(once).not.toMatch(/502|504|response-timeout|empty-response/);
    // The same servers, tracking the hung-node checks: a node whose app is dead stays in (its 425 moves the write on).
    expect(once).toContain("    server web-1 web-1:80 resolvers system resolve-prefer ipv4 track web_nodes_hung/web-1");
    expect(once).toContain("    server web-2 web-2:80 resolvers system resolve-prefer ipv4 track web_nodes_hung/web-2");
    expect(once).not.toMatch(/ check /);
    // A 425 left after the retries reaches the client as a 503 it may retry.
    expect(cfg).toContain("http-response set-status 503 if { status 425 }");
    expect(cfg).toContain("http-response set-header Retry-After 1 if { status 425 }");
  });

  test("debugging headers are stripped from public answers unless debugHeaders is on", () => {
    for (const h of ["X-Db-Node", "X-Db-Role", "X-Db-Server-Id", "X-Web-Node", "X-Lb-Node"]) expect(cfg).toContain(`    http-response del-header ${h}\n`);
    expect(cfg).not.toContain("set-header X-Lb-Node");
    const debug = renderHaproxyConfig({ ...base, debugHeaders: true });
    expect(debug).not.toContain("del-header");
    expect(debug).toContain("    http-response set-header X-Lb-Node lb-1");
  });

  test("sets timeouts, X-Forwarded-For, and a stats + metrics listener", () => {
    expect(cfg).toContain("timeout connect 5000ms");
    expect(cfg).toContain("timeout http-request 10000ms");
    expect(cfg).toContain("option forwardfor");
    // Loopback only: the node's own health checks and keepalived; nothing outside the monitoring flow.
    expect(cfg).toMatch(/frontend stats\n {4}bind 127\.0\.0\.1:8404/);
    expect(cfg).toContain("stats hide-version");
    expect(cfg).toContain("http-request use-service prometheus-exporter if { path /metrics }");
    expect(cfg).not.toMatch(/^\s*daemon/m); // foreground in containers and under systemd
  });

  test("a metrics listener for the monitoring hosts serves /metrics and nothing else; none by default", () => {
    expect(cfg).not.toContain("frontend metrics");
    const withMetrics = renderHaproxyConfig({ ...base, metricsPort: 8405 });
    const frontend = withMetrics.split("frontend metrics\n")[1].trimEnd();
    expect(frontend).toBe(
      [
        "    bind 0.0.0.0:8405",
        "    # Prometheus keeps an idle keep-alive connection between scrapes: at a soft stop, close it at",
        "    # once instead of waiting for its next scrape (or timeout http-keep-alive) as the defaults do.",
        "    no option idle-close-on-response",
        "    http-request set-log-level silent",
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    http-request deny deny_status 404",
      ].join("\n"),
    );
  });

  test("algorithm, ports, health check and stats are configurable", () => {
    const custom = renderHaproxyConfig({
      ...base,
      algorithm: "leastconn",
      httpPort: 8080,
      statsPort: null,
      healthCheck: { path: "/ready", intervalMs: 500, fastIntervalMs: 100, fall: 2, rise: 1 },
      runtimeDns: false,
    });
    expect(custom).toContain("balance leastconn");
    expect(custom).toContain("bind 0.0.0.0:8080");
    expect(custom).not.toContain("frontend stats");
    expect(custom).toContain("uri /ready");
    expect(custom).toContain("check inter 500ms fastinter 100ms fall 2 rise 1");
    expect(custom).not.toContain("resolvers system");
  });

  test("tells the web tier how the client came in, replacing a client's own header", () => {
    expect(cfg).toContain("http-request set-header X-Forwarded-Proto http if !{ ssl_fc }");
    expect(cfg).not.toContain("ssl-default-bind");
  });

  describe("with TLS", () => {
    const tls = renderHaproxyConfig({ ...base, tls: { certificatePath: "/etc/ha-web/tls/site.pem" } });

    test("Mozilla intermediate: TLS 1.2 and 1.3 only, its ciphers, no tickets", () => {
      expect(tls).toContain(`    ssl-default-bind-ciphers ${MOZILLA_INTERMEDIATE.tls12Ciphers.join(":")}`);
      expect(tls).toContain("    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
      expect(tls).toContain("    ssl-default-bind-options prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets");
    });

    test("HTTPS with HTTP/2 by ALPN, a 308 redirect from HTTP, HSTS on HTTPS answers", () => {
      expect(tls).toContain("    bind 0.0.0.0:443 ssl crt /etc/ha-web/tls/site.pem alpn h2,http/1.1");
      expect(tls).toContain(
        "    http-request redirect location https://%[req.hdr(host),regsub(:[0-9]+$,)]%[pathq] code 308 if !{ ssl_fc } { req.hdr(host) -m reg . }",
      );
      expect(tls).toContain("    http-request redirect scheme https code 308 if !{ ssl_fc }");
      expect(tls).toContain('    http-response set-header Strict-Transport-Security "max-age=63072000; includeSubDomains" if { ssl_fc }');
      expect(tls).toContain("    http-request set-header X-Forwarded-Proto https if { ssl_fc }");
    });

    test("redirect, HSTS and HTTP/2 can each be turned off", () => {
      const off = renderHaproxyConfig({
        ...base,
        tls: { certificatePath: "/c.pem", httpsPort: 8443, redirectHttp: false, hstsMaxAgeSeconds: 0, http2: false },
      });
      expect(off).toContain("bind 0.0.0.0:8443 ssl crt /c.pem alpn http/1.1");
      expect(renderHaproxyConfig({ ...base, tls: { certificatePath: "/c.pem", httpsPort: 8443 } })).toContain(
        "redirect location https://%[req.hdr(host),regsub(:[0-9]+$,)]:8443%[pathq] code 308",
      );
      expect(off).not.toContain("redirect scheme");
      expect(off).not.toContain("Strict-Transport-Security");
    });

    test.each([
      [{ httpsPort: 80 }, "tls.httpsPort", /cannot share a port/],
      [{ httpsPort: 8404 }, "tls.httpsPort", /cannot share a port/],
      [{ certificatePath: "site.pem" }, "tls.certificatePath", /absolute path/],
      [{ hstsMaxAgeSeconds: -1 }, "tls.hstsMaxAgeSeconds", /0 or more/],
    ])("rejects bad TLS input %#", (override, field, message) => {
      const problems = validateHaproxyConfig({ ...base, tls: { certificatePath: "/c.pem", ...override } });
      expect(problems.map((p) => p.field)).toContain(field);
      expect(problems.join("; ")).toMatch(message);
    });
  });

  test("a graceful stop does not cut an idle keep-alive client's next request", () => {
    expect(renderHaproxyConfig(base)).toContain("    option idle-close-on-response\n");
  });

  test.each([
    [{ servers: [] }, /at least one web node/],
    [{ httpPort: 70000 }, /httpPort 70000 is outside 1-65535/],
    [{ statsPort: 80 }, /two listeners cannot share a port/],
    [{ metricsPort: 8404 }, /metricsPort 8404 is the port of another listener/],
    [{ metricsPort: 0 }, /metricsPort 0 is outside 1-65535/],
    [{ servers: [{ name: "Web_1", host: "web-1", port: 80 }] }, /not a DNS label/],
    [
      {
        servers: [
          { name: "web-1", host: "a", port: 80 },
          { name: "web-1", host: "b", port: 80 },
        ],
      },
      /used twice/,
    ],
    [{ algorithm: "fastest" as never }, /algorithm "fastest"/],
    [{ retries: -1 }, /retries is -1; it must be/],
    [{ timeouts: { connectMs: 2 ** 31 } }, /timeouts.connectMs is 2147483648; .*HAProxy's largest timer/],
    [{ healthCheck: { path: "/health?x" } }, /healthCheck.path "\/health\?x" must be an absolute URL path/],
    [{ healthCheck: { fall: 0 } }, /healthCheck.fall is 0/],
    [{ statsAuth: { user: "ad min", passwordEnv: "X" } }, /statsAuth.user "ad min" must be 1-64 letters/],
    [{ statsAuth: { user: "admin", passwordEnv: "pass-word" } }, /statsAuth.passwordEnv "pass-word" is not an environment variable name/],
  ])("rejects bad input %#", (override, message) => {
    const config = { ...base, ...override } as HaproxyConfig;
    expect(validateHaproxyConfig(config).join("; ")).toMatch(message);
    expect(() => renderHaproxyConfig(config)).toThrow(message);
  });

  test("each problem names the config field it concerns, so a construct can map it to its prop", () => {
    const problems = validateHaproxyConfig({ ...base, retries: -1, algorithm: "x" as never, timeouts: { queueMs: 0 } });
    expect(problems.map((p) => p.field)).toEqual(["algorithm", "timeouts.queueMs", "retries"]);
  });
});

const haproxy = hasBinary("haproxy") && hasBinary("openssl") ? test : test.skip;
haproxy("haproxy -c accepts the rendered configs", () => {
  const dir = mkdtempSync(join(tmpdir(), "haproxy-test-"));
  try {
    // A throwaway pair: HAProxy loads the key from `<crt>.key` beside the certificate.
    const cert = join(dir, "site.pem");
    writeThrowawayCertificate(cert);
    for (const [name, config] of Object.entries({
      default: base,
      custom: { ...base, algorithm: "leastconn", statsPort: null, runtimeDns: false, debugHeaders: true, threads: 1 } as HaproxyConfig,
      noRequestLog: { ...base, requestLog: false, tls: { certificatePath: cert } } as HaproxyConfig,
      tls: { ...base, tls: { certificatePath: cert } } as HaproxyConfig,
      metrics: { ...base, metricsPort: 8405, tls: { certificatePath: cert } } as HaproxyConfig,
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
