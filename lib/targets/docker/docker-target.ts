import { createHash } from "crypto";
import { existsSync, readFileSync } from "fs";
import * as path from "path";
import { Construct } from "constructs";
import { AssetType, TerraformAsset } from "cdktf";
import { Container } from "@cdktf/provider-docker/lib/container";
import { Image } from "@cdktf/provider-docker/lib/image";
import { Network } from "@cdktf/provider-docker/lib/network";
import { Volume } from "@cdktf/provider-docker/lib/volume";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider";
import { Password } from "@cdktf/provider-random/lib/password";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { isIpv4Cidr } from "../../../templates/keepalived";
import { PATHS } from "../../../templates/paths";
import { MONITORING_PORTS } from "../../../templates/scripts/monitoring";
import { isAbsolutePath, isPort } from "../../../templates/validate";
import { escapeTerraformTemplate } from "../../private/terraform-escape";
import { httpHealthCheck, httpHealthcheckFile } from "../../private/host-files";
import { claimInApp } from "../../private/app-claims";
import { PropValidator } from "../../private/validation";
import { HostRegistry } from "../../private/host-registry";
import {
  BackupStore,
  BackupStoreRequest,
  ColocatedAddress,
  DeployedHost,
  DeploymentTarget,
  FloatingAddress,
  FloatingAddressRequest,
  FlowPeer,
  HostSpec,
  Ingress,
  isSecretReference,
  MetricsEndpoint,
  peerCode,
  ROLE_CODE,
  Secret,
  ServiceSpec,
  Software,
  TargetSupport,
} from "../target";
import { DEBIAN_PACKAGED_SOFTWARE, DEBIAN_TRIXIE_SLIM, DEFAULT_DOCKER_IMAGES, imageForVersion } from "./images";
import { validateDockerTargetProps } from "./validate-docker-target-props";

export interface DockerTargetProps {
  /**
   * Prefix of every container, network and volume name, so two stacks can share
   * one Docker engine. Letters, digits and dashes.
   * @default "haweb"
   */
  readonly namePrefix?: string;
  /** Images per software, replacing the defaults (official images). @default DEFAULT_DOCKER_IMAGES */
  readonly images?: Partial<Record<Software, string>>;
  /**
   * Host address published ports bind to. Keep 127.0.0.1 unless the stack must
   * be reachable from other machines.
   * @default "127.0.0.1"
   */
  readonly publishAddress?: string;
  /** Create the docker and random providers. Turn off when the stack already has them. @default true */
  readonly createProviders?: boolean;
  /** Docker daemon address for the provider. @default the provider's default (the local socket) */
  readonly dockerHost?: string;
  /** Keep pulled images when the stack is destroyed. @default true */
  readonly keepImagesLocally?: boolean;
  /**
   * Host port of the first published listener (the first load balancer node's);
   * each further one takes the next port. Unique per Docker engine across the
   * stacks of one app.
   * @default 8080
   */
  readonly publishPort?: number;
  /**
   * Subnet of the edge network, where clients meet the load balancers. Docker
   * allocates container addresses from its upper half only; the lower half holds
   * fixed addresses: a load-balancer pair's virtual address (`.10`) and its
   * members (`.11`, `.12`, ...). A /26 or larger, unused by other networks.
   * @default "10.213.0.0/24"
   */
  readonly edgeSubnet?: string;
  /**
   * A directory on the Docker host (absolute path) that keeps the database
   * backups: each cluster's in `<backupHostDirectory>/<cluster namePrefix>`,
   * bound at the store path of its backup source node (Docker creates a
   * missing directory). Put it on another disk, or sync it off the machine:
   * backups on the machine they protect are lost with it.
   * @default a named volume per cluster (`<namePrefix>-<cluster>-backups`), on the Docker host's disk: NOT off-site
   */
  readonly backupHostDirectory?: string;
}

/** The defaults of DockerTargetProps. */
export const DOCKER_TARGET_DEFAULTS = {
  namePrefix: "haweb",
  publishAddress: "127.0.0.1",
  publishPort: 8080,
  edgeSubnet: "10.213.0.0/24",
} as const;

/** What DockerTarget honours: every declaration of the contract. */
export const DOCKER_TARGET_SUPPORT: TargetSupport = {
  name: "DockerTarget",
  artifacts: ["bundle", "image"],
  protocols: ["tcp", "udp", "vrrp"],
  capabilities: true,
  healthChecks: true,
  secretFiles: true,
  secretLocations: ["file"],
  floatingAddresses: true,
  backupStores: true,
};

