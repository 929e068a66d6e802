import { coversAllPorts, coversPort, describeRule, openIngressTo, SECURITY_GROUP_RULE_TYPES } from "../security-group-rules";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** CKV_AWS_24: no ingress from 0.0.0.0/0 or ::/0 to SSH (port 22). No exception. (All-port rules are CKV_AWS_277's.) */
export function checkNoPublicSsh(resource: ResourceView, context: PolicyContext): Finding[] {
  return openIngressTo(resource, context, (rule) => !coversAllPorts(rule) && coversPort(rule, 22)).map((rule) =>
    finding(
      "CKV_AWS_24",
      resource,
      `${describeRule(rule)}, which exposes SSH (port 22) to the internet`,
      "remove the rule and use Session Manager, or allow only your network's range (AwsTarget's sshCidr)",
    ),
  );
}

/** CKV_AWS_24 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkNoPublicSsh}. */
export const CKV_AWS_24: PolicyRule = {
  id: "CKV_AWS_24",
  title: "No security group allows ingress from 0.0.0.0/0 to port 22",
  resourceTypes: SECURITY_GROUP_RULE_TYPES,
  check: checkNoPublicSsh,
};
