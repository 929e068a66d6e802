import { blocks } from "../attributes";
import { bucketSettings } from "../s3-buckets";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** CKV2_AWS_61: an S3 bucket has a lifecycle configuration with an enabled rule (objects, old versions and stale uploads do not pile up). */
export function checkS3Lifecycle(resource: ResourceView, context: PolicyContext): Finding[] {
  const configured =
    bucketSettings(resource, "aws_s3_bucket_lifecycle_configuration", context).some((l) => blocks(l.config.rule).some((r) => r.status === "Enabled")) ||
    blocks(resource.config.lifecycle_rule).some((r) => r.enabled === true || r.enabled === "true");
  if (configured) return [];
  return [
    finding(
      "CKV2_AWS_61",
      resource,
      "the bucket has no enabled lifecycle rule: objects, old versions and unfinished uploads are kept (and billed) forever",
      'add an aws_s3_bucket_lifecycle_configuration for it with a rule (status "Enabled") that expires what you no longer need: noncurrent versions, incomplete multipart uploads',
    ),
  ];
}

/** CKV2_AWS_61 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkS3Lifecycle}. */
export const CKV2_AWS_61: PolicyRule = {
  id: "CKV2_AWS_61",
  title: "S3 buckets have a lifecycle configuration",
  resourceTypes: ["aws_s3_bucket"],
  check: checkS3Lifecycle,
};
