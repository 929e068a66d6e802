import { Annotations } from "cdktf";
import { Construct } from "constructs";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { claimInApp } from "../../private/app-claims";
import { AwsBackupStore, BACKUP_SNAPSHOT_TAG } from "./private/backup-store";
import { HostRegistry } from "../../private/host-registry";
import { escapeTerraformTemplate } from "../../private/terraform-escape";
import { PropValidator } from "../../private/validation";
import { MASTER_MARKER_ADDRESS } from "../../../templates/keepalived";
import { MOVE_ADDRESS_SCRIPT, renderMoveAddressScript } from "../../../templates/scripts/move-address";
import { isDnsLabel } from "../../../templates/validate";
import {
  BackupStore,
  BackupStoreAccess,
  BackupStoreRequest,
  ColocatedAddress,
  DeclaredField,
  DeployedHost,
  DeploymentTarget,
  FloatingAddress,
  FloatingAddressRequest,
  HostFile,
  HostSpec,
  isSecretReference,
  MetricsEndpoint,
  MetricsPort,
  Secret,
  ServiceRole,
  ServiceSpec,
  TargetSupport,
} from "../target";
import { debianPackagesFor } from "./packages";
import { AssetBucket } from "./private/assets";
import { HostAssetFetch, HostSecretFile, USER_DATA_LIMIT_BYTES } from "./private/cloud-init";
import { cidrHost } from "./private/cidr";
import { renderHostFirewall } from "./private/firewall";
import { HostRoleKey, HostRoles } from "./private/iam";
import { DATA_DEVICE_NAME, HostInstance } from "./private/instances";
import { AwsNetwork, SubnetRef } from "./private/network";
import { AWS_HOST_EXPORTERS, NODE_EXPORTER, nodeExporterIngress } from "./private/node-exporter";
import { MOVABLE_RECORD_TTL_SECONDS, renderRoute53MoveCommand } from "./private/route53-move";
import { SecretStore } from "./private/secrets";
import { hostGroupOf, HostSecurityGroups } from "./private/security-groups";
import { ROLE_TAG } from "./tags";
import { estimatedGzippedUserDataSize, estimatedUserDataSize, isInlineFile, renderHostUserData } from "./private/user-data";
import { AwsTargetProps, CpuArchitecture, DEFAULT_DATA_VOLUME_SIZE_GB, DEFAULT_INSTANCE_TYPES } from "./props";
import { validateAwsTargetProps } from "./validate-aws-target-props";

/**
 * What AwsTarget honours. No images (VMs install Debian's packages), no health
 * checks (systemd restarts a service that exits; the load balancer checks the
 * web nodes). Secret environment variables arrive as systemd credentials, secret
 * files are fetched into place at boot; both from SSM (or Secrets Manager).
 */
export const AWS_TARGET_SUPPORT: TargetSupport = {
  name: "AwsTarget",
  artifacts: ["bundle"],
  protocols: ["tcp", "udp", "vrrp"],
  capabilities: true,
  healthChecks: false,
  secretFiles: true,
  secretLocations: ["ssm-parameter", "secrets-manager"],
  floatingAddresses: true,
  backupStores: true,
};

/** Owner of the official Debian images on AWS. */
export const DEBIAN_AMI_OWNER = "136693071363";

/**
 * AWS EC2: one VM per host running all its services under systemd, from the
 * same start scripts and configs the Docker target uploads, installed by
 * cloud-init from Debian's packages. Secure by default: private subnets for
 * everything but the load balancers, security groups derived from the declared
 * flows, IMDSv2 only, encrypted volumes, secrets in SSM Parameter Store fetched
 * at boot by a least-privilege instance role, no SSH and no key pair. Every VM
 * runs the node exporter (port 9100), which only the monitoring hosts reach.
 */
