import { Construct } from "constructs";
import { isDnsLabel } from "../../../templates/validate";
import { isLiteral, PropValidator, warnProp } from "../../private/validation";
import { ServiceRole } from "../target";
import { DEFAULT_DEBIAN_PACKAGES } from "./packages";
import { parseCidr } from "./private/cidr";
import { AwsTargetProps, DEFAULT_INSTANCE_TYPES, LOG_RETENTION_DAYS } from "./props";

/** RFC 1918 ranges: a VPC outside them works, but its hosts could not reach the public addresses it shadows. */
const PRIVATE_RANGES: readonly [string, number][] = [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
];

function isPrivateCidr(cidr: string): boolean {
  const parsed = parseCidr(cidr);
  if (!parsed) return false;
  return PRIVATE_RANGES.some(([base, bits]) => {
    const range = parseCidr(`${base}/${bits}`)!;
    const mask = (~0 << (32 - bits)) >>> 0;
    return parsed[1] >= bits && (parsed[0] & mask) >>> 0 === range[0];
  });
}

/**
 * Graviton (arm64) instance families carry a "g" after their generation
 * (t4g, m7g, c6gn, r6gd, im4gn) or are a1; everything else is x86_64. A heuristic:
 * the set of types is open-ended, so a mismatch is a warning, not an error.
 */
export function instanceArchitecture(instanceType: string): "arm64" | "x86_64" {
  const family = instanceType.split(".")[0];
  if (family === "a1") return "arm64";
  const afterGeneration = /^[a-z-]+\d+([a-z-]*)$/.exec(family)?.[1] ?? "";
  return afterGeneration.includes("g") ? "arm64" : "x86_64";
}

/**
 * The rules of AwsTargetProps (what the AWS API and the aws provider accept),
 * checked at synth: errors for what would fail at deploy time, warnings for what
 * would be silently ignored.
 */
