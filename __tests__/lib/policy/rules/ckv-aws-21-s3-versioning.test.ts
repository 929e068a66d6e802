import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { CKV_AWS_21 } from "../../../../lib/policy";
import { bucketIn, emptyStack, messagesOf } from "../rule-harness";

describe(`${CKV_AWS_21.id}: ${CKV_AWS_21.title}`, () => {
  test("passes: a bucket whose versioning is Enabled", () => {
    const stack = emptyStack();
    const bucket = bucketIn(stack);
    new S3BucketVersioningA(stack, "versioning", { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } });
    expect(messagesOf(stack, CKV_AWS_21)).toEqual([]);
  });

  test("fails: no versioning, or versioning Suspended", () => {
    const stack = emptyStack();
    bucketIn(stack);
    const suspended = bucketIn(stack, "assets");
    new S3BucketVersioningA(stack, "versioning", { bucket: suspended.id, versioningConfiguration: { status: "Suspended" } });
    expect(messagesOf(stack, CKV_AWS_21).sort()).toEqual([
      expect.stringMatching(/^\[CKV_AWS_21\] aws_s3_bucket\.assets \(test\/assets\): the bucket does not keep versions/),
      '[CKV_AWS_21] aws_s3_bucket.backups (test/backups): the bucket does not keep versions: an overwritten or deleted object is gone. Fix: add an aws_s3_bucket_versioning for it with versioning_configuration { status = "Enabled" }, and a lifecycle rule that expires noncurrent versions.',
    ]);
  });
});
