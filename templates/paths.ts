/**
 * The file layout every role uses on every target (container, VM, lab), so a
 * start script never has to ask where it runs.
 */
export const PATHS = {
  /** Start scripts and helpers. */
  binDir: "/opt/ha-web/bin",
  /** Rendered configuration. */
  configDir: "/etc/ha-web",
  haproxyConfig: "/etc/ha-web/haproxy.cfg",
  /** keepalived's config as rendered; the start script writes the final one (with the interface) under runDir. */
  keepalivedConfig: "/etc/ha-web/keepalived.conf",
  /** The TLS certificate (PEM); its key beside it as `<path>.key`, mode 0400. */
  tlsCertificate: "/etc/ha-web/tls/site.pem",
  tlsKey: "/etc/ha-web/tls/site.pem.key",
  /** Runtime state the start scripts write (keepalived's final config and pid files). */
  runDir: "/run/ha-web",
  nginxConfig: "/etc/ha-web/nginx.conf",
  mysqlConfig: "/etc/ha-web/mysql.cnf",
  /** Static files Nginx serves. */
  staticRoot: "/var/www/ha-web",
  /** The application bundle (the demo app, or the user's). */
  appDir: "/opt/ha-web/app",
  appEntry: "/opt/ha-web/app/server.js",
  /** Writable state for Nginx (temp files, pid). */
  nginxStateDir: "/var/lib/ha-web/nginx",
  /** Mount point of the database volume: a named volume on Docker, its own EBS volume on AWS. */
  mysqlVolume: "/var/lib/mysql",
  /**
   * The data directory is a folder inside the volume, so a fresh file system's
   * lost+found never makes `mysqld --initialize` refuse a "non-empty" directory.
   */
  mysqlDataDir: "/var/lib/mysql/data",
  mysqlRunDir: "/run/mysqld",
  /**
   * The database node's TLS files as the target delivers them (root, mode 0400):
   * see MYSQL_TLS_FILES. The start script copies them for the server to read.
   */
  mysqlTlsDir: "/etc/ha-web/mysql-tls",
  /** The server's copies of those files (owner mysql, mode 0400), made at every start. */
  mysqlRunTlsDir: "/run/mysqld/tls",
  mysqlSocket: "/run/mysqld/mysqld.sock",
  /**
   * Where a container finds its secret environment values as files (Docker):
   * `<dir>/<NAME>`, with `<NAME>_FILE` pointing at it, so `docker inspect` shows
   * no secret. (VMs get systemd credentials the same way.)
   */
  secretsDir: "/etc/ha-web/secrets",
  prometheusConfig: "/etc/ha-web/prometheus.yml",
  alertRules: "/etc/ha-web/alert-rules.yml",
  alertmanagerConfig: "/etc/ha-web/alertmanager.yml",
  /** Mount point of Prometheus' data volume (its TSDB): a named volume on Docker, its own EBS volume on AWS. */
  prometheusVolume: "/var/lib/ha-web/prometheus",
  /** Alertmanager's silences and notification log (kept with its host, not on a volume). */
  alertmanagerDataDir: "/var/lib/ha-web/alertmanager",
} as const;

/** Path of the start script for a role. */
export function startScriptPath(role: string): string {
  return `${PATHS.binDir}/start-${role}.sh`;
}

export const HEALTHCHECK_SCRIPT = `${PATHS.binDir}/healthcheck-http.sh`;
