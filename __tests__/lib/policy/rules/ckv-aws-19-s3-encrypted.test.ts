import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { CKV_AWS_19 } from "../../../../lib/policy";
import { bucketIn, emptyStack, messagesOf } from "../rule-harness";

describe(`${CKV_AWS_19.id}: ${CKV_AWS_19.title}`, () => {
  test("passes: SSE-S3 on one bucket, SSE-KMS with a key on another", () => {
    const stack = emptyStack();
    new S3BucketServerSideEncryptionConfigurationA(stack, "sse-s3", {
      bucket: bucketIn(stack).id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    new S3BucketServerSideEncryptionConfigurationA(stack, "sse-kms", {
      bucket: bucketIn(stack, "assets").id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:eu-west-1:123456789012:key/abc" } }],
    });
    expect(messagesOf(stack, CKV_AWS_19)).toEqual([]);
  });

  test("fails: a bucket that declares no default encryption", () => {
    const stack = emptyStack();
    bucketIn(stack);
    expect(messagesOf(stack, CKV_AWS_19)).toEqual([
      '[CKV_AWS_19] aws_s3_bucket.backups (test/backups): the bucket declares no default encryption at rest. Fix: add an aws_s3_bucket_server_side_encryption_configuration for it with sse_algorithm "AES256", or "aws:kms" with your key.',
    ]);
  });
});
