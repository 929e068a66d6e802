import { createHash } from "crypto";
import { gzipSync } from "zlib";
import { CloudConfigHost, CloudConfigService, HostAssetFetch, HostDataVolume, HostSecretFile, renderCloudConfig, userDataSize } from "./cloud-init";
import { HostFile, HostSpec, Secret, ServiceSpec } from "../../target";
import { BACKUP_COMMANDS } from "../../../../templates/mysql/backup-plan";
import { DEBIAN_TOOL_PACKAGES, DISTRIBUTION_UNITS, EXISTING_USERS, TOOL_UNITS } from "../packages";
import { NODE_EXPORTER, nodeExporterService } from "./node-exporter";

/**
 * Service files larger than this (bytes of UTF-8 text) travel through S3 instead
 * of user data: the host fetches them at prepare time, before its services
 * start. EC2 allows 16 KB of user data gzipped, and a host's units, prepare
 * script, firewall and its usual scripts and configs (each under 9 KB of text)
 * take 6 to 9 KB of it. Scripts compress about 3:1, so a file at the limit costs
 * about 4 KB: a quarter of the budget at most, while the usual files stay
 * inline (readable in the plan, no S3 for a host that needs none). The database
 * failover script (about 20 KB, 7 KB gzipped) is above it.
 */
export const INLINE_FILE_LIMIT_BYTES = 12 * 1024;

/**
 * Files fetched from S3 whatever their size: the backup commands (backup,
 * scheduler, binlog archiver, restore) are not needed to boot, and together
 * they would crowd a backup source's 16 KB of user data.
 */
export const ALWAYS_FETCHED_PATHS: ReadonlySet<string> = new Set(Object.values(BACKUP_COMMANDS));

/** Whether a service file is written by cloud-init (else it is fetched from S3). */
export function isInlineFile(file: Pick<HostFile, "content" | "path">): boolean {
  return Buffer.byteLength(file.content, "utf8") <= INLINE_FILE_LIMIT_BYTES && !ALWAYS_FETCHED_PATHS.has(file.path);
}

export interface HostUserDataInput {
  readonly spec: HostSpec;
  readonly fqdn: string;
  /** The Debian packages a service's software needs. */
  readonly packages: (service: ServiceSpec) => readonly string[];
  /** Name of the SSM parameter holding a secret. */
  readonly parameterName: (secret: Secret) => string;
  /**
   * Downloads from S3, by the asset path on the host: the bundles, and every
   * service file over INLINE_FILE_LIMIT_BYTES (which the user data leaves out).
   */
  readonly assets: readonly HostAssetFetch[];
  /** The services' secret files, by where each is read from at boot. @default none */
  readonly secretFiles?: readonly HostSecretFile[];
  /** The host's nftables ruleset. @default none */
  readonly firewall?: string;
  readonly volume?: HostDataVolume;
  readonly installSsmAgent: boolean;
  /** Run the node exporter (NODE_EXPORTER) beside the services. @default false */
  readonly nodeExporter?: boolean;
}

/** The framework-free description of a host's boot, from its HostSpec. */
export function cloudConfigHost(input: HostUserDataInput): CloudConfigHost {
  const { spec } = input;
  const local = new Set(spec.services.map((s) => s.name));
  const services: CloudConfigService[] = spec.services.map((service) => ({
    name: service.name,
    role: service.role,
    command: service.command,
    environment: service.environment,
    secrets: Object.entries(service.secretEnvironment).map(([env, secret]) => ({ env, parameterName: input.parameterName(secret) })),
    user: service.user,
    // Peers on other hosts are not systemd dependencies: the start scripts wait for them.
    after: service.dependsOn.filter((name) => local.has(name)),
    dataMount: service.dataVolume?.mountPath,
    stopTimeoutSeconds: service.stopTimeoutSeconds,
    stopSignal: service.stopSignal,
    capabilities: service.capabilities,
  }));
  const software = [...new Set(spec.services.map((s) => s.software))];
  // A host that moves a name (a database promotion) runs the AWS CLI's Route 53 commands.
  const moves = spec.services.some((s) => (s.movesAddresses ?? []).length > 0);
  const tools = [...new Set([...spec.services.flatMap((s) => s.tools ?? []), ...(moves ? (["awscli"] as const) : [])])];
  const node = input.nodeExporter ?? false;
  return {
    hostName: spec.name,
    fqdn: input.fqdn,
    role: spec.role,
    packages: [
      ...new Set([
        ...spec.services.flatMap((s) => input.packages(s)),
        ...tools.flatMap((t) => DEBIAN_TOOL_PACKAGES[t]),
        ...(node ? [NODE_EXPORTER.package] : []),
      ]),
    ],
    maskUnits: [
      ...new Set([
        ...software.flatMap((s) => DISTRIBUTION_UNITS[s]),
        ...tools.flatMap((t) => TOOL_UNITS[t]),
        ...(node ? [NODE_EXPORTER.distributionUnit] : []),
      ]),
    ],
    heldBackPackages: node ? [...NODE_EXPORTER.heldBack] : [],
    systemUsers: [...new Set(spec.services.map((s) => s.user ?? "root").filter((u) => !EXISTING_USERS.has(u)))],
    files: spec.services.flatMap((s) => s.files).filter(isInlineFile),
    // The backup source's metrics (AwsTarget allows one textfile directory per host).
    services: node ? [...services, nodeExporterService(spec.services.find((s) => s.textfileMetricsDir !== undefined)?.textfileMetricsDir)] : services,
    assets: input.assets,
    secretFiles: input.secretFiles,
    firewall: input.firewall,
    volume: input.volume,
    installSsmAgent: input.installSsmAgent,
  };
}

/** cdktf marks a deploy-time value inside a string as `${TfToken[...]}`. */
const TOKEN = /\$\{TfToken\[[^\]]+\]\}/g;

/** The text with each reference as 64 bytes (an S3 bucket name is at most 63, an EBS volume id 21, an allocation id 26). */
function filled(text: string): string {
  let n = 0;
  // Hex digits that differ per reference: they compress about as badly as the real values.
  return text.replace(TOKEN, () => createHash("sha256").update(String(n++)).digest("hex"));
}

/** Size of the text once Terraform fills in the references (before compression). */
export function estimatedUserDataSize(text: string): number {
  return userDataSize(filled(text));
}

/**
 * Size of the user data EC2 receives: the filled-in text gzipped (Terraform's
 * base64gzip compresses at the default level, as zlib does here; EC2 counts the
 * bytes before base64).
 */
export function estimatedGzippedUserDataSize(text: string): number {
  return gzipSync(Buffer.from(filled(text), "utf8")).length;
}

/** Renders a host's user data (unescaped: what the VM receives), for tests and size checks. */
export function renderHostUserData(input: HostUserDataInput): string {
  return renderCloudConfig(cloudConfigHost(input));
}