export function validateAwsTargetProps(
  scope: Construct,
  props: AwsTargetProps,
  namePrefix: string,
  zoneName: string,
  instanceTypes: Record<ServiceRole, string>,
): void {
  const v = new PropValidator("AwsTarget", scope);
  const warn = (prop: string, problem: string, fix: string) => warnProp("AwsTarget", scope, prop, problem, fix);
  v.check(
    isDnsLabel(namePrefix) && namePrefix.length <= 20,
    "namePrefix",
    `"${namePrefix}" is not a DNS label of at most 20 characters`,
    'use lower-case letters, digits and dashes, for example "haweb"',
  );
  if (props.region !== undefined) {
    v.check(/^[a-z]{2}(-[a-z]+)+-\d$/.test(props.region), "region", `"${props.region}" is not an AWS region`, 'use a region name such as "eu-west-1"');
    if (props.createProviders === false)
      warn(
        "region",
        "has no effect with createProviders: false (your own aws provider sets the region)",
        "set the region on your AwsProvider, or remove it here",
      );
  }
  const zones = props.availabilityZones ?? 2;
  const nat = props.natGateways ?? 1;
  v.check(
    Number.isInteger(zones) && zones >= 2 && zones <= 6,
    "availabilityZones",
    `is ${zones}; it must be a whole number from 2 to 6`,
    "use 2 (or 3 for more headroom)",
  );
  v.check(
    Number.isInteger(nat) && nat >= 1 && nat <= zones,
    "natGateways",
    `is ${nat}; it must be a whole number from 1 to availabilityZones (${zones})`,
    "use 1 (cheapest) or one per zone (survives a zone outage)",
  );
  if (props.vpcCidr !== undefined) {
    const cidr = parseCidr(props.vpcCidr);
    v.check(
      cidr !== undefined && cidr[1] >= 16 && cidr[1] <= 20,
      "vpcCidr",
      `"${props.vpcCidr}" is not an IPv4 CIDR block from /16 to /20 (the target carves /24 subnets 0-5 and 8-13 from it)`,
      'use a private range such as "10.40.0.0/16"',
    );
    v.check(
      cidr === undefined || (cidr[0] & ((~0 << (32 - cidr[1])) >>> 0)) >>> 0 === cidr[0],
      "vpcCidr",
      `"${props.vpcCidr}" has host bits set, which AWS refuses`,
      "use the network address, for example 10.40.0.0/16",
    );
    if (cidr !== undefined && !isPrivateCidr(props.vpcCidr))
      warn(
        "vpcCidr",
        `"${props.vpcCidr}" is not a private (RFC 1918) range: hosts could not reach the public addresses it covers`,
        "use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
      );
  }
  if (props.existingVpc) {
    const e = props.existingVpc;
    v.check(e.vpcId.length > 0, "existingVpc.vpcId", "is empty", "pass the VPC's id");
    v.check(
      e.publicSubnetIds.length > 0,
      "existingVpc.publicSubnetIds",
      "is empty: the load balancers need a public subnet",
      "pass at least one (two for HA) subnet routed to an internet gateway",
    );
    v.check(e.privateSubnetIds.length > 0, "existingVpc.privateSubnetIds", "is empty", "pass at least one (two for HA) subnet routed to a NAT gateway");
    for (const prop of ["vpcCidr", "availabilityZones", "natGateways", "flowLogs", "flowLogRetentionDays"] as const) {
      if (props[prop] !== undefined)
        warn(prop, "has no effect with existingVpc (it configures the VPC this target would create)", `remove it, or drop existingVpc`);
    }
  }
  const retention = props.flowLogRetentionDays ?? 30;
  v.check(
    LOG_RETENTION_DAYS.includes(retention),
    "flowLogRetentionDays",
    `is ${retention}, which CloudWatch Logs does not accept`,
    `use one of ${LOG_RETENTION_DAYS.slice(0, 8).join(", ")}, ...`,
  );
  v.check(
    zoneName.length <= 200 && zoneName.split(".").length >= 2 && zoneName.split(".").every(isDnsLabel),
    "privateZoneName",
    `"${zoneName}" is not a domain name`,
    'use something like "haweb.internal"',
  );
  for (const role of Object.keys(props.instanceTypes ?? {})) {
    v.check(
      role in DEFAULT_INSTANCE_TYPES,
      "instanceTypes",
      `has "${role}", which is no host role`,
      `use the keys ${Object.keys(DEFAULT_INSTANCE_TYPES).join(", ")}`,
    );
  }
  if (props.instanceTypes?.app !== undefined)
    warn("instanceTypes.app", "has no effect: the app server runs on its web node's VM", "size web nodes (Nginx and the app) with instanceTypes.web");
  const architecture = props.architecture ?? "x86_64";
  v.check(architecture === "x86_64" || architecture === "arm64", "architecture", `"${architecture}" is not supported`, 'use "x86_64" or "arm64"');
  for (const [role, type] of Object.entries(instanceTypes)) {
    const valid = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(type);
    v.check(valid, `instanceTypes.${role}`, `"${type}" is not an instance type`, 'use a type such as "t3.small"');
    if (valid && role !== "app" && props.amiId === undefined && instanceArchitecture(type) !== architecture) {
      warn(
        `instanceTypes.${role}`,
        `"${type}" looks like an ${instanceArchitecture(type)} type, but architecture is ${architecture}: the Debian image would not boot on it`,
        `pick an ${architecture} type, or set architecture: "${instanceArchitecture(type)}"`,
      );
    }
  }
  if (isLiteral(props.amiId))
    v.check(
      /^ami-[0-9a-f]{8,17}$/.test(props.amiId),
      "amiId",
      `"${props.amiId}" is not an AMI id`,
      'use an id such as "ami-0123456789abcdef0", or omit it for the newest Debian 12',
    );
  if (props.amiId !== undefined) {
    if (props.architecture !== undefined)
      warn("architecture", "has no effect with amiId (it only selects the Debian image)", "make sure amiId and instanceTypes match, and remove architecture");
    if (props.replaceOnNewAmi !== undefined) warn("replaceOnNewAmi", "has no effect with amiId (no image is looked up)", "remove it");
  }
  const root = props.rootVolumeSizeGb ?? 10;
  v.check(
    Number.isInteger(root) && root >= 8 && root <= 16384,
    "rootVolumeSizeGb",
    `is ${root}`,
    "use a whole number of GiB from 8 (the Debian image's size) to 16384",
  );
  if (props.dataVolumeSizeGb !== undefined) {
    v.check(
      Number.isInteger(props.dataVolumeSizeGb) && props.dataVolumeSizeGb >= 1 && props.dataVolumeSizeGb <= 16384,
      "dataVolumeSizeGb",
      `is ${props.dataVolumeSizeGb}`,
      "use a whole number of GiB from 1 to 16384 (EBS's limits)",
    );
  }
  const dataType: string = props.dataVolumeType ?? "gp3";
  v.check(
    ["gp3", "gp2"].includes(dataType),
    "dataVolumeType",
    `"${dataType}" is not supported (io1 and io2 need provisioned IOPS, which the target does not set)`,
    'use "gp3"',
  );
  if (isLiteral(props.kmsKeyArn)) {
    v.check(
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(props.kmsKeyArn),
      "kmsKeyArn",
      `"${props.kmsKeyArn}" is not a KMS key ARN (an alias ARN cannot be used in the instance roles' IAM grants)`,
      "pass the key's ARN, arn:aws:kms:REGION:ACCOUNT:key/KEY-ID",
    );
  }
  if (isLiteral(props.backupKmsKeyArn)) {
    v.check(
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(props.backupKmsKeyArn),
      "backupKmsKeyArn",
      `"${props.backupKmsKeyArn}" is not a KMS key ARN (an alias ARN cannot be used in the database roles' IAM grants)`,
      "pass the key's ARN, arn:aws:kms:REGION:ACCOUNT:key/KEY-ID",
    );
  }
  const lock = props.backupObjectLock;
  if (lock !== undefined) {
    v.check(
      Number.isInteger(lock.days) && lock.days >= 1 && lock.days <= 36500,
      "backupObjectLock.days",
      `is ${lock.days}; it must be a whole number of days from 1 to 36500`,
      "lock objects as long as the clusters keep backups, for example 7",
    );
    v.check(
      lock.mode === undefined || lock.mode === "GOVERNANCE" || lock.mode === "COMPLIANCE",
      "backupObjectLock.mode",
      `is "${lock.mode}"`,
      'use "GOVERNANCE" (the default) or "COMPLIANCE"',
    );
  }
  if (props.sshCidr !== undefined) {
    const ssh = parseCidr(props.sshCidr);
    v.check(ssh !== undefined, "sshCidr", `"${props.sshCidr}" is not an IPv4 CIDR block`, 'use your network\'s range, for example "203.0.113.0/24"');
    v.check(
      ssh === undefined || ssh[1] >= 8,
      "sshCidr",
      `"${props.sshCidr}" opens SSH to (nearly) the whole internet`,
      "use your network's range, or Session Manager (no SSH at all)",
    );
    if (props.keyName === undefined)
      warn(
        "sshCidr",
        "opens SSH, but no keyName gives anyone a key to log in with (Debian's images have no password login)",
        "set keyName, or drop sshCidr and use Session Manager",
      );
  }
  if (props.keyName !== undefined) {
    v.check(
      props.keyName.length > 0 && props.keyName.length <= 255,
      "keyName",
      `"${props.keyName}" is empty or longer than 255 characters`,
      "pass the name of an EC2 key pair, or omit it",
    );
    if (props.sshCidr === undefined)
      warn(
        "keyName",
        "has no effect without sshCidr: no security group rule lets SSH in",
        "set sshCidr to your network's range, or drop keyName and use Session Manager",
      );
  }
  for (const software of Object.keys(props.packages ?? {})) {
    v.check(
      software in DEFAULT_DEBIAN_PACKAGES,
      "packages",
      `has "${software}", which is no software the library runs`,
      `use the keys ${Object.keys(DEFAULT_DEBIAN_PACKAGES).join(", ")}`,
    );
  }
  for (const [software, list] of Object.entries(props.packages ?? {})) {
    for (const pkg of list)
      v.check(/^[a-z0-9][a-z0-9+.-]+$/.test(pkg), `packages.${software}`, `"${pkg}" is not a Debian package name`, 'use package names such as "nginx"');
  }
  for (const [key, value] of Object.entries(props.tags ?? {})) {
    v.check(
      key.length >= 1 && key.length <= 128 && !/^aws:/i.test(key),
      "tags",
      `key "${key}" is empty, longer than 128 characters or starts with "aws:" (reserved by AWS)`,
      "use a key of 1-128 characters not starting with aws:",
    );
    v.check(
      typeof value === "string" && value.length <= 256,
      "tags",
      `value of "${key}" is longer than 256 characters`,
      "use a value of at most 256 characters",
    );
  }
  v.throwIfInvalid();
}