export class AwsTarget extends Construct implements DeploymentTarget {
  public readonly support = AWS_TARGET_SUPPORT;
  /** The node exporter on every VM (job "node", port 9100): a monitoring host scrapes its own on loopback. */
  public readonly hostExporters: readonly MetricsPort[] = AWS_HOST_EXPORTERS;
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
  /** Size of each host's user data in bytes as EC2 counts it (gzipped), references counted at 64 bytes (EC2 allows 16384). */
  public readonly userDataSizes: Record<string, number> = {};
  /** Size of each host's cloud-config text before compression, references counted at 64 bytes. */
  public readonly userDataTextSizes: Record<string, number> = {};
  private assetBucket?: AssetBucket;
  private readonly props: AwsTargetProps;
  private readonly instanceTypes: Record<ServiceRole, string>;
  private readonly perRole: Partial<Record<ServiceRole, number>> = {};
  private readonly registry: HostRegistry;
  /** Members of floating address groups, by host name: their subnet and fixed addresses. */
  private readonly floatingMembers: Record<string, FloatingMemberPlan> = {};
  /** Floating address groups by name: the Elastic IP and the members' interfaces (known once added). */
  private readonly floatingGroups: Record<string, FloatingGroupPlan> = {};
  private arnParts?: { partition: string; region: string; account: string };
  /** @internal Backup stores by cluster name: the bucket and snapshot policy, and the grants already given (may change shape). */
  public readonly backupStores: Record<string, { readonly store: AwsBackupStore; readonly index: number; readonly granted: Set<string> }> = {};
  /** The private zone's ARN, one token for every grant (each `zone.arn` read is a new token). */
  private readonly zoneArn: string;

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
    this.zoneArn = this.zone.arn;
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

  /** A CNAME in the private zone, which a promotion updates. */
  movableAddress(name: string): string {
    return this.fqdn(name);
  }

  /** The host's record in the private zone. */
  hostAddress(hostName: string): string {
    return this.fqdn(hostName);
  }

  /**
   * UPSERTs the name's CNAME in the private zone to `$NEW_PRIMARY_HOST` with the
   * AWS CLI (Route 53 in us-east-1, its global endpoint's region), then waits for
   * the change; refuses a NEW_PRIMARY_HOST that is not a host name. The zone id is
   * a reference Terraform fills in. The hosts whose services list the name in
   * `movesAddresses` may make exactly this change (see addHost).
   */
  moveAddressCommand(name: string): string | undefined {
    new PropValidator("AwsTarget", this)
      .check(
        isDnsLabel(name),
        "movesAddresses",
        `names "${name}", which is not a DNS label: AwsTarget moves it as the CNAME <name>.${this.privateZoneName}`,
        "use the name of a movableAddresses entry: lower-case letters, digits and dashes, at most 63",
      )
      .throwIfInvalid();
    return renderRoute53MoveCommand({ zoneId: this.zone.zoneId, recordName: this.fqdn(name), ttl: MOVABLE_RECORD_TTL_SECONDS });
  }

  /** A 32-character password generated at deploy time, stored as an SSM SecureString. */
  createSecret(scope: Construct, id: string, name: string): Secret {
    return this.secrets.create(scope, id, name);
  }

  /**
   * A cluster's backups off its machines: a dedicated S3 bucket (public access
   * blocked, TLS only, versioned, encrypted with `backupKmsKeyArn` or SSE-S3,
   * objects and old versions expired after `expireAfterDays`, Object Lock with
   * `backupObjectLock`) under the key prefix `<cluster>/`, and daily EBS
   * snapshots of the cluster's data volumes (Data Lifecycle Manager, kept
   * `retentionDays`). The host that writes backups gets an IAM role of its own
   * that may put, list, get and delete (delete markers only: versions stay)
   * under the prefix; the other database hosts' role may list and get (restore).
   */
  backupStore(scope: Construct, request: BackupStoreRequest): BackupStore {
    new PropValidator(request.declaredBy.construct, request.declaredBy.scope)
      .check(
        this.backupStores[request.name] === undefined,
        "namePrefix",
        `"${request.name}" already has a backup store on AwsTarget '${this.node.path}'`,
        "give each MysqlCluster its own namePrefix",
      )
      .throwIfInvalid();
    const store = new AwsBackupStore(scope, "backup-store", {
      namePrefix: this.namePrefix,
      cluster: request.name,
      expireAfterDays: request.expireAfterDays,
      retentionDays: request.retentionDays,
      kmsKeyArn: this.props.backupKmsKeyArn,
      objectLock: this.props.backupObjectLock,
      partition: this.arn().partition,
    });
    this.backupStores[request.name] = { store, index: Object.keys(this.backupStores).length + 1, granted: new Set() };
    const region = (this.props.createProviders ?? true) ? (this.props.region ?? "us-east-1") : this.arn().region;
    return {
      config: {
        kind: "s3",
        bucket: store.bucket.bucket,
        prefix: request.name,
        region,
        ...(this.props.backupKmsKeyArn ? { kmsKeyId: this.props.backupKmsKeyArn } : {}),
      },
      tools: ["awscli"],
      offSite: true,
    };
  }

