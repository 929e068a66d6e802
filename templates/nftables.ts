import { isIpv4, isIpv4Cidr } from "./keepalived";
import { assertNoProblems, ConfigProblem, isDnsLabel, isPort } from "./validate";

/**
 * A host firewall from the flow model: every input is dropped except loopback,
 * replies to what the host itself opened, the ICMP that keeps TCP working, and
 * the flows a tier declared (port, protocol, from whom). Output is left to the
 * network's own rules (security groups, Docker networks): the host opens
 * connections only to its peers, its package mirror and its cloud APIs.
 */
export type FirewallProtocol = "tcp" | "udp" | "vrrp";

export interface FirewallRule {
  readonly protocol: FirewallProtocol;
  /** Destination port (TCP, UDP); none for VRRP. */
  readonly port?: number;
  /** IPv4 addresses or CIDRs allowed, or "any" (clients on the internet). */
  readonly sources: readonly string[] | "any";
  /** Why the flow exists (the tier's description); kept as the rule's comment. */
  readonly comment: string;
}

export interface FirewallConfig {
  /** The host the ruleset is for (its comment). */
  readonly hostName: string;
  readonly rules: readonly FirewallRule[];
  /** Accept DHCP offers (a VM that gets its address by DHCP). @default false */
  readonly dhcpClient?: boolean;
}

/** The nftables table every rendered ruleset owns; loading it again replaces it atomically. */
export const FIREWALL_TABLE = "ha_web";

export function validateFirewallConfig(config: FirewallConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));
  if (!isDnsLabel(config.hostName)) add("hostName", `hostName "${config.hostName}" is not a DNS label`);
  config.rules.forEach((r, i) => {
    if (r.protocol === "vrrp") {
      if (r.port !== undefined) add(`rules[${i}].port`, "a VRRP rule has no port");
    } else if (r.port === undefined || !isPort(r.port)) add(`rules[${i}].port`, `port ${r.port} is outside 1-65535`);
    if (r.sources !== "any") {
      if (r.sources.length === 0) add(`rules[${i}].sources`, `the ${r.protocol}/${r.port ?? ""} rule allows no source: leave it out instead`);
      for (const s of r.sources) if (!isIpv4(s) && !isIpv4Cidr(s)) add(`rules[${i}].sources`, `source "${s}" is not an IPv4 address or CIDR`);
    }
    if (/["\n\\]/.test(r.comment)) add(`rules[${i}].comment`, "a comment cannot hold double quotes, backslashes or newlines");
  });
  return problems;
}

/** Renders an `nft -f` file: idempotent (the table is created, flushed by deletion, and defined again in one transaction). */
export function renderFirewallRuleset(config: FirewallConfig): string {
  assertNoProblems("firewall ruleset", validateFirewallConfig(config));
  const rules = config.rules.map((r) => {
    const from = r.sources === "any" ? "" : `ip saddr { ${[...new Set(r.sources)].join(", ")} } `;
    // VRRP by number: its name needs /etc/protocols (netbase), which a minimal system lacks.
    const match = r.protocol === "vrrp" ? "ip protocol 112" : `${r.protocol} dport ${r.port}`;
    return `        ${from}${match} accept comment "${r.comment.slice(0, 120)}"`;
  });
  return [
    "#!/usr/sbin/nft -f",
    `# Rendered by cdktf-ha-web for ${config.hostName}: only the flows the tiers declared may come in.`,
    `table inet ${FIREWALL_TABLE}`,
    `delete table inet ${FIREWALL_TABLE}`,
    `table inet ${FIREWALL_TABLE} {`,
    "    chain input {",
    "        type filter hook input priority filter; policy drop;",
    '        iif "lo" accept',
    "        ct state established,related accept",
    "        ct state invalid drop",
    "        # What TCP and path MTU discovery need; ping for operators.",
    "        icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } accept",
    "        icmpv6 type { echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept",
    ...(config.dhcpClient ? ['        udp sport 67 udp dport 68 accept comment "DHCP offers for this host\'s own address"'] : []),
    ...rules,
    "    }",
    "    chain forward {",
    "        # A host never routes between its networks.",
    "        type filter hook forward priority filter; policy drop;",
    "    }",
    "}",
    "",
  ].join("\n");
}
