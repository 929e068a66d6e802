import { LOAD_BALANCER_ROLE, PUBLIC_LOAD_BALANCER_PORTS, ROLE_TAG } from "../markers";
import {
  coversAllPorts,
  coversPort,
  describeRule,
  isAllowedLoadBalancerIngress,
  isLoadBalancerGroup,
  openIngressTo,
  SECURITY_GROUP_RULE_TYPES,
} from "../security-group-rules";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** Ports the single-port checkov rules (CKV_AWS_24, 25, 260, 277) already report. */
const REPORTED_ELSEWHERE = [22, 3389, 80];

/** The call that accepts this finding on `resource` alone (the reason is the user's to write). */
function suppressionHint(resource: ResourceView): string {
  return `PolicySuppressions.addResourceSuppressionsByPath(stack, "${resource.path}", [{ id: "HAWEB_AWS_1", reason: "<why this port must take traffic from the internet>" }])`;
}

/**
 * HAWEB_AWS_1 (no single checkov id: CKV_AWS_24/25/260/277 each cover one port):
 * no ingress from the internet on any other port either, except 443 on the load
 * balancer's security group.
 */
export function checkInternetIngressOnlyToLoadBalancer(resource: ResourceView, context: PolicyContext): Finding[] {
  return openIngressTo(resource, context, (rule) => !coversAllPorts(rule) && !REPORTED_ELSEWHERE.some((p) => coversPort(rule, p)))
    .filter((rule) => !isAllowedLoadBalancerIngress(rule))
    .map((rule) =>
      isLoadBalancerGroup(rule.group)
        ? finding(
            "HAWEB_AWS_1",
            resource,
            `${describeRule(rule)}; the load balancer may take traffic from the internet only on ${PUBLIC_LOAD_BALANCER_PORTS.join(" and ")}`,
            `listen on 80 (LoadBalancerTier's port; 443 for HTTPS), or, if the other port is intended, suppress this finding with a reason: ${suppressionHint(resource)}`,
          )
        : finding(
            "HAWEB_AWS_1",
            resource,
            `${describeRule(rule)}; only the load balancer may take traffic from the internet, on ${PUBLIC_LOAD_BALANCER_PORTS.join(" and ")}`,
            `remove the rule (peers reach each other through security group references), or move the listener to the load balancer (security group tagged ${ROLE_TAG} = ${LOAD_BALANCER_ROLE})`,
          ),
    );
}

/** HAWEB_AWS_1 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkInternetIngressOnlyToLoadBalancer}. */
export const HAWEB_AWS_1: PolicyRule = {
  id: "HAWEB_AWS_1",
  title: "Only the load balancer takes ingress from the internet, on 80 and 443",
  resourceTypes: SECURITY_GROUP_RULE_TYPES,
  check: checkInternetIngressOnlyToLoadBalancer,
};
