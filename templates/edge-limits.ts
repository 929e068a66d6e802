/**
 * Abuse limits at the edge (issue 13): what one client can hold or send, in
 * HAProxy (the load balancers) and Nginx (the web nodes). Framework-free, like
 * every template: haproxy.ts and nginx.ts render these lines in their own blocks.
 *
 * Measured before (issue 13, item 4): 20 connections sending a body 1 byte every
 * 5 s were all still open after 60 s, and 5,000 of them from one client filled
 * HAProxy's maxconn and Nginx's worker_connections: both web nodes were marked
 * down and every other client got 502 and 503.
 */
import { ConfigProblem, isDurationMs, MAX_DURATION_MS } from "./validate";

/** HAProxy's per-client and per-server limits (LoadBalancerTier `limits`). */
export interface HaproxyLimits {
  /**
   * Time allowed for a request body once its headers are in (`http-request
   * wait-for-body`, HAProxy's replacement for `option http-buffer-request`):
   * HAProxy holds the request until the whole body (or a full 16 kB buffer) is
   * in, so a slow body never reaches a web node, and answers 408 and closes the
   * connection when it runs out. The headers are bounded by `timeouts.httpRequestMs`.
   * @default 10000
   */
  readonly bodyTimeoutMs?: number;
  /**
   * Connections the public listeners accept at once (the frontend's `maxconn`),
   * below the global `maxconn` (4096) so the stats, health and metrics
   * listeners stay reachable when the public ones are full; further clients wait
   * in the kernel's accept queue.
   * @default 3000
   */
  readonly maxConnections?: number;
  /**
   * Open connections one client address may hold (a stick table's `conn_cur`);
   * a connection beyond it is refused before TLS (`tcp-request connection reject`).
   * @default 1000
   */
  readonly maxConnectionsPerClient?: number;
  /**
   * Requests one client address may send per `requestRateWindowMs`
   * (`http_req_rate`); beyond it HAProxy answers 429 without asking a web node.
   * @default 20000
   */
  readonly maxRequestsPerClient?: number;
  /** The window of `maxRequestsPerClient`; a tracked address is forgotten after 3 idle windows. @default 10000 */
  readonly requestRateWindowMs?: number;
  /** Client addresses the stick table tracks at once (about 50 bytes each); the least recently seen is dropped first. @default 100000 */
  readonly trackedClients?: number;
  /**
   * Requests HAProxy sends to one web node at once (`maxconn` on every server);
   * more wait in HAProxy's queue (at most `timeouts.queueMs`, then 503), so a web
   * node's Nginx never runs out of connections and is never marked down because
   * of the load. The cap applies in each of the two web backends (`web_nodes`,
   * and `web_nodes_once` for writes without an idempotency key), so a node can
   * get twice it: keep it below a quarter of the web tier's
   * `limits.workerConnections` (a proxied request holds two: the client's and the app's).
   * @default 128
   */
  readonly maxConnectionsPerServer?: number;
}

export const HAPROXY_LIMITS_DEFAULTS = {
  bodyTimeoutMs: 10000,
  maxConnections: 3000,
  maxConnectionsPerClient: 1000,
  maxRequestsPerClient: 20000,
  requestRateWindowMs: 10000,
  trackedClients: 100000,
  maxConnectionsPerServer: 128,
} as const;

export type ResolvedHaproxyLimits = { readonly [K in keyof typeof HAPROXY_LIMITS_DEFAULTS]: number };

export function resolveHaproxyLimits(limits: HaproxyLimits | undefined): ResolvedHaproxyLimits {
  return { ...HAPROXY_LIMITS_DEFAULTS, ...Object.fromEntries(Object.entries(limits ?? {}).filter(([, v]) => v !== undefined)) };
}

const whole = (v: number, min: number, max = 10_000_000) => Number.isInteger(v) && v >= min && v <= max;

