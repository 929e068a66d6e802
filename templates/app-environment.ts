/**
 * The environment contract between the web tier and the application server it
 * runs: the names the tier sets, the demo app reads and the lab inspects. One
 * list, so a user's `environment` cannot silently override the wiring.
 */
export const APP_ENV = {
  /** Port the app listens on (Nginx proxies to it). */
  port: "PORT",
  /** Address the app binds to: loopback (its health check and, on a VM, Nginx). */
  bindAddress: "BIND_ADDRESS",
  /**
   * A host whose network the app also listens on, at its own address there (Docker:
   * the Nginx container beside it, so only Nginx's network reaches the app, not the
   * database's). Unset on a VM, where Nginx reaches the app on loopback.
   */
  bindPeer: "BIND_PEER",
  /** The web node the app belongs to (X-Web-Node). */
  nodeName: "NODE_NAME",
  /** The writer endpoint's host (may carry `:port`). */
  writerHost: "DB_WRITER_HOST",
  writerPort: "DB_WRITER_PORT",
  /** Comma-separated `host:port` of the readers; empty sends reads to the writer. */
  readerHosts: "DB_READER_HOSTS",
  database: "DB_NAME",
  user: "DB_USER",
  /** The password itself (Docker hands it over as an environment variable). */
  password: "DB_PASSWORD",
  /** The path of a file holding the password (the AWS target: a systemd credential). */
  passwordFile: "DB_PASSWORD_FILE",
  /** Port of the app's Prometheus `/metrics` listener (never the public app port). */
  metricsPort: "METRICS_PORT",
  /** Address the metrics listener binds to (default: BIND_ADDRESS). */
  metricsBindAddress: "METRICS_BIND_ADDRESS",
} as const;

/** Port of the app's metrics listener unless told otherwise (the demo app's default too). */
export const DEFAULT_APP_METRICS_PORT = 9464;

/** Port the application server listens on unless told otherwise (the demo app's default too). */
export const DEFAULT_APP_PORT = 3000;

/** Name prefixes the library keeps for itself (the database wiring, its own secrets). */
export const RESERVED_APP_ENV_PREFIXES: readonly string[] = ["DB_", "HAWEB_"];

/** True for a name the library sets or may set in the future: a user's `environment` cannot use it. */
export function isReservedAppEnv(name: string): boolean {
  return (Object.values(APP_ENV) as string[]).includes(name) || RESERVED_APP_ENV_PREFIXES.some((p) => name.startsWith(p));
}

/** A POSIX environment variable name (what systemd and Docker both accept). */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** Names that say "secret": such a value belongs in a secret, not in plain `environment`. */
export function looksLikeSecretName(name: string): boolean {
  return /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)/i.test(name) && !/_(FILE|PATH|DIR)$/i.test(name);
}
