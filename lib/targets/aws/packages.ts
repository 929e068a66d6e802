import { MONITORING_USER } from "../../../templates/scripts/monitoring";
import { Software, Tool } from "../target";

/**
 * Debian 12 packages per software: the same versions the lab verifies (HAProxy
 * 2.6, Nginx 1.22, MariaDB 10.11, Node.js 18; the demo app is built for Node.js 18;
 * Prometheus 2.42, Alertmanager 0.25 and Debian's Nginx and MySQL exporters).
 * MySQL 8.4 has no Debian package: pass `packages.mysql` to use it.
 */
export const DEFAULT_DEBIAN_PACKAGES: Readonly<Record<Software, readonly string[]>> = {
  haproxy: ["haproxy"],
  nginx: ["nginx"],
  node: ["nodejs"],
  // mariadb-backup: the physical backups (ha-web-backup) and restores MysqlCluster's backups run.
  mariadb: ["mariadb-server", "mariadb-client", "mariadb-backup"],
  mysql: [],
  prometheus: ["prometheus"],
  alertmanager: ["prometheus-alertmanager"],
  "nginx-exporter": ["prometheus-nginx-exporter"],
  "mysqld-exporter": ["prometheus-mysqld-exporter"],
};

/** Debian 12 packages per software and version (major.minor): what `version` props pick. */
export const DEBIAN_PACKAGES_BY_VERSION: Readonly<Partial<Record<Software, Readonly<Record<string, readonly string[]>>>>> = {
  mariadb: { "10.11": ["mariadb-server", "mariadb-client", "mariadb-backup"] },
  // MySQL 8.4 has no Debian 12 package: packages.mysql must name one your AMI can install.
  mysql: {},
};

/**
 * The packages of a software at a version: the user's override, else the
 * version's packages, else the default. Empty when Debian 12 has none.
 */
export function debianPackagesFor(
  software: Software,
  version: string | undefined,
  overrides: Partial<Record<Software, readonly string[]>> = {},
): readonly string[] {
  const own = overrides[software];
  if (own) return own;
  const byVersion = DEBIAN_PACKAGES_BY_VERSION[software];
  if (version !== undefined && byVersion) return byVersion[version] ?? [];
  return DEFAULT_DEBIAN_PACKAGES[software];
}

/**
 * The distribution's own units, masked before the packages are installed: they
 * would start with the package's default config and take our ports and data
 * directory. Our units run the same start scripts the containers run.
 */
export const DISTRIBUTION_UNITS: Readonly<Record<Software, readonly string[]>> = {
  haproxy: ["haproxy.service"],
  nginx: ["nginx.service"],
  node: [],
  mariadb: ["mariadb.service"],
  mysql: ["mysql.service"],
  prometheus: ["prometheus.service"],
  alertmanager: ["prometheus-alertmanager.service"],
  "nginx-exporter": ["prometheus-nginx-exporter.service"],
  "mysqld-exporter": ["prometheus-mysqld-exporter.service"],
};

/**
 * Users that exist on Debian or that the packages create: no need to create them.
 * `prometheus` comes with every monitoring package (and the node exporter every VM gets).
 */
export const EXISTING_USERS: ReadonlySet<string> = new Set(["root", "nobody", "www-data", "haproxy", "mysql", "daemon", MONITORING_USER]);

/** Debian 12 packages of the programs a service runs beside its software (keepalived, the AWS CLI). */
export const DEBIAN_TOOL_PACKAGES: Readonly<Record<Tool, readonly string[]>> = {
  keepalived: ["keepalived"],
  iproute2: ["iproute2"],
  awscli: ["awscli"],
};

/** The tools' own units, masked like the software's: the start script runs keepalived itself, with our config. */
export const TOOL_UNITS: Readonly<Record<Tool, readonly string[]>> = {
  keepalived: ["keepalived.service"],
  iproute2: [],
  awscli: [],
};
