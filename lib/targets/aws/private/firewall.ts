import { Token } from "cdktf";
import { FirewallRule, renderFirewallRuleset } from "../../../../templates/nftables";
import { FlowPeer, HostSpec, Ingress, Protocol, ServiceRole } from "../../target";

export interface HostFirewallInput {
  readonly spec: HostSpec;
  /** The CIDR blocks of the subnets a role's hosts live in (literal, or references for an existing VPC's subnets). */
  readonly subnetsOf: (role: ServiceRole) => readonly string[];
  /** The other members' fixed addresses of the host's floating address group (VRRP sources). @default none */
  readonly vrrpPeers?: readonly string[];
  /** Opt-in SSH source (AwsTarget's sshCidr). */
  readonly sshCidr?: string;
  /** Flows to what the target itself runs on the host (the node exporter), as the host's own role's. @default none */
  readonly hostIngress?: readonly Ingress[];
}

/**
 * The host's nftables rules from its services' declared ingress flows, the same
 * flows its security groups come from: internet flows from anywhere, a role's
 * flows from the subnets that role's hosts live in, VRRP from the group's other
 * members only. Flows within the host (Nginx to its app) use loopback, which the
 * ruleset always accepts.
 */
export function hostFirewallRules(input: HostFirewallInput): FirewallRule[] {
  const { spec } = input;
  const hostRoles = new Set(spec.services.map((s) => s.role));
  const colocated = (own: ServiceRole, peer: FlowPeer) => peer !== "internet" && peer !== own && hostRoles.has(peer);
  const byFlow = new Map<string, { protocol: Protocol; port?: number; sources: Set<string> | "any"; comments: string[] }>();
  const add = (protocol: Protocol, port: number | undefined, sources: readonly string[] | "any", comment: string) => {
    if (sources !== "any" && sources.length === 0) return;
    const key = `${protocol}/${port ?? ""}`;
    const rule = byFlow.get(key) ?? { protocol, port, sources: new Set<string>(), comments: [] };
    rule.sources = rule.sources === "any" || sources === "any" ? "any" : new Set([...rule.sources, ...sources]);
    const text = comment.replace(/["\\\n\r]/g, "");
    if (!rule.comments.includes(text)) rule.comments.push(text);
    byFlow.set(key, rule);
  };
  const flows = [...spec.services, { role: spec.role, ingress: input.hostIngress ?? [] }];
  for (const service of flows) {
    for (const ingress of service.ingress) {
      if (ingress.withinHost || colocated(service.role, ingress.from)) continue;
      const protocol = ingress.protocol ?? "tcp";
      if (protocol === "vrrp") add("vrrp", undefined, input.vrrpPeers ?? [], ingress.description);
      else add(protocol, ingress.port, ingress.from === "internet" ? "any" : input.subnetsOf(ingress.from), ingress.description);
    }
  }
  if (input.sshCidr) add("tcp", 22, [input.sshCidr], "SSH from the operators network (sshCidr)");
  return [...byFlow.values()].map((r) => ({
    protocol: r.protocol,
    ...(r.protocol === "vrrp" ? {} : { port: r.port }),
    sources: r.sources === "any" ? "any" : [...r.sources],
    comment: r.comments.join("; "),
  }));
}

/** TEST-NET-1 (RFC 5737): never a VPC's own range, so a placeholder here cannot clash with a real source. */
const PLACEHOLDER = /192\.0\.2\.(\d+)\/32/g;

/**
 * Renders the host's ruleset. Sources that are deploy-time references (an
 * existing VPC's subnet blocks) are validated as placeholders and put back as
 * references, which Terraform fills in.
 */
export function renderHostFirewall(input: HostFirewallInput): string {
  const references: string[] = [];
  const placeholder = (source: string) => {
    if (!Token.isUnresolved(source)) return source;
    let i = references.indexOf(source);
    if (i < 0) i = references.push(source) - 1;
    return `192.0.2.${i + 1}/32`;
  };
  const rules = hostFirewallRules(input).map((r) => (r.sources === "any" ? r : { ...r, sources: r.sources.map(placeholder) }));
  const text = renderFirewallRuleset({ hostName: input.spec.name, rules, dhcpClient: true });
  return references.length === 0 ? text : text.replace(PLACEHOLDER, (_, n: string) => references[Number(n) - 1]);
}
