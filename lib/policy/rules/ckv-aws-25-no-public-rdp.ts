import { coversAllPorts, coversPort, describeRule, openIngressTo, SECURITY_GROUP_RULE_TYPES } from "../security-group-rules";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** CKV_AWS_25: no ingress from 0.0.0.0/0 or ::/0 to RDP (port 3389). No exception. */
export function checkNoPublicRdp(resource: ResourceView, context: PolicyContext): Finding[] {
  return openIngressTo(resource, context, (rule) => !coversAllPorts(rule) && coversPort(rule, 3389)).map((rule) =>
    finding(
      "CKV_AWS_25",
      resource,
      `${describeRule(rule)}, which exposes RDP (port 3389) to the internet`,
      "remove the rule, or allow only your network's range",
    ),
  );
}

/** CKV_AWS_25 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkNoPublicRdp}. */
export const CKV_AWS_25: PolicyRule = {
  id: "CKV_AWS_25",
  title: "No security group allows ingress from 0.0.0.0/0 to port 3389",
  resourceTypes: SECURITY_GROUP_RULE_TYPES,
  check: checkNoPublicRdp,
};
