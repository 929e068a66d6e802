import { Software } from "../target";

/**
 * Debian 12 packages per software: the same versions the lab verifies (HAProxy
 * 2.6, Nginx 1.22, MariaDB 10.11, Node.js 18; the demo app is built for Node.js 18).
 * MySQL 8.4 has no Debian package: pass `packages.mysql` to use it.
 */
export const DEFAULT_DEBIAN_PACKAGES: Readonly<Record<Software, readonly string[]>> = {
  haproxy: ["haproxy"],
  nginx: ["nginx"],
  node: ["nodejs"],
  mariadb: ["mariadb-server", "mariadb-client"],
  mysql: [],
};

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
};

/** Users that exist on Debian or that the packages create: no need to create them. */
export const EXISTING_USERS: ReadonlySet<string> = new Set(["root", "nobody", "www-data", "haproxy", "mysql", "daemon"]);
