import { nonEmptyString } from "../attributes";
import { securityGroupRules } from "../security-group-rules";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** What Terraform writes when a security group has no description. */
const TERRAFORM_DEFAULT = "Managed by Terraform";

/** CKV_AWS_23: every security group and every rule says why it exists. */
export function checkSecurityGroupDescriptions(resource: ResourceView, context: PolicyContext): Finding[] {
  const findings: Finding[] = [];
  if (resource.type === "aws_security_group") {
    const description = resource.config.description;
    if (!nonEmptyString(description) || description === TERRAFORM_DEFAULT) {
      findings.push(
        finding("CKV_AWS_23", resource, "the security group has no description", 'set description to what the group is for (cdktf: description: "...")'),
      );
    }
  }
  for (const rule of securityGroupRules(resource, context)) {
    if (!nonEmptyString(rule.description)) {
      const where = rule.where ? `rule ${rule.where}` : "the rule";
      findings.push(
        finding("CKV_AWS_23", resource, `${where} has no description`, 'set description to the flow it allows, for example "load balancer to Nginx"'),
      );
    }
  }
  return findings;
}

/** CKV_AWS_23 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkSecurityGroupDescriptions}. */
export const CKV_AWS_23: PolicyRule = {
  id: "CKV_AWS_23",
  title: "Security groups and their rules have descriptions",
  resourceTypes: ["aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"],
  check: checkSecurityGroupDescriptions,
};
