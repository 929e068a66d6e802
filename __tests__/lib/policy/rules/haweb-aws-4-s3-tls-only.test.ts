import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { HAWEB_AWS_4 } from "../../../../lib/policy";
import { bucketIn, emptyStack, messagesOf } from "../rule-harness";

/** The bucket policy statement the library writes: deny anything without TLS, on the bucket and its objects. */
const tlsOnly = (bucket: S3Bucket, overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucket.arn, `${bucket.arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
        ...overrides,
      },
    ],
  });

describe(`${HAWEB_AWS_4.id}: ${HAWEB_AWS_4.title}`, () => {
  test("passes: a policy denying s3:* without TLS on the bucket and its objects", () => {
    const stack = emptyStack();
    const bucket = bucketIn(stack);
    new S3BucketPolicy(stack, "tls-only", { bucket: bucket.id, policy: tlsOnly(bucket) });
    expect(messagesOf(stack, HAWEB_AWS_4)).toEqual([]);
  });

  test("fails: no policy; a deny that spares the objects; an Allow; another bucket's policy", () => {
    const stack = emptyStack();
    bucketIn(stack);
    const partial = bucketIn(stack, "partial");
    new S3BucketPolicy(stack, "partial-policy", { bucket: partial.id, policy: tlsOnly(partial, { Resource: [partial.arn] }) });
    const allow = bucketIn(stack, "allow");
    new S3BucketPolicy(stack, "allow-policy", { bucket: allow.id, policy: tlsOnly(allow, { Effect: "Allow" }) });
    const other = bucketIn(stack, "other");
    const lonely = bucketIn(stack, "lonely");
    new S3BucketPolicy(stack, "other-policy", { bucket: other.id, policy: tlsOnly(lonely) });
    expect(
      messagesOf(stack, HAWEB_AWS_4)
        .map((m) => /aws_s3_bucket\.(\w+)/.exec(m)?.[1])
        .sort(),
    ).toEqual(["allow", "backups", "lonely", "other", "partial"]);
    expect(messagesOf(emptyWithBucket(), HAWEB_AWS_4)).toEqual([
      '[HAWEB_AWS_4] aws_s3_bucket.backups (test/backups): the bucket\'s policy does not deny requests without TLS. Fix: add an aws_s3_bucket_policy for it with a statement { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket ARN, bucket ARN + "/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }.',
    ]);
  });
});

function emptyWithBucket() {
  const stack = emptyStack();
  bucketIn(stack);
  return stack;
}
