import { coversAllPorts, describeRule, openIngressTo, SECURITY_GROUP_RULE_TYPES } from "../security-group-rules";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** CKV_AWS_277: no ingress from 0.0.0.0/0 or ::/0 on every port (protocol -1). No exception. */
export function checkNoPublicAllPorts(resource: ResourceView, context: PolicyContext): Finding[] {
  return openIngressTo(resource, context, coversAllPorts).map((rule) =>
    finding(
      "CKV_AWS_277",
      resource,
      `${describeRule(rule)}`,
      "allow only the ports the service listens on, from the peers that need them (the load balancer alone takes 80/443 from the internet)",
    ),
  );
}

/** CKV_AWS_277 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkNoPublicAllPorts}. */
export const CKV_AWS_277: PolicyRule = {
  id: "CKV_AWS_277",
  title: "No security group allows ingress from 0.0.0.0/0 to all ports",
  resourceTypes: SECURITY_GROUP_RULE_TYPES,
  check: checkNoPublicAllPorts,
};