/**
 * Where a backup source node's store is mounted on DockerTarget: the cluster's
 * named volume, or its directory under `backupHostDirectory`.
 */
export const DOCKER_BACKUP_STORE_PATH = "/var/lib/ha-web/backups";

/**
 * The node exporter DockerTarget runs beside a service that writes textfile
 * metrics (the backup source): Debian's package on the pinned Debian image, in
 * the service's network namespace, with only the textfile collector (a
 * container's view of the machine would mislead), reading the directory from a
 * volume it shares with the service, read-only. Prometheus scrapes it as job "textfile".
 */
export const DOCKER_TEXTFILE_EXPORTER = {
  package: "prometheus-node-exporter",
  binary: "/usr/bin/prometheus-node-exporter",
  port: MONITORING_PORTS.nodeExporter,
  job: "textfile",
  /** Created by the package. */
  user: "prometheus",
} as const;

/** The bridge driver's option that turns masquerading (NAT to the outside) off for a network. */
const NO_MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade";

/** Label under which containers record what they were replaced along with. */
export const RESTART_WITH_LABEL_PREFIX = "ha-web.restart-with.";

/** Labels prefix under which every container describes itself (role, tier, host, allowed ingress): read by the diagram. */
export const DESCRIBE_LABEL_PREFIX = "ha-web.";

/**
 * What a container is, as labels: its role, the tier (construct path) and host it
 * belongs to, and the flows it accepts (`PORT/PROTOCOL:FROM`, space-separated), so
 * tools that read only the synthesized JSON (the diagram) see the flow model.
 */
function describeService(scope: Construct, hostName: string, service: ServiceSpec): Record<string, string> {
  return {
    [`${DESCRIBE_LABEL_PREFIX}role`]: service.role,
    [`${DESCRIBE_LABEL_PREFIX}tier`]: scope.node.path,
    [`${DESCRIBE_LABEL_PREFIX}host`]: hostName,
    [`${DESCRIBE_LABEL_PREFIX}ingress`]: service.ingress.map((i) => `${i.port}/${i.protocol ?? "tcp"}:${i.from}`).join(" "),
    ...((service.movableAddresses ?? []).length > 0 ? { [`${DESCRIBE_LABEL_PREFIX}addresses`]: service.movableAddresses!.join(" ") } : {}),
    ...Object.fromEntries(Object.entries(service.facts ?? {}).map(([k, v]) => [`${DESCRIBE_LABEL_PREFIX}${k}`, v])),
  };
}

/**
 * Local Docker: one container per service, one network per tier boundary (the
 * ones without internet access `internal`), named volumes for data, and only the
 * load balancer publishing a port, on 127.0.0.1 by default.
 */
export class DockerTarget extends Construct implements DeploymentTarget {
  public readonly support = DOCKER_TARGET_SUPPORT;
  public readonly namePrefix: string;
  public readonly publishAddress: string;
  /** Networks by boundary name (for example "lb-web"). */
  public readonly networks: Record<string, Network> = {};
  /** Containers by service name. */
  public readonly containers: Record<string, Container> = {};
  /** Named volumes by service name. */
  public readonly volumes: Record<string, Volume> = {};
  public readonly images: Record<string, Image> = {};
  private readonly overrides: Partial<Record<Software, string>>;
  private readonly keepImagesLocally: boolean;
  private readonly assets: Record<string, TerraformAsset> = {};
  private toolsContext?: TerraformAsset;
  private readonly dockerHost: string;
  private readonly registry: HostRegistry;
  private nextPublishPort: number;
  /** The edge network's subnet, its base address as a number, and its prefix length. */
  private readonly edge: { subnet: string; base: number; bits: number };
  /** Fixed addresses on the edge network, by service name (floating address members). */
  private readonly fixedEdgeAddresses: Record<string, string> = {};
  private floatingGroups = 0;
  /** Backup stores by name (a cluster's prefix): a named volume, or a directory of the Docker host. */
  private readonly backupStores: Record<string, { volume?: Volume; hostPath?: string }> = {};
  private readonly backupHostDirectory?: string;

