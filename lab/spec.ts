/**
 * Reads a synthesized Docker stack (cdktf's `cdk.tf.json`) and turns it into the
 * plan the lab runs. This is the only place that knows the JSON's shape: no
 * parallel model of the stack exists. Terraform references that the Docker
 * target emits are resolved here; anything else fails loudly with its JSON path.
 */
import { createHash, randomInt } from "crypto";
import { existsSync, readFileSync, statSync } from "fs";
import { constants as osConstants } from "os";
import { dirname, isAbsolute, join, resolve } from "path";
import { ipv4InCidr, parseCidr } from "./ipv4";
import { generateTlsMaterial, TLS_RESOURCE_TYPES, TlsMaterial } from "./tls";

export interface LabUpload {
  file: string;
  /** Inline content, or the absolute path of the file to copy (a `source` relative to the stack dir). */
  content?: string;
  sourcePath?: string;
  executable: boolean;
  /** `permissions` (octal, e.g. "0400"): the file's mode; else 0755 if executable, 0644 otherwise. */
  mode?: number;
}

export interface LabNetworkAttachment {
  /** Docker network name (resolved). */
  network: string;
  aliases: string[];
  /** `ipv4_address`: a fixed address (the network must have an `ipam_config` subnet holding it). */
  ipv4Address?: string;
}

export interface LabContainer {
  /** Terraform resource key, e.g. "web_web-1-container_319E331E". */
  key: string;
  /** Docker container name, e.g. "haweb-web-1". */
  name: string;
  hostname: string;
  /**
   * The Docker image name the container would run (only to pick host binaries);
   * for a built image (`docker_image.build`), its `BASE` build argument.
   */
  image: string;
  /** Debian packages a built image adds to its base (`build_args.PACKAGES`): they must be installed on this host. */
  packages: string[];
  imageId: string;
  /** Lab container id (what `${docker_container.X.id}` resolves to). */
  id: string;
  entrypoint: string[];
  command: string[];
  env: string[];
  user: string;
  restart: string;
  stopTimeoutSeconds: number;
  /** `stop_signal` as a signal name (`SIGUSR1`); unset: `docker stop` sends the image's STOPSIGNAL (lab/prereqs.ts), else SIGTERM. */
  stopSignal?: NodeJS.Signals;
  uploads: LabUpload[];
  networks: LabNetworkAttachment[];
  ports: { internal: number; external: number; ip: string; protocol: string }[];
  volumes: { volume: string; containerPath: string; readOnly: boolean }[];
  healthcheck?: { test: string[]; intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number };
  sysctls: Record<string, string>;
  /** Resource keys of containers this one depends on (Terraform depends_on, plus the network owner of `networkOf`). */
  dependsOn: string[];
  /**
   * `network_mode = "container:<name>"`: the container name whose network namespace
   * this one joins (a sidecar). It has no networks, hostname, ports or sysctls of its own.
   */
  networkOf?: string;
  labels: Record<string, string>;
  /** Attributes the lab accepts but treats differently from Docker (listed in lab/README.md). */
  notes: string[];
}

export interface LabPlan {
  stackDir: string;
  stackFile: string;
  networks: LabNetwork[];
  volumes: { key: string; name: string }[];
  /** In start order (depends_on respected). */
  containers: LabContainer[];
  /** Generated secrets by resource key (random_password.X.result). */
  secrets: Record<string, string>;
  /** TLS keys and certificates the lab generated with openssl (tls_private_key, tls_self_signed_cert), by resource key. */
  tls: TlsMaterial;
  outputs: Record<string, unknown>;
}

export interface LabNetwork {
  key: string;
  name: string;
  internal: boolean;
  /** `ipam_config[0].subnet` (else the lab picks 10.231.<n>.0/24). */
  subnet?: string;
  /** `ipam_config[0].ip_range`: where dynamic addresses come from (else the whole subnet). */
  ipRange?: string;
}

