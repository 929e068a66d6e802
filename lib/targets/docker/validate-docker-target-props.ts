import { Construct } from "constructs";
import { HAPROXY_DEFAULTS } from "../../../templates/haproxy";
import { DIALECTS } from "../../../templates/mysql/engine";
import { NGINX_DEFAULTS } from "../../../templates/nginx";
import { isDnsLabel, isDockerName, isImageReference, isPort } from "../../../templates/validate";
import { httpHealthCheck } from "../../private/host-files";
import { PropValidator, warnProp } from "../../private/validation";
import { Software } from "../target";
import { MONITORING_USER } from "../../../templates/scripts/monitoring";
import type { DockerTargetProps } from "./docker-target";
import { DEFAULT_DOCKER_IMAGES } from "./images";

/** An image reference as Docker parses it: [registry[:port]/]name[/name...][:tag][@sha256:digest]. */
export { isImageReference } from "../../../templates/validate";

/** An IPv4 address with every octet in 0-255. */
export function isIpv4(value: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  return m?.slice(1).every((o) => Number(o) <= 255) ?? false;
}

/** The parts of an image reference (one `isImageReference` accepts). */
export interface ImageReferenceParts {
  /** Registry host (and port); undefined for Docker Hub. */
  readonly registry?: string;
  /** Repository path without the registry, `library/` removed on Docker Hub. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

const DOCKER_HUB = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

export function parseImageReference(reference: string): ImageReferenceParts {
  const at = reference.indexOf("@");
  const digest = at >= 0 ? reference.slice(at + 1) : undefined;
  const named = at >= 0 ? reference.slice(0, at) : reference;
  const slash = named.indexOf("/");
  const first = slash >= 0 ? named.slice(0, slash) : "";
  // Like Docker: a first component with a dot or a port, or "localhost", is a registry.
  const hasRegistry = slash >= 0 && (/[.:]/.test(first) || first === "localhost");
  const registry = hasRegistry && !DOCKER_HUB.has(first) ? first : undefined;
  const rest = hasRegistry ? named.slice(slash + 1) : named;
  const colon = rest.lastIndexOf(":");
  const tag = colon > rest.lastIndexOf("/") ? rest.slice(colon + 1) : undefined;
  const repository = tag === undefined ? rest : rest.slice(0, colon);
  const path = registry === undefined ? repository.replace(/^library\//, "") : repository;
  return { registry, path, tag, digest };
}

/**
 * How an image relates to the official one of its software: `official` (Docker
 * Hub's, or a mirror in another registry under the same name), `alpine` (an
 * Alpine tag of those: musl and busybox, no bash), or `custom` (anything else:
 * the library cannot know what it contains).
 */
export type ImageKind = "official" | "alpine" | "custom";

export function classifyImage(software: Software, reference: string): ImageKind {
  const { registry, path, tag } = parseImageReference(reference);
  const official = registry === undefined ? path === software : path.split("/").pop() === software;
  if (/alpine/i.test(tag ?? "")) return "alpine";
  return official ? "official" : "custom";
}

/** The services that run the HTTP probe (healthcheck-http.sh) as their health check. */
const HTTP_PROBED: ReadonlySet<Software> = new Set<Software>(["haproxy", "nginx", "node"]);

/** Binaries a start script and health check of each software call. */
const SOFTWARE_BINARIES: Readonly<Record<Software, readonly string[]>> = {
  haproxy: ["haproxy"],
  nginx: ["nginx"],
  node: ["node"],
  mariadb: [DIALECTS.mariadb.server, DIALECTS.mariadb.initializeCommand("", "").split(" ")[0], DIALECTS.mariadb.client, DIALECTS.mariadb.admin],
  mysql: [DIALECTS.mysql.server, DIALECTS.mysql.client, DIALECTS.mysql.admin],
  prometheus: ["prometheus", "promtool", "setpriv"],
  alertmanager: ["prometheus-alertmanager", "setpriv"],
  "nginx-exporter": ["prometheus-nginx-exporter", "setpriv"],
  "mysqld-exporter": ["prometheus-mysqld-exporter", "setpriv"],
};

/** Users (and groups) the software drops to: they must exist in the image. */
const SOFTWARE_USERS: Readonly<Record<Software, string>> = {
  haproxy: `the user ${HAPROXY_DEFAULTS.user}`,
  nginx: `the user ${NGINX_DEFAULTS.user.split(" ")[0]} and the group ${NGINX_DEFAULTS.user.split(" ")[1]}`,
  node: "the user node (the app's default user)",
  mariadb: "the user and group mysql",
  mysql: "the user and group mysql",
  prometheus: `the user and group ${MONITORING_USER}`,
  alertmanager: `the user and group ${MONITORING_USER}`,
  "nginx-exporter": `the user and group ${MONITORING_USER}`,
  "mysqld-exporter": `the user and group ${MONITORING_USER}`,
};

/** The POSIX tools the start scripts call besides the software's own binaries. */
const SCRIPT_TOOLS = ["cat", "chmod", "chown", "date", "find", "getent", "head", "kill", "ls", "mkdir", "mkfifo", "mv", "rm", "rmdir", "sed", "sleep", "touch"];

/** The interpreter the HTTP health check runs the probe with (`/bin/bash` or `/bin/sh`). */
export function httpProbeShell(): string {
  return httpHealthCheck(0, "/")[0];
}

/**
 * What an image for `software` must contain, in one sentence: its binaries,
 * `/bin/sh` with the tools the start scripts use, what the HTTP probe needs
 * (bash when the health check runs it with bash; else bash, wget or curl), and
 * the users the software runs as.
 */
export function customImageContract(software: Software, probeShell: string = httpProbeShell()): string {
  const probe = !HTTP_PROBED.has(software)
    ? []
    : /bash$/.test(probeShell)
      ? ["bash (the HTTP health check runs with /bin/bash)"]
      : ["bash, wget or curl (for the HTTP health check)"];
  return [`${SOFTWARE_BINARIES[software].join(", ")} on the PATH`, `/bin/sh with ${SCRIPT_TOOLS.join(", ")}`, ...probe, SOFTWARE_USERS[software]].join("; ");
}

/** The default image without its digest: the tag to suggest in a fix. */
function defaultTag(software: Software): string {
  return DEFAULT_DOCKER_IMAGES[software].split("@")[0];
}

/**
 * Checks one image override against what the library runs in it. An error when
 * it cannot work (an Alpine tag while the health check needs bash; an Alpine
 * tag of an image that has none); a warning when it may (an Alpine tag with the
 * POSIX probe; an image that is not the official one).
 */
export function checkImageOverride(
  software: Software,
  image: string,
  probeShell: string = httpProbeShell(),
): { error?: { problem: string; fix: string }; warning?: { problem: string; fix: string } } {
  const kind = classifyImage(software, image);
  if (kind === "official") return {};
  const contract = customImageContract(software, probeShell);
  const fix = `use a Debian-based tag such as "${defaultTag(software)}" (or leave images.${software} unset for the pinned default), or an image that contains: ${contract}`;
  if (kind === "alpine") {
    const { registry, path } = parseImageReference(image);
    if ((software === "mariadb" || software === "mysql") && registry === undefined && path === software) {
      return {
        error: {
          problem: `"${image}" is an Alpine tag, which the official ${software} image does not publish (its bases are Ubuntu/Oracle Linux and UBI)`,
          fix,
        },
      };
    }
    if (HTTP_PROBED.has(software) && /bash$/.test(probeShell)) {
      return { error: { problem: `"${image}" is Alpine-based: it has no bash, and the HTTP health check runs \`${probeShell} healthcheck-http.sh\``, fix } };
    }
    return {
      warning: {
        problem: `"${image}" is Alpine-based (musl, busybox): it runs, with the health probe falling back to busybox wget, but the lab verifies Debian-based images only`,
        fix: `prefer "${defaultTag(software)}"; an image must contain: ${contract}`,
      },
    };
  }
  return {
    warning: {
      problem: `"${image}" is not the official ${software} image, so cdktf-ha-web cannot know what it contains`,
      fix: `make sure it contains: ${contract}`,
    },
  };
}

/** The rules of DockerTargetProps (what Docker and the docker provider accept). */
export function validateDockerTargetProps(
  scope: Construct,
  props: DockerTargetProps,
  namePrefix: string,
  publishAddress: string,
  images: Record<Software, string>,
  publishPort: number,
): void {
  const v = new PropValidator("DockerTarget", scope);
  v.check(
    isDnsLabel(namePrefix) && isDockerName(namePrefix) && namePrefix.length <= 30,
    "namePrefix",
    `"${namePrefix}" is not a valid Docker name and DNS label of at most 30 characters`,
    'use lower-case letters, digits and dashes, for example "haweb"',
  );
  v.check(isIpv4(publishAddress), "publishAddress", `"${publishAddress}" is not an IPv4 address`, 'use "127.0.0.1" (local only) or "0.0.0.0"');
  for (const software of Object.keys(props.images ?? {})) {
    v.check(
      software in DEFAULT_DOCKER_IMAGES,
      "images",
      `has "${software}", which is no software the library runs`,
      `use the keys ${Object.keys(DEFAULT_DOCKER_IMAGES).join(", ")}`,
    );
  }
  for (const [software, image] of Object.entries(images)) {
    const isReference = typeof image === "string" && isImageReference(image);
    v.check(
      isReference,
      `images.${software}`,
      `"${image}" is not an image reference`,
      `use a reference like "${defaultTag("nginx")}" or "registry.example.com/team/${defaultTag("nginx")}@sha256:<digest>"`,
    );
    // Only the user's overrides: the defaults are the pinned official images.
    if (!isReference || !(software in DEFAULT_DOCKER_IMAGES) || props.images?.[software as Software] === undefined) continue;
    const { error, warning } = checkImageOverride(software as Software, image);
    if (error) v.check(false, `images.${software}`, error.problem, error.fix);
    if (warning) warnProp("DockerTarget", scope, `images.${software}`, warning.problem, warning.fix);
  }
  if (props.dockerHost !== undefined) {
    v.check(
      /^(unix|tcp|ssh|npipe):\/\/.+/.test(props.dockerHost),
      "dockerHost",
      `"${props.dockerHost}" is not a Docker daemon address`,
      'use "unix:///var/run/docker.sock", "tcp://host:2376" or "ssh://user@host"',
    );
    v.check(
      props.createProviders !== false,
      "dockerHost",
      "is set with createProviders: false, so no provider of this target would use it",
      "set the host on your own DockerProvider, or let the target create it",
    );
  }
  v.check(isPort(publishPort), "publishPort", `is ${publishPort}; it must be a whole number in 1-65535`, "use 8080");
  v.throwIfInvalid();
}