  /** Private DNS name of a host. */
  fqdn(hostName: string): string {
    return `${hostName}.${this.privateZoneName}`;
  }

  /**
   * A load-balancer pair's shared address: an Elastic IP that keepalived's
   * notify script moves to the new master (`ec2:AssociateAddress`, allowed for
   * this allocation and the members' interfaces only). Each member lives in its
   * own availability zone's public subnet, at fixed addresses from the block the
   * network keeps for them: its primary address (VRRP by unicast, its own
   * Elastic IP for egress) and a secondary one the shared Elastic IP maps to.
   */
  floatingAddress(scope: Construct, request: FloatingAddressRequest): FloatingAddress {
    const count = request.members.length;
    const subnets = this.network.publicSubnets;
    const groupIndex = Object.keys(this.floatingGroups).length;
    const prop = request.declaredBy.props.floatingAddress ?? "nodes";
    const v = new PropValidator(request.declaredBy.construct, request.declaredBy.scope);
    v.check(
      this.props.existingVpc === undefined,
      prop,
      `is ${count}, a pair sharing an Elastic IP: its nodes need fixed addresses, which AwsTarget '${this.node.path}' plans only in a VPC it creates (existingVpc is set)`,
      "set nodes to 1 on an existing VPC, or let AwsTarget create the VPC",
    );
    v.check(
      this.props.existingVpc !== undefined || (count >= 2 && subnets.length >= count),
      prop,
      `is ${count}: each node of a pair needs an availability zone of its own, and AwsTarget '${this.node.path}' has ${subnets.length}`,
      `give AwsTarget availabilityZones: ${Math.max(count, 2)} or more, or set nodes to 1`,
    );
    v.check(
      groupIndex < MAX_FLOATING_GROUPS,
      prop,
      `: AwsTarget '${this.node.path}' already has ${groupIndex} load-balancer pairs, the most its public subnets keep fixed addresses for`,
      "use fewer load-balancer pairs per AwsTarget",
    );
    v.check(
      this.floatingGroups[request.name] === undefined && request.members.every((m) => this.floatingMembers[m] === undefined && !this.hosts[m]),
      "namePrefix",
      `"${request.name}" asks for a floating address whose group or nodes already have one, or are already deployed`,
      "give each load-balancer tier its own namePrefix",
    );
    v.throwIfInvalid();

    const plans = request.members.map((host, i) => {
      const subnet = subnets[i];
      // Two addresses per group in each public subnet's fixed block: .224/.225 for the first pair, .226/.227 for the next.
      const block = subnet.fixedAddresses!;
      return { host, subnetIndex: i, primary: cidrHost(block, 2 * groupIndex), secondary: cidrHost(block, 2 * groupIndex + 1) };
    });
    const tags = { Name: `${this.namePrefix}-${request.name}`, [ROLE_TAG]: "load-balancer" };
    // Not associated by Terraform: the first master's notify script does it. An aws_eip_association would
    // be recreated by every apply after a failover, moving the address back (the flap nopreempt avoids).
    const eip = new Eip(scope, "floating-address", { domain: "vpc", tags, dependsOn: [...this.network.publicEgress] });
    const group: FloatingGroupPlan = { name: request.name, eip, interfaceIds: [] };
    this.floatingGroups[request.name] = group;
    for (const plan of plans) this.floatingMembers[plan.host] = { ...plan, group: request.name, peers: plans.filter((p) => p !== plan).map((p) => p.primary) };

    const arn = this.arn();
    this.roles.addPolicy("load-balancer", `lb-move-${request.name}`, `move-floating-address-${request.name}`, () => [
      {
        Sid: "MoveFloatingAddress",
        Effect: "Allow",
        Action: ["ec2:AssociateAddress"],
        Resource: [
          `arn:${arn.partition}:ec2:${arn.region}:${arn.account}:elastic-ip/${eip.allocationId}`,
          ...group.interfaceIds.map((id) => `arn:${arn.partition}:ec2:${arn.region}:${arn.account}:network-interface/${id}`),
        ],
      },
    ]);
    return {
      address: eip.publicIp,
      virtualAddresses: [MASTER_MARKER_ADDRESS],
      members: Object.fromEntries(plans.map((p) => [p.host, { address: p.primary, peerAddresses: this.floatingMembers[p.host].peers }])),
      notifyMaster: { path: MOVE_ADDRESS_SCRIPT, content: renderMoveAddressScript({ allocationId: eip.allocationId }), executable: true },
      tools: ["awscli"],
    };
  }

