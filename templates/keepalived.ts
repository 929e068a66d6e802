import { assertNoProblems, ConfigProblem, duplicates, isAbsolutePath, isDnsLabel } from "./validate";

/**
 * keepalived (VRRP) for a load-balancer pair: both nodes start as BACKUP with
 * `nopreempt`, so the one with the higher priority becomes master on a cold
 * start and a master that comes back later does not take the address back (no
 * flap). VRRP runs over unicast between the listed peers (AWS VPCs have no
 * multicast; Docker bridges and the lab do the same for one config everywhere).
 * A check script on HAProxy itself takes a dead or hung HAProxy's node to FAULT,
 * which gives up the address.
 */
export interface KeepalivedConfig {
  /** This node's name (`router_id` and the instance's name in logs). */
  readonly nodeName: string;
  /** VRRP virtual router id, 1-255, unique per network segment. @default 51 */
  readonly virtualRouterId?: number;
  /** Priority of this node, 1-254: the highest starts as master. */
  readonly priority: number;
  /** Seconds between VRRP adverts; takeover after about 3 adverts. @default 1 */
  readonly advertIntervalSeconds?: number;
  /** This node's own address (the VRRP source). */
  readonly sourceAddress: string;
  /** The other nodes' addresses (unicast peers). At least one. */
  readonly peerAddresses: readonly string[];
  /**
   * Addresses keepalived adds while master: CIDR form, for example "10.213.0.10/24",
   * optionally with ` dev IFACE`. On AWS, where the notify script moves an Elastic
   * IP instead, only MASTER_MARKER_ADDRESS (keepalived wants at least one).
   */
  readonly virtualAddresses: readonly string[];
  /** Network interface VRRP runs on; the start script fills in `INTERFACE_PLACEHOLDER` when unset. @default INTERFACE_PLACEHOLDER */
  readonly interface?: string;
  /** Command keepalived runs to check HAProxy (exit 0 = healthy). */
  readonly checkCommand: string;
  /** Script run on becoming master (moves an Elastic IP on AWS). @default none */
  readonly notifyMasterScript?: string;
  /**
   * Seconds keepalived waits before running VRRP. The preferred master starts at
   * once and the others a little later, so the preferred one wins when they
   * start together (with nopreempt, the first to time out stays master).
   * @default 0
   */
  readonly startupDelaySeconds?: number;
}

/**
 * A link-local address on loopback that only the master holds: keepalived needs
 * one virtual address, and where the real one is an Elastic IP (AWS) this one
 * tells an operator which node is master (`ip addr show dev lo`).
 */
export const MASTER_MARKER_ADDRESS = "169.254.255.1/32 dev lo";

/** Replaced by the load balancer's start script with the interface that reaches the peers. */
export const KEEPALIVED_INTERFACE_PLACEHOLDER = "__HA_WEB_VRRP_INTERFACE__";

export const KEEPALIVED_DEFAULTS = {
  virtualRouterId: 51,
  advertIntervalSeconds: 1,
  /** Check HAProxy every second; two misses (a dead or frozen HAProxy) take the node out. */
  check: { intervalSeconds: 1, timeoutSeconds: 1, fall: 2, rise: 2 },
  /** The first node's priority; each further node 50 lower. */
  basePriority: 150,
  /** How much later than the preferred master the other nodes start VRRP. */
  backupStartupDelaySeconds: 5,
} as const;

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

/** "a.b.c.d/n" with n from 0 to 32. */
export function isIpv4Cidr(value: string): boolean {
  const [address, bits, extra] = value.split("/");
  return extra === undefined && isIpv4(address) && /^\d{1,2}$/.test(bits ?? "") && Number(bits) <= 32;
}

/** The valid range of the VRRP advert interval (keepalived accepts 0.01-255 s; a whole second is the usual unit). */
export const ADVERT_INTERVAL_RANGE = { min: 1, max: 255 } as const;

/** Expected takeover after a master dies: three missed adverts plus the skew time (256 - priority) / 256 s. */
export function expectedTakeoverSeconds(advertIntervalSeconds: number, backupPriority = KEEPALIVED_DEFAULTS.basePriority - 50): number {
  return 3 * advertIntervalSeconds + ((256 - backupPriority) / 256) * advertIntervalSeconds;
}

