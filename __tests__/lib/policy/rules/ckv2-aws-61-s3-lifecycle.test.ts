import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { CKV2_AWS_61 } from "../../../../lib/policy";
import { bucketIn, emptyStack, messagesOf } from "../rule-harness";

describe(`${CKV2_AWS_61.id}: ${CKV2_AWS_61.title}`, () => {
  test("passes: an enabled rule expiring objects and old versions", () => {
    const stack = emptyStack();
    new S3BucketLifecycleConfiguration(stack, "lifecycle", {
      bucket: bucketIn(stack).id,
      rule: [{ id: "expire", status: "Enabled", filter: [{ prefix: "db/" }], expiration: [{ days: 9 }], noncurrentVersionExpiration: [{ noncurrentDays: 9 }] }],
    });
    expect(messagesOf(stack, CKV2_AWS_61)).toEqual([]);
  });

  test("fails: no lifecycle configuration, or only disabled rules", () => {
    const stack = emptyStack();
    bucketIn(stack);
    new S3BucketLifecycleConfiguration(stack, "lifecycle", {
      bucket: bucketIn(stack, "assets").id,
      rule: [{ id: "off", status: "Disabled", filter: [{ prefix: "" }], expiration: [{ days: 1 }] }],
    });
    expect(messagesOf(stack, CKV2_AWS_61).sort()).toEqual([
      expect.stringMatching(/^\[CKV2_AWS_61\] aws_s3_bucket\.assets \(test\/assets\): the bucket has no enabled lifecycle rule/),
      '[CKV2_AWS_61] aws_s3_bucket.backups (test/backups): the bucket has no enabled lifecycle rule: objects, old versions and unfinished uploads are kept (and billed) forever. Fix: add an aws_s3_bucket_lifecycle_configuration for it with a rule (status "Enabled") that expires what you no longer need: noncurrent versions, incomplete multipart uploads.',
    ]);
  });
});
