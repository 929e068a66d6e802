import { blocks, isTrue, strings } from "../attributes";
import { ROLE_TAG } from "../markers";
import { isLoadBalancerGroup } from "../security-group-rules";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

const FIX = `allow VRRP (IP protocol 112) only on the load balancers' security group (tag ${ROLE_TAG} = load-balancer), from that group itself: keepalived's peers, nobody else`;

const isVrrp = (protocol: unknown) => ["112", "vrrp"].includes(String(protocol ?? "").toLowerCase());

/**
 * HAWEB_AWS_3 (no checkov id): VRRP ingress comes only from the load-balancer
 * group itself. A VRRP advert from anyone else can take the floating address
 * (a higher priority wins) or split the pair; from an address range, anyone in it.
 */
export function checkVrrpOnlyBetweenLoadBalancers(resource: ResourceView, context: PolicyContext): Finding[] {
  const c = resource.config;
  const own = (group: ResourceView | undefined, source: unknown, self: boolean, where: string): Finding[] => {
    if (!isLoadBalancerGroup(group)) return [finding("HAWEB_AWS_3", resource, `${where}allows VRRP into a group that is not the load balancers'`, FIX)];
    if (self) return [];
    const from = context.resolve(source);
    if (from && group && from.address === group.address) return [];
    return [
      finding(
        "HAWEB_AWS_3",
        resource,
        `${where}allows VRRP from ${from?.address ?? String(source ?? "an address range")}, not from the load balancers' group itself`,
        FIX,
      ),
    ];
  };
  switch (resource.type) {
    case "aws_vpc_security_group_ingress_rule": {
      if (!isVrrp(c.ip_protocol)) return [];
      if (c.cidr_ipv4 || c.cidr_ipv6 || c.prefix_list_id)
        return [finding("HAWEB_AWS_3", resource, `allows VRRP from ${c.cidr_ipv4 ?? c.cidr_ipv6 ?? c.prefix_list_id}`, FIX)];
      return own(context.resolve(c.security_group_id), c.referenced_security_group_id, false, "");
    }
    case "aws_security_group_rule": {
      if (c.type === "egress" || !isVrrp(c.protocol)) return [];
      if (strings(c.cidr_blocks).length + strings(c.ipv6_cidr_blocks).length > 0)
        return [finding("HAWEB_AWS_3", resource, `allows VRRP from ${[...strings(c.cidr_blocks), ...strings(c.ipv6_cidr_blocks)].join(", ")}`, FIX)];
      return own(context.resolve(c.security_group_id), c.source_security_group_id, isTrue(c.self), "");
    }
    case "aws_security_group":
      return blocks(c.ingress).flatMap((b, i) => {
        if (!isVrrp(b.protocol)) return [];
        const where = `ingress[${i}] `;
        const cidrs = [...strings(b.cidr_blocks), ...strings(b.ipv6_cidr_blocks)];
        if (cidrs.length > 0) return [finding("HAWEB_AWS_3", resource, `${where}allows VRRP from ${cidrs.join(", ")}`, FIX)];
        const others = strings(b.security_groups);
        if (!isLoadBalancerGroup(resource)) return [finding("HAWEB_AWS_3", resource, `${where}allows VRRP into a group that is not the load balancers'`, FIX)];
        return others.length > 0
          ? [finding("HAWEB_AWS_3", resource, `${where}allows VRRP from ${others.join(", ")}, not from the group itself (self)`, FIX)]
          : [];
      });
    default:
      return [];
  }
}

/** HAWEB_AWS_3 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkVrrpOnlyBetweenLoadBalancers}. */
export const HAWEB_AWS_3: PolicyRule = {
  id: "HAWEB_AWS_3",
  title: "VRRP (IP protocol 112) ingress only from the load balancers' own security group",
  resourceTypes: ["aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule"],
  check: checkVrrpOnlyBetweenLoadBalancers,
};
