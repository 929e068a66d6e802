import { isTrue } from "../attributes";
import { bucketSettings } from "../s3-buckets";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

const FLAGS = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] as const;

/** CKV2_AWS_6: an S3 bucket has a public access block with all four settings on. */
export function checkS3PublicAccessBlock(resource: ResourceView, context: PolicyContext): Finding[] {
  const blocks = bucketSettings(resource, "aws_s3_bucket_public_access_block", context);
  if (blocks.some((b) => FLAGS.every((f) => isTrue(b.config[f])))) return [];
  const off = blocks.length === 0 ? FLAGS : FLAGS.filter((f) => !blocks.some((b) => isTrue(b.config[f])));
  return [
    finding(
      "CKV2_AWS_6",
      resource,
      blocks.length === 0 ? "the bucket has no public access block" : `the bucket's public access block leaves ${off.join(", ")} off`,
      "add an aws_s3_bucket_public_access_block for it with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets all true",
    ),
  ];
}

/** CKV2_AWS_6 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkS3PublicAccessBlock}. */
export const CKV2_AWS_6: PolicyRule = {
  id: "CKV2_AWS_6",
  title: "S3 buckets block all public access",
  resourceTypes: ["aws_s3_bucket"],
  check: checkS3PublicAccessBlock,
};
