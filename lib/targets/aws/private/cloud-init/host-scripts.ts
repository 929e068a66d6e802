import { PATHS } from "../../../../../templates/paths";
import { SCRIPT_HEADER, shellQuote } from "../../../../../templates/scripts/shell";

/** Where a VM keeps the secrets it fetched: tmpfs, root only, gone at shutdown. */
export const SECRETS_DIR = "/run/ha-web/secrets";
export const PREPARE_SCRIPT = `${PATHS.binDir}/prepare-host.sh`;
export const SSM_AGENT_SCRIPT = `${PATHS.binDir}/install-ssm-agent.sh`;

/** A secret the host fetches from SSM Parameter Store at boot. */
export interface HostSecretFetch {
  /** SecureString parameter name, for example "/haweb/db-app-password". */
  readonly parameterName: string;
  /** Root-only file the value is written to. */
  readonly file: string;
}

/**
 * A file whose whole content is a secret (the load balancer's TLS key), fetched
 * at every boot into place, mode 0400 owned by root.
 */
export interface HostSecretFile {
  /** Absolute path on the host. */
  readonly path: string;
  /** An SSM SecureString parameter (name or ARN), or a Secrets Manager secret (name or ARN). */
  readonly source: { readonly kind: "ssm-parameter"; readonly parameterName: string } | { readonly kind: "secrets-manager"; readonly secretId: string };
}

/**
 * A file the host downloads from S3 at every boot, before its services start
 * (too big for user data: the app bundle, a big service file). Owned by root,
 * as cloud-init's files are (the prepare step runs as root).
 */
export interface HostAssetFetch {
  /** `s3://bucket/key`; the bucket may be a deploy-time reference. */
  readonly s3Uri: string;
  readonly path: string;
  /** Mode 0755 instead of 0644. @default false */
  readonly executable?: boolean;
}

/** A block device attached by the platform, formatted once and mounted at every boot. */
export interface HostDataVolume {
  /** EBS volume id (`vol-...`), a deploy-time reference: it finds the NVMe device by serial. */
  readonly volumeId: string;
  readonly mountPath: string;
  /** Device name given at attachment (the Xen name; Nitro instances show NVMe names). @default "/dev/sdf" */
  readonly deviceName?: string;
  /** Attempts (5 s apart) to wait for the volume to be attached. @default 120 (10 minutes) */
  readonly waitAttempts?: number;
  /** Owner of the mount point's root directory. @default "root" */
  readonly owner?: string;
}

export interface PrepareScriptConfig {
  readonly hostName: string;
  readonly secrets: readonly HostSecretFetch[];
  /** Secret files written in place (root, 0400). @default none */
  readonly secretFiles?: readonly HostSecretFile[];
  readonly assets: readonly HostAssetFetch[];
  readonly volume?: HostDataVolume;
  /** Attempts (5 s apart) for each AWS call. @default 60 */
  readonly retryAttempts?: number;
  /** Directory of the secret files (created root-only). @default SECRETS_DIR */
  readonly secretsDir?: string;
}

/** File name of a secret under SECRETS_DIR, derived from its parameter name. */
export function secretFileFor(parameterName: string): string {
  return `${SECRETS_DIR}/${parameterName.replace(/^\/+/, "").replace(/[^A-Za-z0-9_.-]+/g, "-")}`;
}

/** True when the host needs the prepare step at all. */
export function needsPrepare(config: Pick<PrepareScriptConfig, "secrets" | "secretFiles" | "assets" | "volume">): boolean {
  return config.secrets.length > 0 || (config.secretFiles ?? []).length > 0 || config.assets.length > 0 || config.volume !== undefined;
}

/** The IMDSv2 helper (a session token first: hop limit 1 and http_tokens=required allow exactly this). */
const IMDS_FUNCTION = [
  "imds() {",
  "  t=$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token) &&",
  '  curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/meta-data/$1"',
  "}",
].join("\n");

/**
 * Runs at every boot before the services (a oneshot unit): finds, formats (once)
 * and mounts the data volume, fetches each secret into a root-only file on tmpfs
 * and downloads the assets. Every AWS call retries for a bounded time.
 */
