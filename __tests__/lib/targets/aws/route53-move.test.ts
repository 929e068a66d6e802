import { spawnSync } from "child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  MOVABLE_RECORD_TTL_SECONDS,
  normalizedRecordName,
  renderRoute53MoveCommand,
  ROUTE53_CHANGE_ARN,
  ROUTE53_REGION,
  ROUTE53_SYNC_POLLS,
} from "../../../../lib/targets/aws/private/route53-move";
import { shellSyntax } from "./cloud-init/tools";

const command = renderRoute53MoveCommand({ zoneId: "Z0123456789ABCDEFGHIJ", recordName: "db-writer.haweb.internal" });

/** A temp dir with a stand-in `aws` that records its arguments (one per line, then a blank line) and answers like the CLI. */
const dir = mkdtempSync(join(tmpdir(), "route53-move-"));
const log = join(dir, "aws.log");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, "aws"),
  [
    "#!/bin/sh",
    `for a in "$@"; do printf '%s\\n' "$a"; done >>'${log}'`,
    `echo >>'${log}'`,
    'case "$1 $2" in',
    '  "route53 change-resource-record-sets") echo /change/C0123456789ABC ;;',
    '  "route53 get-change") if [ -n "${AWS_FAKE_WAIT_FAILS:-}" ]; then echo PENDING; else echo INSYNC; fi ;;',
    "esac",
  ].join("\n"),
);
chmodSync(join(dir, "aws"), 0o755);
// The polls' pauses, counted instead of slept.
writeFileSync(join(dir, "sleep"), ["#!/bin/sh", `echo "$1" >>'${join(dir, "sleeps")}'`].join("\n"));
chmodSync(join(dir, "sleep"), 0o755);

