import { Construct } from "constructs";
import { AssetType, TerraformAsset } from "cdktf";
import { Container } from "@cdktf/provider-docker/lib/container";
import { Image } from "@cdktf/provider-docker/lib/image";
import { Network } from "@cdktf/provider-docker/lib/network";
import { Volume } from "@cdktf/provider-docker/lib/volume";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider";
import { Password } from "@cdktf/provider-random/lib/password";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { isPort } from "../../../templates/validate";
import { escapeTerraformTemplate } from "../../terraform-escape";
import { claimInApp } from "../../private/app-claims";
import { PropValidator, warnProp } from "../../validation";
import { ColocatedAddress, DeployedHost, DeploymentTarget, FlowPeer, HostSpec, peerCode, ROLE_CODE, Secret, ServiceSpec, Software } from "../target";
import { DEFAULT_DOCKER_IMAGES } from "./images";
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
}


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
    [`${DESCRIBE_LABEL_PREFIX}ingress`]: service.ingress.map((i) => `${i.port}/tcp:${i.from}`).join(" "),
  };
}

/**
 * Local Docker: one container per service, one network per tier boundary (the
 * ones without internet access `internal`), named volumes for data, and only the
 * load balancer publishing a port, on 127.0.0.1 by default.
 */
export class DockerTarget extends Construct implements DeploymentTarget {
  public readonly kind = "docker";
  public readonly namePrefix: string;
  public readonly publishAddress: string;
  /** Networks by boundary name (for example "lb-web"). */
  public readonly networks: Record<string, Network> = {};
  /** Containers by service name. */
  public readonly containers: Record<string, Container> = {};
  /** Named volumes by service name. */
  public readonly volumes: Record<string, Volume> = {};
  public readonly images: Record<string, Image> = {};
  private readonly imageNames: Record<Software, string>;
  private readonly keepImagesLocally: boolean;
  private readonly assets: Record<string, TerraformAsset> = {};
  private readonly publishedPorts = new Map<number, string>();
  private readonly dockerHost: string;

  constructor(scope: Construct, id: string, props: DockerTargetProps = {}) {
    super(scope, id);
    this.namePrefix = props.namePrefix ?? "haweb";
    this.publishAddress = props.publishAddress ?? "127.0.0.1";
    this.imageNames = { ...DEFAULT_DOCKER_IMAGES, ...props.images };
    this.keepImagesLocally = props.keepImagesLocally ?? true;

    validateDockerTargetProps(this, props, this.namePrefix, this.publishAddress, this.imageNames);
    this.dockerHost = props.dockerHost ?? "default";
    const owner = claimInApp(this, `docker:${this.dockerHost}:prefix:${this.namePrefix}`);
    new PropValidator("DockerTarget", this)
      .check(owner === undefined, "namePrefix", `"${this.namePrefix}" is already used by the DockerTarget '${owner}' of this app on the same Docker engine: both would create the same container, network and volume names`, "give every stack's DockerTarget its own namePrefix")
      .throwIfInvalid();

    if (props.createProviders ?? true) {
      new DockerProvider(this, "docker", props.dockerHost ? { host: props.dockerHost } : {});
      new RandomProvider(this, "random");
    }
  }

  colocated(_hostName: string, serviceName: string): ColocatedAddress {
    // Containers do not share a network namespace: Nginx reaches its app by the app's alias.
    return { address: serviceName, bindAddress: "0.0.0.0" };
  }

  createSecret(scope: Construct, id: string, name: string): Secret {
    // Alphanumeric, so the value is safe in every config syntax; 32 characters (~190 bits).
    const password = new Password(scope, id, { length: 32, special: false });
    return { name, value: password.result };
  }

  addHost(scope: Construct, spec: HostSpec): DeployedHost {
    const resources: Record<string, Construct> = {};
    let published: DeployedHost["published"];
    for (const service of spec.services) {
      const container = this.addService(scope, spec.name, service);
      resources[service.name] = container;
      if (service.publish && !published) published = { address: this.publishAddress, port: service.publish.hostPort };
    }
    return { name: spec.name, address: spec.name, resources, published };
  }

  /**
   * Name of the Docker network between a role and the listeners it talks to
   * (`to` is a peer code: a role's, or a database cluster's): only peers that
   * talk share a network, and each database cluster has its own.
   */
  boundaryName(from: FlowPeer, to: string): string {
    return from === "internet" ? "edge" : `${ROLE_CODE[from]}-${to}`;
  }