  /** The partition, region and account of the stack's provider, for ARNs (data sources, created once). */
  private arn(): { partition: string; region: string; account: string } {
    this.arnParts ??= {
      partition: new DataAwsPartition(this, "partition").partition,
      region: new DataAwsRegion(this, "region").region,
      account: new DataAwsCallerIdentity(this, "caller-identity").accountId,
    };
    return this.arnParts;
  }

  /** ARN of an SSM parameter given by name (or already an ARN). */
  private parameterArn(nameOrArn: string): string {
    if (nameOrArn.startsWith("arn:")) return nameOrArn;
    const a = this.arn();
    return `arn:${a.partition}:ssm:${a.region}:${a.account}:parameter/${nameOrArn.replace(/^\/+/, "")}`;
  }

  /** ARN pattern of a Secrets Manager secret given by name (AWS appends 6 random characters) or ARN. */
  private secretArn(idOrArn: string): string {
    if (idOrArn.startsWith("arn:")) return idOrArn;
    const a = this.arn();
    return `arn:${a.partition}:secretsmanager:${a.region}:${a.account}:secret:${idOrArn}-??????`;
  }

  /** CIDR blocks of the subnets a role's hosts live in: the load balancers' public ones, everyone else's private ones. */
  private subnetsOf(role: ServiceRole): string[] {
    return (role === "load-balancer" ? this.network.publicSubnets : this.network.privateSubnets).map((s: SubnetRef) => s.cidrBlock);
  }