  constructor(scope: Construct, id: string, props: DockerTargetProps = {}) {
    super(scope, id);
    this.namePrefix = props.namePrefix ?? "haweb";
    this.publishAddress = props.publishAddress ?? "127.0.0.1";
    this.overrides = { ...props.images };
    this.keepImagesLocally = props.keepImagesLocally ?? true;

    this.nextPublishPort = props.publishPort ?? DOCKER_TARGET_DEFAULTS.publishPort;
    const edgeSubnet = props.edgeSubnet ?? DOCKER_TARGET_DEFAULTS.edgeSubnet;
    new PropValidator("DockerTarget", this)
      .check(
        isIpv4Cidr(edgeSubnet) &&
          Number(edgeSubnet.split("/")[1]) <= 26 &&
          ipv4ToNumber(edgeSubnet.split("/")[0]) % 2 ** (32 - Number(edgeSubnet.split("/")[1])) === 0,
        "edgeSubnet",
        `"${edgeSubnet}" is not a network address of a /26 or larger subnet`,
        'use a private subnet no other Docker network uses, such as "10.213.0.0/24"',
      )
      .throwIfInvalid();
    new PropValidator("DockerTarget", this)
      .check(
        props.backupHostDirectory === undefined || (isAbsolutePath(props.backupHostDirectory) && props.backupHostDirectory !== "/"),
        "backupHostDirectory",
        `"${props.backupHostDirectory}" is not an absolute directory path (letters, digits, "_", ".", "-", "/"), or is "/"`,
        'give a directory of the Docker host, for example "/srv/ha-web-backups" (on another disk than Docker\'s own)',
      )
      .throwIfInvalid();
    this.backupHostDirectory = props.backupHostDirectory?.replace(/\/+$/, "");
    this.edge = { subnet: edgeSubnet, base: ipv4ToNumber(edgeSubnet.split("/")[0]), bits: Number(edgeSubnet.split("/")[1]) };
    validateDockerTargetProps(this, props, this.namePrefix, this.publishAddress, { ...DEFAULT_DOCKER_IMAGES, ...props.images }, this.nextPublishPort);
    this.registry = new HostRegistry(this, DOCKER_TARGET_SUPPORT);
    // The provider's default is the local socket: the same engine, whichever way it is written.
    this.dockerHost = props.dockerHost === undefined || props.dockerHost === "unix:///var/run/docker.sock" ? "local" : props.dockerHost;
    const owner = claimInApp(this, `docker:${this.dockerHost}:prefix:${this.namePrefix}`);
    new PropValidator("DockerTarget", this)
      .check(
        owner === undefined,
        "namePrefix",
        `"${this.namePrefix}" is already used by the DockerTarget '${owner}' of this app on the same Docker engine: both would create the same container, network and volume names`,
        "give every stack's DockerTarget its own namePrefix",
      )
      .throwIfInvalid();

    if (props.createProviders ?? true) {
      new DockerProvider(this, "docker", props.dockerHost ? { host: props.dockerHost } : {});
      new RandomProvider(this, "random");
    }
  }

  colocated(_hostName: string, serviceName: string): ColocatedAddress {
    // Containers do not share a network namespace: Nginx reaches its app by the app's alias, on the
    // network they share; the app's other networks (the database's) must not reach it.
    return { address: serviceName, bindAddress: "127.0.0.1", bindTowardPeer: true };
  }

  /** A network alias, which a promotion moves between containers. */
  movableAddress(name: string): string {
    return name;
  }

  /** The container's name, which is also its alias on every network it joins. */
  hostAddress(hostName: string): string {
    return hostName;
  }

  /**
   * None: a container cannot move a network alias (that takes the Docker API).
   * The operator does (`docker network disconnect` / `connect --alias`, see the
   * README's runbook); the lab's `promote` does it in its DNS.
   */
  moveAddressCommand(_name: string): string | undefined {
    return undefined;
  }

  createSecret(scope: Construct, id: string, name: string): Secret {
    // Alphanumeric, so the value is safe in every config syntax; 32 characters (~190 bits).
    const password = new Password(scope, id, { length: 32, special: false });
    return { name, value: password.result };
  }

