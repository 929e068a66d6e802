import { PATHS } from "../paths";
import { assertNoProblems, ConfigProblem } from "../validate";
import { SCRIPT_HEADER, shellQuote } from "./shell";

/** Where the AWS target installs the script keepalived runs on becoming master. */
export const MOVE_ADDRESS_SCRIPT = `${PATHS.binDir}/move-floating-address.sh`;

/**
 * keepalived's notify_master script on AWS: moves the group's Elastic IP to this
 * node. VPCs carry no gratuitous ARP to the internet gateway, so the new master
 * re-associates the address by API (`ec2:AssociateAddress`, allowed by the
 * instance role for this allocation and the members' interfaces only).
 *
 * The address goes to this node's secondary private IP (the first private IP of
 * its primary interface that is not the primary one): the primary IP keeps its
 * own public address, through which the node reaches its mirrors and the EC2 API
 * whether it is master or not. The script adds the secondary IP to the interface
 * (idempotent), then associates, retrying a bounded number of times.
 */
export interface MoveAddressConfig {
  /** The Elastic IP's allocation id (`eipalloc-...`), or a deploy-time reference that yields it. */
  readonly allocationId: string;
  /** The AWS region, or undefined to read it from the instance metadata. @default from IMDS */
  readonly region?: string;
  /**
   * Attempts of the API call, 1 s apart at first and up to 10 s apart: the
   * default covers about 4 minutes (a role's new policy can take that long to
   * reach EC2 on a first boot). keepalived runs the script once per takeover.
   * @default 30
   */
  readonly attempts?: number;
}

export function validateMoveAddressConfig(config: MoveAddressConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const oneWord = (v: string) => v.trim() !== "" && !/[\s'"\\]/.test(v);
  if (!oneWord(config.allocationId)) problems.push(new ConfigProblem("allocationId", `allocationId "${config.allocationId}" must be one word`));
  if (config.region !== undefined && !oneWord(config.region)) problems.push(new ConfigProblem("region", `region "${config.region}" must be one word`));
  const attempts = config.attempts ?? 30;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 120) problems.push(new ConfigProblem("attempts", `attempts ${attempts} is outside 1-120`));
  return problems;
}

/** Renders the notify_master script (POSIX sh; needs curl, iproute2 and the AWS CLI). */
export function renderMoveAddressScript(config: MoveAddressConfig): string {
  assertNoProblems("move-address script", validateMoveAddressConfig(config));
  const attempts = config.attempts ?? 30;
  return [
    SCRIPT_HEADER,
    "# keepalived runs this on becoming master: the group's Elastic IP moves to this node.",
    `ALLOCATION_ID=${shellQuote(config.allocationId)}`,
    // IMDSv2: a session token first (http_tokens=required, hop limit 1).
    "imds() {",
    "  t=$(curl -fsS -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) &&",
    '  curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/meta-data/$1"',
    "}",
    `attempts=${attempts}`,
    "n=0",
    "until mac=$(imds mac) &&",
    '  eni=$(imds "network/interfaces/macs/$mac/interface-id") &&',
    "  primary=$(imds local-ipv4) &&",
    '  secondary=$(imds "network/interfaces/macs/$mac/local-ipv4s" | grep -vxF "$primary" | head -n 1) &&',
    `  region=${config.region === undefined ? "$(imds placement/region)" : shellQuote(config.region)} &&`,
    '  [ -n "$eni" ] && [ -n "$secondary" ] && [ -n "$region" ]; do',
    "  n=$((n + 1))",
    '  if [ "$n" -ge "$attempts" ]; then log "no interface, secondary address or region from the instance metadata"; exit 1; fi',
    "  sleep 1",
    "done",
    "# The address the Elastic IP maps to must be local, or the kernel drops its traffic.",
    "iface=$(ip -o -4 addr show to \"$primary\" | awk '{ print $2; exit }')",
    'ip addr replace "$secondary/32" dev "${iface:-eth0}"',
    "n=0",
    'until aws ec2 associate-address --allocation-id "$ALLOCATION_ID" --network-interface-id "$eni" \\',
    '  --private-ip-address "$secondary" --allow-reassociation --region "$region" --output text >/dev/null; do',
    "  n=$((n + 1))",
    '  if [ "$n" -ge "$attempts" ]; then log "could not move $ALLOCATION_ID to $eni after $n attempts"; exit 1; fi',
    '  log "associate-address failed (attempt $n of $attempts): retrying"',
    "  # Backing off, 1 s to 10 s: an IAM policy still propagating, an API throttle.",
    '  delay=$n; if [ "$delay" -gt 10 ]; then delay=10; fi',
    '  sleep "$delay"',
    "done",
    'log "moved $ALLOCATION_ID to $eni ($secondary)"',
    "",
  ].join("\n");
}
