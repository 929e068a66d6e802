import { nginxHttpLimitLines, nginxMainLimitLines, NginxLimits, resolveNginxLimits, validateNginxLimits } from "./edge-limits";
import { NOT_PROCESSED_STATUS } from "./haproxy";
import { PATHS } from "./paths";
import { assertNoProblems, ConfigProblem, isHostName, isPort } from "./validate";

export interface NginxAppUpstream {
  /** Host of the application server: `127.0.0.1` on a VM, the app container's alias on Docker. */
  readonly host: string;
  readonly port: number;
  /** Idle keep-alive connections Nginx keeps open to the app. @default 16 */
  readonly keepaliveConnections?: number;
}

/** How long Nginx waits for its app (milliseconds). */
export interface NginxProxyTimeouts {
  /**
   * Connecting to the app. A connection that fails or times out sent the app
   * nothing: Nginx answers 425 and the load balancer retries elsewhere. @default 2000
   */
  readonly appConnectMs?: number;
  /**
   * Between two reads of the app's answer (and two writes of the request): above
   * the demo app's slowest answer (its database timeouts add up to about 10 s),
   * below the load balancer's `timeouts.serverMs`, so a stuck app is answered with
   * Nginx's 504 first. @default 12000
   */
  readonly appReadMs?: number;
  /**
   * Connect, send and read of the health path, which the load balancer's checks
   * go through: a frozen app fails its checks at once instead of holding them.
   * @default 1000
   */
  readonly healthMs?: number;
}

export interface NginxConfig {
  /** Name of this web node, sent in the `X-Web-Node` header of static responses. */
  readonly nodeName: string;
  /** Port Nginx listens on. @default 80 */
  readonly listenPort?: number;
  /** The local application server. */
  readonly app: NginxAppUpstream;
  /** Requests under this prefix are proxied to the app, prefix kept. @default "/api/" */
  readonly appPathPrefix?: string;
  /** Liveness path proxied to the app, used by the load balancer's health check. @default "/health" */
  readonly healthPath?: string;
  /** Answered by Nginx itself: liveness of Nginx alone (container health check). @default "/nginx-health" */
  readonly nginxLivenessPath?: string;
  /** Port of `stub_status` on 127.0.0.1, for the Prometheus exporter; `null` disables it. @default 8081 */
  readonly statusPort?: number | null;
  /** Directory of static files. @default "/var/www/ha-web" */
  readonly staticRoot?: string;
  /** Worker processes. @default "auto" */
  readonly workerProcesses?: number | "auto";
  /** Unprivileged user and group the workers run as (both exist in Debian and the official image). @default "nobody nogroup" */
  readonly user?: string;
  readonly proxyTimeouts?: NginxProxyTimeouts;
  /** Largest request body accepted. @default "1m" */
  readonly clientMaxBodySize?: string;
  /**
   * Directory of everything Nginx writes (pid file, temp files). The start
   * scripts create the default; another directory is for running `nginx -t`
   * on a machine without touching that path. @default PATHS.nginxStateDir
   */
  readonly stateDir?: string;
  /** Timeouts, worker connections and the per-client connection limit. @default NGINX_LIMITS_DEFAULTS */
  readonly limits?: NginxLimits;
  /**
   * Size of the buffer the access log (one line per request, to standard output)
   * is written from, in KiB: a worker writes when the buffer is full or its
   * oldest line is a second old, instead of one write per request (about 25
   * lines per write at 4 KiB). 0 writes every line at once. At most 4: standard
   * output is a pipe under Docker, and only writes of up to 4 KiB (PIPE_BUF) to a
   * pipe are atomic, so the workers' lines never interleave. Buffered lines are
   * up to a second late, and a worker that is killed loses what its buffer held;
   * in the lab (README, "Performance") buffering did not change Nginx's CPU per
   * request measurably, so the default keeps every line at once. @default 0
   */
  readonly accessLogBufferKb?: number;
}