/** Options of planFromJson/loadPlan beyond the JSON. */
export interface PlanOptions {
  /** Generated passwords of an earlier plan, by resource key (kept stable). */
  previousSecrets?: Record<string, string>;
  /**
   * Where the TLS material is generated and kept (`<key>.key.pem`, `<key>.cert.pem`):
   * files already there are reused. Unset: a temporary directory, removed afterwards.
   */
  tlsDir?: string;
}

export class UnresolvableExpressionError extends Error {}

/** Container attributes the lab understands. Anything else fails loudly. */
const KNOWN_CONTAINER_KEYS = new Set([
  "//",
  "name",
  "hostname",
  "image",
  "entrypoint",
  "command",
  "env",
  "user",
  "restart",
  "must_run",
  "upload",
  "networks_advanced",
  "ports",
  "volumes",
  "healthcheck",
  "depends_on",
  "labels",
  "stop_timeout",
  "stop_signal",
  // Terraform's own meta-argument (ignore_changes on a database node's networks): no effect on a running container.
  "lifecycle",
  "sysctls",
  "capabilities",
  "wait",
  "wait_timeout",
  "start",
  "attach",
  "logs",
  "rm",
  "init",
  "working_dir",
  "network_mode",
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Ctx {
  secrets: Record<string, string>;
  tls: TlsMaterial;
  known: {
    random_password: Set<string>;
    docker_network: Record<string, string>;
    docker_volume: Record<string, string>;
    docker_image: Record<string, string>;
    docker_container: Record<string, string>;
    /** Container names by resource key (`${docker_container.X.name}`: a sidecar's network_mode). */
    docker_container_name: Record<string, string>;
  };
}

/**
 * Loads and resolves `stackFile`. `previousSecrets` keeps generated passwords
 * stable (the lab reuses them across `kill`/`start`, like Terraform state).
 */
export function loadPlan(stackFile: string, opts: PlanOptions = {}): LabPlan {
  if (!existsSync(stackFile)) throw new Error(`synthesized stack not found: ${stackFile} (run \`npm run synth\`)`);
  const raw = JSON.parse(readFileSync(stackFile, "utf8")) as {
    resource?: Record<string, Record<string, Record<string, Json>>>;
    output?: Record<string, { value: Json }>;
  };
  return planFromJson(raw, dirname(resolve(stackFile)), resolve(stackFile), opts);
}

export function planFromJson(
  raw: { resource?: Record<string, Record<string, Record<string, Json>>>; output?: Record<string, { value: Json }> },
  stackDir: string,
  stackFile = join(stackDir, "cdk.tf.json"),
  options: PlanOptions | Record<string, string> = {},
): LabPlan {
  const opts: PlanOptions =
    "previousSecrets" in options || "tlsDir" in options ? (options as PlanOptions) : { previousSecrets: options as Record<string, string> };
  const previousSecrets = opts.previousSecrets ?? {};
  const resources = raw.resource ?? {};
  const supported = new Set(["docker_container", "docker_network", "docker_volume", "docker_image", "random_password", ...TLS_RESOURCE_TYPES]);
  for (const type of Object.keys(resources)) {
    if (!supported.has(type)) throw new Error(`$.resource.${type}: the lab does not know how to create "${type}" resources`);
  }
  const secrets: Record<string, string> = {};
  for (const [key, pw] of Object.entries(resources.random_password ?? {})) {
    const length = Number(pw.length ?? 16);
    secrets[key] = previousSecrets[key] ?? generatePassword(length, pw.special !== false);
  }
  const containerIds: Record<string, string> = {};
  for (const [key, c] of Object.entries(resources.docker_container ?? {})) {
    containerIds[key] = createHash("sha256")
      .update(`hwl:${String(c.name)}:${key}`)
      .digest("hex");
  }
  const tls = generateTlsMaterial(resources.tls_private_key as never, resources.tls_self_signed_cert as never, opts.tlsDir);
  const ctx: Ctx = {
    secrets,
    tls,
    known: {
      random_password: new Set(Object.keys(secrets)),
      docker_network: mapField(resources.docker_network, "name", "$.resource.docker_network"),
      docker_volume: mapField(resources.docker_volume, "name", "$.resource.docker_volume"),
      docker_image: Object.fromEntries(Object.entries(resources.docker_image ?? {}).map(([k, v]) => [k, `lab-image:${String(v.name)}`])),
      docker_container: containerIds,
      docker_container_name: Object.fromEntries(
        Object.entries(resources.docker_container ?? {})
          .filter(([, c]) => typeof c.name === "string" && !c.name.includes("${"))
          .map(([k, c]) => [k, String(c.name)]),
      ),
    },
  };
  const images = Object.fromEntries(Object.entries(resources.docker_image ?? {}).map(([key, v]) => [`lab-image:${String(v.name)}`, imageOf(key, v, stackDir)]));

  const networks: LabNetwork[] = Object.entries(resources.docker_network ?? {}).map(([key, n]) => ({
    key,
    name: resolveString(String(n.name), `$.resource.docker_network.${key}.name`, ctx),
    internal: n.internal === true,
    ...ipamOf(n.ipam_config, `$.resource.docker_network.${key}.ipam_config`),
  }));
  for (const [key, n] of Object.entries(resources.docker_network ?? {})) {
    for (const attr of Object.keys(n)) {
      if (!["//", "name", "internal", "driver", "attachable", "check_duplicate", "ipam_config", "options"].includes(attr)) {
        throw new Error(`$.resource.docker_network.${key}.${attr}: not supported by the lab (only name, internal, driver=bridge, ipam_config, options)`);
      }
    }
    // Masquerading off is the lab's own behaviour (nothing is routed out of it); any other option would go unmodelled.
    for (const [option, value] of Object.entries((n.options ?? {}) as Record<string, unknown>)) {
      if (option !== "com.docker.network.bridge.enable_ip_masquerade" || value !== "false")
        throw new Error(`$.resource.docker_network.${key}.options.${option}: not supported by the lab (only enable_ip_masquerade=false)`);
    }
    if (n.driver !== undefined && n.driver !== "bridge")
      throw new Error(`$.resource.docker_network.${key}.driver: "${String(n.driver)}" is not supported by the lab (bridge only)`);
  }
  const volumes = Object.entries(resources.docker_volume ?? {}).map(([key, v]) => ({
    key,
    name: resolveString(String(v.name), `$.resource.docker_volume.${key}.name`, ctx),
  }));

  const containers: LabContainer[] = [];
  for (const [key, c] of Object.entries(resources.docker_container ?? {})) {
    const path = `$.resource.docker_container.${key}`;
    for (const attr of Object.keys(c)) {
      if (!KNOWN_CONTAINER_KEYS.has(attr))
        throw new Error(`${path}.${attr}: the lab does not emulate this container attribute; teach lab/spec.ts or remove it`);
    }
    const r = resolveDeep(c, path, ctx) as Record<string, Json>;
    const notes: string[] = [];
    const networkOf = networkModeOf(r, path, resources.docker_container ?? {}, ctx.known.docker_container_name);
    const image = images[String(r.image)];
    if (!image) throw new Error(`${path}.image: "${String(c.image)}" is not a docker_image of this stack`);
    const healthcheck = r.healthcheck as Record<string, Json> | undefined;
    const sysctls = (r.sysctls ?? {}) as Record<string, string>;
    if (r.capabilities) notes.push("capabilities: the lab runs containers with the host's root capabilities (no drop/add)");
    containers.push({
      key,
      name: String(r.name),
      hostname: String(r.hostname ?? r.name),
      image: image.base,
      packages: image.packages,
      imageId: String(r.image),
      id: containerIds[key],
      entrypoint: (r.entrypoint as string[] | undefined) ?? [],
      command: (r.command as string[] | undefined) ?? [],
      env: (r.env as string[] | undefined) ?? [],
      user: String(r.user ?? "root"),
      restart: String(r.restart ?? "no"),
      stopTimeoutSeconds: Number(r.stop_timeout ?? 10),
      stopSignal: r.stop_signal === undefined || r.stop_signal === null ? undefined : signalName(r.stop_signal, `${path}.stop_signal`),
      uploads: ((r.upload as Record<string, Json>[] | undefined) ?? []).map((u, i) => {
        const base = { file: String(u.file), executable: u.executable === true, ...uploadMode(u.permissions, `${path}.upload[${i}].permissions`) };
        for (const attr of Object.keys(u)) {
          if (!["file", "content", "content_base64", "source", "source_hash", "executable", "permissions"].includes(attr))
            throw new Error(`${path}.upload[${i}].${attr}: the lab does not emulate this upload attribute`);
        }
        if (u.content_base64 !== undefined) return { ...base, content: Buffer.from(String(u.content_base64), "base64").toString("binary") };
        if (u.content !== undefined) return { ...base, content: String(u.content) };
        if (u.source !== undefined) {
          const src = String(u.source);
          const sourcePath = isAbsolute(src) ? src : join(stackDir, src);
          if (!existsSync(sourcePath)) throw new Error(`${path}.upload[${i}].source: ${sourcePath} does not exist`);
          return { ...base, sourcePath };
        }
        throw new Error(`${path}.upload[${i}]: has neither content, content_base64 nor source`);
      }),
      networks: ((r.networks_advanced as Record<string, Json>[] | undefined) ?? []).map((n, i) => {
        for (const attr of Object.keys(n)) {
          if (!["name", "aliases", "ipv4_address"].includes(attr))
            throw new Error(`${path}.networks_advanced[${i}].${attr}: the lab does not emulate this attribute (name, aliases, ipv4_address)`);
        }
        return {
          network: String(n.name),
          aliases: ((n.aliases as string[] | undefined) ?? []).map(String),
          ...(n.ipv4_address ? { ipv4Address: String(n.ipv4_address) } : {}),
        };
      }),
      ports: ((r.ports as Record<string, Json>[] | undefined) ?? []).map((p) => ({
        internal: Number(p.internal),
        external: Number(p.external ?? p.internal),
        ip: String(p.ip ?? "0.0.0.0"),
        protocol: String(p.protocol ?? "tcp"),
      })),
      volumes: ((r.volumes as Record<string, Json>[] | undefined) ?? []).map((v, i) => {
        if (!v.volume_name) throw new Error(`${path}.volumes[${i}]: only named volumes are supported (volume_name)`);
        return { volume: String(v.volume_name), containerPath: String(v.container_path), readOnly: v.read_only === true };
      }),
      healthcheck: healthcheck
        ? {
            test: (healthcheck.test as string[]).map(String),
            intervalMs: durationMs(healthcheck.interval, 30_000),
            timeoutMs: durationMs(healthcheck.timeout, 30_000),
            retries: Number(healthcheck.retries ?? 3),
            startPeriodMs: durationMs(healthcheck.start_period, 0),
          }
        : undefined,
      sysctls,
      ...(networkOf ? { networkOf: networkOf.name } : {}),
      dependsOn: [...((c.depends_on as string[] | undefined) ?? []), ...(networkOf ? [`docker_container.${networkOf.key}`] : [])]
        .map((d, i) => {
          const m = /^docker_container\.(.+)$/.exec(d);
          if (!m) {
            if (/^(docker_network|docker_volume|docker_image|random_password|tls_private_key|tls_self_signed_cert)\./.test(d)) return "";
            throw new Error(`${path}.depends_on[${i}]: "${d}" is not a resource the lab creates`);
          }
          if (!resources.docker_container?.[m[1]]) throw new Error(`${path}.depends_on[${i}]: "${d}" is not in this stack`);
          return m[1];
        })
        .filter((d, i, all) => d !== "" && all.indexOf(d) === i),
      labels: Object.fromEntries(((r.labels as Record<string, Json>[] | undefined) ?? []).map((l) => [String(l.label), String(l.value)])),
      notes,
    });
    for (const n of containers[containers.length - 1].networks) {
      const network = networks.find((x) => x.name === n.network);
      if (!network) throw new Error(`${path}.networks_advanced: network "${n.network}" is not a docker_network of this stack`);
      if (n.ipv4Address !== undefined) {
        if (!network.subnet)
          throw new Error(
            `${path}.networks_advanced: ipv4_address ${n.ipv4Address} on network "${n.network}", which has no ipam_config subnet (Docker refuses it too)`,
          );
        if (!ipv4InCidr(n.ipv4Address, network.subnet))
          throw new Error(`${path}.networks_advanced: ipv4_address ${n.ipv4Address} is outside network "${n.network}"'s subnet ${network.subnet}`);
      }
    }
    for (const v of containers[containers.length - 1].volumes) {
      if (!volumes.some((x) => x.name === v.volume)) throw new Error(`${path}.volumes: volume "${v.volume}" is not a docker_volume of this stack`);
    }
  }
  for (const c of containers) {
    const owner = c.networkOf === undefined ? undefined : containers.find((x) => x.name === c.networkOf);
    if (owner?.networkOf !== undefined)
      throw new Error(
        `$.resource.docker_container.${c.key}.network_mode: "container:${owner.name}" joins a container that itself joins ${owner.networkOf}'s network; the lab supports one level (join ${owner.networkOf} directly)`,
      );
  }
  const outputs = Object.fromEntries(Object.entries(raw.output ?? {}).map(([k, o]) => [k, resolveDeep(o.value, `$.output.${k}.value`, ctx)]));
  return { stackDir, stackFile, networks, volumes, containers: startOrder(containers), secrets, tls, outputs };
}

/**
 * `network_mode`: unset, or `container:<name>` of another container of this
 * stack (a sidecar: it joins that container's network namespace, as Docker's
 * `--network container:NAME`). Like Docker, such a container has no networks,
 * hostname, published ports or sysctls of its own; any other mode fails.
 */
function networkModeOf(
  r: Record<string, Json>,
  path: string,
  containers: Record<string, Record<string, Json>>,
  names: Record<string, string>,
): { key: string; name: string } | undefined {
  const mode = r.network_mode;
  if (mode === undefined || mode === null) return undefined;
  const m = /^container:(.+)$/.exec(String(mode));
  if (!m) throw new Error(`${path}.network_mode: "${String(mode)}" is not supported by the lab (only "container:<name>" of a container of this stack)`);
  const key = Object.keys(containers).find((k) => names[k] === m[1]);
  if (key === undefined) throw new Error(`${path}.network_mode: "${String(mode)}" names no docker_container of this stack`);
  if (names[key] === r.name) throw new Error(`${path}.network_mode: a container cannot join its own network`);
  for (const attr of ["networks_advanced", "hostname", "ports", "sysctls"]) {
    const v = r[attr];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
      throw new Error(`${path}.${attr}: conflicts with network_mode "container:${m[1]}" (Docker refuses it: the container has ${m[1]}'s network)`);
  }
  return { key, name: m[1] };
}

/**
 * A docker_image: a pulled image is its name; a built one (`build`) is the lab's
 * reading of the Docker target's tools image: `build_args.BASE` (whose host
 * binaries stand in for it) plus the Debian packages `build_args.PACKAGES`, which
 * must be installed on this host. Anything else in `build` fails.
 */
function imageOf(key: string, v: Record<string, Json>, stackDir: string): { base: string; packages: string[] } {
  const path = `$.resource.docker_image.${key}`;
  const build = v.build as Record<string, Json> | undefined;
  if (build === undefined || build === null) return { base: String(v.name), packages: [] };
  const b = (Array.isArray(build) ? build[0] : build) as Record<string, Json>;
  for (const attr of Object.keys(b)) {
    if (!["context", "build_args", "dockerfile"].includes(attr))
      throw new Error(`${path}.build.${attr}: the lab knows a built image only as build_args.BASE plus build_args.PACKAGES (context, dockerfile)`);
  }
  const context = String(b.context ?? "");
  const contextPath = isAbsolute(context) ? context : join(stackDir, context);
  if (!context || !existsSync(contextPath) || !statSync(contextPath).isDirectory()) throw new Error(`${path}.build.context: ${contextPath} is not a directory`);
  const args = (b.build_args ?? {}) as Record<string, Json>;
  for (const arg of Object.keys(args)) {
    if (!["BASE", "PACKAGES"].includes(arg)) throw new Error(`${path}.build.build_args.${arg}: the lab knows a built image only by BASE and PACKAGES`);
  }
  if (typeof args.BASE !== "string" || args.BASE.includes("${"))
    throw new Error(`${path}.build.build_args.BASE: missing or not a literal image name; the lab runs a built image as its base image's host binaries`);
  const packages = String(args.PACKAGES ?? "")
    .split(/\s+/)
    .filter(Boolean);
  for (const p of packages) if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) throw new Error(`${path}.build.build_args.PACKAGES: "${p}" is not a Debian package name`);
  return { base: args.BASE, packages };
}

/** `ipam_config`: one IPv4 subnet, optionally an ip_range inside it; nothing else. */
function ipamOf(value: Json | undefined, path: string): { subnet?: string; ipRange?: string } {
  if (value === undefined || value === null) return {};
  const list = (Array.isArray(value) ? value : [value]) as Record<string, Json>[];
  if (list.length !== 1) throw new Error(`${path}: the lab supports exactly one ipam_config block (IPv4)`);
  const [c] = list;
  for (const attr of Object.keys(c)) {
    if (!["subnet", "ip_range", "gateway"].includes(attr)) throw new Error(`${path}[0].${attr}: not supported by the lab (subnet, ip_range)`);
  }
  const subnet = String(c.subnet ?? "");
  const parsed = parseCidr(subnet, `${path}[0].subnet`);
  if (parsed.prefixLength > 29) throw new Error(`${path}[0].subnet: ${subnet} is too small for the lab`);
  if (c.ip_range === undefined || c.ip_range === null) return { subnet };
  const ipRange = String(c.ip_range);
  const range = parseCidr(ipRange, `${path}[0].ip_range`);
  if (range.prefixLength < parsed.prefixLength || !ipv4InCidr(range.network, subnet))
    throw new Error(`${path}[0].ip_range: ${ipRange} is not inside the subnet ${subnet}`);
  return { subnet, ipRange };
}

/** An upload's `permissions` ("0400") as a mode. */
function uploadMode(value: Json | undefined, path: string): { mode?: number } {
  if (value === undefined || value === null) return {};
  const raw = String(value);
  if (!/^0?[0-7]{3,4}$/.test(raw)) throw new Error(`${path}: "${raw}" is not an octal file mode`);
  return { mode: Number.parseInt(raw, 8) };
}

function mapField(group: Record<string, Record<string, Json>> | undefined, field: string, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(group ?? {})) {
    const v = value[field];
    if (typeof v !== "string" || v.includes("${")) throw new Error(`${path}.${key}.${field}: must be a literal string for the lab`);
    out[key] = v;
  }
  return out;
}

