import { haproxyBackendLimitLines, haproxyFrontendLimitLines, HaproxyLimits, resolveHaproxyLimits, validateHaproxyLimits } from "./edge-limits";
import { PATHS } from "./paths";
import { assertNoProblems, ConfigProblem, duplicates, isAbsolutePath, isDnsLabel, isDurationMs, isHostName, isPort, MAX_DURATION_MS } from "./validate";

/** Balancing algorithms HAProxy 2.6 supports that make sense for stateless web nodes. */
export type BalanceAlgorithm = "roundrobin" | "static-rr" | "leastconn" | "first" | "source" | "random";
export const BALANCE_ALGORITHMS: readonly BalanceAlgorithm[] = ["roundrobin", "static-rr", "leastconn", "first", "source", "random"];

export interface HaproxyServer {
  /** Server name in HAProxy (shown in stats and logs). */
  readonly name: string;
  /** Host name or address of the web node. */
  readonly host: string;
  readonly port: number;
}

export interface HaproxyHealthCheck {
  /** Path of the liveness endpoint on every web node. @default "/health" */
  readonly path?: string;
  /**
   * Interval between checks of a healthy server, in milliseconds. With `fall`,
   * `fastIntervalMs` and `timeouts.checkMs` it bounds how long a dead or frozen
   * node stays in rotation: intervalMs + fall x timeouts.checkMs + (fall - 1) x fastIntervalMs.
   * @default 1000
   */
  readonly intervalMs?: number;
  /**
   * Interval between checks once a check has failed (HAProxy's `fastinter`), so
   * the `fall` failures that take a node out come quickly. @default 250
   */
  readonly fastIntervalMs?: number;
  /** Consecutive failures before a server is marked down. @default 3 */
  readonly fall?: number;
  /** Consecutive successes before a server is marked up again. @default 2 */
  readonly rise?: number;
}

export interface HaproxyTimeouts {
  /** @default 5000 */ readonly connectMs?: number;
  /** @default 50000 */ readonly clientMs?: number;
  /**
   * Longest wait for a web node's answer, above the slowest answer the demo app
   * gives (its database timeouts add up to about 10 s) and Nginx's own
   * `proxyTimeouts.appReadMs`; an idempotent request that hits it is retried on
   * another node. @default 15000
   */
  readonly serverMs?: number;
  /** Time allowed for a complete request header (slowloris guard). @default 10000 */ readonly httpRequestMs?: number;
  /** @default 10000 */ readonly httpKeepAliveMs?: number;
  /** @default 30000 */ readonly queueMs?: number;
  /** Time a health check may take before it counts as failed (a frozen node answers never). @default 500 */ readonly checkMs?: number;
}

/**
 * Mozilla's "intermediate" TLS profile (server side TLS guideline 5.7/6.0): TLS 1.2 and
 * 1.3 only, forward-secret AEAD ciphers, no session tickets, the client's cipher order.
 * https://ssl-config.mozilla.org/#server=haproxy&config=intermediate
 */
export const MOZILLA_INTERMEDIATE = {
  minVersion: "TLSv1.2",
  tls12Ciphers: [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ],
  tls13Suites: ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"],
  curves: ["X25519", "prime256v1", "secp384r1"],
} as const;

/** HTTPS at the load balancer. */
export interface HaproxyTls {
  /**
   * PEM file with the certificate (and its chain). The private key is in the same
   * file or beside it as `<path>.key`, which HAProxy loads on its own.
   */
  readonly certificatePath: string;
  /** Port of the HTTPS listener. @default 443 */
  readonly httpsPort?: number;
  /** Answer every plain-HTTP request with a 308 redirect to HTTPS (method and body kept). @default true */
  readonly redirectHttp?: boolean;
  /**
   * `Strict-Transport-Security` max-age in seconds on HTTPS responses; 0 sends no
   * HSTS header. @default 63072000 (two years, Mozilla's recommendation)
   */
  readonly hstsMaxAgeSeconds?: number;
  /** Add `includeSubDomains` to the HSTS header. @default true */
  readonly hstsIncludeSubdomains?: boolean;
  /** Offer HTTP/2 by ALPN (`h2,http/1.1`). @default true */
  readonly http2?: boolean;
}

