import { PATHS } from "../../../../../templates/paths";
import { isAbsolutePath } from "../../../../../templates/validate";
import {
  HostAssetFetch,
  HostDataVolume,
  HostSecretFile,
  needsPrepare,
  PREPARE_SCRIPT,
  renderPrepareScript,
  renderSsmAgentInstallScript,
  secretFileFor,
  SSM_AGENT_SCRIPT,
} from "./host-scripts";
import { FIREWALL_UNIT, PREPARE_UNIT, renderFirewallUnit, renderPrepareUnit, renderServiceUnit, serviceUnitName, SYSTEMD_UNIT_DIR } from "./systemd";
import { toYaml, YamlValue } from "./yaml";

/** Where a VM's nftables ruleset is installed. */
export const FIREWALL_RULESET_PATH = `${PATHS.configDir}/firewall.nft`;

/** The apt pin that keeps held-back packages off the host (written before any package is installed). */
export const APT_PREFERENCES_PATH = "/etc/apt/preferences.d/ha-web";

/** EC2's hard limit on user data, in bytes (before base64). */
export const USER_DATA_LIMIT_BYTES = 16384;

export interface CloudConfigFile {
  readonly path: string;
  readonly content: string;
  /** @default false */
  readonly executable?: boolean;
}

export interface CloudConfigSecret {
  /** Environment variable the start script reads (as `<env>_FILE`). */
  readonly env: string;
  /** SecureString parameter holding the value. */
  readonly parameterName: string;
}

/** One process of the host, run by its own systemd unit. */
export interface CloudConfigService {
  readonly name: string;
  /** Role, for the unit's description. */
  readonly role: string;
  readonly command: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly secrets: readonly CloudConfigSecret[];
  /** @default "root" */
  readonly user?: string;
  /** Services on this host that must start first. @default [] */
  readonly after?: readonly string[];
  /** The data volume's mount point, when this service keeps its data there. */
  readonly dataMount?: string;
  /** @default 15 (60 with a data volume) */
  readonly stopTimeoutSeconds?: number;
  /** @default "SIGTERM" */
  readonly stopSignal?: string;
  /** Capabilities a non-root service is granted (ambient). @default none */
  readonly capabilities?: readonly string[];
  /** Start only once the prepare step succeeded (when the host has one). @default true */
  readonly requiresPrepare?: boolean;
}

export interface CloudConfigHost {
  readonly hostName: string;
  /** Fully qualified name (the private DNS name peers use). */
  readonly fqdn?: string;
  readonly role: string;
  /** Debian packages to install. */
  readonly packages: readonly string[];
  /** Distribution units masked before the packages are installed (they would fight ours for ports and data). */
  readonly maskUnits: readonly string[];
  /** Packages apt must never install, not even as a recommendation (an apt pin at priority -1). @default none */
  readonly heldBackPackages?: readonly string[];
  /** Unprivileged system users the services run as, created before the packages. */
  readonly systemUsers: readonly string[];
  /** The services' files (start scripts, configs), written byte for byte. */
  readonly files: readonly CloudConfigFile[];
  readonly services: readonly CloudConfigService[];
  readonly assets: readonly HostAssetFetch[];
  /** Files whose whole content is a secret, fetched at every boot before the services start. @default none */
  readonly secretFiles?: readonly HostSecretFile[];
  /** The host's nftables ruleset (`nft -f` text), loaded before the network and the services. @default none */
  readonly firewall?: string;
  readonly volume?: HostDataVolume;
  /** Install the SSM agent for Session Manager (Debian's images do not ship it). @default true */
  readonly installSsmAgent?: boolean;
}

