import { coversAllPorts, describeRule, isOpenToInternet, SECURITY_GROUP_RULE_TYPES, securityGroupRules } from "../security-group-rules";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** CKV_AWS_382: no egress to 0.0.0.0/0 or ::/0 on every port and protocol. */
export function checkNoUnrestrictedEgress(resource: ResourceView, context: PolicyContext): Finding[] {
  return securityGroupRules(resource, context)
    .filter((rule) => rule.direction === "egress" && isOpenToInternet(rule) && coversAllPorts(rule))
    .map((rule) =>
      finding(
        "CKV_AWS_382",
        resource,
        describeRule(rule),
        "allow only the ports the host needs (AwsTarget allows TCP 80 to Debian's mirrors and 443 to AWS APIs), and peers by security group",
      ),
    );
}

/** CKV_AWS_382 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkNoUnrestrictedEgress}. */
export const CKV_AWS_382: PolicyRule = {
  id: "CKV_AWS_382",
  title: "No security group allows egress to 0.0.0.0/0 on all ports",
  resourceTypes: SECURITY_GROUP_RULE_TYPES,
  check: checkNoUnrestrictedEgress,
};