  /**
   * A virtual address on the edge network that keepalived moves between the
   * members: `.10` of the edge subnet for the first group (`.20` for the next),
   * the members on the addresses after it, all below Docker's allocation range.
   */
  floatingAddress(_scope: Construct, request: FloatingAddressRequest): FloatingAddress {
    const offset = 10 * (this.floatingGroups + 1);
    this.floatingGroups++;
    const v = new PropValidator(request.declaredBy.construct, request.declaredBy.scope);
    v.check(
      request.members.length >= 2 && request.members.length <= 9,
      "nodes",
      `is ${request.members.length}; a floating address on DockerTarget is shared by 2 to 9 nodes`,
      "use 2 nodes (a pair)",
    );
    v.check(
      offset + 10 < 2 ** (32 - this.edge.bits) / 2,
      "nodes",
      `: the edge subnet ${this.edge.subnet} has no room for another floating address`,
      "give DockerTarget a larger edgeSubnet",
    );
    v.throwIfInvalid();
    const at = (n: number) => numberToIpv4(this.edge.base + n);
    const addresses = request.members.map((_, i) => at(offset + 1 + i));
    const members = Object.fromEntries(request.members.map((name, i) => [name, { address: addresses[i], peerAddresses: addresses.filter((_, j) => j !== i) }]));
    request.members.forEach((name, i) => {
      this.fixedEdgeAddresses[name] = addresses[i];
    });
    return { address: at(offset), virtualAddresses: [`${at(offset)}/${this.edge.bits}`], members };
  }

  /**
   * A cluster's backups: a named volume (`<namePrefix>-<cluster>-backups`), or
   * `<backupHostDirectory>/<cluster>`, mounted at DOCKER_BACKUP_STORE_PATH on
   * the service that writes them (the backup source node). Not off-site: it is
   * on the Docker host's disk (see docs/backup-stores.md).
   */
  backupStore(_scope: Construct, request: BackupStoreRequest): BackupStore {
    new PropValidator(request.declaredBy.construct, request.declaredBy.scope)
      .check(
        this.backupStores[request.name] === undefined,
        "namePrefix",
        `"${request.name}" already has a backup store on DockerTarget '${this.node.path}'`,
        "give each MysqlCluster its own namePrefix",
      )
      .throwIfInvalid();
    this.backupStores[request.name] = this.backupHostDirectory
      ? { hostPath: `${this.backupHostDirectory}/${request.name}` }
      : { volume: new Volume(this, `backup-volume-${request.name}`, { name: `${this.namePrefix}-${request.name}-backups` }) };
    return { config: { kind: "directory", path: DOCKER_BACKUP_STORE_PATH }, offSite: false };
  }

  addHost(scope: Construct, spec: HostSpec): DeployedHost {
    this.registry.register(spec);
    this.checkBackupDeclarations(spec);
    this.checkSidecars(spec);
    const resources: Record<string, Construct> = {};
    const movableAddresses: Record<string, string> = {};
    const metrics: MetricsEndpoint[] = [];
    let published: DeployedHost["published"];
    for (const service of spec.services) {
      const hostPorts = Object.fromEntries((service.publish?.ports ?? []).map((port) => [port, this.claimPublishPort(service.name)]));
      // A sidecar's listeners and peers are its network owner's: that container joins their networks.
      const sidecars = spec.services.filter((s) => s.sharesNetworkWith === service.name);
      resources[service.name] = this.addService(scope, spec.name, service, hostPorts, sidecars);
      if (service.publish && !published) published = { address: this.publishAddress, ports: hostPorts };
      // A movable address is a network alias: moving it is recreating two containers' aliases.
      for (const name of service.movableAddresses ?? []) movableAddresses[name] = name;
      // Prometheus reaches a sidecar at its network owner's alias.
      const alias = service.sharesNetworkWith ?? service.name;
      for (const m of service.metrics ?? [])
        metrics.push({ job: m.job, role: service.role, group: service.group, port: m.port, path: m.path, address: `${alias}:${m.port}`, node: spec.name });
      if (service.textfileMetricsDir !== undefined) {
        resources[`${service.name}-textfile-exporter`] = this.addTextfileExporter(scope, spec.name, service);
        const port = DOCKER_TEXTFILE_EXPORTER.port;
        metrics.push({ job: DOCKER_TEXTFILE_EXPORTER.job, role: service.role, group: service.group, port, address: `${alias}:${port}`, node: spec.name });
      }
    }
    return { name: spec.name, address: spec.name, resources, published, movableAddresses, metrics };
  }