export interface HaproxyConfig {
  /** Name of this load balancer node, sent back in the `X-Lb-Node` header. */
  readonly nodeName: string;
  /** Port of the public HTTP listener. @default 80 */
  readonly httpPort?: number;
  /** Address the listeners bind to. @default "0.0.0.0" */
  readonly bindAddress?: string;
  /** The web nodes. At least one. */
  readonly servers: readonly HaproxyServer[];
  /** @default "roundrobin" */
  readonly algorithm?: BalanceAlgorithm;
  readonly healthCheck?: HaproxyHealthCheck;
  /** Attempts on another server after a failure. @default 3 */
  readonly retries?: number;
  readonly timeouts?: HaproxyTimeouts;
  /** Port of the stats page and Prometheus `/metrics`; `null` disables it. @default 8404 */
  readonly statsPort?: number | null;
  /**
   * Address the stats listener binds to: loopback keeps the stats page, the
   * metrics and the health URL to the node itself (its health checks, keepalived).
   * @default "127.0.0.1"
   */
  readonly statsBindAddress?: string;
  /**
   * HTTP basic authentication of the stats page (`/stats`; `/healthz` and
   * `/metrics` on the same listener stay open to the node's own checks). The
   * password is read from the environment variable `passwordEnv` when HAProxy
   * starts, so it is never written into the rendered config; `null` leaves the
   * page without a login. @default null
   */
  readonly statsAuth?: HaproxyStatsAuth | null;
  /**
   * A listener that serves only Prometheus' `/metrics`, for the monitoring hosts
   * (the stats page stays on loopback); `null` serves none. Firewalls and
   * security groups open it to the monitoring hosts only.
   * @default null
   */
  readonly metricsPort?: number | null;
  /** Address the metrics listener binds to. @default "0.0.0.0" */
  readonly metricsBindAddress?: string;
  /** HTTPS on `tls.httpsPort`, with a redirect and HSTS; `undefined` serves HTTP only. @default undefined */
  readonly tls?: HaproxyTls;
  /** Global connection limit. @default 4096 */
  readonly maxConnections?: number;
  /**
   * Re-resolve server names at run time through the system resolver (Docker's
   * 127.0.0.11, the VPC resolver, the lab's dnsmasq), so a node that comes back
   * with a new address is picked up. @default true
   */
  readonly runtimeDns?: boolean;
  /** Unprivileged user HAProxy drops to after binding. @default "haproxy" */
  readonly user?: string;
  /** Abuse limits: the body timeout, per-client connection and request-rate limits, the listeners' and every server's maxconn. @default HAPROXY_LIMITS_DEFAULTS */
  readonly limits?: HaproxyLimits;
  /**
   * Pass the stack's debugging headers (`X-Db-Node`, `X-Db-Role`,
   * `X-Db-Server-Id`, `X-Web-Node`, and `X-Lb-Node`, which HAProxy adds) to
   * clients. Off, HAProxy strips them from every public answer: they name
   * internal hosts and roles. The lab turns them on to see who served what.
   * @default false
   */
  readonly debugHeaders?: boolean;
  /**
   * One log line per request (HAProxy's `option httplog`, to standard output):
   * client, timers, status, bytes, the server that answered. Off, HAProxy logs
   * nothing per request (its own start, stop and server state changes still go
   * to standard error); each request then costs it two system calls fewer
   * (a `writev` and a `getpid`). @default true
   */
  readonly requestLog?: boolean;
  /**
   * Worker threads (`nbthread`), 1-64. Unset, nothing is rendered: HAProxy
   * starts one thread per CPU it may run on, which a dedicated load-balancer
   * host wants; 1 suits a host whose cores the rest of the stack shares.
   * @default - one per CPU (HAProxy's own default)
   */
  readonly threads?: number | null;
}

