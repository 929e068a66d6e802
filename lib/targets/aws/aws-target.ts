import { Annotations } from "cdktf";
import { Construct } from "constructs";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { claimInApp } from "../../private/app-claims";
import { HostRegistry } from "../../private/host-registry";
import { escapeTerraformTemplate } from "../../private/terraform-escape";
import { PropValidator } from "../../private/validation";
import { ColocatedAddress, DeclaredField, DeployedHost, DeploymentTarget, HostSpec, Secret, ServiceRole, ServiceSpec, TargetSupport } from "../target";
import { debianPackagesFor } from "./packages";
import { AssetBucket } from "./private/assets";
import { HostAssetFetch, USER_DATA_LIMIT_BYTES } from "./private/cloud-init";
import { HostRoles } from "./private/iam";
import { DATA_DEVICE_NAME, HostInstance } from "./private/instances";
import { AwsNetwork } from "./private/network";
import { SecretStore } from "./private/secrets";
import { HostSecurityGroups } from "./private/security-groups";
import { estimatedUserDataSize, renderHostUserData } from "./private/user-data";
import { AwsTargetProps, CpuArchitecture, DEFAULT_DATA_VOLUME_SIZE_GB, DEFAULT_INSTANCE_TYPES } from "./props";
import { validateAwsTargetProps } from "./validate-aws-target-props";

/**
 * What AwsTarget honours. No images (VMs install Debian's packages), no health
 * checks (systemd restarts a service that exits; the load balancer checks the
 * web nodes), no secret files yet (secrets arrive as systemd credentials).
 */
export const AWS_TARGET_SUPPORT: TargetSupport = {
  name: "AwsTarget",
  artifacts: ["bundle"],
  protocols: ["tcp", "udp", "vrrp"],
  capabilities: true,
  healthChecks: false,
  secretFiles: false,
  secretLocations: ["ssm-parameter", "secrets-manager"],
  floatingAddresses: true,
};

/** Owner of the official Debian images on AWS. */
export const DEBIAN_AMI_OWNER = "136693071363";

/**
 * AWS EC2: one VM per host running all its services under systemd, from the
 * same start scripts and configs the Docker target uploads, installed by
 * cloud-init from Debian's packages. Secure by default: private subnets for
 * everything but the load balancers, security groups derived from the declared
 * flows, IMDSv2 only, encrypted volumes, secrets in SSM Parameter Store fetched
 * at boot by a least-privilege instance role, no SSH and no key pair.
 */
export class AwsTarget extends Construct implements DeploymentTarget {
  public readonly support = AWS_TARGET_SUPPORT;
  /** Prefix of names, tags and SSM parameter paths. */
  public readonly namePrefix: string;
  /** The private hosted zone's domain: hosts are `<host>.<privateZoneName>`. */
  public readonly privateZoneName: string;
  /** @internal The VPC and subnets (an escape hatch for tests and the policy's own checks; its shape may change). */
  public readonly network: AwsNetwork;
  /** The private hosted zone, for records of your own. */
  public readonly zone: Route53Zone;
  /** @internal The security groups derived from the flows (may change shape). */
  public readonly securityGroups: HostSecurityGroups;
  /** @internal The instance roles (may change shape). */
  public readonly roles: HostRoles;
  /** @internal The SSM parameters holding the secrets (may change shape). */
  public readonly secrets: SecretStore;
  /** The image every instance runs. */
  public readonly amiId: string;
  /** @internal Hosts by name: the instance and its volume, interface and record (may change shape). */
  public readonly hosts: Record<string, HostInstance> = {};
  /** Size of each host's user data in bytes, references counted at 64 bytes (EC2 allows 16384). */
  public readonly userDataSizes: Record<string, number> = {};
  private assetBucket?: AssetBucket;
  private readonly props: AwsTargetProps;
  private readonly instanceTypes: Record<ServiceRole, string>;
  private readonly perRole: Partial<Record<ServiceRole, number>> = {};
  private readonly registry: HostRegistry;

