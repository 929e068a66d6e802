import { ROLE_TAG } from "../markers";
import { coversAllPorts, coversPort, describeRule, isAllowedLoadBalancerIngress, openIngressTo, SECURITY_GROUP_RULE_TYPES } from "../security-group-rules";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/**
 * CKV_AWS_260: no ingress from 0.0.0.0/0 or ::/0 to port 80, except the
 * documented one: port 80 alone on a security group tagged `ha-web:role = load-balancer`.
 */
export function checkNoPublicHttp(resource: ResourceView, context: PolicyContext): Finding[] {
  return openIngressTo(resource, context, (rule) => !coversAllPorts(rule) && coversPort(rule, 80))
    .filter((rule) => !isAllowedLoadBalancerIngress(rule))
    .map((rule) =>
      finding(
        "CKV_AWS_260",
        resource,
        `${describeRule(rule)}, and its security group is not the load balancer's`,
        `open port 80 to the internet only on the load balancer's security group (tag ${ROLE_TAG} = load-balancer, a rule for port 80 alone); reach other hosts through it`,
      ),
    );
}

/** CKV_AWS_260 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkNoPublicHttp}. */
export const CKV_AWS_260: PolicyRule = {
  id: "CKV_AWS_260",
  title: "No security group allows ingress from 0.0.0.0/0 to port 80, except the load balancer's",
  resourceTypes: SECURITY_GROUP_RULE_TYPES,
  check: checkNoPublicHttp,
};
