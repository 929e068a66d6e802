import { isTrue } from "../attributes";
import { finding, Finding, PolicyRule, ResourceView } from "../types";

/** CKV_AWS_3: an EBS volume is encrypted at rest. */
export function checkEbsVolumeEncrypted(resource: ResourceView): Finding[] {
  if (isTrue(resource.config.encrypted)) return [];
  return [
    finding(
      "CKV_AWS_3",
      resource,
      "the EBS volume is not encrypted",
      "set encrypted = true (cdktf: encrypted: true), with kms_key_id for a customer managed key",
    ),
  ];
}

/** CKV_AWS_3 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkEbsVolumeEncrypted}. */
export const CKV_AWS_3: PolicyRule = {
  id: "CKV_AWS_3",
  title: "EBS volumes are encrypted",
  resourceTypes: ["aws_ebs_volume"],
  check: checkEbsVolumeEncrypted,
};
