import { blocks, strings } from "../attributes";
import { bucketSettings } from "../s3-buckets";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/** Whether a policy statement denies every S3 action on the bucket and its objects to anyone over plain HTTP. */
function deniesPlainHttp(statement: Record<string, unknown>, bucket: ResourceView): boolean {
  const actions = strings(statement.Action);
  const principal = statement.Principal;
  const anyone =
    principal === "*" || (typeof principal === "object" && principal !== null && strings((principal as Record<string, unknown>).AWS).includes("*"));
  const condition = blocks(statement.Condition).flatMap((c) => blocks(c.Bool));
  const resources = strings(statement.Resource);
  const arn = new RegExp(`^\\$\\{${bucket.type}\\.${bucket.name}\\.arn\\}`);
  return (
    statement.Effect === "Deny" &&
    anyone &&
    actions.some((a) => a === "s3:*" || a === "*") &&
    condition.some((b) => String(b["aws:SecureTransport"]) === "false") &&
    resources.some((r) => arn.test(r) && !r.endsWith("/*")) &&
    resources.some((r) => arn.test(r) && r.endsWith("/*"))
  );
}

/**
 * HAWEB_AWS_4: an S3 bucket's policy denies every request that does not use
 * TLS (`aws:SecureTransport` false), on the bucket and on its objects, so
 * backups and assets never travel in clear (checkov's S3 TLS checks).
 */
export function checkS3TlsOnly(resource: ResourceView, context: PolicyContext): Finding[] {
  const statements = bucketSettings(resource, "aws_s3_bucket_policy", context).flatMap((p) => {
    try {
      const document = JSON.parse(String(p.config.policy)) as { Statement?: unknown };
      return blocks(document.Statement);
    } catch {
      return [];
    }
  });
  if (statements.some((s) => deniesPlainHttp(s, resource))) return [];
  return [
    finding(
      "HAWEB_AWS_4",
      resource,
      "the bucket's policy does not deny requests without TLS",
      'add an aws_s3_bucket_policy for it with a statement { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket ARN, bucket ARN + "/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }',
    ),
  ];
}

/** HAWEB_AWS_4 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkS3TlsOnly}. */
export const HAWEB_AWS_4: PolicyRule = {
  id: "HAWEB_AWS_4",
  title: "S3 buckets accept TLS requests only",
  resourceTypes: ["aws_s3_bucket"],
  check: checkS3TlsOnly,
};