export function validateCloudConfigHost(host: CloudConfigHost): string[] {
  const problems: string[] = [];
  const byPath = new Map<string, string>();
  for (const file of allFiles(host)) {
    if (!isAbsolutePath(file.path)) problems.push(`file path "${file.path}" must be absolute`);
    const seen = byPath.get(file.path);
    if (seen !== undefined && seen !== file.content) problems.push(`two different files at ${file.path}`);
    byPath.set(file.path, file.content);
  }
  for (const pkg of [...host.packages, ...(host.heldBackPackages ?? [])])
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(pkg)) problems.push(`"${pkg}" is not a Debian package name`);
  for (const pkg of host.heldBackPackages ?? []) if (host.packages.includes(pkg)) problems.push(`${pkg} is both installed and held back`);
  for (const unit of host.maskUnits) if (!/^[A-Za-z0-9@_.-]+\.service$/.test(unit)) problems.push(`"${unit}" is not a unit name`);
  for (const user of host.systemUsers) if (!/^[a-z_][a-z0-9_-]*$/.test(user)) problems.push(`"${user}" is not a user name`);
  const names = new Set(host.services.map((s) => s.name));
  if (names.size < host.services.length) problems.push("two services have the same name (and would share a unit)");
  for (const service of host.services) {
    for (const dep of service.after ?? []) if (!names.has(dep)) problems.push(`${service.name} starts after ${dep}, which is not on this host`);
    if (service.dataMount && service.dataMount !== host.volume?.mountPath)
      problems.push(`${service.name} keeps data at ${service.dataMount}, but the host mounts no volume there`);
  }
  for (const asset of host.assets) {
    if (!isAbsolutePath(asset.path)) problems.push(`asset path "${asset.path}" must be absolute`);
    if (byPath.has(asset.path)) problems.push(`${asset.path} is both a file written by cloud-init and an asset fetched from S3`);
  }
  for (const path of duplicates(host.assets.map((a) => a.path))) problems.push(`two assets at ${path}`);
  for (const f of host.secretFiles ?? []) {
    if (!/^\/[A-Za-z0-9_./-]+$/.test(f.path)) problems.push(`secret file path "${f.path}" must be absolute, of letters, digits and ._-/`);
    if (host.files.some((file) => file.path === f.path)) problems.push(`${f.path} is both a plain file and a secret file`);
  }
  return problems;
}

/** The files a host gets: the services' own, deduplicated (Nginx and its app share the health check script). */
function allFiles(host: CloudConfigHost): CloudConfigFile[] {
  return host.files.map((f) => ({ path: f.path, content: f.content, executable: f.executable ?? false }));
}

/**
 * Renders the `#cloud-config` user data of a host: the distribution's units masked
 * (bootcmd, before any package), the packages, the service users, the services'
 * files byte for byte, a systemd unit per service and a prepare unit (data
 * volume, secrets from SSM, assets from S3) that the services require.
 */
