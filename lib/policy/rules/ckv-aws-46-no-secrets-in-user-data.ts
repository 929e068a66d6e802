import { findSecretsInText } from "../secret-scan";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** CKV_AWS_46: user data carries no secret (anyone with ec2:DescribeInstanceAttribute reads it). */
export function checkNoSecretsInUserData(resource: ResourceView, context: PolicyContext): Finding[] {
  const c = resource.config;
  // aws_launch_template's user_data is base64, like every user_data_base64.
  const texts: [string, unknown, boolean][] = [
    ["user_data", c.user_data, resource.type === "aws_launch_template"],
    ["user_data_base64", c.user_data_base64, true],
  ];
  // Text Terraform encodes itself (AwsTarget: `${base64gzip(local.<name>)}`): the local's text is what to scan.
  for (const [attribute, value] of [...texts]) {
    const m = typeof value === "string" ? /^\$\{base64(?:gzip|encode)\(local\.([A-Za-z0-9_-]+)\)\}$/.exec(value) : null;
    const text = m ? context.localValue?.(m[1]) : undefined;
    if (text !== undefined) texts.push([`${attribute} (local.${m![1]})`, text, false]);
  }
  const findings: Finding[] = [];
  for (const [attribute, value, base64] of texts) {
    if (typeof value !== "string") continue;
    for (const hit of findSecretsInText(value, { sensitiveVariables: context.sensitiveVariables, base64 })) {
      findings.push(
        finding(
          "CKV_AWS_46",
          resource,
          `${attribute} contains ${hit}`,
          "keep secrets out of user data: store them in SSM Parameter Store (SecureString) or Secrets Manager and fetch them at boot with the instance role (AwsTarget does this for every Secret)",
        ),
      );
    }
  }
  return findings;
}

/** CKV_AWS_46 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkNoSecretsInUserData}. */
export const CKV_AWS_46: PolicyRule = {
  id: "CKV_AWS_46",
  title: "No secrets in EC2 user data",
  resourceTypes: ["aws_instance", "aws_launch_template", "aws_launch_configuration"],
  check: checkNoSecretsInUserData,
};
