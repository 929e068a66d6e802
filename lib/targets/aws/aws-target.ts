import { Annotations, Token } from "cdktf";
import { Construct } from "constructs";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { HostAssetFetch, USER_DATA_LIMIT_BYTES } from "../../../templates/cloud-init";
import { isDnsLabel } from "../../../templates/validate";
import { PropValidator } from "../../validation";
import { DeployedHost, DeploymentTarget, HostSpec, Secret, ServiceRole, Software } from "../target";
import { AssetBucket } from "./assets";
import { HostRoles } from "./iam";
import { DATA_DEVICE_NAME, HostInstance } from "./instances";
import { AwsNetwork } from "./network";
import { DEFAULT_DEBIAN_PACKAGES } from "./packages";
import { AwsTargetProps, CpuArchitecture, DEFAULT_INSTANCE_TYPES, LOG_RETENTION_DAYS, parseCidr } from "./props";
import { SecretStore } from "./secrets";
import { HostSecurityGroups } from "./security-groups";
import { escapeTerraformTemplate } from "../../terraform-escape";
import { estimatedUserDataSize, renderHostUserData } from "./user-data";

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
    validateProps(this, props, this.namePrefix, this.privateZoneName, this.instanceTypes, this.packages);

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

  colocatedAddress(_hostName: string, _serviceName: string): string {
    // The services of a host share the VM: Nginx reaches its app over loopback.
    return "127.0.0.1";
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
      dataVolume: withData?.dataVolume ? { sizeGb: withData.dataVolume.sizeGb, type: this.props.dataVolumeType ?? "gp3" } : undefined,
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
      v.check(service.image === undefined, "image", `of ${service.name} is "${service.image}", but AwsTarget installs Debian packages and runs no images`, "ship your app as a bundle (app.bundlePath) on AWS");
      v.check(service.command.length > 0 && service.command[0].startsWith("/"), "command", `of ${service.name} must start with an absolute path`, "use the start script, for example [\"/bin/sh\", \"/opt/ha-web/bin/start-app.sh\"]");
      const missing = service.dependsOn.filter((name) => !this.services.has(name) && !local.has(name));
      v.check(missing.length === 0, "dependsOn", `of ${service.name} names ${missing.join(", ")}, which is not deployed yet`, "declare tiers in dependency order: MysqlCluster, then WebAppTier, then LoadBalancerTier");
    }
    v.check(spec.services.filter((s) => s.dataVolume).length <= 1, "dataVolume", `: host ${spec.name} has more than one service with a data volume`, "give each database node its own host");
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

