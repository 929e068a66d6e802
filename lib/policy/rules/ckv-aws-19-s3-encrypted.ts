import { blocks } from "../attributes";
import { bucketSettings } from "../s3-buckets";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** Server-side encryption algorithms S3 accepts as a bucket default. */
const ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];

/** Whether a server_side_encryption_configuration's rules set a default algorithm. */
function setsDefault(configuration: unknown): boolean {
  return blocks(configuration)
    .flatMap((c) => blocks(c.rule))
    .flatMap((r) => blocks(r.apply_server_side_encryption_by_default))
    .some((d) => ALGORITHMS.includes(String(d.sse_algorithm)));
}

/** CKV_AWS_19: an S3 bucket declares its default encryption at rest (SSE-S3 or SSE-KMS). */
export function checkS3Encrypted(resource: ResourceView, context: PolicyContext): Finding[] {
  const declared =
    bucketSettings(resource, "aws_s3_bucket_server_side_encryption_configuration", context).some((e) => setsDefault({ rule: e.config.rule })) ||
    setsDefault(resource.config.server_side_encryption_configuration);
  if (declared) return [];
  return [
    finding(
      "CKV_AWS_19",
      resource,
      "the bucket declares no default encryption at rest",
      'add an aws_s3_bucket_server_side_encryption_configuration for it with sse_algorithm "AES256", or "aws:kms" with your key',
    ),
  ];
}

/** CKV_AWS_19 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkS3Encrypted}. */
export const CKV_AWS_19: PolicyRule = {
  id: "CKV_AWS_19",
  title: "S3 buckets are encrypted at rest",
  resourceTypes: ["aws_s3_bucket"],
  check: checkS3Encrypted,
};