/**
 * Terraform reads every JSON string as a template: `${expr}` interpolates,
 * `$${` and `%%{` are escaped literals, `%{...}` is a directive. The lab does
 * the same, so a shell `${VAR}` that the target forgot to escape fails here as
 * it would fail `terraform plan`.
 */
export function resolveString(value: string, path: string, ctx: Ctx): string {
  let out = "";
  let i = 0;
  while (i < value.length) {
    if (value.startsWith("$${", i)) {
      out += "${";
      i += 3;
    } else if (value.startsWith("%%{", i)) {
      out += "%{";
      i += 3;
    } else if (value.startsWith("${", i) || value.startsWith("%{", i)) {
      const close = value.indexOf("}", i);
      const whole = close < 0 ? value.slice(i) : value.slice(i, close + 1);
      const replacement = value[i] === "$" ? resolveReference(whole.slice(2, -1), ctx) : undefined;
      if (replacement === undefined) {
        throw new UnresolvableExpressionError(
          `${path}: cannot resolve Terraform ${value[i] === "%" ? "template directive" : "expression"} ${whole} ` +
            `(the lab resolves random_password.X.result, docker_network.X.name, docker_volume.X.name, docker_image.X.image_id, docker_container.X.id, docker_container.X.name, ` +
            `tls_private_key.X.private_key_pem and tls_self_signed_cert.X.cert_pem of this stack; ` +
            `a literal "\${" must be written "$\${" in Terraform JSON)`,
        );
      }
      out += replacement;
      i += whole.length;
    } else {
      out += value[i];
      i += 1;
    }
  }
  return out;
}