  /** One VM per host: its services under systemd, from cloud-init. */
  addHost(scope: Construct, spec: HostSpec): DeployedHost {
    this.registry.register(spec);
    for (const service of spec.services) this.checkOnVm(service);
    this.checkNodeExporter(spec);
    // Only listeners for the internet make a host public; the operators' (Prometheus' UI) stay private: SSM port forwarding.
    const publishes = (s: ServiceSpec) => s.publish !== undefined && (s.publish.audience ?? "internet") === "internet";
    const isPublic = spec.services.some((s) => publishes(s) || s.ingress.some((i) => i.from === "internet"));
    const subnets = isPublic ? this.network.publicSubnets : this.network.privateSubnets;
    // Spread the nodes of each role over the zones: node i goes to zone i mod n.
    const index = this.perRole[spec.role] ?? 0;
    this.perRole[spec.role] = index + 1;
    const member = this.floatingMembers[spec.name];
    const undeclared = spec.services.find((s) => s.floatingAddress !== undefined && (member === undefined || member.group !== s.floatingAddress));
    new PropValidator("AwsTarget", this)
      .check(
        undeclared === undefined,
        `host ${spec.name}`,
        `runs ${undeclared?.name}, a member of floating address group "${undeclared?.floatingAddress}", which was not planned for this host`,
        "call floatingAddress() for the group, naming this host, before addHost",
      )
      .check(
        member === undefined || isPublic,
        `host ${spec.name}`,
        "holds a floating address but publishes no listener",
        "publish the listeners of a floating address's members",
      )
      .throwIfInvalid();
    // A member of a pair goes to the zone its fixed addresses were planned in (each member its own zone).
    const subnet = member ? subnets[member.subnetIndex] : subnets[index % subnets.length];

    const hostIngress = [nodeExporterIngress()];
    this.securityGroups.addFlows(spec, hostIngress);
    const backup = this.backupOf(spec);
    const roleKey = backup.roleKey;
    const profile = this.roles.profileFor(roleKey);

    const secrets = spec.services.flatMap((s) => Object.values(s.secretEnvironment)).map((secret) => this.secrets.parameterFor(secret));
    // Secret files: a Terraform value is copied into a SecureString parameter; a reference is read where the user keeps it.
    const secretFiles: HostSecretFile[] = [];
    const parameterArns = secrets.map((s) => s.parameterArn);
    const secretArns: string[] = [];
    for (const [path, source] of spec.services.flatMap((s) => Object.entries(s.secretFiles ?? {}))) {
      if (!isSecretReference(source)) {
        const stored = this.secrets.parameterFor(source);
        parameterArns.push(stored.parameterArn);
        secretFiles.push({ path, source: { kind: "ssm-parameter", parameterName: stored.parameterName } });
      } else if (source.location.kind === "ssm-parameter") {
        parameterArns.push(this.parameterArn(source.location.parameterName));
        secretFiles.push({ path, source: { kind: "ssm-parameter", parameterName: source.location.parameterName } });
      } else if (source.location.kind === "secrets-manager") {
        secretArns.push(this.secretArn(source.location.secretId));
        secretFiles.push({ path, source: { kind: "secrets-manager", secretId: source.location.secretId } });
      }
    }
    this.roles.grantParameters(roleKey, [...new Set(parameterArns)]);
    this.roles.grantSecretsManagerSecrets(roleKey, [...new Set(secretArns)]);
    const firewall = renderHostFirewall({
      spec,
      subnetsOf: (role) => this.subnetsOf(role),
      vrrpPeers: member?.peers,
      sshCidr: this.props.sshCidr,
      hostIngress,
    });

    const assetObjects: S3Object[] = [];
    const bundles = spec.services.flatMap((s) => (s.artifact?.kind === "bundle" ? [s.artifact] : []));
    const assets: HostAssetFetch[] = bundles
      .filter((a, i) => bundles.findIndex((b) => b.path === a.path && b.sourcePath === a.sourcePath) === i)
      .map((a) => {
        const stored = this.bucket().add(a.sourcePath, "assets");
        this.roles.grantObject(roleKey, stored.objectArn);
        assetObjects.push(stored.object);
        return { s3Uri: stored.s3Uri, path: a.path };
      });
    // Files too big for user data (the database failover script) are S3 objects, fetched by the prepare step.
    for (const file of this.s3Files(spec)) {
      const stored = this.bucket().addText(file.content, file.path.slice(file.path.lastIndexOf("/") + 1), "files");
      this.roles.grantObject(roleKey, stored.objectArn);
      assetObjects.push(stored.object);
      assets.push({ s3Uri: stored.s3Uri, path: file.path, executable: file.executable ?? false });
    }
    this.grantMoves(spec, roleKey);
    for (const use of backup.uses) this.grantBackup(roleKey, use.name, use.access);

    const withData = spec.services.find((s) => s.dataVolume);
    const fqdn = this.fqdn(spec.name);
    const userData = (volumeId: string | undefined) => {
      const text = renderHostUserData({
        spec,
        fqdn,
        packages: (service) => debianPackagesFor(service.software, service.version, this.props.packages),
        parameterName: (secret) => this.secrets.parameterFor(secret).parameterName,
        assets,
        secretFiles,
        firewall,
        volume: withData?.dataVolume && volumeId ? { volumeId, mountPath: withData.dataVolume.mountPath, deviceName: DATA_DEVICE_NAME } : undefined,
        installSsmAgent: this.props.installSsmAgent ?? true,
        nodeExporter: true,
      });
      const size = estimatedGzippedUserDataSize(text);
      this.userDataSizes[spec.name] = size;
      this.userDataTextSizes[spec.name] = estimatedUserDataSize(text);
      new PropValidator("AwsTarget", this)
        .check(
          size < USER_DATA_LIMIT_BYTES,
          `host ${spec.name}`,
          `has ${size} bytes of user data (gzipped), over EC2's limit of ${USER_DATA_LIMIT_BYTES}`,
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
      fixedAddresses: member ? { primary: member.primary, secondary: member.secondary } : undefined,
      securityGroupIds: this.securityGroups.groupIdsFor(spec),
      instanceProfileName: profile.name,
      instanceType: this.instanceTypes[spec.role],
      amiId: this.amiId,
      ignoreAmiChanges: !(this.props.replaceOnNewAmi ?? false),
      rootVolumeSizeGb: this.props.rootVolumeSizeGb ?? 10,
      kmsKeyArn: this.props.kmsKeyArn,
      keyName: this.props.keyName,
      dataVolume: withData?.dataVolume
        ? {
            sizeGb: withData.dataVolume.sizeGb ?? this.props.dataVolumeSizeGb ?? DEFAULT_DATA_VOLUME_SIZE_GB,
            type: this.props.dataVolumeType ?? "gp3",
            // A database volume of a cluster with backups: its snapshot policy finds it by this tag.
            ...(backup.snapshotTag ? { tags: { [BACKUP_SNAPSHOT_TAG]: backup.snapshotTag } } : {}),
          }
        : undefined,
      userData,
      dependsOn: isPublic ? this.network.publicEgress : this.network.privateEgress,
      assets: [...new Set(assetObjects)],
    });
    this.hosts[spec.name] = host;
    if (member && host.networkInterface) this.floatingGroups[member.group].interfaceIds.push(host.networkInterface.id);

    // A movable address is a DNS name of its own pointing at the host's: a failover updates one record.
    const movableAddresses: Record<string, string> = {};
    for (const name of spec.services.flatMap((s) => s.movableAddresses ?? [])) {
      const address = this.fqdn(name);
      new Route53Record(scope, `${name}-dns-record`, {
        zoneId: this.zone.zoneId,
        name: address,
        type: "CNAME",
        ttl: MOVABLE_RECORD_TTL_SECONDS,
        records: [fqdn],
        // A promotion (moveAddressCommand) repoints the record: the next deploy must not point the writer back at
        // the old primary. The price: Terraform no longer corrects a hand edit of the target either (it still
        // recreates a deleted record, pointing at the first host).
        lifecycle: { ignoreChanges: ["records"] },
      });
      movableAddresses[name] = address;
    }

    const publish = spec.services.find(publishes)?.publish;
    const published = publish && host.elasticIp ? { address: host.elasticIp.publicIp, ports: Object.fromEntries(publish.ports.map((p) => [p, p])) } : undefined;
    const resources: Record<string, Construct> = {};
    for (const s of spec.services) resources[s.name] = host.instance;
    return { name: spec.name, address: fqdn, resources, published, movableAddresses, metrics: this.metricsOf(spec, fqdn) };
  }