/** Problems of `limits` (fields `limits.<name>`); `globalMaxConnections` is HAProxy's global maxconn. */
export function validateHaproxyLimits(limits: HaproxyLimits | undefined, globalMaxConnections: number): ConfigProblem[] {
  const l = resolveHaproxyLimits(limits);
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(`limits.${field}`, message));
  for (const key of ["bodyTimeoutMs", "requestRateWindowMs"] as const) {
    if (!isDurationMs(l[key])) add(key, `limits.${key} is ${l[key]}; it must be a whole number of milliseconds from 1 to ${MAX_DURATION_MS}`);
  }
  for (const key of ["maxConnections", "maxConnectionsPerClient", "maxRequestsPerClient", "trackedClients", "maxConnectionsPerServer"] as const) {
    if (!whole(l[key], 1)) add(key, `limits.${key} is ${l[key]}; it must be a whole number from 1 to 10000000`);
  }
  if (whole(l.maxConnections, 1) && l.maxConnections >= globalMaxConnections) {
    add(
      "maxConnections",
      `limits.maxConnections (${l.maxConnections}) must be below the global maxConnections (${globalMaxConnections}), or the public listeners can starve the stats, health and metrics listeners`,
    );
  }
  if (whole(l.maxConnectionsPerClient, 1) && whole(l.maxConnections, 1) && l.maxConnectionsPerClient > l.maxConnections) {
    add(
      "maxConnectionsPerClient",
      `limits.maxConnectionsPerClient (${l.maxConnectionsPerClient}) is above limits.maxConnections (${l.maxConnections}): it would never apply`,
    );
  }
  return problems;
}

/** The `frontend http` lines: the per-client table and rules, the listener's maxconn, the body wait. */
export function haproxyFrontendLimitLines(l: ResolvedHaproxyLimits): string[] {
  const window = l.requestRateWindowMs;
  return [
    "    # Abuse limits (LoadBalancerTier limits): per client address, then the body wait.",
    `    maxconn ${l.maxConnections}`,
    `    stick-table type ip size ${l.trackedClients} expire ${window * 3}ms store conn_cur,http_req_rate(${window}ms)`,
    "    tcp-request connection track-sc0 src",
    `    tcp-request connection reject if { sc_conn_cur(0) gt ${l.maxConnectionsPerClient} }`,
    `    http-request deny deny_status 429 if { sc_http_req_rate(0) gt ${l.maxRequestsPerClient} }`,
    "    # The whole body (or a full buffer) before a web node is chosen: a slow body gets 408 here.",
    `    http-request wait-for-body time ${l.bodyTimeoutMs}ms`,
    "    # The client's address for the web nodes' per-client limit (a client's own header is replaced).",
    "    http-request set-header X-Real-IP %[src]",
  ];
}

/** The `backend web_nodes` lines: per-server maxconn (the queue is bounded by `timeout queue`). Before the servers. */
export function haproxyBackendLimitLines(l: ResolvedHaproxyLimits): string[] {
  return [
    "    # At most this many requests at once per web node; the rest wait in the queue (timeout queue).",
    `    default-server maxconn ${l.maxConnectionsPerServer}`,
  ];
}