/** HAProxy 2.6's thread limit on 64-bit builds (MAX_THREADS). */
export const HAPROXY_MAX_THREADS = 64;

/** The headers the stack adds for debugging, stripped at the edge unless `debugHeaders` is on. */
export const DEBUG_HEADERS = ["X-Db-Node", "X-Db-Role", "X-Db-Server-Id", "X-Web-Node", "X-Lb-Node"] as const;

/** The check-only backend (no traffic) whose servers `web_nodes` tracks: up when the health path answers 200. */
export const HEALTH_BACKEND = "web_nodes_health";

/**
 * The check-only backend (no traffic) whose servers `web_nodes_once` tracks:
 * down only when a node hangs or is dead, not when its app failed at once.
 */
export const HUNG_BACKEND = "web_nodes_hung";

/** The header that makes a POST or PATCH safe to retry (the demo app stores its first answer). */
export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";

/**
 * The status Nginx answers when it could not send a single byte to its app
 * (refused, reset or timed out while connecting): the request was not
 * processed, so HAProxy retries it on another node, POST included. 425 is one
 * of the few statuses HAProxy's `retry-on` accepts and one the demo app never
 * sends; HAProxy turns a 425 left after its retries into a 503 with Retry-After.
 */
export const NOT_PROCESSED_STATUS = 425;

/** The stats page's login: a user, and the environment variable that holds its password. */
export interface HaproxyStatsAuth {
  readonly user: string;
  /** Name of the environment variable HAProxy reads the password from (expanded at start, never rendered). */
  readonly passwordEnv: string;
}

/** Every default of the HAProxy config: the one source the constructs, their docs and tests read. */
export const HAPROXY_DEFAULTS = {
  httpPort: 80,
  bindAddress: "0.0.0.0",
  algorithm: "roundrobin" as BalanceAlgorithm,
  /** HAProxy's own defaults: inter 2s, fall 3, rise 2. */
  /** Out within intervalMs + fall x timeouts.checkMs + (fall - 1) x fastIntervalMs = 1000 + 1500 + 500 = 3000 ms. */
  healthCheck: { path: "/health", intervalMs: 1000, fastIntervalMs: 250, fall: 3, rise: 2 },
  retries: 3,
  timeouts: { connectMs: 5000, clientMs: 50000, serverMs: 15000, httpRequestMs: 10000, httpKeepAliveMs: 10000, queueMs: 30000, checkMs: 500 },
  statsPort: 8404,
  statsBindAddress: "127.0.0.1",
  statsAuth: null as HaproxyStatsAuth | null,
  metricsPort: null as number | null,
  metricsBindAddress: "0.0.0.0",
  tls: { httpsPort: 443, redirectHttp: true, hstsMaxAgeSeconds: 63072000, hstsIncludeSubdomains: true, http2: true },
  maxConnections: 4096,
  runtimeDns: true,
  user: "haproxy",
  debugHeaders: false,
  requestLog: true,
  /** null: no `nbthread` line, HAProxy's one thread per CPU. */
  threads: null as number | null,
} as const;

/**
 * How long a dead or frozen web node stays in rotation at most: the check
 * after the failure starts within `intervalMs`, each of the `fall` failed
 * checks takes up to `checkMs`, with `fastIntervalMs` between them.
 */
export function haproxyDetectionBoundMs(check: { intervalMs: number; fastIntervalMs: number; fall: number }, checkMs: number): number {
  return check.intervalMs + check.fall * checkMs + (check.fall - 1) * check.fastIntervalMs;
}