  /**
   * A service may write to a backup store planned on this target, and serve
   * textfile metrics only from a network of its own, on a port the exporter
   * beside it can take.
   */
  private checkBackupDeclarations(spec: HostSpec): void {
    for (const service of spec.services) {
      const declared = service.declaredBy;
      const v = new PropValidator(declared?.construct ?? "DockerTarget", declared?.scope ?? this);
      if (service.backupStore)
        v.check(
          this.backupStores[service.backupStore.name] !== undefined,
          "backup",
          `: ${service.name} uses the backup store "${service.backupStore.name}", which DockerTarget '${this.node.path}' has not planned`,
          "ask the target for the store (backupStore) before adding its hosts",
        );
      if (service.textfileMetricsDir !== undefined) {
        v.check(
          service.sharesNetworkWith === undefined,
          "backup",
          `: ${service.name} shares another service's network, so no exporter can sit beside it for its textfile metrics`,
          "declare textfileMetricsDir on the service that owns the network",
        );
        v.check(
          isAbsolutePath(service.textfileMetricsDir) && service.textfileMetricsDir !== "/",
          "backup",
          `: textfileMetricsDir "${service.textfileMetricsDir}" of ${service.name} is not an absolute directory path`,
          "use an absolute path other than /",
        );
        const taken = spec.services.filter((s) => s === service || s.sharesNetworkWith === service.name).flatMap((s) => s.ingress.map((i) => i.port));
        v.check(
          !taken.includes(DOCKER_TEXTFILE_EXPORTER.port),
          "backup",
          `: ${service.name} (or a service in its network) listens on ${DOCKER_TEXTFILE_EXPORTER.port}, where DockerTarget runs the exporter of its textfile metrics`,
          `use a port other than ${DOCKER_TEXTFILE_EXPORTER.port}`,
        );
      }
      v.throwIfInvalid();
    }
  }

  /** The node exporter beside a service with textfile metrics: its network namespace, the directory's volume read-only. */
  private addTextfileExporter(scope: Construct, hostName: string, service: ServiceSpec): Container {
    const owner = this.containers[service.name];
    const e = DOCKER_TEXTFILE_EXPORTER;
    const name = `${service.name}-textfile-exporter`;
    return new Container(scope, `${name}-container`, {
      name: `${this.namePrefix}-${name}`,
      networkMode: `container:${owner.name}`,
      image: this.image(DEBIAN_TRIXIE_SLIM, [e.package]).imageId,
      entrypoint: [e.binary],
      command: [
        "--collector.disable-defaults",
        "--collector.textfile",
        `--collector.textfile.directory=${service.textfileMetricsDir}`,
        `--web.listen-address=:${e.port}`,
      ],
      user: e.user,
      restart: "unless-stopped",
      mustRun: true,
      labels: Object.entries({
        [`${DESCRIBE_LABEL_PREFIX}role`]: service.role,
        [`${DESCRIBE_LABEL_PREFIX}tier`]: scope.node.path,
        [`${DESCRIBE_LABEL_PREFIX}host`]: hostName,
        [`${DESCRIBE_LABEL_PREFIX}ingress`]: `${e.port}/tcp:monitoring`,
        [`${DESCRIBE_LABEL_PREFIX}textfile-of`]: service.name,
        // It lives in the service's network namespace: a new service container needs a new exporter.
        [`${RESTART_WITH_LABEL_PREFIX}${service.name}`]: owner.id,
      }).map(([label, value]) => ({ label, value })),
      upload: [httpHealthcheckFile()].map((f) => ({ file: f.path, content: escapeTerraformTemplate(f.content), executable: true })),
      healthcheck: {
        test: ["CMD", ...httpHealthCheck(e.port, "/metrics")],
        interval: "5s",
        timeout: "3s",
        retries: 3,
        startPeriod: "20s",
      },
      stopTimeout: 5,
      stopSignal: "SIGTERM",
      dependsOn: [owner],
      volumes: [{ volumeName: this.textfileVolume(service.name).name, containerPath: service.textfileMetricsDir, readOnly: true }],
    });
  }

  private textfileVolume(serviceName: string): Volume {
    this.volumes[`${serviceName}-textfile`] ??= new Volume(this, `volume-${serviceName}-textfile`, { name: `${this.namePrefix}-${serviceName}-textfile` });
    return this.volumes[`${serviceName}-textfile`];
  }

