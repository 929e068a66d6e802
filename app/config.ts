/**
 * Environment -> typed configuration for the demo app (pure; no I/O except an
 * injectable file reader for DB_PASSWORD_FILE). See app/README.md for the contract.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { APP_ENV, DEFAULT_APP_METRICS_PORT, DEFAULT_APP_PORT } from "../templates/app-environment";

export const DEFAULT_HTTP_PORT = DEFAULT_APP_PORT;
export const DEFAULT_BIND_ADDRESS = "0.0.0.0";
export const DEFAULT_DB_PORT = 3306;
export const DEFAULT_DB_HOST = "127.0.0.1";
export const DEFAULT_DB_NAME = "app";
export const DEFAULT_DB_USER = "app";

/** The metrics listener's variables: part of the tier's APP_ENV contract (templates/app-environment.ts). */
export const METRICS_ENV = {
  /** Port of the separate Prometheus listener (`GET /metrics`). */
  port: APP_ENV.metricsPort,
  /** Its listen address; unset means BIND_ADDRESS. */
  bindAddress: APP_ENV.metricsBindAddress,
} as const;

/** The Prometheus listener's default port (9464, as the OpenTelemetry Prometheus exporter uses). */
export const DEFAULT_METRICS_PORT = DEFAULT_APP_METRICS_PORT;

/**
 * The app's own tuning (not part of the tier's wiring, so a user may set them
 * through the web tier's `environment`; the `DB_` prefix is the library's).
 */
export const TUNING_ENV = {
  /** Replicas estimated further behind than this (ms) are skipped for reads; 0 = no limit. */
  maxReplicaLagMs: "APP_MAX_REPLICA_LAG_MS",
  /** How often (ms) the primary's and replicas' GTID positions are sampled for the lag estimate. */
  lagSampleIntervalMs: "APP_LAG_SAMPLE_INTERVAL_MS",
  /** How long a replica may wait for a read-your-writes GTID (ms) before the primary answers. */
  gtidWaitMs: "APP_GTID_WAIT_MS",
  /** How long an Idempotency-Key is remembered (s). */
  idempotencyTtlS: "APP_IDEMPOTENCY_TTL_S",
} as const;

export const DEFAULT_MAX_REPLICA_LAG_MS = 1000;
export const DEFAULT_LAG_SAMPLE_INTERVAL_MS = 250;
export const DEFAULT_GTID_WAIT_MS = 200;
export const DEFAULT_IDEMPOTENCY_TTL_S = 86_400;

