/**
 * A bucket policy that refuses every request made without TLS (checkov's
 * CKV_AWS_70 family; our HAWEB_AWS_4): the same document for every bucket the
 * AWS target creates (assets, backups).
 */
export function tlsOnlyBucketPolicy(bucketArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
}