function validateProps(
  scope: Construct,
  props: AwsTargetProps,
  namePrefix: string,
  zoneName: string,
  instanceTypes: Record<ServiceRole, string>,
  packages: Record<Software, readonly string[]>,
): void {
  const v = new PropValidator("AwsTarget", scope);
  const literal = (value: string | undefined) => value !== undefined && !Token.isUnresolved(value);
  v.check(isDnsLabel(namePrefix) && namePrefix.length <= 20, "namePrefix", `"${namePrefix}" is not a DNS label of at most 20 characters`, 'use lower-case letters, digits and dashes, for example "haweb"');
  if (props.region !== undefined) v.check(/^[a-z]{2}(-[a-z]+)+-\d$/.test(props.region), "region", `"${props.region}" is not an AWS region`, 'use a region name such as "eu-west-1"');
  const zones = props.availabilityZones ?? 2;
  const nat = props.natGateways ?? 1;
  v.check(Number.isInteger(zones) && zones >= 2 && zones <= 6, "availabilityZones", `is ${zones}; it must be a whole number from 2 to 6`, "use 2 (or 3 for more headroom)");
  v.check(Number.isInteger(nat) && nat >= 1 && nat <= zones, "natGateways", `is ${nat}; it must be a whole number from 1 to availabilityZones (${zones})`, "use 1 (cheapest) or one per zone (survives a zone outage)");
  if (props.vpcCidr !== undefined) {
    const cidr = parseCidr(props.vpcCidr);
    v.check(cidr !== undefined && cidr[1] >= 16 && cidr[1] <= 20, "vpcCidr", `"${props.vpcCidr}" is not an IPv4 CIDR block from /16 to /20`, 'use a private range such as "10.40.0.0/16"');
  }
  if (props.existingVpc) {
    const e = props.existingVpc;
    v.check(e.vpcId.length > 0, "existingVpc.vpcId", "is empty", "pass the VPC's id");
    v.check(e.publicSubnetIds.length > 0, "existingVpc.publicSubnetIds", "is empty: the load balancers need a public subnet", "pass at least one (two for HA) subnet routed to an internet gateway");
    v.check(e.privateSubnetIds.length > 0, "existingVpc.privateSubnetIds", "is empty", "pass at least one (two for HA) subnet routed to a NAT gateway");
  }
  const retention = props.flowLogRetentionDays ?? 30;
  v.check(LOG_RETENTION_DAYS.includes(retention), "flowLogRetentionDays", `is ${retention}, which CloudWatch Logs does not accept`, `use one of ${LOG_RETENTION_DAYS.slice(0, 8).join(", ")}, ...`);
  v.check(zoneName.length <= 200 && zoneName.split(".").length >= 2 && zoneName.split(".").every(isDnsLabel), "privateZoneName", `"${zoneName}" is not a domain name`, 'use something like "haweb.internal"');
  for (const [role, type] of Object.entries(instanceTypes)) {
    v.check(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(type), `instanceTypes.${role}`, `"${type}" is not an instance type`, 'use a type such as "t3.small"');
  }
  const architecture = props.architecture ?? "x86_64";
  v.check(architecture === "x86_64" || architecture === "arm64", "architecture", `"${architecture}" is not supported`, 'use "x86_64" or "arm64"');
  if (literal(props.amiId)) v.check(/^ami-[0-9a-f]{8,17}$/.test(props.amiId as string), "amiId", `"${props.amiId}" is not an AMI id`, 'use an id such as "ami-0123456789abcdef0", or omit it for the newest Debian 12');
  const root = props.rootVolumeSizeGb ?? 10;
  v.check(Number.isInteger(root) && root >= 8 && root <= 16384, "rootVolumeSizeGb", `is ${root}`, "use a whole number of GiB, at least 8 (the Debian image's size)");
  const dataType = props.dataVolumeType ?? "gp3";
  v.check(["gp3", "gp2", "io1", "io2"].includes(dataType), "dataVolumeType", `"${dataType}" is not an SSD volume type`, 'use "gp3"');
  if (literal(props.kmsKeyArn)) v.check(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/.test(props.kmsKeyArn as string), "kmsKeyArn", `"${props.kmsKeyArn}" is not a KMS key ARN`, "pass the key's ARN");
  if (props.sshCidr !== undefined) {
    const ssh = parseCidr(props.sshCidr);
    v.check(ssh !== undefined, "sshCidr", `"${props.sshCidr}" is not an IPv4 CIDR block`, 'use your network\'s range, for example "203.0.113.0/24"');
    v.check(ssh === undefined || ssh[1] >= 8, "sshCidr", `"${props.sshCidr}" opens SSH to (nearly) the whole internet`, "use your network's range, or Session Manager (no SSH at all)");
  }
  if (props.keyName !== undefined) v.check(props.keyName.length > 0, "keyName", "is empty", "pass the name of an EC2 key pair, or omit it");
  for (const [software, list] of Object.entries(packages)) {
    for (const pkg of list) v.check(/^[a-z0-9][a-z0-9+.-]+$/.test(pkg), `packages.${software}`, `"${pkg}" is not a Debian package name`, "use package names such as \"nginx\"");
  }
  v.throwIfInvalid();
}