/** Every default of the Nginx config: the one source the constructs, their docs and tests read. */
export const NGINX_DEFAULTS = {
  listenPort: 80,
  keepaliveConnections: 16,
  appPathPrefix: "/api/",
  healthPath: "/health",
  nginxLivenessPath: "/nginx-health",
  statusPort: 8081,
  staticRoot: PATHS.staticRoot,
  workerProcesses: "auto" as number | "auto",
  user: "nobody nogroup",
  clientMaxBodySize: "1m",
  stateDir: PATHS.nginxStateDir,
  proxyTimeouts: { appConnectMs: 2000, appReadMs: 12000, healthMs: 1000 },
  accessLogBufferKb: 0,
} as const;

/** Largest access log buffer (KiB): PIPE_BUF, the largest write to a pipe (Docker's standard output) that is atomic. */
export const MAX_ACCESS_LOG_BUFFER_KB = 4;

export function resolveNginxConfig(config: NginxConfig) {
  const d = NGINX_DEFAULTS;
  return {
    nodeName: config.nodeName,
    listenPort: config.listenPort ?? d.listenPort,
    app: { host: config.app.host, port: config.app.port, keepaliveConnections: config.app.keepaliveConnections ?? d.keepaliveConnections },
    appPathPrefix: config.appPathPrefix ?? d.appPathPrefix,
    healthPath: config.healthPath ?? d.healthPath,
    nginxLivenessPath: config.nginxLivenessPath ?? d.nginxLivenessPath,
    statusPort: config.statusPort === undefined ? d.statusPort : config.statusPort,
    staticRoot: config.staticRoot ?? d.staticRoot,
    workerProcesses: config.workerProcesses ?? d.workerProcesses,
    user: config.user ?? d.user,
    clientMaxBodySize: config.clientMaxBodySize ?? d.clientMaxBodySize,
    stateDir: config.stateDir ?? d.stateDir,
    limits: resolveNginxLimits(config.limits),
    accessLogBufferKb: config.accessLogBufferKb ?? d.accessLogBufferKb,
    proxyTimeouts: {
      appConnectMs: config.proxyTimeouts?.appConnectMs ?? d.proxyTimeouts.appConnectMs,
      appReadMs: config.proxyTimeouts?.appReadMs ?? d.proxyTimeouts.appReadMs,
      healthMs: config.proxyTimeouts?.healthMs ?? d.proxyTimeouts.healthMs,
    },
  };
}

export function validateNginxConfig(config: NginxConfig): ConfigProblem[] {
  const c = resolveNginxConfig(config);
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));
  if (!isPort(c.listenPort)) add("listenPort", `listenPort ${c.listenPort} is outside 1-65535`);
  if (!isPort(c.app.port)) add("app.port", `app.port ${c.app.port} is outside 1-65535`);
  if (c.statusPort !== null && !isPort(c.statusPort)) add("statusPort", `statusPort ${c.statusPort} is outside 1-65535`);
  if (c.statusPort === c.listenPort) add("statusPort", `statusPort and listenPort are both ${c.listenPort}: two listeners cannot share a port`);
  if (!isHostName(c.app.host)) add("app.host", `app.host "${c.app.host}" is not a host name or address`);
  if (!/^\/([A-Za-z0-9._-]+\/)+$/.test(c.appPathPrefix)) {
    add(
      "appPathPrefix",
      `appPathPrefix "${c.appPathPrefix}" must be a path below / that starts and ends with / (for example "/api/"); "/" itself would shadow the static files`,
    );
  }
  for (const [key, path] of Object.entries({ healthPath: c.healthPath, nginxLivenessPath: c.nginxLivenessPath })) {
    if (!/^\/[A-Za-z0-9._/-]*$/.test(path)) add(key, `${key} "${path}" must be an absolute URL path (letters, digits, . _ - /)`);
  }
  if (c.healthPath === c.nginxLivenessPath) add("healthPath", `healthPath "${c.healthPath}" is Nginx's own liveness path: two locations cannot share it`);
  if (!/^[1-9]\d{0,6}[km]?$/.test(c.clientMaxBodySize)) add("clientMaxBodySize", `clientMaxBodySize "${c.clientMaxBodySize}" must look like 512k or 1m`);
  if (!Number.isInteger(c.app.keepaliveConnections) || c.app.keepaliveConnections < 1)
    add("app.keepaliveConnections", "app.keepaliveConnections must be at least 1");
  if (c.workerProcesses !== "auto" && (!Number.isInteger(c.workerProcesses) || c.workerProcesses < 1))
    add("workerProcesses", `workerProcesses is ${c.workerProcesses}; use "auto" or a whole number of at least 1`);
  if (!/^[a-z_][a-z0-9_-]*( [a-z_][a-z0-9_-]*)?$/.test(c.user)) add("user", `user "${c.user}" is not "user" or "user group"`);
  if (!isHostName(c.nodeName)) add("nodeName", `nodeName "${c.nodeName}" is not a host name`);
  for (const [key, value] of Object.entries(c.proxyTimeouts)) {
    if (!Number.isInteger(value) || value < 1 || value > 3_600_000)
      add(`proxyTimeouts.${key}`, `proxyTimeouts.${key} is ${value}; it must be a whole number of milliseconds from 1 to 3600000`);
  }
  if (!Number.isInteger(c.accessLogBufferKb) || c.accessLogBufferKb < 0 || c.accessLogBufferKb > MAX_ACCESS_LOG_BUFFER_KB)
    add(
      "accessLogBufferKb",
      `accessLogBufferKb is ${c.accessLogBufferKb}; it must be a whole number of KiB from 0 (write every line at once) to ${MAX_ACCESS_LOG_BUFFER_KB} (larger writes to a pipe are not atomic: the workers' lines could interleave)`,
    );
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(c.stateDir)) add("stateDir", `stateDir "${c.stateDir}" must be an absolute path without spaces or a trailing /`);
  problems.push(...validateNginxLimits(config.limits));
  return problems;
}

