/**
 * systemd units for the services of a VM. One unit per service runs the same
 * start script the container runs; secrets arrive as systemd credentials, so a
 * start script reads them through `NAME_FILE` (see READ_SECRET_FUNCTION).
 */

/** Name of the unit that runs a service. */
export function serviceUnitName(serviceName: string): string {
  return `ha-web-${serviceName}.service`;
}

/** The one-shot unit that prepares a host (secrets, assets, data volume) at every boot. */
export const PREPARE_UNIT = "ha-web-prepare.service";

/** The one-shot unit that loads the host's nftables ruleset, before the network and every service. */
export const FIREWALL_UNIT = "ha-web-firewall.service";

export const SYSTEMD_UNIT_DIR = "/etc/systemd/system";

export interface UnitSecret {
  /** Environment variable the start script reads (`<NAME>_FILE` is set to the credential's path). */
  readonly env: string;
  /** Root-only file the prepare step wrote the value to. */
  readonly sourcePath: string;
}

export interface ServiceUnitConfig {
  readonly serviceName: string;
  readonly description: string;
  /** argv; the first element must be an absolute path. */
  readonly command: readonly string[];
  /** Plain settings. Never a secret. */
  readonly environment: Readonly<Record<string, string>>;
  readonly secrets: readonly UnitSecret[];
  /** @default "root" */
  readonly user?: string;
  /** Services on the same host this one starts after (and wants). @default [] */
  readonly after?: readonly string[];
  /** Start only after the prepare unit succeeded. @default false */
  readonly requiresPrepare?: boolean;
  /** Start only with the host firewall loaded (Requires= and After= the firewall unit). @default false */
  readonly requiresFirewall?: boolean;
  /** A mount point that must be mounted (not the root file system) before the service starts. */
  readonly requiresMount?: string;
  /** @default 15 */
  readonly stopTimeoutSeconds?: number;
  /** The graceful stop signal, sent to the main process only. @default "SIGTERM" */
  readonly stopSignal?: string;
  /** Linux capabilities (without the CAP_ prefix) granted to a non-root user as ambient capabilities. @default none */
  readonly capabilities?: readonly string[];
}

export function validateServiceUnit(config: ServiceUnitConfig): string[] {
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9-]*$/.test(config.serviceName)) problems.push(`service name "${config.serviceName}" must be lower-case letters, digits and dashes`);
  if (config.command.length === 0 || !config.command[0].startsWith("/"))
    problems.push(`command of ${config.serviceName} must start with an absolute path (got ${JSON.stringify(config.command)})`);
  for (const key of [...Object.keys(config.environment), ...config.secrets.map((s) => s.env)]) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) problems.push(`environment variable name "${key}" is not valid`);
  }
  for (const secret of config.secrets) {
    if (secret.env in config.environment) problems.push(`${secret.env} is both a plain setting and a secret`);
    if (!/^\/[A-Za-z0-9_./-]+$/.test(secret.sourcePath)) problems.push(`secret file "${secret.sourcePath}" must be an absolute path`);
  }
  if (config.user !== undefined && !/^[a-z_][a-z0-9_-]*$/.test(config.user)) problems.push(`user "${config.user}" is not a valid user name`);
  for (const c of config.capabilities ?? []) if (!/^[A-Z_]+$/.test(c)) problems.push(`capability "${c}" is not a capability name`);
  for (const [key, value] of Object.entries(config.environment)) {
    if (/[\n\r]/.test(value)) problems.push(`environment variable ${key} contains a line break`);
  }
  return problems;
}

/**
 * Quotes one word for Exec*= and Environment= lines: double quotes, with `\` and
 * `"` escaped, `%` doubled (specifiers) and `$` doubled (variable expansion).
 * Words of safe characters only stay as they are.
 */
export function systemdQuote(word: string, expandDollar = true): string {
  if (/^[A-Za-z0-9_/.,:=@+-]+$/.test(word)) return word;
  let escaped = word.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%");
  if (expandDollar) escaped = escaped.replace(/\$/g, "$$$$");
  return `"${escaped}"`;
}

