import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { CKV2_AWS_6 } from "../../../../lib/policy";
import { bucketIn, emptyStack, messagesOf } from "../rule-harness";

const ALL_ON = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };

describe(`${CKV2_AWS_6.id}: ${CKV2_AWS_6.title}`, () => {
  test("passes: a bucket with a public access block, all four settings on", () => {
    const stack = emptyStack();
    const bucket = bucketIn(stack);
    new S3BucketPublicAccessBlock(stack, "block", { bucket: bucket.id, ...ALL_ON });
    expect(messagesOf(stack, CKV2_AWS_6)).toEqual([]);
  });

  test("fails: a bucket without a public access block", () => {
    const stack = emptyStack();
    bucketIn(stack);
    expect(messagesOf(stack, CKV2_AWS_6)).toEqual([
      "[CKV2_AWS_6] aws_s3_bucket.backups (test/backups): the bucket has no public access block. Fix: add an aws_s3_bucket_public_access_block for it with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets all true.",
    ]);
  });

  test("fails: a block that leaves a setting off, or a block of another bucket", () => {
    const stack = emptyStack();
    const bucket = bucketIn(stack);
    const other = bucketIn(stack, "assets");
    new S3BucketPublicAccessBlock(stack, "block", { bucket: bucket.id, ...ALL_ON, restrictPublicBuckets: false });
    new S3BucketPublicAccessBlock(stack, "other-block", { bucket: other.id, ...ALL_ON });
    expect(messagesOf(stack, CKV2_AWS_6)).toEqual([
      expect.stringMatching(/^\[CKV2_AWS_6\] aws_s3_bucket\.backups \(test\/backups\): the bucket's public access block leaves restrict_public_buckets off\./),
    ]);
  });
});
