import { Attributes, blocks, num, strings, tagsOf } from "./attributes";
import { LOAD_BALANCER_ROLE, PUBLIC_LOAD_BALANCER_PORTS, ROLE_TAG } from "./markers";
import { PolicyContext, ResourceView } from "./types";

/** One security group rule, whichever of the three ways Terraform writes it. */
export interface SecurityGroupRuleView {
  readonly direction: "ingress" | "egress";
  /** Where it is written: "ingress[0]" inside a group, or "" for a rule resource. */
  readonly where: string;
  readonly protocol: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidrs: readonly string[];
  readonly description?: string;
  /** The group the rule belongs to, when it is in the stack. */
  readonly group?: ResourceView;
}

const OPEN = new Set(["0.0.0.0/0", "::/0"]);

/** Rules of an aws_security_group (inline), aws_security_group_rule or aws_vpc_security_group_*_rule. */
export function securityGroupRules(resource: ResourceView, context: PolicyContext): SecurityGroupRuleView[] {
  const c = resource.config;
  const fromBlock = (direction: "ingress" | "egress", b: Attributes, i: number): SecurityGroupRuleView => ({
    direction,
    where: `${direction}[${i}]`,
    protocol: String(b.protocol ?? ""),
    fromPort: num(b.from_port),
    toPort: num(b.to_port),
    cidrs: [...strings(b.cidr_blocks), ...strings(b.ipv6_cidr_blocks)],
    description: typeof b.description === "string" ? b.description : undefined,
    group: resource,
  });
  switch (resource.type) {
    case "aws_security_group":
      return [...blocks(c.ingress).map((b, i) => fromBlock("ingress", b, i)), ...blocks(c.egress).map((b, i) => fromBlock("egress", b, i))];
    case "aws_security_group_rule":
      return [
        {
          direction: c.type === "egress" ? "egress" : "ingress",
          where: "",
          protocol: String(c.protocol ?? ""),
          fromPort: num(c.from_port),
          toPort: num(c.to_port),
          cidrs: [...strings(c.cidr_blocks), ...strings(c.ipv6_cidr_blocks)],
          description: typeof c.description === "string" ? c.description : undefined,
          group: context.resolve(c.security_group_id),
        },
      ];
    case "aws_vpc_security_group_ingress_rule":
    case "aws_vpc_security_group_egress_rule":
      return [
        {
          direction: resource.type.endsWith("ingress_rule") ? "ingress" : "egress",
          where: "",
          protocol: String(c.ip_protocol ?? ""),
          fromPort: num(c.from_port),
          toPort: num(c.to_port),
          cidrs: [...strings(c.cidr_ipv4), ...strings(c.cidr_ipv6)],
          description: typeof c.description === "string" ? c.description : undefined,
          group: context.resolve(c.security_group_id),
        },
      ];
    default:
      return [];
  }
}

/** Opens to 0.0.0.0/0 or ::/0. */
export function isOpenToInternet(rule: SecurityGroupRuleView): boolean {
  return rule.cidrs.some((c) => OPEN.has(c));
}

/** All protocols (-1), or TCP/UDP over every port. */
export function coversAllPorts(rule: SecurityGroupRuleView): boolean {
  if (["-1", "all"].includes(rule.protocol.toLowerCase())) return true;
  return (rule.fromPort ?? 0) <= 0 && (rule.toPort ?? 65535) >= 65535;
}

/** The rule lets TCP traffic reach `port`. */
export function coversPort(rule: SecurityGroupRuleView, port: number): boolean {
  if (coversAllPorts(rule)) return true;
  if (!["tcp", "6"].includes(rule.protocol.toLowerCase())) return false;
  return rule.fromPort !== undefined && rule.toPort !== undefined && rule.fromPort <= port && port <= rule.toPort;
}

/** A security group tagged as the load balancer's (the documented exception). */
export function isLoadBalancerGroup(group: ResourceView | undefined): boolean {
  return group !== undefined && tagsOf(group.config)[ROLE_TAG] === LOAD_BALANCER_ROLE;
}

/** The documented exception: one of the load balancer's ports, alone, on the load balancer's group. */
export function isAllowedLoadBalancerIngress(rule: SecurityGroupRuleView): boolean {
  return (
    isLoadBalancerGroup(rule.group) &&
    ["tcp", "6"].includes(rule.protocol.toLowerCase()) &&
    rule.fromPort !== undefined &&
    rule.fromPort === rule.toPort &&
    PUBLIC_LOAD_BALANCER_PORTS.includes(rule.fromPort)
  );
}

/** Text naming a rule in a finding. */
export function describeRule(rule: SecurityGroupRuleView): string {
  const ports = coversAllPorts(rule) ? "all ports" : rule.fromPort === rule.toPort ? `port ${rule.fromPort}` : `ports ${rule.fromPort}-${rule.toPort}`;
  const where = rule.where ? `${rule.where} ` : "";
  return `${where}allows ${rule.direction} ${rule.direction === "ingress" ? "from" : "to"} ${rule.cidrs.filter((c) => OPEN.has(c)).join(" and ") || rule.cidrs.join(", ")} on ${ports}`;
}

/** Terraform types that carry security group rules. */
export const SECURITY_GROUP_RULE_TYPES = [
  "aws_security_group",
  "aws_security_group_rule",
  "aws_vpc_security_group_ingress_rule",
  "aws_vpc_security_group_egress_rule",
];

/** Open ingress rules of `resource` that reach `port` (and are not the load balancer exception). */
export function openIngressTo(resource: ResourceView, context: PolicyContext, covers: (rule: SecurityGroupRuleView) => boolean): SecurityGroupRuleView[] {
  return securityGroupRules(resource, context).filter((r) => r.direction === "ingress" && isOpenToInternet(r) && covers(r));
}