export function renderCloudConfig(host: CloudConfigHost): string {
  const problems = validateCloudConfigHost(host);
  if (problems.length > 0) throw new Error(`cloud-config for ${host.hostName}: ${problems.join("; ")}`);

  const secretFetches = uniqueBy(
    host.services.flatMap((s) => s.secrets.map((secret) => ({ parameterName: secret.parameterName, file: secretFileFor(secret.parameterName) }))),
    (s) => s.parameterName,
  );
  const secretFiles = host.secretFiles ?? [];
  const prepare = needsPrepare({ secrets: secretFetches, secretFiles, assets: host.assets, volume: host.volume });

  const files: { path: string; content: string; permissions: string }[] = [];
  const add = (path: string, content: string, permissions: string) => {
    if (!files.some((f) => f.path === path)) files.push({ path, content, permissions });
  };
  const heldBack = host.heldBackPackages ?? [];
  if (heldBack.length > 0) add(APT_PREFERENCES_PATH, renderAptHoldBack(heldBack), "0644");
  if (host.firewall !== undefined) {
    add(FIREWALL_RULESET_PATH, host.firewall, "0640");
    add(`${SYSTEMD_UNIT_DIR}/${FIREWALL_UNIT}`, renderFirewallUnit({ hostName: host.hostName, rulesetPath: FIREWALL_RULESET_PATH }), "0644");
  }
  for (const f of allFiles(host)) add(f.path, f.content, f.executable ? "0755" : "0644");
  if (prepare) {
    add(
      PREPARE_SCRIPT,
      renderPrepareScript({ hostName: host.hostName, secrets: secretFetches, secretFiles, assets: host.assets, volume: host.volume }),
      "0750",
    );
    add(`${SYSTEMD_UNIT_DIR}/${PREPARE_UNIT}`, renderPrepareUnit({ hostName: host.hostName, scriptPath: PREPARE_SCRIPT }), "0644");
  }
  for (const service of host.services) {
    const unit = renderServiceUnit({
      serviceName: service.name,
      description: `cdktf-ha-web ${service.role} ${service.name}`,
      command: service.command,
      environment: service.environment,
      secrets: service.secrets.map((s) => ({ env: s.env, sourcePath: secretFileFor(s.parameterName) })),
      user: service.user,
      after: service.after,
      requiresPrepare: prepare && (service.requiresPrepare ?? true),
      requiresFirewall: host.firewall !== undefined,
      requiresMount: service.dataMount,
      stopTimeoutSeconds: service.stopTimeoutSeconds ?? (service.dataMount ? 60 : 15),
      stopSignal: service.stopSignal,
      capabilities: service.capabilities,
    });
    add(`${SYSTEMD_UNIT_DIR}/${serviceUnitName(service.name)}`, unit, "0644");
  }
  const ssmAgent = host.installSsmAgent ?? true;
  if (ssmAgent) add(SSM_AGENT_SCRIPT, renderSsmAgentInstallScript(), "0750");

  const units = [
    ...(host.firewall !== undefined ? [FIREWALL_UNIT] : []),
    ...(prepare ? [PREPARE_UNIT] : []),
    ...host.services.map((s) => serviceUnitName(s.name)),
  ];
  const runcmd: YamlValue[] = [
    ["systemctl", "daemon-reload"],
    // --no-block: the units wait for the volume and secrets; cloud-init need not.
    ["systemctl", "enable", "--now", "--no-block", ...units],
  ];
  if (ssmAgent) runcmd.push(["sh", SSM_AGENT_SCRIPT]);

  const packages = [
    ...new Set([
      ...host.packages,
      "curl",
      ...(secretFetches.length > 0 || secretFiles.length > 0 || host.assets.length > 0 ? ["awscli"] : []),
      ...(host.firewall !== undefined ? ["nftables"] : []),
    ]),
  ].sort();
  const doc: Record<string, YamlValue | undefined> = {
    hostname: host.hostName,
    fqdn: host.fqdn,
    bootcmd: host.maskUnits.length > 0 ? [["systemctl", "mask", ...host.maskUnits]] : undefined,
    package_update: true,
    package_upgrade: false,
    packages,
    users:
      host.systemUsers.length > 0
        ? ["default", ...host.systemUsers.map((name) => ({ name, system: true, shell: "/usr/sbin/nologin", lock_passwd: true, no_create_home: true }))]
        : undefined,
    write_files: files.map((f) => ({ path: f.path, permissions: f.permissions, owner: "root:root", content: f.content })),
    runcmd,
  };
  const header = [
    "#cloud-config",
    `# cdktf-ha-web: host ${host.hostName} (${host.role}). Services: ${host.services.map((s) => s.name).join(", ")}.`,
    `# Files under ${PATHS.binDir} and ${PATHS.configDir} are the same ones the Docker target uploads.`,
  ].join("\n");
  return `${header}\n${toYaml(doc)}`;
}

/**
 * An apt preferences file that keeps packages off the host: priority -1 means
 * "never install", so a recommendation of them is skipped. cloud-init writes
 * files (init stage) before it installs packages (final stage).
 */
export function renderAptHoldBack(packages: readonly string[]): string {
  const stanzas = packages.map((p) => `Package: ${p}\nPin: version *\nPin-Priority: -1\n`);
  return `# Rendered by cdktf-ha-web: packages this host never installs.\n\n${stanzas.join("\n")}`;
}

/** Size in bytes of user data, as EC2 counts it (UTF-8, before base64). */
export function userDataSize(userData: string): number {
  return Buffer.byteLength(userData, "utf8");
}

function duplicates(values: readonly string[]): string[] {
  return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