/** Nginx's timeouts and limits on every web node (WebAppTier `limits`). */
export interface NginxLimits {
  /** Seconds allowed for the request headers (`client_header_timeout`; Nginx's default is 60): a slow client is answered 408. @default 10 */
  readonly clientHeaderTimeoutSeconds?: number;
  /**
   * Seconds allowed between two reads of a request body (`client_body_timeout`;
   * Nginx's default is 60). Per read, not for the whole body: the load
   * balancer's `limits.bodyTimeoutMs` bounds the whole body.
   * @default 10
   */
  readonly clientBodyTimeoutSeconds?: number;
  /** Seconds allowed between two writes of a response to a client that stopped reading (`send_timeout`; Nginx's default is 60). @default 30 */
  readonly sendTimeoutSeconds?: number;
  /**
   * Connections per Nginx worker (`worker_connections`; `worker_rlimit_nofile` is
   * set to twice this). A proxied request holds two (the client's and the app's).
   * @default 1024
   */
  readonly workerConnections?: number;
  /**
   * Requests one client address may have in progress on one web node
   * (`limit_conn`, answered 429 beyond it). The address is the `X-Real-IP` the
   * load balancer sets (it replaces any a client sends), else the connection's.
   * As many as one load balancer sends to a node (its `limits.maxConnectionsPerServer`),
   * so it never refuses what HAProxy admitted.
   * @default 256
   */
  readonly maxConnectionsPerClient?: number;
  /** Shared memory for `limit_conn`'s per-address counters, in MB (about 8,000 addresses per MB). @default 10 */
  readonly clientZoneMb?: number;
}

export const NGINX_LIMITS_DEFAULTS = {
  clientHeaderTimeoutSeconds: 10,
  clientBodyTimeoutSeconds: 10,
  sendTimeoutSeconds: 30,
  workerConnections: 1024,
  maxConnectionsPerClient: 256,
  clientZoneMb: 10,
} as const;

export type ResolvedNginxLimits = { readonly [K in keyof typeof NGINX_LIMITS_DEFAULTS]: number };

export function resolveNginxLimits(limits: NginxLimits | undefined): ResolvedNginxLimits {
  return { ...NGINX_LIMITS_DEFAULTS, ...Object.fromEntries(Object.entries(limits ?? {}).filter(([, v]) => v !== undefined)) };
}

export function validateNginxLimits(limits: NginxLimits | undefined): ConfigProblem[] {
  const l = resolveNginxLimits(limits);
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(`limits.${field}`, message));
  for (const key of ["clientHeaderTimeoutSeconds", "clientBodyTimeoutSeconds", "sendTimeoutSeconds"] as const) {
    if (!whole(l[key], 1, 86400)) add(key, `limits.${key} is ${l[key]}; it must be a whole number of seconds from 1 to 86400`);
  }
  if (!whole(l.workerConnections, 64, 1_000_000))
    add("workerConnections", `limits.workerConnections is ${l.workerConnections}; it must be a whole number from 64 to 1000000`);
  if (!whole(l.maxConnectionsPerClient, 1, 1_000_000))
    add("maxConnectionsPerClient", `limits.maxConnectionsPerClient is ${l.maxConnectionsPerClient}; it must be a whole number from 1 to 1000000`);
  if (!whole(l.clientZoneMb, 1, 1024)) add("clientZoneMb", `limits.clientZoneMb is ${l.clientZoneMb}; it must be a whole number of MB from 1 to 1024`);
  return problems;
}

/** Main-context lines (before `events`). */
export function nginxMainLimitLines(l: ResolvedNginxLimits): string[] {
  return [`worker_rlimit_nofile ${l.workerConnections * 2};`];
}

/** The `http` block's lines: timeouts and the per-client limit. */
export function nginxHttpLimitLines(l: ResolvedNginxLimits): string[] {
  return [
    "",
    "    # Abuse limits (WebAppTier limits).",
    `    client_header_timeout ${l.clientHeaderTimeoutSeconds}s;`,
    `    client_body_timeout ${l.clientBodyTimeoutSeconds}s;`,
    `    send_timeout ${l.sendTimeoutSeconds}s;`,
    "    # Per client: the address the load balancer puts in X-Real-IP (it replaces a client's own), else the peer's.",
    "    map $http_x_real_ip $limit_client {",
    "        default $http_x_real_ip;",
    '        "" $binary_remote_addr;',
    "    }",
    `    limit_conn_zone $limit_client zone=per_client:${l.clientZoneMb}m;`,
    `    limit_conn per_client ${l.maxConnectionsPerClient};`,
    "    limit_conn_status 429;",
    "    limit_conn_log_level warn;",
  ];
}
