/**
 * How a host points a movable name (the database writer, a CNAME in the private
 * zone) at another host: the shell snippet a promotion runs, and the names IAM
 * allows it to change. Framework-free: no cdktf here.
 */

/** TTL of a movable name's CNAME, in seconds: the record's and every UPSERT's. */
export const MOVABLE_RECORD_TTL_SECONDS = 30;

/**
 * The region the snippet calls Route 53 in. Route 53 is global: its one endpoint
 * (route53.amazonaws.com) signs in us-east-1 whatever the instance's region. The
 * snippet runs from an operator's shell (Session Manager), where the CLI finds no
 * AWS_DEFAULT_REGION, and asking IMDS for the instance's region would only add a
 * failure mode. The library already targets the `aws` partition (the Debian AMI owner).
 */
export const ROUTE53_REGION = "us-east-1";

/**
 * How long the snippet waits for Route 53 to report the change INSYNC: polls 2 s
 * apart, at most this many (2 minutes; private zones take seconds). The CLI's own
 * waiter would poll every 30 s for up to 30 minutes, holding the promotion.
 */
export const ROUTE53_SYNC_POLLS = 60;

/** The Resource of `route53:GetChange`, which the snippet polls for the change's status. */
export const ROUTE53_CHANGE_ARN = "arn:aws:route53:::change/*";

export interface Route53MoveConfig {
  /** Id of the hosted zone (`Z...`), or a deploy-time reference to it (a cdktf token, filled in by Terraform). */
  readonly zoneId: string;
  /** The movable name's fully qualified DNS name, for example "db-writer.haweb.internal". */
  readonly recordName: string;
  /** @default MOVABLE_RECORD_TTL_SECONDS */
  readonly ttl?: number;
}

/** How Route 53's IAM condition keys spell a record name: lower case, no trailing dot. */
export function normalizedRecordName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const DOMAIN_NAME = new RegExp(`^${LABEL}(\\.${LABEL})+$`);
/** A zone id, or a cdktf token standing for one (Terraform fills in an id: letters and digits). */
const ZONE_ID = /^([A-Z0-9]{1,32}|\$\{TfToken\[[A-Za-z0-9._-]+\]\})$/;

/**
 * A POSIX sh snippet (run by `sh -c`, NEW_PRIMARY_HOST in its environment) that
 * UPSERTs the movable name's CNAME to $NEW_PRIMARY_HOST, then waits until Route 53
 * has applied the change (GetChange every 2 s, at most ROUTE53_SYNC_POLLS times; exit 1 after). It
 * refuses, with exit 1 and before any AWS call, a NEW_PRIMARY_HOST that is not a
 * host name: only letters, digits, dots and dashes ever reach the JSON or the
 * command line. Needs the AWS CLI and credentials (the instance role).
 */
export function renderRoute53MoveCommand(config: Route53MoveConfig): string {
  const ttl = config.ttl ?? MOVABLE_RECORD_TTL_SECONDS;
  const problems: string[] = [];
  if (!DOMAIN_NAME.test(config.recordName) || config.recordName.length > 253)
    problems.push(`record name "${config.recordName}" is not a lower-case domain name`);
  if (!ZONE_ID.test(config.zoneId)) problems.push(`zone id "${config.zoneId}" is not a Route 53 zone id`);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647) problems.push(`TTL ${ttl} is not a whole number of seconds`);
  if (problems.length > 0) throw new Error(`Route 53 move command: ${problems.join("; ")}`);
  // Both are checked above: letters, digits, dots and dashes (or a token Terraform fills with letters and digits).
  const record = `'${config.recordName}'`;
  const zone = `'${config.zoneId}'`;
  const region = ROUTE53_REGION;
  return [
    "set -eu",
    `record=${record}`,
    `zone=${zone}`,
    'host="${NEW_PRIMARY_HOST:-}"',
    "refuse() {",
    `  printf '%s\\n' "not moving $record: NEW_PRIMARY_HOST '$host' is not a host name ($1)" >&2`,
    "  exit 1",
    "}",
    "# Only letters, digits, dots and dashes go into the change batch (JSON) and onto the command line.",
    'case "$host" in',
    "  '') refuse 'it is empty' ;;",
    "  *[!A-Za-z0-9.-]*) refuse 'only letters, digits, dots and dashes' ;;",
    "  .* | *. | *..* | -* | *- | *.-* | *-.*) refuse 'an empty label, or a label that starts or ends with a dash' ;;",
    "  *[!0-9.]*) ;;",
    "  *) refuse 'an IPv4 address: a CNAME names a host' ;;",
    "esac",
    '[ "${#host}" -le 253 ] || refuse "longer than 253 characters"',
    "if printf '%s\\n' \"$host\" | grep -Eq '[^.]{64}'; then refuse 'a label longer than 63 characters'; fi",
    `batch=$(printf '{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"%s","Type":"CNAME","TTL":${ttl},"ResourceRecords":[{"Value":"%s"}]}}]}' "$record" "$host")`,
    `# Route 53 is global: its endpoint signs in ${region}, whatever this instance's region.`,
    'echo "pointing $record at $host (Route 53 zone $zone)"',
    `change=$(aws route53 change-resource-record-sets --region ${region} --hosted-zone-id "$zone" --change-batch "$batch" --query ChangeInfo.Id --output text)`,
    `[ -n "$change" ] || { echo "Route 53 returned no change id for $record" >&2; exit 1; }`,
    'echo "change $change submitted: waiting until Route 53 has applied it"',
    "polls=0",
    `until [ "$(aws route53 get-change --region ${region} --id "$change" --query ChangeInfo.Status --output text)" = INSYNC ]; do`,
    "  polls=$((polls + 1))",
    `  if [ "$polls" -ge ${ROUTE53_SYNC_POLLS} ]; then echo "change $change for $record is not in sync after ${ROUTE53_SYNC_POLLS * 2} s: check it with aws route53 get-change" >&2; exit 1; fi`,
    "  sleep 2",
    "done",
    'echo "$record points at $host"',
  ].join("\n");
}