function resolveReference(expr: string, ctx: Ctx): string | undefined {
  const m =
    /^(random_password|docker_network|docker_volume|docker_image|docker_container|tls_private_key|tls_self_signed_cert)\.([A-Za-z0-9_-]+)\.([a-z_]+)$/.exec(
      expr.trim(),
    );
  if (!m) return undefined;
  const [, type, key, attr] = m;
  if (type === "tls_private_key" && attr === "private_key_pem") return ctx.tls.keys[key]?.pem;
  if (type === "tls_self_signed_cert" && attr === "cert_pem") return ctx.tls.certs[key]?.pem;
  if (type === "random_password" && attr === "result" && ctx.known.random_password.has(key)) return ctx.secrets[key];
  if (type === "docker_network" && attr === "name" && key in ctx.known.docker_network) return ctx.known.docker_network[key];
  if (type === "docker_volume" && attr === "name" && key in ctx.known.docker_volume) return ctx.known.docker_volume[key];
  if (type === "docker_image" && attr === "image_id" && key in ctx.known.docker_image) return ctx.known.docker_image[key];
  if (type === "docker_container" && attr === "id" && key in ctx.known.docker_container) return ctx.known.docker_container[key];
  if (type === "docker_container" && attr === "name" && key in ctx.known.docker_container_name) return ctx.known.docker_container_name[key];
  return undefined;
}