/**
 * Renders a complete nginx.conf (not a conf.d snippet): the same file works with
 * the official image, Debian's package and the lab, because every path Nginx
 * writes to is set here instead of taken from the build's defaults.
 */
export function renderNginxConfig(config: NginxConfig): string {
  assertNoProblems("Nginx config", validateNginxConfig(config));
  const c = resolveNginxConfig(config);
  const state = c.stateDir;
  const pt = c.proxyTimeouts;
  const proxyCommon = [
    "            proxy_pass http://app;",
    "            proxy_http_version 1.1;",
    '            proxy_set_header Connection "";',
    "            proxy_set_header Host $host;",
    "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "            proxy_set_header X-Forwarded-Proto $forwarded_proto;",
  ];
  const appTimeouts = [
    `            proxy_connect_timeout ${pt.appConnectMs}ms;`,
    `            proxy_send_timeout ${pt.appReadMs}ms;`,
    `            proxy_read_timeout ${pt.appReadMs}ms;`,
  ];
  const healthTimeouts = [
    `            proxy_connect_timeout ${pt.healthMs}ms;`,
    `            proxy_send_timeout ${pt.healthMs}ms;`,
    `            proxy_read_timeout ${pt.healthMs}ms;`,
  ];
  const np = NOT_PROCESSED_STATUS;
  const lines = [
    "# Rendered by cdktf-ha-web. Do not edit: change the construct props instead.",
    `user ${c.user};`,
    `worker_processes ${c.workerProcesses};`,
    `pid ${state}/nginx.pid;`,
    "error_log stderr warn;",
    "daemon off;",
    ...nginxMainLimitLines(c.limits),
    "",
    "events {",
    `    worker_connections ${c.limits.workerConnections};`,
    "}",
    "",
    "http {",
    "    include /etc/nginx/mime.types;",
    "    default_type application/octet-stream;",
    "    server_tokens off;",
    "    sendfile on;",
    "    tcp_nopush on;",
    "    keepalive_timeout 65s;",
    `    client_max_body_size ${c.clientMaxBodySize};`,
    c.accessLogBufferKb > 0 ? `    access_log /dev/stdout combined buffer=${c.accessLogBufferKb}k flush=1s;` : "    access_log /dev/stdout;",
    `    client_body_temp_path ${state}/body;`,
    `    proxy_temp_path ${state}/proxy;`,
    `    fastcgi_temp_path ${state}/fastcgi;`,
    `    uwsgi_temp_path ${state}/uwsgi;`,
    `    scgi_temp_path ${state}/scgi;`,
    ...nginxHttpLimitLines(c.limits),
    "",
    "    # Resolved once at start-up: keep-alive to the app needs an upstream block.",
    "    # The load balancer terminates TLS and says how the client came in; only the load",
    "    # balancers reach this listener (the flow model), so their header is kept.",
    "    map $http_x_forwarded_proto $forwarded_proto {",
    "        default $http_x_forwarded_proto;",
    '        "" $scheme;',
    "    }",
    "    # Bytes Nginx sent its app for this request, one number per attempt: all zero means",
    "    # the app never saw it (refused, reset or timed out while connecting).",
    "    map $upstream_bytes_sent $app_not_reached {",
    '        "~^[0 ,:]+$" 1;',
    "        default 0;",
    "    }",
    "    upstream app {",
    `        server ${c.app.host}:${c.app.port} max_fails=0;`,
    `        keepalive ${c.app.keepaliveConnections};`,
    "    }",
    "",
    "    server {",
    `        listen ${c.listenPort} default_server;`,
    "        server_name _;",
    "        # Redirects (e.g. /api -> /api/) are relative: they never echo the client's Host header",
    "        # and keep whatever scheme, host and port the client used.",
    "        absolute_redirect off;",
    `        root ${c.staticRoot};`,
    "        add_header X-Content-Type-Options nosniff always;",
    "        add_header X-Frame-Options DENY always;",
    "        add_header Referrer-Policy no-referrer always;",
    "",
    "        location / {",
    `            add_header X-Web-Node ${c.nodeName} always;`,
    "            add_header X-Content-Type-Options nosniff always;",
    "            add_header X-Frame-Options DENY always;",
    "            add_header Referrer-Policy no-referrer always;",
    "            try_files $uri $uri/ =404;",
    "        }",
    "",
    `        location ${c.appPathPrefix} {`,
    ...proxyCommon,
    ...appTimeouts,
    "            # Nginx's own 502/504 (not the app's): see @app_failed.",
    "            error_page 502 = @app_failed_502;",
    "            error_page 504 = @app_failed_504;",
    "        }",
    "",
    `        # The app could not be reached: ${np} tells the load balancer the request was not processed,`,
    "        # so it retries it on another node, POST included. Once a byte was sent the app may have",
    "        # processed it: the 502/504 stays, and only idempotent requests are retried.",
    "        location @app_failed_502 {",
    `            if ($app_not_reached) { return ${np}; }`,
    "            return 502;",
    "        }",
    "        location @app_failed_504 {",
    `            if ($app_not_reached) { return ${np}; }`,
    "            return 504;",
    "        }",
    "",
    "        # The load balancer's check: Nginx and its app alive, answered within proxyTimeouts.healthMs.",
    `        location = ${c.healthPath} {`,
    ...proxyCommon,
    ...healthTimeouts,
    "            access_log off;",
    "        }",
    "",
    `        location = ${c.nginxLivenessPath} {`,
    "            access_log off;",
    "            default_type text/plain;",
    '            return 200 "ok\\n";',
    "        }",
    "    }",
  ];
  if (c.statusPort !== null) {
    lines.push(
      "",
      "    # stub_status for the Prometheus exporter: loopback only.",
      "    server {",
      `        listen 127.0.0.1:${c.statusPort};`,
      "        access_log off;",
      "        location = /stub_status {",
      "            stub_status;",
      "        }",
      "    }",
    );
  }
  lines.push("}", "");
  return lines.join("\n");
}

/** Default landing page, so the static path of every web node is visible. */
export function renderIndexHtml(nodeName: string): string {
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><title>cdktf-ha-web</title></head>',
    `<body><h1>cdktf-ha-web</h1><p>Served by web node <code>${nodeName}</code>. The API lives under <code>/api/items</code>.</p></body></html>`,
    "",
  ].join("\n");
}