export function renderPrepareScript(config: PrepareScriptConfig): string {
  const attempts = config.retryAttempts ?? 60;
  const lines = [
    SCRIPT_HEADER,
    `# Prepares ${config.hostName} before its services start. Runs at every boot (ha-web-prepare.service).`,
    "retry() {",
    "  n=0",
    '  until "$@"; do',
    "    n=$((n + 1))",
    `    if [ "$n" -ge ${attempts} ]; then log "giving up: $*"; return 1; fi`,
    "    sleep 5",
    "  done",
    "}",
    IMDS_FUNCTION,
  ];
  if (config.volume) lines.push(...volumeLines(config.volume));
  const secretFiles = config.secretFiles ?? [];
  if (config.secrets.length > 0 || secretFiles.length > 0 || config.assets.length > 0) {
    lines.push("", 'region() { AWS_DEFAULT_REGION=$(imds placement/region) && [ -n "$AWS_DEFAULT_REGION" ]; }', "retry region", "export AWS_DEFAULT_REGION");
  }
  if (config.secrets.length > 0) {
    lines.push(
      "",
      "# Each secret is a SecureString parameter, decrypted by the instance role and written root-only to tmpfs.",
      `mkdir -p ${shellQuote(config.secretsDir ?? SECRETS_DIR)}`,
      `chmod 700 ${shellQuote(config.secretsDir ?? SECRETS_DIR)}`,
      "fetch_secret() {",
      '  aws ssm get-parameter --name "$1" --with-decryption --query Parameter.Value --output text >"$2.tmp" && [ -s "$2.tmp" ]',
      "}",
      "umask 077",
    );
    for (const s of config.secrets) {
      lines.push(`retry fetch_secret ${shellQuote(s.parameterName)} ${shellQuote(s.file)}`, `mv ${shellQuote(`${s.file}.tmp`)} ${shellQuote(s.file)}`);
    }
    lines.push(`log "fetched ${config.secrets.length} secret(s)"`, "umask 022");
  }
  if (secretFiles.length > 0) {
    lines.push(
      "",
      "# Secret files (a TLS key): SSM SecureString or Secrets Manager, written in place, root-only (0400).",
      "fetch_ssm_file() {",
      '  aws ssm get-parameter --name "$1" --with-decryption --query Parameter.Value --output text >"$2.tmp" && [ -s "$2.tmp" ]',
      "}",
      "fetch_sm_file() {",
      '  aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text >"$2.tmp" && [ -s "$2.tmp" ]',
      "}",
      "umask 077",
    );
    const dirs = new Set<string>();
    for (const f of secretFiles) {
      const [fetch, id] = f.source.kind === "ssm-parameter" ? ["fetch_ssm_file", f.source.parameterName] : ["fetch_sm_file", f.source.secretId];
      const dir = f.path.slice(0, f.path.lastIndexOf("/")) || "/";
      if (!dirs.has(dir)) lines.push(`mkdir -p ${shellQuote(dir)}`);
      dirs.add(dir);
      lines.push(
        `retry ${fetch} ${shellQuote(id)} ${shellQuote(f.path)}`,
        `chmod 400 ${shellQuote(`${f.path}.tmp`)}`,
        `mv ${shellQuote(`${f.path}.tmp`)} ${shellQuote(f.path)}`,
      );
    }
    lines.push(`log "fetched ${secretFiles.length} secret file(s)"`, "umask 022");
  }
  if (config.assets.length > 0) {
    lines.push(
      "",
      "# Assets too big for user data, from the stack's private bucket.",
      "fetch_asset() {",
      '  mkdir -p "$(dirname "$2")" && aws s3 cp --only-show-errors "$1" "$2.tmp"',
      "}",
    );
    for (const a of config.assets) {
      const tmp = shellQuote(`${a.path}.tmp`);
      lines.push(
        `retry fetch_asset ${shellQuote(a.s3Uri)} ${shellQuote(a.path)}`,
        `chmod ${a.executable ? "755" : "644"} ${tmp}`,
        `mv ${tmp} ${shellQuote(a.path)}`,
      );
    }
    lines.push(`log "downloaded ${config.assets.length} asset(s)"`);
  }
  lines.push("", `log "host ${config.hostName} prepared"`, "");
  return lines.join("\n");
}