function resolveDeep(value: unknown, path: string, ctx: Ctx): Json {
  if (typeof value === "string") return resolveString(value, path, ctx);
  if (Array.isArray(value)) return value.map((v, i) => resolveDeep(v, `${path}[${i}]`, ctx));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === "//" ? (v as Json) : resolveDeep(v, `${path}.${k}`, ctx)]));
  }
  return value as Json;
}

/** Topological order by depends_on (stable by name); a cycle fails loudly. */
function startOrder(containers: LabContainer[]): LabContainer[] {
  const byKey = new Map(containers.map((c) => [c.key, c]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: LabContainer[] = [];
  const visit = (c: LabContainer) => {
    if (done.has(c.key)) return;
    if (visiting.has(c.key)) throw new Error(`depends_on cycle through ${c.name}`);
    visiting.add(c.key);
    for (const d of c.dependsOn) visit(byKey.get(d)!);
    visiting.delete(c.key);
    done.add(c.key);
    out.push(c);
  };
  for (const c of [...containers].sort((a, b) => a.name.localeCompare(b.name))) visit(c);
  return out;
}

function generatePassword(length: number, special: boolean): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + (special ? "!#$%&*()-_=+[]{}<>:?" : "");
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** Docker's stop_signal: a name with or without SIG (`SIGUSR1`, `USR1`) or a number, as the signal's name. */
export function signalName(value: Json, path: string): NodeJS.Signals {
  const signals = osConstants.signals as Record<string, number>;
  const raw = String(value).trim().toUpperCase();
  if (/^\d+$/.test(raw)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(raw));
    if (name) return name as NodeJS.Signals;
  } else {
    const name = raw.startsWith("SIG") ? raw : `SIG${raw}`;
    if (name in signals) return name as NodeJS.Signals;
  }
  throw new Error(`${path}: "${String(value)}" is not a signal this machine knows`);
}

function durationMs(value: Json | undefined, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(String(value));
  if (!m) throw new Error(`bad duration "${String(value)}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}