  /** The volumes of a service: its data, the backup store it writes, its textfile metrics directory. */
  private volumesOf(service: ServiceSpec): { volumeName?: string; hostPath?: string; containerPath: string }[] {
    const volumes: { volumeName?: string; hostPath?: string; containerPath: string }[] = [];
    if (service.dataVolume) volumes.push({ volumeName: this.volume(service.name).name, containerPath: service.dataVolume.mountPath });
    if (service.backupStore?.access === "write") {
      const store = this.backupStores[service.backupStore.name];
      volumes.push(
        store.volume
          ? { volumeName: store.volume.name, containerPath: DOCKER_BACKUP_STORE_PATH }
          : { hostPath: store.hostPath, containerPath: DOCKER_BACKUP_STORE_PATH },
      );
    }
    if (service.textfileMetricsDir !== undefined)
      volumes.push({ volumeName: this.textfileVolume(service.name).name, containerPath: service.textfileMetricsDir });
    return volumes;
  }

  /** A sidecar shares the network of an earlier service of its own host, and publishes nothing itself. */
  private checkSidecars(spec: HostSpec): void {
    const v = new PropValidator("DockerTarget", this);
    spec.services.forEach((service, i) => {
      const owner = service.sharesNetworkWith;
      if (owner === undefined) return;
      const earlier = spec.services.slice(0, i).find((s) => s.name === owner);
      v.check(
        earlier !== undefined && earlier.sharesNetworkWith === undefined,
        "sharesNetworkWith",
        `of ${service.name} names ${owner}, which is not an earlier service of host ${spec.name} with a network of its own`,
        "declare the service that owns the network first, on the same host",
      );
      v.check(
        service.publish === undefined,
        "publish",
        `of ${service.name}: a service sharing another's network publishes no port`,
        "publish it from the owner",
      );
    });
    v.throwIfInvalid();
  }

  /** The next free host port, checked against the other stacks of the app on this engine. */
  private claimPublishPort(serviceName: string): number {
    const port = this.nextPublishPort++;
    const v = new PropValidator("DockerTarget", this);
    v.check(isPort(port), "publishPort", `${port} (for ${serviceName}) is outside 1-65535`, "pick a lower first publish port, such as 8080");
    const elsewhere = claimInApp(this, `docker:${this.dockerHost}:port:${port}`);
    v.check(
      elsewhere === undefined,
      "publishPort",
      `${port} (for ${serviceName}) is already published by the DockerTarget '${elsewhere}' of another stack in this app on the same Docker engine`,
      "give each stack's DockerTarget its own publishPort",
    );
    v.throwIfInvalid();
    return port;
  }

  /** The image of a service: its own, the user's override for its software, or the default for its version. */
  private imageFor(service: ServiceSpec): string {
    if (service.artifact?.kind === "image") return service.artifact.image;
    return this.overrides[service.software] ?? imageForVersion(service.software, service.version);
  }

  /**
   * Name of the Docker network between a role and the listeners it talks to
   * (`to` is a peer code: a role's, or a database cluster's): only peers that
   * talk share a network, and each database cluster has its own.
   */
  boundaryName(from: FlowPeer, to: string): string {
    if (from === "internet") return "edge";
    // Outbound to anywhere (Alertmanager's receiver): a network of the role's own, with a route out.
    return to === "internet" ? `${ROLE_CODE[from]}-out` : `${ROLE_CODE[from]}-${to}`;
  }

