import { Annotations } from "cdktf";
import { Construct } from "constructs";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { HostAssetFetch, USER_DATA_LIMIT_BYTES } from "../../../templates/cloud-init";
import { isDnsLabel } from "../../../templates/validate";
import { PropValidator, warnProp } from "../../validation";
import { claimInApp } from "../../private/app-claims";
import { ColocatedAddress, DeclaredField, DeployedHost, DeploymentTarget, HostSpec, Secret, ServiceRole, ServiceSpec, Software } from "../target";
import { AssetBucket } from "./assets";
import { HostRoles } from "./iam";
import { DATA_DEVICE_NAME, HostInstance } from "./instances";
import { AwsNetwork } from "./network";
import { DEFAULT_DEBIAN_PACKAGES } from "./packages";
import { AwsTargetProps, CpuArchitecture, DEFAULT_DATA_VOLUME_SIZE_GB, DEFAULT_INSTANCE_TYPES } from "./props";
import { SecretStore } from "./secrets";
import { HostSecurityGroups } from "./security-groups";
import { escapeTerraformTemplate } from "../../terraform-escape";
import { estimatedUserDataSize, renderHostUserData } from "./user-data";
import { validateAwsTargetProps } from "./validate-aws-target-props";

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
  public readonly kind = "aws";
  public readonly namePrefix: string;
  public readonly privateZoneName: string;
  public readonly network: AwsNetwork;
  public readonly zone: Route53Zone;
  public readonly securityGroups: HostSecurityGroups;
  public readonly roles: HostRoles;
  public readonly secrets: SecretStore;
  /** The image every instance runs. */
  public readonly amiId: string;
  /** Hosts by name. */
  public readonly hosts: Record<string, HostInstance> = {};
  /** Size of each host's user data in bytes, references counted at 64 bytes (EC2 allows 16384). */
  public readonly userDataSizes: Record<string, number> = {};
  private assetBucket?: AssetBucket;
  private readonly props: AwsTargetProps;
  private readonly packages: Record<Software, readonly string[]>;
  private readonly instanceTypes: Record<ServiceRole, string>;
  private readonly perRole: Partial<Record<ServiceRole, number>> = {};
  private readonly services = new Set<string>();

  constructor(scope: Construct, id: string, props: AwsTargetProps = {}) {
    super(scope, id);
    this.props = props;
    this.namePrefix = props.namePrefix ?? "haweb";
    this.privateZoneName = props.privateZoneName ?? "haweb.internal";
    this.packages = { ...DEFAULT_DEBIAN_PACKAGES, ...props.packages };
    this.instanceTypes = { ...DEFAULT_INSTANCE_TYPES, ...props.instanceTypes };
    validateAwsTargetProps(this, props, this.namePrefix, this.privateZoneName, this.instanceTypes, this.packages);
    const region = (props.createProviders ?? true) ? (props.region ?? "us-east-1") : "the stack's own provider";
    const owner = claimInApp(this, `aws:${region}:prefix:${this.namePrefix}`);
    new PropValidator("AwsTarget", this)
      .check(owner === undefined, "namePrefix", `"${this.namePrefix}" is already used by the AwsTarget '${owner}' of this app in ${region}: both would write the same SSM parameters (/${this.namePrefix}/...), security group and resource names`, "give every stack's AwsTarget its own namePrefix")
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
    this.roles = new HostRoles(this, "iam", { namePrefix: this.namePrefix, managedInstanceCore: props.ssmManagedInstanceCore ?? false, kmsKeyArn: props.kmsKeyArn });
    this.secrets = new SecretStore(this, "secrets", { namePrefix: this.namePrefix, kmsKeyArn: props.kmsKeyArn });
  }

  colocated(_hostName: string, _serviceName: string): ColocatedAddress {
    // The services of a host share the VM: Nginx reaches its app over loopback.
    return { address: "127.0.0.1", bindAddress: "127.0.0.1" };
  }

  createSecret(scope: Construct, id: string, name: string): Secret {
    return this.secrets.create(scope, id, name);
  }

  /** Private DNS name of a host. */
  fqdn(hostName: string): string {
    return `${hostName}.${this.privateZoneName}`;
  }

  addHost(scope: Construct, spec: HostSpec): DeployedHost {
    this.validateHost(spec);
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

    const assets: HostAssetFetch[] = spec.services.flatMap((s) => s.assets ?? []).map((a) => {
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
        packages: this.packages,
        parameterName: (secret) => this.secrets.parameterFor(secret).parameterName,
        assets,
        volume: withData?.dataVolume && volumeId ? { volumeId, mountPath: withData.dataVolume.mountPath, deviceName: DATA_DEVICE_NAME } : undefined,
        installSsmAgent: this.props.installSsmAgent ?? true,
      });
      const size = estimatedUserDataSize(text);
      this.userDataSizes[spec.name] = size;
      new PropValidator("AwsTarget", this)
        .check(size < USER_DATA_LIMIT_BYTES, `host ${spec.name}`, `has ${size} bytes of user data, over EC2's limit of ${USER_DATA_LIMIT_BYTES}`, "ship big files as assets (S3) instead of inline files, or split the host's services")
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
      dataVolume: withData?.dataVolume ? { sizeGb: withData.dataVolume.sizeGb ?? DEFAULT_DATA_VOLUME_SIZE_GB, type: this.props.dataVolumeType ?? "gp3" } : undefined,
      userData,
      dependsOn: isPublic ? this.network.publicEgress : this.network.privateEgress,
    });
    this.hosts[spec.name] = host;
    for (const s of spec.services) this.services.add(s.name);

    const publish = spec.services.find((s) => s.publish)?.publish;
    const published = publish && host.elasticIp ? { address: host.elasticIp.publicIp, port: publish.port } : undefined;
    const resources: Record<string, Construct> = {};
    for (const s of spec.services) resources[s.name] = host.instance;
    return { name: spec.name, address: fqdn, resources, published };
  }

  private bucket(): AssetBucket {
    this.assetBucket ??= new AssetBucket(this, "assets", { namePrefix: this.namePrefix });
    return this.assetBucket;
  }

  private validateHost(spec: HostSpec): void {
    const v = new PropValidator("AwsTarget", this);
    v.check(isDnsLabel(spec.name), "host name", `"${spec.name}" is not a DNS label`, "use lower-case letters, digits and dashes");
    v.check(!this.hosts[spec.name], "host name", `"${spec.name}" is used by two hosts`, "give every node a unique name");
    const local = new Set<string>();
    for (const service of spec.services) {
      v.check(!this.services.has(service.name) && !local.has(service.name), "service name", `"${service.name}" is used by two services`, "give every node a unique name");
      local.add(service.name);
      v.check(this.packages[service.software].length > 0, `packages.${service.software}`, `is empty: ${service.name} needs ${service.software}, which Debian 12 does not package`, service.software === "mysql" ? 'use engine "mariadb" (Debian\'s MySQL server), or give packages.mysql a package your AMI can install' : `give packages.${service.software} the Debian packages that provide it`);
      const missing = service.dependsOn.filter((name) => !this.services.has(name) && !local.has(name));
      v.check(missing.length === 0, "dependsOn", `of ${service.name} names ${missing.join(", ")}, which is not deployed yet`, "declare tiers in dependency order: MysqlCluster, then WebAppTier, then LoadBalancerTier");
      this.checkDeclaration(service);
    }
    v.check(spec.services.filter((s) => s.dataVolume).length <= 1, "dataVolume", `: host ${spec.name} has more than one service with a data volume`, "give each database node its own host");
    v.throwIfInvalid();
  }

  /**
   * What a service asks that a VM cannot do (an image) or does differently (no
   * health-check runner, no published host port), reported under the user's
   * construct and prop: refused when the deployment would break, warned about
   * when it would be silently ignored.
   */
  private checkDeclaration(service: ServiceSpec): void {
    const declared = service.declaredBy;
    const construct = declared?.construct ?? "AwsTarget";
    const scope = declared?.scope ?? this;
    const prop = (field: DeclaredField, fallback: string) => declared?.props[field] ?? fallback;
    const v = new PropValidator(construct, scope);
    v.check(service.image === undefined, prop("image", "image"), `is "${service.image}", but AwsTarget installs Debian packages and runs no images (service ${service.name})`, "ship your app as a bundle (app.bundlePath) on AWS");
    v.check(service.image !== undefined || (service.command.length > 0 && service.command[0].startsWith("/")), prop("command", "command"), `of ${service.name} is ${JSON.stringify(service.command)}; on a VM (systemd) it must start with an absolute path`, 'use an absolute path, for example ["/usr/bin/node", "/opt/ha-web/app/server.js"]');
    const user = service.user ?? "root";
    const low = service.ingress.map((i) => i.port).filter((port) => port < 1024);
    v.check(user === "root" || low.length === 0, prop("user", "user"), `is "${user}", but ${service.name} listens on port ${low.join(", ")}: on a VM only root may bind ports below 1024`, "listen on a port of 1024 or above (app.port), or run as root and drop privileges in your app");
    v.throwIfInvalid();
    if (declared?.props.healthCheck) {
      warnProp(construct, scope, declared.props.healthCheck, "has no effect on AwsTarget: systemd restarts a service that exits, and the load balancer checks the health path", "leave it unset for AWS (it is used by DockerTarget)");
    }
    if (declared?.props.publish) {
      warnProp(construct, scope, declared.props.publish, "has no effect on AwsTarget: the load balancer's `port` is published on its Elastic IP", "leave it unset for AWS (it picks the host port on DockerTarget)");
    }
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