  /**
   * Where Prometheus scrapes a host: its services' metrics ports, at the host's
   * private name (a sidecar shares the VM, so its own port is on it too), and the
   * node exporter, under the host's own role and group (its security group opens 9100).
   */
  private metricsOf(spec: HostSpec, fqdn: string): MetricsEndpoint[] {
    const endpoint = (job: string, role: ServiceRole, group: string | undefined, port: number, path: string | undefined): MetricsEndpoint => ({
      job,
      role,
      ...(group === undefined ? {} : { group }),
      port,
      ...(path === undefined ? {} : { path }),
      address: `${fqdn}:${port}`,
      node: spec.name,
    });
    return [
      ...spec.services.flatMap((s) => (s.metrics ?? []).map((m) => endpoint(m.job, s.role, s.group, m.port, m.path))),
      ...this.hostExporters.map((e) => endpoint(e.job, spec.role, hostGroupOf(spec), e.port, e.path)),
    ];
  }

  /** The node exporter's name and port are the target's on every VM: no service of a host may take them. */
  private checkNodeExporter(spec: HostSpec): void {
    for (const service of spec.services) {
      const declared = service.declaredBy;
      new PropValidator(declared?.construct ?? "AwsTarget", declared?.scope ?? this)
        .check(
          service.name !== NODE_EXPORTER.service,
          "service name",
          `"${service.name}" is the name of the node exporter's unit, which AwsTarget runs on every VM`,
          "give the service (the tier's namePrefix) another name",
        )
        .check(
          !service.ingress.some((i) => (i.protocol ?? "tcp") === "tcp" && i.port === NODE_EXPORTER.port),
          declared?.props.listenPort ?? "ingress",
          `makes ${service.name} listen on ${NODE_EXPORTER.port}, where AwsTarget runs the node exporter on every VM`,
          `use a port other than ${NODE_EXPORTER.port}`,
        )
        .throwIfInvalid();
    }
  }

