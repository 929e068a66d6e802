import { blocks, isTrue } from "../attributes";
import { bucketSettings } from "../s3-buckets";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** CKV_AWS_21: an S3 bucket keeps versions, so an overwritten or deleted object can be recovered. */
export function checkS3Versioning(resource: ResourceView, context: PolicyContext): Finding[] {
  const enabled =
    bucketSettings(resource, "aws_s3_bucket_versioning", context).some((v) => blocks(v.config.versioning_configuration).some((c) => c.status === "Enabled")) ||
    blocks(resource.config.versioning).some((v) => isTrue(v.enabled));
  if (enabled) return [];
  return [
    finding(
      "CKV_AWS_21",
      resource,
      "the bucket does not keep versions: an overwritten or deleted object is gone",
      'add an aws_s3_bucket_versioning for it with versioning_configuration { status = "Enabled" }, and a lifecycle rule that expires noncurrent versions',
    ),
  ];
}

/** CKV_AWS_21 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkS3Versioning}. */
export const CKV_AWS_21: PolicyRule = {
  id: "CKV_AWS_21",
  title: "S3 buckets keep versions",
  resourceTypes: ["aws_s3_bucket"],
  check: checkS3Versioning,
};