  private addService(scope: Construct, hostName: string, service: ServiceSpec, hostPorts: Record<number, number>, sidecars: readonly ServiceSpec[]): Container {
    const networkNames = new Set<string>();
    const networks: Network[] = [];
    let routedOut = false;
    const join = (from: FlowPeer, to: string) => {
      const boundary = this.boundaryName(from, to);
      if (networkNames.has(boundary)) return;
      networkNames.add(boundary);
      const internal = from !== "internet" && to !== "internet";
      routedOut ||= !internal;
      networks.push(this.network(boundary, internal));
    };
    const own = peerCode(service.role, service.group);
    const ingress: Ingress[] = [
      ...service.ingress,
      ...sidecars.flatMap((s) => s.ingress),
      // The exporter of its textfile metrics lives in its network namespace (addTextfileExporter).
      ...(service.textfileMetricsDir === undefined
        ? []
        : [{ port: DOCKER_TEXTFILE_EXPORTER.port, from: "monitoring" as const, description: "Prometheus scrapes the textfile metrics (backups)" }]),
    ];
    const egress = [...service.egress, ...sidecars.flatMap((s) => s.egress)];
    // VRRP needs no network of its own: a floating address's members talk on the edge network, where their fixed addresses are.
    // A sidecar joins no network: it lives in its owner's network namespace.
    if (service.sharesNetworkWith === undefined) {
      for (const flow of ingress) if (flow.protocol !== "vrrp") join(flow.from, own);
      for (const flow of egress) if (flow.protocol !== "vrrp") join(service.role, flow.to === "internet" ? "internet" : peerCode(flow.to, flow.toGroup));
    }
    // Docker forwards a published port only to a container on a non-internal network (moby/moby#36174).
    // A service published to operators (Prometheus) with no route out otherwise gets a network of its
    // own for it, without masquerading: the host reaches it, it reaches nothing beyond the host.
    if (Object.keys(hostPorts).length > 0 && !routedOut) {
      const boundary = `${ROLE_CODE[service.role]}-pub`;
      networkNames.add(boundary);
      networks.push(this.network(boundary, false, { [NO_MASQUERADE_OPTION]: "false" }));
    }
    const owner = service.sharesNetworkWith === undefined ? undefined : this.containers[service.sharesNetworkWith];

    const packaged = DEBIAN_PACKAGED_SOFTWARE[service.software];
    const image = this.image(this.imageFor(service), [...(service.tools ?? []), ...(packaged && !this.overrides[service.software] ? [packaged] : [])]);
    // Our start script replaces the image's entrypoint and its default command.
    const [entrypoint, ...command] = service.command.map(escapeTerraformTemplate);
    const run = entrypoint === undefined ? {} : { entrypoint: [entrypoint], command };
    const labels = [
      ...Object.entries(describeService(scope, hostName, service)).map(([label, value]) => ({ label, value })),
      ...(service.restartWith ?? []).map((name) => ({ label: `${RESTART_WITH_LABEL_PREFIX}${name}`, value: this.containers[name]?.id ?? "" })),
    ];

    const container = new Container(scope, `${service.name}-container`, {
      name: `${this.namePrefix}-${service.name}`,
      // A sidecar has its owner's network namespace, hostname included.
      ...(owner ? { networkMode: `container:${owner.name}` } : { hostname: service.name }),
      image: image.imageId,
      ...run,
      user: service.user,
      restart: "unless-stopped",
      mustRun: true,
      env: [
        ...Object.entries(service.environment).map(([k, value]) => escapeTerraformTemplate(`${k}=${value}`)),
        // A secret is a file the service reads through NAME_FILE (as on a VM): `docker inspect` shows the path, not the value.
        ...Object.keys(service.secretEnvironment).map((k) => `${k}_FILE=${PATHS.secretsDir}/${k}`),
      ],
      networksAdvanced: owner
        ? undefined
        : networks.map((network) => ({
            name: network.name,
            aliases: [service.name, ...(service.movableAddresses ?? [])],
            // A floating address's members sit on fixed edge addresses: keepalived's unicast peers.
            ipv4Address: network === this.networks.edge ? this.fixedEdgeAddresses[service.name] : undefined,
          })),
      capabilities: (service.capabilities ?? []).length > 0 ? { add: [...service.capabilities!] } : undefined,
      upload: [
        // Terraform would read the scripts' ${...} as its own template syntax.
        ...service.files.map((f) => ({ file: f.path, content: escapeTerraformTemplate(f.content), executable: f.executable ?? false })),
        ...(service.artifact?.kind === "bundle" ? [this.bundleUpload(service.artifact.sourcePath, service.artifact.path)] : []),
        // Readable by the service's own user (the app runs as "node" from the start); nobody else lives in the container.
        ...Object.entries(service.secretEnvironment).map(([k, secret]) => ({ file: `${PATHS.secretsDir}/${k}`, content: secret.value, permissions: "0444" })),
        // A reference: Terraform writes the value (or copies the user's file) into the container, never into the JSON.
        ...Object.entries(service.secretFiles ?? {}).map(([file, secret]) =>
          isSecretReference(secret)
            ? { file, ...fileSource((secret.location as { path: string }).path), permissions: "0400" }
            : { file, content: secret.value, permissions: "0400" },
        ),
      ],
      healthcheck: {
        test: ["CMD", ...service.healthCheck.command.map(escapeTerraformTemplate)],
        interval: "5s",
        timeout: "3s",
        retries: 3,
        startPeriod: `${service.healthCheck.startPeriodSeconds}s`,
      },
      labels,
      stopTimeout: service.stopTimeoutSeconds,
      // A node that may take a movable alias (a database promotion moves the writer's by hand): the next deploy
      // must not give it back to the first primary. The trade-off: a changed network of these containers needs
      // `cdktf deploy -replace` (or a taint) to take effect.
      ...((service.movesAddresses ?? []).length > 0 ? { lifecycle: { ignoreChanges: ["networks_advanced"] } } : {}),
      // Explicit, not the image's STOPSIGNAL: a built or user image may differ from the official one.
      stopSignal: service.stopSignal ?? "SIGTERM",
      dependsOn: service.dependsOn.map((name) => this.containers[name]),
      ports:
        Object.keys(hostPorts).length > 0
          ? Object.entries(hostPorts).map(([internal, external]) => ({ internal: Number(internal), external, ip: this.publishAddress }))
          : undefined,
      volumes: this.volumesOf(service).length > 0 ? this.volumesOf(service) : undefined,
    });
    this.containers[service.name] = container;
    return container;
  }