/** Runs the snippet as the failover script does (`sh -c`), with the stand-in first on PATH; the calls it made. */
function run(host: string | undefined, extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string; calls: string[][] } {
  rmSync(log, { force: true });
  const env: Record<string, string> = { PATH: `${dir}:/usr/bin:/bin`, ...extraEnv };
  if (host !== undefined) env.NEW_PRIMARY_HOST = host;
  const result = spawnSync("sh", ["-c", command], { encoding: "utf8", env });
  const calls = existsSync(log)
    ? readFileSync(log, "utf8")
        .split("\n\n")
        .filter((c) => c.length > 0)
        .map((c) => c.replace(/\n$/, "").split("\n"))
    : [];
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

describe("renderRoute53MoveCommand", () => {
  test("is valid POSIX sh", () => {
    expect(shellSyntax(command)).toBe("");
  });

  test("UPSERTs the CNAME to $NEW_PRIMARY_HOST with the record's TTL, in us-east-1, then waits for that change", () => {
    const r = run("db-replica-1.haweb.internal");
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.calls).toHaveLength(2);
    const [change, wait] = r.calls;
    expect(change.slice(0, 7)).toEqual([
      "route53",
      "change-resource-record-sets",
      "--region",
      "us-east-1",
      "--hosted-zone-id",
      "Z0123456789ABCDEFGHIJ",
      "--change-batch",
    ]);
    expect(change.slice(8)).toEqual(["--query", "ChangeInfo.Id", "--output", "text"]);
    // The change batch, byte for byte, and as JSON.
    expect(change[7]).toBe(
      '{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"db-writer.haweb.internal","Type":"CNAME","TTL":30,"ResourceRecords":[{"Value":"db-replica-1.haweb.internal"}]}}]}',
    );
    expect(JSON.parse(change[7])).toEqual({
      Changes: [
        {
          Action: "UPSERT",
          ResourceRecordSet: { Name: "db-writer.haweb.internal", Type: "CNAME", TTL: 30, ResourceRecords: [{ Value: "db-replica-1.haweb.internal" }] },
        },
      ],
    });
    expect(wait).toEqual([
      "route53",
      "get-change",
      "--region",
      "us-east-1",
      "--id",
      "/change/C0123456789ABC",
      "--query",
      "ChangeInfo.Status",
      "--output",
      "text",
    ]);
    expect(r.stdout).toContain("db-writer.haweb.internal points at db-replica-1.haweb.internal");
    expect(ROUTE53_REGION).toBe("us-east-1");
    expect(MOVABLE_RECORD_TTL_SECONDS).toBe(30);
  });

  test("fails (exit 1) when Route 53 does not apply the change within ROUTE53_SYNC_POLLS polls, 2 s apart", () => {
    rmSync(join(dir, "sleeps"), { force: true });
    const r = run("db-replica-1.haweb.internal", { AWS_FAKE_WAIT_FAILS: "1" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`is not in sync after ${ROUTE53_SYNC_POLLS * 2} s`);
    expect(r.stdout).not.toContain("points at");
    expect(r.calls.filter((c) => c[1] === "get-change")).toHaveLength(ROUTE53_SYNC_POLLS);
    expect(readFileSync(join(dir, "sleeps"), "utf8").trim().split("\n")).toEqual(Array(ROUTE53_SYNC_POLLS - 1).fill("2"));
  });

  const bad: [string, string | undefined, string][] = [
    ["unset", undefined, "it is empty"],
    ["empty", "", "it is empty"],
    ["JSON", 'x"}]},{"Action":"DELETE","ResourceRecordSet":{"Name":"db-writer.haweb.internal', "only letters, digits, dots and dashes"],
    ["a command substitution", "$(touch /tmp/route53-move-pwned)", "only letters, digits, dots and dashes"],
    ["a quote", "db'x.haweb.internal", "only letters, digits, dots and dashes"],
    ["a space", "db-1 --hosted-zone-id Z1", "only letters, digits, dots and dashes"],
    ["a line break", "db-1.haweb.internal\nevil", "only letters, digits, dots and dashes"],
    ["an empty label", "db-1..haweb.internal", "an empty label"],
    ["a trailing dot", "db-1.haweb.internal.", "an empty label"],
    ["a leading dash", "-db.haweb.internal", "starts or ends with a dash"],
    ["a label ending with a dash", "db-.haweb.internal", "starts or ends with a dash"],
    ["an IPv4 address", "10.40.8.12", "an IPv4 address"],
    ["a 64-character label", `${"a".repeat(64)}.haweb.internal`, "a label longer than 63 characters"],
    ["254 characters", `${Array.from({ length: 4 }, () => "a".repeat(62)).join(".")}.abc`, "longer than 253 characters"],
  ];
  test.each(bad)("refuses a NEW_PRIMARY_HOST with %s: exit 1, a message, no AWS call", (_, host, reason) => {
    const r = run(host);
    expect({ status: r.status, calls: r.calls }).toEqual({ status: 1, calls: [] });
    expect(r.stderr).toContain("not moving db-writer.haweb.internal: NEW_PRIMARY_HOST");
    expect(r.stderr).toContain(reason);
    expect(existsSync("/tmp/route53-move-pwned")).toBe(false);
  });

  test("accepts a 63-character label and a single-label name", () => {
    for (const host of [`${"a".repeat(63)}.haweb.internal`, "db-replica-2"]) {
      const r = run(host);
      expect({ host, status: r.status }).toEqual({ host, status: 0 });
      expect(JSON.parse(r.calls[0][7]).Changes[0].ResourceRecordSet.ResourceRecords).toEqual([{ Value: host }]);
    }
  });

  test("a deploy-time zone id (a token) goes in as is, single-quoted, for Terraform to fill in", () => {
    const withToken = renderRoute53MoveCommand({ zoneId: "${TfToken[TOKEN.42]}", recordName: "db-writer.haweb.internal", ttl: 60 });
    expect(withToken).toContain("zone='${TfToken[TOKEN.42]}'\n");
    expect(withToken).toContain('"TTL":60,');
    expect(shellSyntax(withToken)).toBe("");
  });

  test("refuses a record name, zone id or TTL it cannot quote safely", () => {
    expect(() => renderRoute53MoveCommand({ zoneId: "Z1", recordName: "db'writer.haweb.internal" })).toThrow(/record name .* is not a lower-case domain name/);
    expect(() => renderRoute53MoveCommand({ zoneId: "Z1", recordName: "DB-writer.haweb.internal" })).toThrow(/record name/);
    expect(() => renderRoute53MoveCommand({ zoneId: "Z1'; rm -rf /", recordName: "db-writer.haweb.internal" })).toThrow(/zone id .* is not a Route 53 zone id/);
    expect(() => renderRoute53MoveCommand({ zoneId: "Z1", recordName: "db-writer.haweb.internal", ttl: 1.5 })).toThrow(/TTL 1.5/);
  });

  test("record names as IAM's condition keys spell them; the waiter's change ARN", () => {
    expect(normalizedRecordName("DB-Writer.Haweb.Internal.")).toBe("db-writer.haweb.internal");
    expect(ROUTE53_CHANGE_ARN).toBe("arn:aws:route53:::change/*");
  });
});