/** The values the renderer uses, every default filled in. */
export function resolveHaproxyConfig(config: HaproxyConfig) {
  const d = HAPROXY_DEFAULTS;
  const health = config.healthCheck ?? {};
  const t = config.timeouts ?? {};
  return {
    nodeName: config.nodeName,
    httpPort: config.httpPort ?? d.httpPort,
    bindAddress: config.bindAddress ?? d.bindAddress,
    servers: config.servers,
    algorithm: config.algorithm ?? d.algorithm,
    health: {
      path: health.path ?? d.healthCheck.path,
      intervalMs: health.intervalMs ?? d.healthCheck.intervalMs,
      fastIntervalMs: health.fastIntervalMs ?? d.healthCheck.fastIntervalMs,
      fall: health.fall ?? d.healthCheck.fall,
      rise: health.rise ?? d.healthCheck.rise,
    },
    retries: config.retries ?? d.retries,
    timeouts: { ...d.timeouts, ...Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) } as { [K in keyof typeof d.timeouts]: number },
    statsPort: config.statsPort === undefined ? d.statsPort : config.statsPort,
    statsBindAddress: config.statsBindAddress ?? d.statsBindAddress,
    statsAuth: config.statsAuth === undefined ? d.statsAuth : config.statsAuth,
    metricsPort: config.metricsPort === undefined ? d.metricsPort : config.metricsPort,
    metricsBindAddress: config.metricsBindAddress ?? d.metricsBindAddress,
    tls:
      config.tls === undefined
        ? undefined
        : ({ ...d.tls, ...Object.fromEntries(Object.entries(config.tls).filter(([, v]) => v !== undefined)) } as Required<HaproxyTls>),
    maxConnections: config.maxConnections ?? d.maxConnections,
    runtimeDns: config.runtimeDns ?? d.runtimeDns,
    user: config.user ?? d.user,
    limits: resolveHaproxyLimits(config.limits),
    debugHeaders: config.debugHeaders ?? d.debugHeaders,
    requestLog: config.requestLog ?? d.requestLog,
    threads: config.threads ?? d.threads,
  };
}

