import { Software } from "../target";

/**
 * Default images: official images, used only for their binaries. The tags match
 * the versions the lab runs end to end on Debian 12 (HAProxy 2.6, Nginx 1.22,
 * MariaDB 10.11, Node.js 20).
 */
export const DEFAULT_DOCKER_IMAGES: Readonly<Record<Software, string>> = {
  haproxy: "haproxy:2.6",
  nginx: "nginx:1.22",
  node: "node:20-bookworm-slim",
  mariadb: "mariadb:10.11",
  mysql: "mysql:8.4",
};

/**
 * The default image of a software at a version (major.minor): the official
 * image's tag for that version. Without a version, the default above.
 */
export function imageForVersion(software: Software, version?: string): string {
  if (version === undefined) return DEFAULT_DOCKER_IMAGES[software];
  return `${DEFAULT_DOCKER_IMAGES[software].split(":")[0]}:${version}`;
}