  private network(boundary: string, internal: boolean, options?: Record<string, string>): Network {
    // The edge network has a fixed subnet: its lower half holds the floating addresses, Docker allocates from the upper.
    const half = numberToIpv4(this.edge.base + 2 ** (32 - this.edge.bits) / 2);
    const ipam = boundary === "edge" ? { ipamConfig: [{ subnet: this.edge.subnet, ipRange: `${half}/${this.edge.bits + 1}` }] } : {};
    this.networks[boundary] ??= new Network(this, `network-${boundary}`, {
      name: `${this.namePrefix}-${boundary}`,
      internal,
      driver: "bridge",
      ...(options ? { options } : {}),
      ...ipam,
    });
    return this.networks[boundary];
  }

  private volume(serviceName: string): Volume {
    this.volumes[serviceName] ??= new Volume(this, `volume-${serviceName}`, { name: `${this.namePrefix}-${serviceName}-data` });
    return this.volumes[serviceName];
  }

  /**
   * The image a service runs: the pinned one, or, when the service needs tools
   * beside its software (keepalived), an image built on it with Debian's packages
   * (tools-image/Dockerfile), named after the base and the tools.
   */
  private image(name: string, tools: readonly string[]): Image {
    this.images[name] ??= new Image(this, `image-${name.replace(/[^A-Za-z0-9]+/g, "-")}`, { name, keepLocally: this.keepImagesLocally });
    if (tools.length === 0) return this.images[name];
    const packages = [...new Set(tools)].sort();
    const key = `${name}+${packages.join("+")}`;
    if (!this.images[key]) {
      this.toolsContext ??= new TerraformAsset(this, "tools-image-context", { path: toolsImageContext(), type: AssetType.DIRECTORY });
      const repository = name.split("@")[0];
      const software = repository.slice(repository.lastIndexOf("/") + 1).split(":")[0];
      const tag = createHash("sha256").update(key).digest("hex").slice(0, 12);
      this.images[key] = new Image(this, `image-${software}-with-${packages.join("-")}`, {
        name: `${this.namePrefix}-${software}-${packages.join("-")}:${tag}`,
        keepLocally: this.keepImagesLocally,
        buildAttribute: { context: this.toolsContext.path, buildArgs: { BASE: name, PACKAGES: packages.join(" ") } },
      });
    }
    return this.images[key];
  }

  private bundleUpload(sourcePath: string, file: string) {
    const id = `asset-${Object.keys(this.assets).length + 1}`;
    this.assets[sourcePath] ??= new TerraformAsset(this, id, { path: sourcePath, type: AssetType.FILE });
    const asset = this.assets[sourcePath];
    return { file, source: asset.path, sourceHash: asset.assetHash };
  }
}

function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** The Docker build context of images with tools: beside this file in a build, in the repository's lib/ otherwise. */
function toolsImageContext(): string {
  const candidates = [
    path.resolve(__dirname, "tools-image"),
    ...[3, 4, 5].map((up) => path.resolve(__dirname, ...Array<string>(up).fill(".."), "lib", "targets", "docker", "tools-image")),
  ];
  const found = candidates.find((c) => existsSync(path.join(c, "Dockerfile")));
  if (!found) throw new Error(`DockerTarget: the tools image's Dockerfile is missing (looked in ${candidates.join(", ")}). Fix: run \`npm run build\`.`);
  return found;
}

/** A file Terraform copies from the deploying machine, with its content's hash: a changed file replaces the container. */
function fileSource(path: string): { source: string; sourceHash?: string } {
  return existsSync(path) ? { source: path, sourceHash: createHash("sha256").update(readFileSync(path)).digest("hex") } : { source: path };
}