  constructor(scope: Construct, id: string, props: AwsTargetProps = {}) {
    super(scope, id);
    this.props = props;
    this.namePrefix = props.namePrefix ?? "haweb";
    this.privateZoneName = props.privateZoneName ?? "haweb.internal";
    this.instanceTypes = { ...DEFAULT_INSTANCE_TYPES, ...props.instanceTypes };
    validateAwsTargetProps(this, props, this.namePrefix, this.privateZoneName, this.instanceTypes);
    this.registry = new HostRegistry(this, AWS_TARGET_SUPPORT);
    const region = (props.createProviders ?? true) ? (props.region ?? "us-east-1") : "the stack's own provider";
    const owner = claimInApp(this, `aws:${region}:prefix:${this.namePrefix}`);
    new PropValidator("AwsTarget", this)
      .check(
        owner === undefined,
        "namePrefix",
        `"${this.namePrefix}" is already used by the AwsTarget '${owner}' of this app in ${region}: both would write the same SSM parameters (/${this.namePrefix}/...), security group and resource names`,
        "give every stack's AwsTarget its own namePrefix",
      )
      .throwIfInvalid();

    if (props.createProviders ?? true) {
      new AwsProvider(this, "aws", {
        region: props.region ?? "us-east-1",
        defaultTags: [{ tags: { "ha-web:stack": this.namePrefix, "managed-by": "cdktf-ha-web", ...props.tags } }],
      });
      new RandomProvider(this, "random");
    }

    const zones = props.availabilityZones ?? 2;
    this.network = new AwsNetwork(this, "network", {
      namePrefix: this.namePrefix,
      vpcCidr: props.vpcCidr ?? "10.40.0.0/16",
      availabilityZones: zones,
      natGateways: props.natGateways ?? 1,
      existingVpc: props.existingVpc,
      flowLogs: props.flowLogs ?? true,
      flowLogRetentionDays: props.flowLogRetentionDays ?? 30,
    });
    if (props.existingVpc && (props.existingVpc.privateSubnetIds.length < 2 || props.existingVpc.publicSubnetIds.length < 2)) {
      Annotations.of(this).addWarning("AwsTarget: existingVpc has fewer than two public or private subnets: the nodes of a tier share one availability zone.");
    }
    this.zone = new Route53Zone(this, "private-zone", {
      name: this.privateZoneName,
      comment: `cdktf-ha-web ${this.namePrefix}: names of the hosts`,
      vpc: [{ vpcId: this.network.vpcId }],
      tags: { Name: `${this.namePrefix}-private-zone` },
    });
    this.amiId = props.amiId ?? debianAmi(this, props.architecture ?? "x86_64").id;
    this.securityGroups = new HostSecurityGroups(this, "security-groups", { namePrefix: this.namePrefix, vpcId: this.network.vpcId, sshCidr: props.sshCidr });
    this.roles = new HostRoles(this, "iam", {
      namePrefix: this.namePrefix,
      managedInstanceCore: props.ssmManagedInstanceCore ?? false,
      kmsKeyArn: props.kmsKeyArn,
    });
    this.secrets = new SecretStore(this, "secrets", { namePrefix: this.namePrefix, kmsKeyArn: props.kmsKeyArn });
  }

  /** On a VM the services of a host share loopback. */
  colocated(_hostName: string, _serviceName: string): ColocatedAddress {
    // The services of a host share the VM: Nginx reaches its app over loopback.
    return { address: "127.0.0.1", bindAddress: "127.0.0.1" };
  }

  /** A 32-character password generated at deploy time, stored as an SSM SecureString. */
  createSecret(scope: Construct, id: string, name: string): Secret {
    return this.secrets.create(scope, id, name);
  }

  /** Private DNS name of a host. */
  fqdn(hostName: string): string {
    return `${hostName}.${this.privateZoneName}`;
  }

  /** One VM per host: its services under systemd, from cloud-init. */
  addHost(scope: Construct, spec: HostSpec): DeployedHost {
    this.registry.register(spec);
    for (const service of spec.services) this.checkOnVm(service);
    const isPublic = spec.services.some((s) => s.publish !== undefined || s.ingress.some((i) => i.from === "internet"));
    const subnets = isPublic ? this.network.publicSubnets : this.network.privateSubnets;
    // Spread the nodes of each role over the zones: node i goes to zone i mod n.
    const index = this.perRole[spec.role] ?? 0;
    this.perRole[spec.role] = index + 1;
    const subnet = subnets[index % subnets.length];

    this.securityGroups.addFlows(spec);
    const profile = this.roles.profileFor(spec.role);

    const secrets = spec.services.flatMap((s) => Object.values(s.secretEnvironment)).map((secret) => this.secrets.parameterFor(secret));
    this.roles.grantParameters(spec.role, [...new Set(secrets.map((s) => s.parameterArn))]);

    const assets: HostAssetFetch[] = spec.services
      .flatMap((s) => (s.artifact?.kind === "bundle" ? [s.artifact] : []))
      .map((a) => {
        const stored = this.bucket().add(a.sourcePath, "assets");
        this.roles.grantObject(spec.role, stored.objectArn);
        return { s3Uri: stored.s3Uri, path: a.path };
      });

    const withData = spec.services.find((s) => s.dataVolume);
    const fqdn = this.fqdn(spec.name);
    const userData = (volumeId: string | undefined) => {
      const text = renderHostUserData({
        spec,
        fqdn,
        packages: (service) => debianPackagesFor(service.software, service.version, this.props.packages),
        parameterName: (secret) => this.secrets.parameterFor(secret).parameterName,
        assets,
        volume: withData?.dataVolume && volumeId ? { volumeId, mountPath: withData.dataVolume.mountPath, deviceName: DATA_DEVICE_NAME } : undefined,
        installSsmAgent: this.props.installSsmAgent ?? true,
      });
      const size = estimatedUserDataSize(text);
      this.userDataSizes[spec.name] = size;
      new PropValidator("AwsTarget", this)
        .check(
          size < USER_DATA_LIMIT_BYTES,
          `host ${spec.name}`,
          `has ${size} bytes of user data, over EC2's limit of ${USER_DATA_LIMIT_BYTES}`,
          "ship big files as assets (S3) instead of inline files, or split the host's services",
        )
        .throwIfInvalid();
      return escapeTerraformTemplate(text);
    };

    const host = new HostInstance(scope, `${spec.name}-host`, {
      namePrefix: this.namePrefix,
      hostName: spec.name,
      role: spec.role,
      fqdn,
      zoneId: this.zone.zoneId,
      subnet,
      public: isPublic,
      securityGroupIds: this.securityGroups.groupIdsFor(spec),
      instanceProfileName: profile.name,
      instanceType: this.instanceTypes[spec.role],
      amiId: this.amiId,
      ignoreAmiChanges: !(this.props.replaceOnNewAmi ?? false),
      rootVolumeSizeGb: this.props.rootVolumeSizeGb ?? 10,
      kmsKeyArn: this.props.kmsKeyArn,
      keyName: this.props.keyName,
      dataVolume: withData?.dataVolume
        ? { sizeGb: this.props.dataVolumeSizeGb ?? DEFAULT_DATA_VOLUME_SIZE_GB, type: this.props.dataVolumeType ?? "gp3" }
        : undefined,
      userData,
      dependsOn: isPublic ? this.network.publicEgress : this.network.privateEgress,
    });
    this.hosts[spec.name] = host;

    // A movable address is a DNS name of its own pointing at the host's: a failover updates one record.
    const movableAddresses: Record<string, string> = {};
    for (const name of spec.services.flatMap((s) => s.movableAddresses ?? [])) {
      const address = this.fqdn(name);
      new Route53Record(scope, `${name}-dns-record`, { zoneId: this.zone.zoneId, name: address, type: "CNAME", ttl: 30, records: [fqdn] });
      movableAddresses[name] = address;
    }

    const publish = spec.services.find((s) => s.publish)?.publish;
    const published = publish && host.elasticIp ? { address: host.elasticIp.publicIp, ports: Object.fromEntries(publish.ports.map((p) => [p, p])) } : undefined;
    const resources: Record<string, Construct> = {};
    for (const s of spec.services) resources[s.name] = host.instance;
    return { name: spec.name, address: fqdn, resources, published, movableAddresses };
  }

