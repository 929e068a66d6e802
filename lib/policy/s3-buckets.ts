import { PolicyContext, ResourceView } from "./types";

/**
 * The resources of `type` that configure `bucket` (aws_s3_bucket_versioning,
 * _public_access_block, ...): their `bucket` attribute references the bucket
 * (its id or name). Since AWS provider v4 a bucket's settings are resources of
 * their own, so a rule on a bucket reads its siblings.
 */
export function bucketSettings(bucket: ResourceView, type: string, context: PolicyContext): ResourceView[] {
  return (context.resources ?? []).filter((r) => r.type === type && context.resolve(r.config.bucket)?.address === bucket.address);
}