function volumeLines(volume: HostDataVolume): string[] {
  const mount = shellQuote(volume.mountPath);
  const device = volume.deviceName ?? "/dev/sdf";
  const attempts = volume.waitAttempts ?? 120;
  const owner = volume.owner ?? "root";
  return [
    "",
    "# Data volume: Nitro instances name EBS disks nvme*, with the volume id (no dash) as serial.",
    `VOLUME_ID=${shellQuote(volume.volumeId)}`,
    `MOUNT=${mount}`,
    "find_disk() {",
    "  serial=$(printf '%s' \"$VOLUME_ID\" | tr -d -)",
    `  for dev in "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$serial" ${shellQuote(device)} ${shellQuote(device.replace("/dev/sd", "/dev/xvd"))}; do`,
    '    if [ -b "$dev" ]; then readlink -f "$dev"; return 0; fi',
    "  done",
    "  return 1",
    "}",
    'if ! mountpoint -q "$MOUNT"; then',
    "  i=0",
    "  until disk=$(find_disk); do",
    "    i=$((i + 1))",
    `    if [ "$i" -ge ${attempts} ]; then log "volume $VOLUME_ID is not attached; not starting on the root volume"; exit 1; fi`,
    "    sleep 5",
    "  done",
    "  # Format only a disk blkid calls blank (exit 2): never an existing file system, never on an I/O error.",
    '  status=0; blkid -p "$disk" >/dev/null 2>&1 || status=$?',
    '  if [ "$status" -eq 2 ]; then',
    '    log "formatting $disk ($VOLUME_ID) as ext4"',
    '    mkfs.ext4 -q -L ha-web-data "$disk"',
    '  elif [ "$status" -ne 0 ]; then',
    '    log "blkid failed on $disk (exit $status): not formatting"; exit 1',
    "  fi",
    '  uuid=$(blkid -s UUID -o value "$disk")',
    '  mkdir -p "$MOUNT"',
    '  if ! grep -q "^UUID=$uuid " /etc/fstab; then',
    '    echo "UUID=$uuid $MOUNT ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2" >>/etc/fstab',
    "  fi",
    '  mount "UUID=$uuid" "$MOUNT"',
    `  chown ${owner}: "$MOUNT"`,
    '  log "mounted $disk ($VOLUME_ID) at $MOUNT"',
    "fi",
  ];
}

/**
 * Installs the SSM agent (Session Manager) from AWS's regional bucket: Debian's
 * own images do not ship it. Runs once, at first boot.
 */
export function renderSsmAgentInstallScript(): string {
  return [
    SCRIPT_HEADER,
    "# Session Manager needs the SSM agent, which Debian's images do not include.",
    "if systemctl is-active --quiet amazon-ssm-agent; then exit 0; fi",
    IMDS_FUNCTION,
    "n=0",
    'until region=$(imds placement/region) && [ -n "$region" ]; do',
    '  n=$((n + 1)); if [ "$n" -ge 30 ]; then log "no region from IMDS"; exit 1; fi; sleep 5',
    "done",
    'case "$(dpkg --print-architecture)" in arm64) arch=debian_arm64 ;; *) arch=debian_amd64 ;; esac',
    'url="https://s3.$region.amazonaws.com/amazon-ssm-$region/latest/$arch/amazon-ssm-agent.deb"',
    "tmp=$(mktemp -d)",
    'curl -fsS --retry 10 --retry-delay 5 -o "$tmp/amazon-ssm-agent.deb" "$url"',
    'dpkg -i "$tmp/amazon-ssm-agent.deb"',
    'rm -rf "$tmp"',
    "systemctl enable --now amazon-ssm-agent",
    'log "SSM agent installed"',
    "",
  ].join("\n");
}
