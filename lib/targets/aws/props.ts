import { ServiceRole, Software } from "../target";

/** A VPC the stack does not own: the hosts go into its subnets. */
export interface ExistingVpc {
  readonly vpcId: string;
  /** Subnets with a route to an internet gateway: the load balancers go here. At least one (two for HA). */
  readonly publicSubnetIds: readonly string[];
  /** Subnets with a route to a NAT gateway: web, app, database and monitoring nodes. At least one (two for HA). */
  readonly privateSubnetIds: readonly string[];
}

export type CpuArchitecture = "x86_64" | "arm64";

/** S3 Object Lock's default retention on the backup buckets (AwsTargetProps.backupObjectLock). */
export interface BackupObjectLock {
  /** @default "GOVERNANCE" (users with s3:BypassGovernanceRetention may still delete; COMPLIANCE: nobody) */
  readonly mode?: "GOVERNANCE" | "COMPLIANCE";
  /** Days each object version is locked after its upload: 1-36500. Keep it at most the clusters' backup retention. */
  readonly days: number;
}

/** The settings of AwsTarget: every one optional, each with its default. */
export interface AwsTargetProps {
  /**
   * Prefix of names, tags and SSM parameter paths, so two stacks can share an
   * account. Lower-case letters, digits and dashes, at most 20 characters.
   * @default "haweb"
   */
  readonly namePrefix?: string;
  /** Create the aws and random providers. Turn off when the stack already has them. @default true */
  readonly createProviders?: boolean;
  /** Region of the aws provider this target creates (ignored when `createProviders` is false). @default "us-east-1" */
  readonly region?: string;
  /** CIDR block of the VPC this target creates (ignored with `existingVpc`). A /16 to /20. @default "10.40.0.0/16" */
  readonly vpcCidr?: string;
  /** Number of availability zones the new VPC spans; nodes of each tier are spread over them. @default 2 */
  readonly availabilityZones?: number;
  /**
   * NAT gateways of the new VPC (private subnets reach Debian's mirrors and AWS
   * APIs through them). 1 is cheapest; one per zone survives the loss of a zone.
   * @default 1
   */
  readonly natGateways?: number;
  /** Use this VPC and its subnets instead of creating one. @default a new VPC */
  readonly existingVpc?: ExistingVpc;
  /** VPC flow logs (all traffic) to CloudWatch Logs, for the new VPC. @default true */
  readonly flowLogs?: boolean;
  /** Retention of the flow logs, in days (a value CloudWatch Logs accepts). @default 30 */
  readonly flowLogRetentionDays?: number;
  /** Route 53 private hosted zone through which the hosts reach each other (`<host>.<zone>`). @default "haweb.internal" */
  readonly privateZoneName?: string;
  /**
   * Instance type per host role. A web host runs Nginx and the app together; the
   * monitoring host Prometheus and Alertmanager.
   * @default { "load-balancer": "t3.micro", web: "t3.small", app: "t3.small", database: "t3.medium", monitoring: "t3.small" }
   */
  readonly instanceTypes?: Partial<Record<ServiceRole, string>>;
  /** CPU architecture of the instance types; selects the Debian 12 image. @default "x86_64" */
  readonly architecture?: CpuArchitecture;
  /** AMI id to use instead of the newest official Debian 12 image. @default looked up by a data source */
  readonly amiId?: string;
  /**
   * Replace instances when a newer Debian image appears. Off, a new image is used
   * only by instances created later (the data source would otherwise replace every node on the next apply).
   * @default false
   */
  readonly replaceOnNewAmi?: boolean;
  /** Size of every root volume (encrypted gp3), in GiB. @default 10 */
  readonly rootVolumeSizeGb?: number;
  /**
   * Size of each data volume (EBS, encrypted), in GiB: every database node's, and
   * the monitoring host's (Prometheus' samples; keep MonitoringTier's
   * retentionSize under it). @default 20
   */
  readonly dataVolumeSizeGb?: number;
  /** EBS type of the data volumes (always encrypted). @default "gp3" */
  readonly dataVolumeType?: "gp3" | "gp2";
  /**
   * Customer managed KMS key for volumes and secrets. The instance roles get
   * kms:Decrypt on it, through SSM only. @default the AWS managed keys (aws/ebs, aws/ssm)
   */
  readonly kmsKeyArn?: string;
  /**
   * Allow SSH (port 22) from this CIDR to every host. Off by default: use Session
   * Manager. Never 0.0.0.0/0. @default no SSH
   */
  readonly sshCidr?: string;
  /** EC2 key pair for SSH. @default no key pair */
  readonly keyName?: string;
  /** Install the SSM agent at first boot (Debian's images do not ship it), for Session Manager. @default true */
  readonly installSsmAgent?: boolean;
  /**
   * Attach AmazonSSMManagedInstanceCore (Run Command, Patch Manager, inventory)
   * instead of the Session Manager minimum. It also allows ssm:GetParameter on
   * every parameter of the account. @default false
   */
  readonly ssmManagedInstanceCore?: boolean;
  /**
   * Debian packages per software, replacing the ones picked for its version
   * (DEBIAN_PACKAGES_BY_VERSION). MySQL has no Debian package: give one your AMI
   * can install to use engine "mysql".
   * @default the packages of each software's version in Debian 12
   */
  readonly packages?: Partial<Record<Software, readonly string[]>>;
  /**
   * Customer managed KMS key (its ARN) that encrypts the database backups in
   * their S3 buckets (SSE-KMS, with an S3 bucket key). The database hosts'
   * roles may use it through S3 only: the source host to encrypt, every
   * database host to decrypt (restore).
   * @default SSE-S3 (AES-256 keys S3 manages; no KMS permissions needed)
   */
  readonly backupKmsKeyArn?: string;
  /**
   * S3 Object Lock on every backup bucket: each object version is kept at
   * least `days` from its upload, and nobody can delete it earlier (COMPLIANCE:
   * not even the account's root; GOVERNANCE: only with
   * s3:BypassGovernanceRetention). Protects backups against deletion by an
   * attacker holding the hosts' or your credentials; the bucket can then not
   * be destroyed before the retention ends. Only on a new bucket.
   * @default none (versioning and a lifecycle expiry; a deleted object stays recoverable for the backup retention)
   */
  readonly backupObjectLock?: BackupObjectLock;
  /** Extra tags on every resource the providers create (with `createProviders`). @default {} */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Size of a data volume (a database node's, the monitoring host's) when dataVolumeSizeGb is unset, in GiB. */
export const DEFAULT_DATA_VOLUME_SIZE_GB = 20;

export const DEFAULT_INSTANCE_TYPES: Readonly<Record<ServiceRole, string>> = {
  "load-balancer": "t3.micro",
  web: "t3.small",
  app: "t3.small",
  database: "t3.medium",
  // 2 GiB: Prometheus (a few thousand series from a handful of hosts, 15 s scrapes; its head block
  // and a WAL replay at start want some hundreds of MB), Alertmanager and the node exporter. A
  // t3.micro's 1 GiB leaves too little for the page cache its queries read through.
  monitoring: "t3.small",
};

/** Allowed values of a CloudWatch Logs retention. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