  /**
   * The host's service files too big for user data (over INLINE_FILE_LIMIT_BYTES),
   * once per path. Two different files at one path are refused, as cloud-init's are.
   */
  private s3Files(spec: HostSpec): HostFile[] {
    const byPath = new Map<string, HostFile>();
    const v = new PropValidator("AwsTarget", this);
    for (const file of spec.services.flatMap((s) => s.files).filter((f) => !isInlineFile(f))) {
      const seen = byPath.get(file.path);
      v.check(
        seen === undefined || (seen.content === file.content && (seen.executable ?? false) === (file.executable ?? false)),
        `host ${spec.name}`,
        `has two different files at ${file.path}`,
        "give each file of a host its own path",
      );
      byPath.set(file.path, file);
    }
    v.throwIfInvalid();
    return [...byPath.values()];
  }

  /**
   * The names a host's services may move (`movesAddresses`, a database
   * promotion): each a DNS label, refused otherwise; its role may UPSERT exactly
   * those CNAMEs of the private zone. Nothing for a host that moves nothing.
   */
  private grantMoves(spec: HostSpec, roleKey: HostRoleKey): void {
    const names: string[] = [];
    for (const service of spec.services) {
      const declared = service.declaredBy;
      const v = new PropValidator(declared?.construct ?? "AwsTarget", declared?.scope ?? this);
      for (const name of service.movesAddresses ?? []) {
        v.check(
          isDnsLabel(name),
          "movesAddresses",
          `of ${service.name} names "${name}", which is not a DNS label: AwsTarget moves it as the CNAME <name>.${this.privateZoneName}`,
          "use the name of a movableAddresses entry: lower-case letters, digits and dashes, at most 63",
        );
        names.push(name);
      }
      v.throwIfInvalid();
    }
    this.roles.grantRecordUpserts(
      roleKey,
      this.zoneArn,
      [...new Set(names)].map((n) => this.fqdn(n)),
    );
  }