/** Renders the unit file of one service. */
export function renderServiceUnit(config: ServiceUnitConfig): string {
  const problems = validateServiceUnit(config);
  if (problems.length > 0) throw new Error(`systemd unit: ${problems.join("; ")}`);
  const after = (config.after ?? []).map(serviceUnitName);
  const firewall = config.requiresFirewall ? [FIREWALL_UNIT] : [];
  const ordering = ["network-online.target", ...firewall, ...(config.requiresPrepare ? [PREPARE_UNIT] : []), ...after];
  const unit = [
    "# Rendered by cdktf-ha-web. Do not edit: change the construct props instead.",
    "[Unit]",
    `Description=${config.description.replace(/[\n%]/g, " ")}`,
    `Wants=${["network-online.target", ...(config.requiresPrepare ? [PREPARE_UNIT] : []), ...after].join(" ")}`,
    `After=${ordering.join(" ")}`,
  ];
  // No service without its firewall: if the ruleset fails to load, the service does not start.
  if (config.requiresFirewall) unit.push(`Requires=${FIREWALL_UNIT}`);
  if (config.requiresMount) unit.push(`RequiresMountsFor=${config.requiresMount}`);
  // Keep restarting: a peer on another host may come up minutes later.
  unit.push("StartLimitIntervalSec=0", "", "[Service]", "Type=simple");
  if (config.user && config.user !== "root") {
    unit.push(`User=${config.user}`);
    // root has every capability; an unprivileged user gets exactly the ones it needs.
    if ((config.capabilities ?? []).length > 0) unit.push(`AmbientCapabilities=${config.capabilities!.map((c) => `CAP_${c}`).join(" ")}`);
  }
  for (const [key, value] of Object.entries(config.environment)) {
    // Environment= does not expand $: only backslash, quote and % need care.
    unit.push(`Environment=${systemdQuote(`${key}=${value}`, false)}`);
  }
  for (const secret of config.secrets) {
    // The credential is readable by the service's user only, under $CREDENTIALS_DIRECTORY (%d).
    unit.push(`LoadCredential=${secret.env}:${secret.sourcePath}`, `Environment=${secret.env}_FILE=%d/${secret.env}`);
  }
  if (config.requiresPrepare) {
    // Not Requires=: a failed prepare would fail this unit for good. Checked at every
    // (re)start instead, so the service comes up once a retried prepare succeeds.
    unit.push(`ExecStartPre=/bin/systemctl is-active --quiet ${PREPARE_UNIT}`);
  }
  if (config.requiresMount) {
    // Never start a database on the root volume if the data volume is missing.
    unit.push(`ExecStartPre=/usr/bin/mountpoint -q ${config.requiresMount}`);
  }
  unit.push(
    `ExecStart=${config.command.map((w, i) => (i === 0 ? w : systemdQuote(w))).join(" ")}`,
    "Restart=always",
    "RestartSec=3",
    // As docker stop does: the graceful signal to the main process only (a start script that
    // orders the stop of its children, HAProxy's soft stop), SIGKILL to the rest once it exits.
    `KillSignal=${config.stopSignal ?? "SIGTERM"}`,
    "KillMode=mixed",
    `TimeoutStopSec=${config.stopTimeoutSeconds ?? 15}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  );
  return unit.join("\n");
}

export interface PrepareUnitConfig {
  readonly hostName: string;
  readonly scriptPath: string;
  /** How long the prepare step may take (waiting for the volume, retrying AWS calls). @default 900 */
  readonly timeoutSeconds?: number;
}

/** The one-shot unit that runs the prepare script at every boot, before the services. */
export function renderPrepareUnit(config: PrepareUnitConfig): string {
  return [
    "# Rendered by cdktf-ha-web. Do not edit: change the construct props instead.",
    "[Unit]",
    `Description=cdktf-ha-web: prepare ${config.hostName} (secrets, app bundle, data volume)`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/bin/sh ${config.scriptPath}`,
    `TimeoutStartSec=${config.timeoutSeconds ?? 900}`,
    "# A late NAT, IAM profile or SSM must not leave the host dead until a reboot.",
    "Restart=on-failure",
    "RestartSec=30",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

export interface FirewallUnitConfig {
  readonly hostName: string;
  /** The `nft -f` file. */
  readonly rulesetPath: string;
}

/**
 * Loads the host's ruleset early at every boot, like Debian's own nftables.service:
 * before network-pre.target (so no interface is up without it) and before every
 * service of ours (they Require= it). Reloading replaces the table atomically.
 */
export function renderFirewallUnit(config: FirewallUnitConfig): string {
  return [
    "# Rendered by cdktf-ha-web. Do not edit: change the construct props instead.",
    "[Unit]",
    `Description=cdktf-ha-web: firewall of ${config.hostName} (nftables, from the tiers' flows)`,
    "DefaultDependencies=no",
    "Wants=network-pre.target",
    "Before=network-pre.target shutdown.target",
    "Conflicts=shutdown.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/usr/sbin/nft -f ${config.rulesetPath}`,
    `ExecReload=/usr/sbin/nft -f ${config.rulesetPath}`,
    "",
    "[Install]",
    "WantedBy=sysinit.target",
    "",
  ].join("\n");
}
