import { nonEmptyString } from "../attributes";
import { finding, Finding, PolicyRule, ResourceView } from "../types";

/** CKV2_AWS_41: every instance has an IAM role (instance profile), so it never needs stored keys. */
export function checkInstanceIamRole(resource: ResourceView): Finding[] {
  if (nonEmptyString(resource.config.iam_instance_profile)) return [];
  return [
    finding(
      "CKV2_AWS_41",
      resource,
      "the instance has no IAM instance profile",
      "attach an instance profile whose role allows only what the host needs (cdktf: iamInstanceProfile: profile.name)",
    ),
  ];
}

/** CKV2_AWS_41 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkInstanceIamRole}. */
export const CKV2_AWS_41: PolicyRule = {
  id: "CKV2_AWS_41",
  title: "An IAM role is attached to every EC2 instance",
  resourceTypes: ["aws_instance"],
  check: checkInstanceIamRole,
};