  private bucket(): AssetBucket {
    this.assetBucket ??= new AssetBucket(this, "assets", { namePrefix: this.namePrefix });
    return this.assetBucket;
  }

  /** What a VM needs beyond the contract's checks: the packages for the software, an absolute command, root for ports below 1024. */
  private checkOnVm(service: ServiceSpec): void {
    const declared = service.declaredBy;
    const construct = declared?.construct ?? "AwsTarget";
    const scope = declared?.scope ?? this;
    const prop = (field: DeclaredField, fallback: string) => declared?.props[field] ?? fallback;
    const v = new PropValidator(construct, scope);
    const version = service.version === undefined ? "" : ` ${service.version}`;
    v.check(
      debianPackagesFor(service.software, service.version, this.props.packages).length > 0,
      "version",
      `is "${service.version ?? "default"}": ${service.name} needs ${service.software}${version}, which Debian 12 does not package`,
      service.software === "mysql"
        ? "use engine \"mariadb\" (Debian's MySQL server), or give AwsTarget's packages.mysql a package your AMI can install"
        : `give AwsTarget's packages.${service.software} the Debian packages that provide it`,
    );
    v.check(
      service.artifact?.kind === "image" || (service.command.length > 0 && service.command[0].startsWith("/")),
      prop("command", "command"),
      `of ${service.name} is ${JSON.stringify(service.command)}; on a VM (systemd) it must start with an absolute path`,
      'use an absolute path, for example ["/usr/bin/node", "/opt/ha-web/app/server.js"]',
    );
    const user = service.user ?? "root";
    v.check(
      !/^\d/.test(user),
      prop("user", "user"),
      `is "${user}": a VM runs ${service.name} as a named user that cloud-init creates`,
      'use a user name, for example "node"',
    );
    const low = service.ingress.map((i) => i.port).filter((port) => port > 0 && port < 1024);
    v.check(
      user === "root" || low.length === 0,
      prop("user", "user"),
      `is "${user}", but ${service.name} listens on port ${low.join(", ")}: on a VM only root may bind ports below 1024`,
      `listen on a port of 1024 or above (${prop("listenPort", "its port")}), or run as root and drop privileges in your app`,
    );
    v.throwIfInvalid();
  }
}

function debianAmi(scope: Construct, architecture: CpuArchitecture): DataAwsAmi {
  return new DataAwsAmi(scope, "debian-12-ami", {
    mostRecent: true,
    owners: [DEBIAN_AMI_OWNER],
    filter: [
      { name: "name", values: [`debian-12-${architecture === "arm64" ? "arm64" : "amd64"}-*`] },
      { name: "architecture", values: [architecture] },
      { name: "virtualization-type", values: ["hvm"] },
      { name: "root-device-type", values: ["ebs"] },
    ],
  });
}