export function validateHaproxyConfig(config: HaproxyConfig): ConfigProblem[] {
  const c = resolveHaproxyConfig(config);
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));
  if (c.servers.length === 0) add("servers", "servers must contain at least one web node");
  for (const s of c.servers) {
    if (!isDnsLabel(s.name)) add("servers", `server name "${s.name}" is not a DNS label`);
    if (!isPort(s.port)) add("servers", `server ${s.name} port ${s.port} is outside 1-65535`);
    if (!isHostName(s.host)) add("servers", `server ${s.name} host "${s.host}" is not a host name or address`);
  }
  for (const name of duplicates(c.servers.map((s) => s.name))) add("servers", `server name "${name}" is used twice`);
  if (!isPort(c.httpPort)) add("httpPort", `httpPort ${c.httpPort} is outside 1-65535`);
  if (c.statsPort !== null && !isPort(c.statsPort)) add("statsPort", `statsPort ${c.statsPort} is outside 1-65535`);
  if (c.statsPort === c.httpPort) add("statsPort", `statsPort and httpPort are both ${c.httpPort}: two listeners cannot share a port`);
  if (c.statsAuth !== null) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(c.statsAuth.user))
      add("statsAuth.user", `statsAuth.user "${c.statsAuth.user}" must be 1-64 letters, digits, "_", "." or "-"`);
    if (!/^[A-Z_][A-Z0-9_]*$/.test(c.statsAuth.passwordEnv))
      add("statsAuth.passwordEnv", `statsAuth.passwordEnv "${c.statsAuth.passwordEnv}" is not an environment variable name (A-Z, 0-9, _)`);
  }
  if (c.metricsPort !== null) {
    if (!isPort(c.metricsPort)) add("metricsPort", `metricsPort ${c.metricsPort} is outside 1-65535`);
    const others = [c.httpPort, c.statsPort, c.tls?.httpsPort];
    if (others.includes(c.metricsPort)) add("metricsPort", `metricsPort ${c.metricsPort} is the port of another listener; two listeners cannot share a port`);
    if (!isHostName(c.metricsBindAddress)) add("metricsBindAddress", `metricsBindAddress "${c.metricsBindAddress}" is not an address`);
  }
  if (c.tls) {
    const tls = c.tls;
    if (!isPort(tls.httpsPort)) add("tls.httpsPort", `tls.httpsPort ${tls.httpsPort} is outside 1-65535`);
    if (tls.httpsPort === c.httpPort) add("tls.httpsPort", `tls.httpsPort and httpPort are both ${c.httpPort}: two listeners cannot share a port`);
    if (tls.httpsPort === c.statsPort) add("tls.httpsPort", `tls.httpsPort and statsPort are both ${tls.httpsPort}: two listeners cannot share a port`);
    if (!isAbsolutePath(tls.certificatePath)) add("tls.certificatePath", `tls.certificatePath "${tls.certificatePath}" is not an absolute path`);
    if (!Number.isInteger(tls.hstsMaxAgeSeconds) || tls.hstsMaxAgeSeconds < 0)
      add("tls.hstsMaxAgeSeconds", `tls.hstsMaxAgeSeconds is ${tls.hstsMaxAgeSeconds}; it must be a whole number of seconds, 0 or more`);
  }
  if (!BALANCE_ALGORITHMS.includes(c.algorithm)) add("algorithm", `algorithm "${c.algorithm}" is not one of ${BALANCE_ALGORITHMS.join(", ")}`);
  if (!/^\/[A-Za-z0-9._~/%-]*$/.test(c.health.path))
    add("healthCheck.path", `healthCheck.path "${c.health.path}" must be an absolute URL path (start with /, no spaces or query)`);
  for (const [key, value] of Object.entries(c.timeouts)) {
    if (!isDurationMs(value))
      add(`timeouts.${key}`, `timeouts.${key} is ${value}; it must be a whole number of milliseconds from 1 to ${MAX_DURATION_MS} (HAProxy's largest timer)`);
  }
  for (const [key, value] of Object.entries({ intervalMs: c.health.intervalMs, fastIntervalMs: c.health.fastIntervalMs })) {
    if (!isDurationMs(value))
      add(`healthCheck.${key}`, `healthCheck.${key} is ${value}; it must be a whole number of milliseconds from 1 to ${MAX_DURATION_MS}`);
  }
  for (const [key, value] of Object.entries({ fall: c.health.fall, rise: c.health.rise })) {
    if (!Number.isInteger(value) || value < 1) add(`healthCheck.${key}`, `healthCheck.${key} is ${value}; it must be a whole number of at least 1`);
  }
  if (!Number.isInteger(c.maxConnections) || c.maxConnections < 1)
    add("maxConnections", `maxConnections is ${c.maxConnections}; it must be a whole number of at least 1`);
  if (!Number.isInteger(c.retries) || c.retries < 0) add("retries", `retries is ${c.retries}; it must be a whole number of at least 0`);
  if (!isDnsLabel(c.nodeName)) add("nodeName", `nodeName "${c.nodeName}" is not a DNS label`);
  if (!/^[a-z_][a-z0-9_-]*$/.test(c.user)) add("user", `user "${c.user}" is not a user name`);
  if (typeof c.requestLog !== "boolean") add("requestLog", `requestLog is ${JSON.stringify(c.requestLog)}; it must be true or false`);
  if (c.threads !== null && (!Number.isInteger(c.threads) || c.threads < 1 || c.threads > HAPROXY_MAX_THREADS))
    add(
      "threads",
      `threads is ${typeof c.threads === "number" ? String(c.threads) : JSON.stringify(c.threads)}; it must be a whole number from 1 to ${HAPROXY_MAX_THREADS}, or unset for one per CPU`,
    );
  problems.push(...validateHaproxyLimits(config.limits, c.maxConnections));
  return problems;
}