  /**
   * A host's part in the backups: the stores its services use (each planned
   * with backupStore first), the IAM role key (a role of its own for the host
   * that writes a store), its data volume's snapshot tag; at most one textfile
   * directory (the node exporter reads one).
   */
  private backupOf(spec: HostSpec): {
    roleKey: HostRoleKey;
    uses: { name: string; access: BackupStoreAccess }[];
    snapshotTag?: string;
  } {
    const uses: { name: string; access: BackupStoreAccess }[] = [];
    let snapshotTag: string | undefined;
    let roleKey: HostRoleKey = spec.role;
    const dirs = new Set<string>();
    for (const service of spec.services) {
      const declared = service.declaredBy;
      const v = new PropValidator(declared?.construct ?? "AwsTarget", declared?.scope ?? this);
      if (service.textfileMetricsDir !== undefined) dirs.add(service.textfileMetricsDir);
      v.check(
        dirs.size <= 1,
        "backup",
        `: host ${spec.name} has services with different textfile metrics directories (${[...dirs].join(", ")}); its node exporter reads one`,
        "write every service's textfiles into one directory",
      );
      const use = service.backupStore;
      if (use) {
        const planned = this.backupStores[use.name];
        v.check(
          planned !== undefined,
          "backup",
          `: ${service.name} uses the backup store "${use.name}", which AwsTarget '${this.node.path}' has not planned`,
          "ask the target for the store (backupStore) before adding its hosts",
        );
        if (planned) {
          uses.push({ name: use.name, access: use.access });
          if (service.dataVolume) snapshotTag = planned.store.snapshotTagValue;
          if (use.access === "write") roleKey = `${spec.role}:bk${planned.index}`;
        }
      }
      v.throwIfInvalid();
    }
    return { roleKey, uses, ...(snapshotTag ? { snapshotTag } : {}) };
  }

  /**
   * S3 access to a cluster's backups under its prefix, once per role and store:
   * `read` lists and gets (restore); `write` also puts and deletes (the backup
   * command's retention: on a versioned bucket a delete is a marker, the version
   * stays until the lifecycle expires it; no s3:DeleteObjectVersion). With
   * `backupKmsKeyArn`, the key's use through S3 only.
   */
  private grantBackup(roleKey: HostRoleKey, name: string, access: BackupStoreAccess): void {
    const planned = this.backupStores[name];
    const key = `${roleKey}/${access}`;
    if (planned.granted.has(key)) return;
    planned.granted.add(key);
    const bucket = planned.store.bucket;
    const kms = this.props.backupKmsKeyArn;
    const write = access === "write";
    this.roles.addPolicy(roleKey, `${roleKey.replace(":", "-")}-backup-${access}-${name}`, `backup-${access}-${name}`, () => [
      {
        Sid: "ListOwnBackups",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [bucket.arn],
        Condition: { StringLike: { "s3:prefix": [`${name}/*`, `${name}/`] } },
      },
      {
        Sid: write ? "WriteOwnBackups" : "ReadOwnBackups",
        Effect: "Allow",
        Action: write ? ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"] : ["s3:GetObject"],
        Resource: [`${bucket.arn}/${name}/*`],
      },
      ...(kms
        ? [
            {
              Sid: "UseBackupKeyThroughS3",
              Effect: "Allow",
              Action: write ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
              Resource: [kms],
              Condition: { StringLike: { "kms:ViaService": "s3.*.amazonaws.com" } },
            },
          ]
        : []),
    ]);
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
    const outside = service.egress.filter((e) => e.to === "internet" && (e.protocol === "vrrp" || !(e.port >= 1 && e.port <= 65535)));
    v.check(
      outside.length === 0,
      "egress",
      `of ${service.name} to the internet is ${outside.map((e) => `${e.protocol ?? "tcp"}/${e.port}`).join(", ")}: AwsTarget opens egress to the internet on one TCP or UDP port only, never all traffic`,
      "name the receiver's port (1-65535) over TCP or UDP",
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

/** How many load-balancer pairs one AwsTarget plans fixed addresses for (two per pair in each public subnet's /28). */
export const MAX_FLOATING_GROUPS = 8;

interface FloatingMemberPlan {
  readonly host: string;
  readonly group: string;
  readonly subnetIndex: number;
  readonly primary: string;
  readonly secondary: string;
  readonly peers: readonly string[];
}

interface FloatingGroupPlan {
  readonly name: string;
  readonly eip: Eip;
  /** The members' network interfaces, filled in as they are added. */
  readonly interfaceIds: string[];
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