export function validateKeepalivedConfig(config: KeepalivedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));
  const vrid = config.virtualRouterId ?? KEEPALIVED_DEFAULTS.virtualRouterId;
  const advert = config.advertIntervalSeconds ?? KEEPALIVED_DEFAULTS.advertIntervalSeconds;
  if (!isDnsLabel(config.nodeName)) add("nodeName", `nodeName "${config.nodeName}" is not a DNS label`);
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) add("virtualRouterId", `virtualRouterId is ${vrid}; it must be a whole number from 1 to 255`);
  if (!Number.isInteger(config.priority) || config.priority < 1 || config.priority > 254)
    add("priority", `priority is ${config.priority}; it must be a whole number from 1 to 254`);
  if (!Number.isInteger(advert) || advert < ADVERT_INTERVAL_RANGE.min || advert > ADVERT_INTERVAL_RANGE.max)
    add(
      "advertIntervalSeconds",
      `advertIntervalSeconds is ${advert}; it must be a whole number of seconds from ${ADVERT_INTERVAL_RANGE.min} to ${ADVERT_INTERVAL_RANGE.max}`,
    );
  if (!isIpv4(config.sourceAddress)) add("sourceAddress", `sourceAddress "${config.sourceAddress}" is not an IPv4 address`);
  if (config.peerAddresses.length === 0) add("peerAddresses", "peerAddresses must name at least one other node");
  for (const peer of config.peerAddresses) if (!isIpv4(peer)) add("peerAddresses", `peer "${peer}" is not an IPv4 address`);
  if (config.peerAddresses.includes(config.sourceAddress)) add("peerAddresses", `peerAddresses include this node's own address ${config.sourceAddress}`);
  for (const peer of duplicates([...config.peerAddresses])) add("peerAddresses", `peer ${peer} is listed twice`);
  if (config.virtualAddresses.length === 0)
    add("virtualAddresses", "virtualAddresses must hold at least one address (MASTER_MARKER_ADDRESS where an API moves the real one)");
  for (const vip of config.virtualAddresses) {
    const [cidr, dev, iface, extra] = vip.split(" ");
    const devOk = dev === undefined || (dev === "dev" && /^[A-Za-z0-9_.-]{1,15}$/.test(iface ?? "") && extra === undefined);
    if (!isIpv4Cidr(cidr) || !devOk) add("virtualAddresses", `virtual address "${vip}" is not in "a.b.c.d/n" or "a.b.c.d/n dev IFACE" form`);
  }
  if (config.interface !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(config.interface))
    add("interface", `interface "${config.interface}" is not a network interface name`);
  if (config.notifyMasterScript !== undefined && !isAbsolutePath(config.notifyMasterScript))
    add("notifyMasterScript", `notifyMasterScript "${config.notifyMasterScript}" is not an absolute path`);
  const delay = config.startupDelaySeconds ?? 0;
  if (!Number.isInteger(delay) || delay < 0 || delay > 600)
    add("startupDelaySeconds", `startupDelaySeconds is ${delay}; it must be a whole number of seconds from 0 to 600`);
  if (!config.checkCommand.trim() || /["\n]/.test(config.checkCommand)) add("checkCommand", "checkCommand must be one line without double quotes");
  return problems;
}

/** Renders keepalived.conf for one node of the pair. */
export function renderKeepalivedConfig(config: KeepalivedConfig): string {
  assertNoProblems("keepalived config", validateKeepalivedConfig(config));
  const d = KEEPALIVED_DEFAULTS;
  const advert = config.advertIntervalSeconds ?? d.advertIntervalSeconds;
  const lines = [
    "# Rendered by cdktf-ha-web. Do not edit: change the construct props instead.",
    "global_defs {",
    `    router_id ${config.nodeName}`,
    "    # Scripts run as root and must not be writable by anyone else.",
    "    enable_script_security",
    "    script_user root",
    "    # Gratuitous ARPs after taking over, so neighbours learn the address's new owner at once.",
    "    vrrp_garp_master_delay 1",
    "    vrrp_garp_master_repeat 3",
    ...((config.startupDelaySeconds ?? 0) > 0
      ? [`    # Not the preferred master: let it win a start shared with this node.`, `    vrrp_startup_delay ${config.startupDelaySeconds}`]
      : []),
    "}",
    "",
    "# HAProxy answers its own health URL: a dead or frozen HAProxy fails this within about 2 s.",
    "vrrp_script haproxy_alive {",
    `    script "${config.checkCommand}"`,
    `    interval ${d.check.intervalSeconds}`,
    `    timeout ${d.check.timeoutSeconds}`,
    `    fall ${d.check.fall}`,
    `    rise ${d.check.rise}`,
    "}",
    "",
    "vrrp_instance load_balancer {",
    "    # BACKUP + nopreempt on every node: the highest priority wins a cold start, and a",
    "    # node that comes back never takes the address from a healthy master (no flap).",
    "    state BACKUP",
    "    nopreempt",
    `    interface ${config.interface ?? KEEPALIVED_INTERFACE_PLACEHOLDER}`,
    `    virtual_router_id ${config.virtualRouterId ?? d.virtualRouterId}`,
    `    priority ${config.priority}`,
    `    advert_int ${advert}`,
    `    unicast_src_ip ${config.sourceAddress}`,
    "    unicast_peer {",
    ...config.peerAddresses.map((p) => `        ${p}`),
    "    }",
  ];
  lines.push("    virtual_ipaddress {", ...config.virtualAddresses.map((v) => `        ${v}`), "    }");
  lines.push("    track_script {", "        haproxy_alive", "    }");
  if (config.notifyMasterScript) lines.push(`    notify_master "${config.notifyMasterScript}"`);
  lines.push("}", "");
  return lines.join("\n");
}