/** One MySQL/MariaDB server as configured (host name kept verbatim for X-Db-Node). */
export interface DbEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface AppConfig {
  /** HTTP listen port (0 = ephemeral). */
  readonly port: number;
  readonly bindAddress: string;
  /**
   * A host (the Nginx beside the app) whose network the app also listens on:
   * its own address on the network it shares with that host (BIND_PEER). Unset:
   * `bindAddress` only.
   */
  readonly bindPeer?: string;
  /** Port of the separate metrics listener (0 = ephemeral); never the app port. */
  readonly metricsPort: number;
  /** Listen address of the metrics listener (defaults to bindAddress). */
  readonly metricsBindAddress: string;
  /** Web node this app instance belongs to; sent as X-Web-Node. */
  readonly nodeName: string;
  readonly writer: DbEndpoint;
  /** Replicas; empty means reads go to the writer. */
  readonly readers: readonly DbEndpoint[];
  readonly database: string;
  readonly user: string;
  /** Never log or echo this. */
  readonly password: string;
  /** Replica lag limit for reads (ms); 0 = none. Optional: defaults to DEFAULT_MAX_REPLICA_LAG_MS. */
  readonly maxReplicaLagMs?: number;
  /** Lag sampling period (ms). Optional: DEFAULT_LAG_SAMPLE_INTERVAL_MS. */
  readonly lagSampleIntervalMs?: number;
  /** Read-your-writes wait on a replica (ms). Optional: DEFAULT_GTID_WAIT_MS. */
  readonly gtidWaitMs?: number;
  /** Idempotency-Key lifetime (s). Optional: DEFAULT_IDEMPOTENCY_TTL_S. */
  readonly idempotencyTtlS?: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigDeps {
  readFile?: (path: string) => string;
  hostname?: () => string;
}

/** Trimmed value, or undefined when unset or blank. */
function str(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === "" ? undefined : t;
}

/** Parses a TCP port (1..65535, or 0 when allowZero). */
export function parsePort(value: string, what: string, allowZero = false): number {
  if (!/^\d{1,5}$/.test(value)) throw new ConfigError(`${what}: invalid port ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n > 65535 || (n === 0 && !allowZero)) throw new ConfigError(`${what}: port out of range: ${value}`);
  return n;
}

/**
 * Parses "host", "host:port", "[v6addr]" or "[v6addr]:port". A bare IPv6 address
 * without brackets (more than one colon) is taken as a host without port.
 */
export function parseHostPort(value: string, defaultPort: number, what = "host"): DbEndpoint {
  const v = value.trim();
  if (v === "") throw new ConfigError(`${what}: empty host`);
  if (v.startsWith("[")) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
    if (!m) throw new ConfigError(`${what}: invalid host ${JSON.stringify(v)}`);
    return { host: m[1], port: m[2] === undefined ? defaultPort : parsePort(m[2], what) };
  }
  const colons = v.split(":").length - 1;
  if (colons === 0) return { host: v, port: defaultPort };
  if (colons > 1) return { host: v, port: defaultPort };
  const idx = v.indexOf(":");
  const host = v.slice(0, idx);
  if (host === "") throw new ConfigError(`${what}: invalid host ${JSON.stringify(v)}`);
  return { host, port: parsePort(v.slice(idx + 1), what) };
}

/** Comma-separated host[:port] list; blank entries are ignored, duplicates removed. */
export function parseReaderHosts(value: string | undefined, defaultPort = DEFAULT_DB_PORT): DbEndpoint[] {
  if (value === undefined) return [];
  const out: DbEndpoint[] = [];
  for (const part of value.split(",")) {
    if (part.trim() === "") continue;
    const ep = parseHostPort(part, defaultPort, "DB_READER_HOSTS");
    if (!out.some((o) => o.host === ep.host && o.port === ep.port)) out.push(ep);
  }
  return out;
}

/**
 * A listen address: an IP literal or a host name (letters, digits, dots, hyphens).
 * Rejects what is clearly not one (a URL, a port, spaces).
 */
export function parseBindAddress(value: string, what: string): string {
  if (isIP(value) !== 0) return value;
  if (/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(value) && value.length <= 253) return value;
  throw new ConfigError(`${what}: invalid listen address ${JSON.stringify(value)}`);
}

/** A whole number in [min, max] from the environment, or the default when unset. */
export function parseIntEnv(env: Env, name: string, def: number, min: number, max: number): number {
  const v = str(env, name);
  if (v === undefined) return def;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max)
    throw new ConfigError(`${name}: must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** DB_PASSWORD_FILE (trimmed file content) wins over DB_PASSWORD; neither set -> "". */
export function resolvePassword(env: Env, readFile: (path: string) => string): string {
  const file = str(env, APP_ENV.passwordFile);
  if (file !== undefined) {
    let content: string;
    try {
      content = readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "error";
      throw new ConfigError(`DB_PASSWORD_FILE: cannot read ${file} (${code})`);
    }
    return content.trim();
  }
  return env[APP_ENV.password] ?? "";
}

export function loadConfig(env: Env = process.env, deps: ConfigDeps = {}): AppConfig {
  const readFile = deps.readFile ?? ((p: string) => readFileSync(p, "utf8"));
  const getHostname = deps.hostname ?? hostname;

  const portStr = str(env, APP_ENV.port);
  const dbPortStr = str(env, APP_ENV.writerPort);
  const writerPort = dbPortStr === undefined ? DEFAULT_DB_PORT : parsePort(dbPortStr, "DB_WRITER_PORT");
  const writerHost = str(env, APP_ENV.writerHost) ?? DEFAULT_DB_HOST;
  // DB_WRITER_HOST may itself carry a port ("db:3307"); DB_WRITER_PORT is the default then.
  const writer = parseHostPort(writerHost, writerPort, "DB_WRITER_HOST");

  const port = portStr === undefined ? DEFAULT_HTTP_PORT : parsePort(portStr, "PORT", true);
  const bindAddress = str(env, APP_ENV.bindAddress) ?? DEFAULT_BIND_ADDRESS;
  const metricsPortStr = str(env, METRICS_ENV.port);
  const metricsPort = metricsPortStr === undefined ? DEFAULT_METRICS_PORT : parsePort(metricsPortStr, "METRICS_PORT", true);
  // Metrics never share the app's port: what reaches the app (Nginx, the load balancer) must not reach them.
  if (metricsPort !== 0 && metricsPort === port) {
    throw new ConfigError(`METRICS_PORT: must differ from PORT (${port}): metrics are served on their own listener`);
  }
  const metricsBind = str(env, METRICS_ENV.bindAddress);
  const metricsBindAddress = metricsBind === undefined ? bindAddress : parseBindAddress(metricsBind, "METRICS_BIND_ADDRESS");

  const bindPeer = str(env, APP_ENV.bindPeer);
  return {
    port,
    bindAddress,
    ...(bindPeer === undefined ? {} : { bindPeer }),
    metricsPort,
    metricsBindAddress,
    nodeName: str(env, APP_ENV.nodeName) ?? getHostname(),
    writer,
    readers: parseReaderHosts(env[APP_ENV.readerHosts], DEFAULT_DB_PORT),
    database: str(env, APP_ENV.database) ?? DEFAULT_DB_NAME,
    user: str(env, APP_ENV.user) ?? DEFAULT_DB_USER,
    password: resolvePassword(env, readFile),
    maxReplicaLagMs: parseIntEnv(env, TUNING_ENV.maxReplicaLagMs, DEFAULT_MAX_REPLICA_LAG_MS, 0, 3_600_000),
    lagSampleIntervalMs: parseIntEnv(env, TUNING_ENV.lagSampleIntervalMs, DEFAULT_LAG_SAMPLE_INTERVAL_MS, 50, 60_000),
    gtidWaitMs: parseIntEnv(env, TUNING_ENV.gtidWaitMs, DEFAULT_GTID_WAIT_MS, 0, 10_000),
    idempotencyTtlS: parseIntEnv(env, TUNING_ENV.idempotencyTtlS, DEFAULT_IDEMPOTENCY_TTL_S, 60, 30 * 86_400),
  };
}

/** Printable summary for the startup log: the password is reduced to set/unset. */
export function describeConfig(c: AppConfig): Record<string, unknown> {
  const ep = (e: DbEndpoint) => `${e.host}:${e.port}`;
  return {
    port: c.port,
    bindAddress: c.bindAddress,
    bindPeer: c.bindPeer ?? null,
    metricsPort: c.metricsPort,
    metricsBindAddress: c.metricsBindAddress,
    nodeName: c.nodeName,
    writer: ep(c.writer),
    readers: c.readers.map(ep),
    database: c.database,
    user: c.user,
    password: c.password === "" ? "(empty)" : "(set)",
    maxReplicaLagMs: c.maxReplicaLagMs,
    lagSampleIntervalMs: c.lagSampleIntervalMs,
    gtidWaitMs: c.gtidWaitMs,
    idempotencyTtlS: c.idempotencyTtlS,
  };
}