  private addService(scope: Construct, hostName: string, service: ServiceSpec): Container {
    const v = new PropValidator("DockerTarget", this);
    v.check(!this.containers[service.name], "service name", `"${service.name}" is used by two services`, "give every node a unique name");
    if (service.publish) {
      const { hostPort } = service.publish;
      const owner = this.publishedPorts.get(hostPort);
      v.check(isPort(hostPort), "publishPort", `${hostPort} is outside 1-65535`, "pick a free host port such as 8080");
      v.check(owner === undefined, "publishPort", `${hostPort} is already published by ${owner}`, "give every published listener its own host port");
      this.publishedPorts.set(hostPort, service.name);
      const elsewhere = claimInApp(this, `docker:${this.dockerHost}:port:${hostPort}`);
      v.check(elsewhere === undefined, "publishPort", `${hostPort} is already published by the DockerTarget '${elsewhere}' of another stack in this app on the same Docker engine`, "give each stack's load balancer its own publishPort");
    }
    const declared = service.declaredBy;
    if (declared?.props["dataVolume.sizeGb"]) {
      warnProp(declared.construct, declared.scope, declared.props["dataVolume.sizeGb"], "has no effect on DockerTarget: a named volume has no size (it grows on the Docker host's disk)", "leave it unset for Docker, or use AwsTarget where it sizes the EBS volume");
    }
    const missing = service.dependsOn.filter((name) => !this.containers[name]);
    v.check(missing.length === 0, "dependsOn", `of ${service.name} names ${missing.join(", ")}, which is not deployed yet`, "declare tiers in dependency order: MysqlCluster, then WebAppTier, then LoadBalancerTier");
    v.throwIfInvalid();

    const networkNames = new Set<string>();
    const networks: Network[] = [];
    const join = (from: FlowPeer, to: string) => {
      const boundary = this.boundaryName(from, to);
      if (networkNames.has(boundary)) return;
      networkNames.add(boundary);
      networks.push(this.network(boundary, from !== "internet"));
    };
    const own = peerCode(service.role, service.group);
    for (const ingress of service.ingress) join(ingress.from, own);
    for (const egress of service.egress) join(service.role, peerCode(egress.to, egress.toGroup));

    const image = this.image(service.image ?? this.imageNames[service.software]);
    // Our start script replaces the image's entrypoint and its default command.
    const [entrypoint, ...command] = service.command.map(escapeTerraformTemplate);
    const run = entrypoint === undefined ? {} : { entrypoint: [entrypoint], command };
    const labels = [
      ...Object.entries(describeService(scope, hostName, service)).map(([label, value]) => ({ label, value })),
      ...(service.restartWith ?? []).map((name) => ({ label: `${RESTART_WITH_LABEL_PREFIX}${name}`, value: this.containers[name]?.id ?? "" })),
    ];

    const container = new Container(scope, `${service.name}-container`, {
      name: `${this.namePrefix}-${service.name}`,
      hostname: service.name,
      image: image.imageId,
      ...run,
      user: service.user,
      restart: "unless-stopped",
      mustRun: true,
      env: [
        ...Object.entries(service.environment).map(([k, value]) => escapeTerraformTemplate(`${k}=${value}`)),
        ...Object.entries(service.secretEnvironment).map(([k, secret]) => `${k}=${secret.value}`),
      ],
      networksAdvanced: networks.map((network) => ({ name: network.name, aliases: [service.name] })),
      upload: [
        // Terraform would read the scripts' ${...} as its own template syntax.
        ...service.files.map((f) => ({ file: f.path, content: escapeTerraformTemplate(f.content), executable: f.executable ?? false })),
        ...(service.assets ?? []).map((a) => {
          const asset = this.asset(a.sourcePath);
          return { file: a.path, source: asset.path, sourceHash: asset.assetHash };
        }),
      ],
      healthcheck: {
        test: ["CMD", ...service.healthCheck.map(escapeTerraformTemplate)],
        interval: "5s",
        timeout: "3s",
        retries: 3,
        startPeriod: service.dataVolume ? "120s" : "20s",
      },
      labels,
      stopTimeout: service.dataVolume ? 60 : 15,
      dependsOn: service.dependsOn.map((name) => this.containers[name]),
      ports: service.publish ? [{ internal: service.publish.port, external: service.publish.hostPort, ip: this.publishAddress }] : undefined,
      volumes: service.dataVolume ? [{ volumeName: this.volume(service.name).name, containerPath: service.dataVolume.mountPath }] : undefined,
    });
    this.containers[service.name] = container;
    return container;
  }

  private network(boundary: string, internal: boolean): Network {
    this.networks[boundary] ??= new Network(this, `network-${boundary}`, {
      name: `${this.namePrefix}-${boundary}`,
      internal,
      driver: "bridge",
    });
    return this.networks[boundary];
  }

  private volume(serviceName: string): Volume {
    this.volumes[serviceName] ??= new Volume(this, `volume-${serviceName}`, { name: `${this.namePrefix}-${serviceName}-data` });
    return this.volumes[serviceName];
  }

  private image(name: string): Image {
    const id = `image-${name.replace(/[^A-Za-z0-9]+/g, "-")}`;
    this.images[name] ??= new Image(this, id, { name, keepLocally: this.keepImagesLocally });
    return this.images[name];
  }

  private asset(sourcePath: string): TerraformAsset {
    const id = `asset-${Object.keys(this.assets).length + 1}`;
    this.assets[sourcePath] ??= new TerraformAsset(this, id, { path: sourcePath, type: AssetType.FILE });
    return this.assets[sourcePath];
  }
}
