import { Software } from "../target";

/** The official Debian 13 image, slim: the base of the monitoring programs' images. */
export const DEBIAN_TRIXIE_SLIM = "debian:trixie-slim@sha256:3a39a0592364683e6bab97937b72cad5a8fa6dcbbee90edb3bb48c7f8e94f258";

/**
 * Software that comes from a Debian package on every target: DockerTarget builds
 * its image as the pinned Debian image plus this package (like the tools image).
 */
export const DEBIAN_PACKAGED_SOFTWARE: Readonly<Partial<Record<Software, string>>> = {
  prometheus: "prometheus",
  alertmanager: "prometheus-alertmanager",
  "nginx-exporter": "prometheus-nginx-exporter",
  "mysqld-exporter": "prometheus-mysqld-exporter",
};

/**
 * The official image of each software, per version (major.minor; Node.js: its
 * major), pinned by the digest of the tag's manifest list (the multi-platform
 * index), so two deploys of the same code run the same bits on every platform.
 * Used only for their binaries: our start scripts replace the entrypoint.
 *
 * - haproxy: the 2.6 LTS line on Debian 13 (trixie); the image has no bookworm tag any more.
 * - nginx: the stable line (1.30) on Debian 13 (trixie), the image's only Debian base.
 * - node: the 22 LTS line, slim, on Debian 13 (trixie), like haproxy and nginx.
 * - mariadb: the 10.11 LTS line; the official image is Ubuntu-based (22.04, jammy), not Debian.
 * - mysql: the 8.4 LTS line; the official image is Oracle Linux 9 (slim) based.
 * - prometheus, alertmanager, nginx-exporter, mysqld-exporter: Debian 13 (trixie)
 *   slim, to which DockerTarget adds the Debian package (DEBIAN_PACKAGED_SOFTWARE):
 *   the same programs and flag names as on a VM and in the lab (Debian 13's versions, where the tests verify Debian 12's). Their version
 *   key is the Debian release.
 *
 * Each value is `name:tag@sha256:<manifest-list digest>`, as published in
 * docker-library/repo-info (`repos/<name>/remote/<tag>.md`). Refresh the digests
 * with `node scripts/refresh-image-pins.mjs --from <repo-info file>...`, which
 * rewrites only these strings; a new tag or version is a one-line edit here.
 */
export const DOCKER_IMAGES_BY_VERSION: Readonly<Record<Software, Readonly<Record<string, string>>>> = {
  haproxy: {
    "2.6": "haproxy:2.6-trixie@sha256:27d5ea8c22a63b2f072974b3d15e34816ee7f19fa68d13e37ec1d69e2a5df8d1",
  },
  nginx: {
    "1.30": "nginx:1.30-trixie@sha256:a2774b1783b0cf229393bf86615c30db2a7d3918ec9abfa9576019556d7d7001",
  },
  node: {
    "22": "node:22-trixie-slim@sha256:c5849ff9c9ebcd66615412f0b548ca5b8ecaef84003dc9ac2e077ebe46aaa3f6",
  },
  mariadb: {
    "10.11": "mariadb:10.11@sha256:7f22313fc130a377a44999965bcb0a08dd5b21e8502824c1b864f792f9bc66ab",
  },
  mysql: {
    "8.4": "mysql:8.4@sha256:85b9bf2e29cf836ecb8c2a15a935d4ba0c606631dff1dd79531a11983c638f2a",
  },
  prometheus: { "13": DEBIAN_TRIXIE_SLIM },
  alertmanager: { "13": DEBIAN_TRIXIE_SLIM },
  "nginx-exporter": { "13": DEBIAN_TRIXIE_SLIM },
  "mysqld-exporter": { "13": DEBIAN_TRIXIE_SLIM },
};

/**
 * Default images: one pinned official image per software (see
 * DOCKER_IMAGES_BY_VERSION for the versions and bases). The lab verifies the
 * same major lines from Debian 12's packages (HAProxy 2.6, MariaDB 10.11); see
 * the README's "Versions verified" for where the two differ.
 */
export const DEFAULT_DOCKER_IMAGES: Readonly<Record<Software, string>> = {
  haproxy: DOCKER_IMAGES_BY_VERSION.haproxy["2.6"],
  nginx: DOCKER_IMAGES_BY_VERSION.nginx["1.30"],
  node: DOCKER_IMAGES_BY_VERSION.node["22"],
  mariadb: DOCKER_IMAGES_BY_VERSION.mariadb["10.11"],
  mysql: DOCKER_IMAGES_BY_VERSION.mysql["8.4"],
  prometheus: DEBIAN_TRIXIE_SLIM,
  alertmanager: DEBIAN_TRIXIE_SLIM,
  "nginx-exporter": DEBIAN_TRIXIE_SLIM,
  "mysqld-exporter": DEBIAN_TRIXIE_SLIM,
};

/**
 * The pinned image of a software at a version (major.minor; Node.js: its
 * major). Without a version, the default above. A version with no pinned image
 * throws, naming the pinned versions and the `images` override: a floating tag
 * would let two deploys run different bits.
 */
export function imageForVersion(software: Software, version?: string): string {
  if (version === undefined) return DEFAULT_DOCKER_IMAGES[software];
  const pinned = DOCKER_IMAGES_BY_VERSION[software];
  const image = Object.hasOwn(pinned, version) ? pinned[version] : undefined;
  if (image !== undefined) return image;
  const name = DEFAULT_DOCKER_IMAGES[software].split(/[:@]/)[0];
  throw new Error(
    `cdktf-ha-web pins no ${software} image for version "${version}" (pinned: ${Object.keys(pinned).join(", ")}). ` +
      `Use a pinned version, or set DockerTarget's \`images.${software}\` to the image to run, ` +
      `such as "${name}:${version}@sha256:<digest>" (from docker-library/repo-info, repos/${name}/remote/${version}.md).`,
  );
}