/** Renders haproxy.cfg. Runs in the foreground (no `daemon`), logs to stdout. */
export function renderHaproxyConfig(config: HaproxyConfig): string {
  assertNoProblems("HAProxy config", validateHaproxyConfig(config));
  const c = resolveHaproxyConfig(config);
  const t = c.timeouts;
  const dns = c.runtimeDns ? " resolvers system resolve-prefer ipv4" : "";
  const check = `check inter ${c.health.intervalMs}ms fastinter ${c.health.fastIntervalMs}ms fall ${c.health.fall} rise ${c.health.rise}`;
  const lines = [
    "# Rendered by cdktf-ha-web. Do not edit: change the construct props instead.",
    "global",
    "    log stdout format raw local0 info",
    `    maxconn ${c.maxConnections}`,
    `    user ${c.user}`,
    `    group ${c.user}`,
    "    # Master-worker mode (-W) gives seamless reloads on SIGUSR2.",
    "    hard-stop-after 30s",
    ...(c.threads === null ? [] : ["    # threads: fixed (unset, HAProxy runs one per CPU).", `    nbthread ${c.threads}`]),
  ];
  const tls = c.tls;
  if (tls) {
    const m = MOZILLA_INTERMEDIATE;
    lines.push(
      "    # Mozilla intermediate: TLS 1.2 and 1.3, AEAD ciphers, no session tickets, the client's order.",
      `    ssl-default-bind-ciphers ${m.tls12Ciphers.join(":")}`,
      `    ssl-default-bind-ciphersuites ${m.tls13Suites.join(":")}`,
      `    ssl-default-bind-curves ${m.curves.join(":")}`,
      `    ssl-default-bind-options prefer-client-ciphers ssl-min-ver ${m.minVersion} no-tls-tickets`,
    );
  }
  lines.push(
    "",
    "defaults",
    "    mode http",
    ...(c.requestLog
      ? ["    log global", "    option httplog", "    option dontlognull"]
      : ["    # requestLog off: no line per request (two system calls fewer per request).", "    no log"]),
    "    option forwardfor",
    "    # A graceful stop (SIGUSR1) lets idle keep-alive clients send one more request and answers",
    "    # it with Connection: close, instead of closing under a request already on the wire.",
    "    option idle-close-on-response",
    "    # Retry a failed request on another server: every retry may pick a new one. What is",
    "    # retried depends on the backend (web_nodes, web_nodes_once): see there.",
    "    option redispatch 1",
    `    retries ${c.retries}`,
    `    timeout connect ${t.connectMs}ms`,
    `    timeout client ${t.clientMs}ms`,
    `    timeout server ${t.serverMs}ms`,
    `    timeout http-request ${t.httpRequestMs}ms`,
    `    timeout http-keep-alive ${t.httpKeepAliveMs}ms`,
    `    timeout queue ${t.queueMs}ms`,
    `    timeout check ${t.checkMs}ms`,
    "",
  );
  if (c.runtimeDns) {
    lines.push(
      "resolvers system",
      "    parse-resolv-conf",
      "    resolve_retries 3",
      "    timeout resolve 1s",
      "    timeout retry 1s",
      "    hold valid 10s",
      "    hold other 30s",
      "    hold refused 30s",
      "    hold nx 30s",
      "    hold timeout 30s",
      "    hold obsolete 30s",
      "",
    );
  }
  lines.push("frontend http", `    bind ${c.bindAddress}:${c.httpPort}`);
  lines.push(...haproxyFrontendLimitLines(c.limits));
  if (tls) {
    const alpn = tls.http2 ? " alpn h2,http/1.1" : " alpn http/1.1";
    lines.push(`    bind ${c.bindAddress}:${tls.httpsPort} ssl crt ${tls.certificatePath}${alpn}`);
    if (tls.redirectHttp) {
      // `redirect scheme` would keep the Host header's port: http://h:8080/ must not become https://h:8080/.
      const port = tls.httpsPort === 443 ? "" : `:${tls.httpsPort}`;
      lines.push(
        "    # 308, not 301: the client repeats the same method and body over HTTPS, on the HTTPS port.",
        `    http-request redirect location https://%[req.hdr(host),regsub(:[0-9]+$,)]${port}%[pathq] code 308 if !{ ssl_fc } { req.hdr(host) -m reg . }`,
        "    http-request redirect scheme https code 308 if !{ ssl_fc }",
      );
    }
    if (tls.hstsMaxAgeSeconds > 0) {
      const sub = tls.hstsIncludeSubdomains ? "; includeSubDomains" : "";
      lines.push(`    http-response set-header Strict-Transport-Security "max-age=${tls.hstsMaxAgeSeconds}${sub}" if { ssl_fc }`);
    }
  }
  lines.push(
    "    # The web tier learns how the client came in; a client's own header is replaced.",
    "    http-request set-header X-Forwarded-Proto https if { ssl_fc }",
    "    http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
  );
  if (c.debugHeaders) {
    lines.push(`    http-response set-header X-Lb-Node ${c.nodeName}`);
  } else {
    lines.push(
      "    # Debugging headers name internal hosts and roles: never to the public (debugHeaders).",
      ...DEBUG_HEADERS.map((h) => `    http-response del-header ${h}`),
    );
  }
  const idem = IDEMPOTENCY_KEY_HEADER.toLowerCase();
  const notProcessed = NOT_PROCESSED_STATUS;
  lines.push(
    `    # ${notProcessed} is Nginx's "your request reached no app" (templates/nginx.ts): after the retries it`,
    "    # is a plain 503 to the client, who may send it again.",
    `    http-response set-header Retry-After 1 if { status ${notProcessed} }`,
    `    http-response set-status 503 if { status ${notProcessed} }`,
    `    # A POST or PATCH without an ${IDEMPOTENCY_KEY_HEADER} may have been processed by an app that failed`,
    "    # afterwards: it is retried only when it provably reached none (web_nodes_once).",
    `    use_backend web_nodes_once if { method POST PATCH } !{ req.hdr(${idem}) -m found }`,
    "    default_backend web_nodes",
    "",
    "# Idempotent requests (and writes carrying an idempotency key, which the app answers once):",
    "# retried on whatever a dead, dying or frozen node causes (no connection, no or a broken",
    `# answer, no answer in time, Nginx's 502/504 for a failed app and ${notProcessed} for an unreachable one).`,
    "# Not 503: the demo app says 503 when the database is down, which every node would answer alike.",
    `# Its servers track ${HEALTH_BACKEND}: in (200 from the health path) or out.`,
    "backend web_nodes",
    `    balance ${c.algorithm}`,
    `    retry-on conn-failure empty-response junk-response response-timeout ${notProcessed} 502 504`,
    "    # Layer-7 retries replay the request: never for a write without a key (defence in depth).",
    `    http-request disable-l7-retry if { method POST PATCH } !{ req.hdr(${idem}) -m found }`,
    "    # init-addr: start even when a web node does not resolve yet; it is picked up later.",
    "    # shutdown-sessions: requests stuck on a node marked down (frozen) end then, not at timeout server.",
    "    # An idempotent one cut so is retried on another node: HAProxy sees the server close before any",
    "    # byte of an answer (http_wait_for_response), which is retry-on empty-response.",
    "    # No observe layer4: a tracking server has no check of its own to adjust. A node refusing",
    "    # connections fails its next checks at once, and its requests are retried meanwhile (conn-failure).",
    "    default-server init-addr last,libc,none on-marked-down shutdown-sessions",
  );
  lines.push(...haproxyBackendLimitLines(c.limits));
  for (const s of c.servers) lines.push(`    server ${s.name} ${s.host}:${s.port}${dns} track ${HEALTH_BACKEND}/${s.name}`);
  lines.push(
    "",
    "# Writes without an idempotency key: retried only when the request never reached an app",
    `# (no connection to Nginx, or Nginx's ${notProcessed}: it could not send a byte to its app). A write that`,
    `# reached an app is never replayed. The same servers, tracking ${HUNG_BACKEND}, not ${HEALTH_BACKEND}:`,
    "# marking a node down cuts what is in flight on it (shutdown-sessions), and a cut write gets",
    "# HAProxy's 502, never retried here, even one that was only waiting for Nginx's 425. So a node",
    `# whose app is dead stays in: its writes get the ${notProcessed} and go to another node. A hung node is`,
    "# taken out as fast as in web_nodes, and what is stuck on it ends then (its outcome unknown).",
    "backend web_nodes_once",
    `    balance ${c.algorithm}`,
    `    retry-on conn-failure ${notProcessed}`,
    "    default-server init-addr last,libc,none on-marked-down shutdown-sessions",
  );
  // The same cap here: unkeyed writes must not bypass it (a node can then hold the cap once per backend).
  lines.push(...haproxyBackendLimitLines(c.limits));
  for (const s of c.servers) lines.push(`    server ${s.name} ${s.host}:${s.port}${dns} track ${HUNG_BACKEND}/${s.name}`);
  const checkBackend = (name: string, about: string[], expect: string[]) => {
    lines.push("", ...about.map((l) => `# ${l}`), `backend ${name}`);
    lines.push(
      "    # No traffic: checks only. timeout connect bounds a check on a node that accepts and never",
      "    # answers: HAProxy 2.6 ends such a check on the timer it armed for the connect, at most",
      "    # min(inter, timeout connect), not on timeout check, which it sets once connected without",
      "    # requeueing the check (fixed upstream in 3.3, commit 7c788f098). With the traffic's timeout",
      "    # connect a frozen node's checks took 0.5-1 s each; with timeout check's value, timeout check.",
      `    timeout connect ${t.checkMs}ms`,
      "    option httpchk",
      `    http-check send meth GET uri ${c.health.path} ver HTTP/1.1 hdr Host ${c.nodeName}`,
      ...expect,
      `    default-server ${check} init-addr last,libc,none`,
    );
    for (const s of c.servers) lines.push(`    server ${s.name} ${s.host}:${s.port}${dns}`);
  };
  checkBackend(
    HEALTH_BACKEND,
    ["Is the node healthy: Nginx and its app answer the health path with 200 in time (web_nodes)."],
    ["    http-check expect status 200"],
  );
  checkBackend(
    HUNG_BACKEND,
    [
      "Is a request through the node stuck (web_nodes_once): down when Nginx does not answer the",
      "health path in time (a frozen app, a frozen Nginx) or refuses the connection (a dead node); up",
      "when Nginx answers at once, also with its 502 for a dead app.",
    ],
    [`    # 504: Nginx's own "no answer from the app in proxyTimeouts.healthMs", should that be below timeout check.`, "    http-check expect ! status 504"],
  );
  lines.push("");
  if (c.statsPort !== null) {
    lines.push(
      "frontend stats",
      `    bind ${c.statsBindAddress}:${c.statsPort}`,
      "    http-request set-log-level silent",
      "    monitor-uri /healthz",
      "    http-request use-service prometheus-exporter if { path /metrics }",
      "    stats enable",
      "    stats uri /stats",
      "    stats hide-version",
      "    stats refresh 10s",
      ...(c.statsAuth === null
        ? []
        : [
            "    # The password comes from the environment at start: it is never in this file.",
            `    stats realm ha-web`,
            `    stats auth "${c.statsAuth.user}:\${${c.statsAuth.passwordEnv}}"`,
          ]),
      "",
    );
  }
  if (c.metricsPort !== null) {
    lines.push(
      "# Prometheus' scrape endpoint, reachable from the monitoring hosts: /metrics and nothing else.",
      "frontend metrics",
      `    bind ${c.metricsBindAddress}:${c.metricsPort}`,
      "    # Prometheus keeps an idle keep-alive connection between scrapes: at a soft stop, close it at",
      "    # once instead of waiting for its next scrape (or timeout http-keep-alive) as the defaults do.",
      "    no option idle-close-on-response",
      "    http-request set-log-level silent",
      "    http-request use-service prometheus-exporter if { path /metrics }",
      "    http-request deny deny_status 404",
      "",
    );
  }
  return lines.join("\n");
}

/** Path the rendered file is installed at on every target. */
export const HAPROXY_CONFIG_PATH = PATHS.haproxyConfig;
