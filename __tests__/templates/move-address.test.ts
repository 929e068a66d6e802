import { spawnSync } from "child_process";
import { MOVE_ADDRESS_SCRIPT, renderMoveAddressScript, validateMoveAddressConfig } from "../../templates/scripts/move-address";

describe("renderMoveAddressScript", () => {
  const script = renderMoveAddressScript({ allocationId: "eipalloc-0123456789abcdef0" });

  test("is valid POSIX sh", () => {
    expect(spawnSync("sh", ["-n"], { input: script, encoding: "utf8" }).stderr).toBe("");
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(MOVE_ADDRESS_SCRIPT).toBe("/opt/ha-web/bin/move-floating-address.sh");
  });

  test("asks IMDSv2 (a token first) for its own interface, secondary address and region", () => {
    expect(script).toContain("-X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token");
    expect(script).toContain('eni=$(imds "network/interfaces/macs/$mac/interface-id")');
    expect(script).toContain('imds "network/interfaces/macs/$mac/local-ipv4s" | grep -vxF "$primary"');
    expect(script).toContain("region=$(imds placement/region)");
  });

  test("re-associates the allocation with this interface's secondary address, a bounded number of times", () => {
    expect(script).toContain("ALLOCATION_ID='eipalloc-0123456789abcdef0'");
    expect(script).toContain(
      'aws ec2 associate-address --allocation-id "$ALLOCATION_ID" --network-interface-id "$eni" \\\n  --private-ip-address "$secondary" --allow-reassociation --region "$region"',
    );
    expect(script).toContain("attempts=30");
    expect(renderMoveAddressScript({ allocationId: "eipalloc-1", attempts: 3, region: "eu-west-1" })).toContain("region='eu-west-1'");
  });

  /** Runs `text` with stub curl (IMDS), ip, aws (`awsBody`) and sleep first on PATH; returns its status, output and the stubs' calls. */
  const runWithStubs = (text: string, awsBody: string) => {
    const dir = spawnSync("mktemp", ["-d"], { encoding: "utf8" }).stdout.trim();
    const stub = (name: string, body: string) => spawnSync("sh", ["-c", `cat >${dir}/${name} && chmod +x ${dir}/${name}`], { input: `#!/bin/sh\n${body}\n` });
    stub(
      "curl",
      [
        'for a in "$@"; do last=$a; done',
        'case "$last" in',
        "  */api/token) echo token ;;",
        "  */meta-data/mac) echo 0a:00:00:00:00:01 ;;",
        "  */interface-id) echo eni-0abc ;;",
        "  */meta-data/local-ipv4) echo 10.40.0.224 ;;",
        "  */local-ipv4s) printf '10.40.0.224\\n10.40.0.225\\n' ;;",
        "  */placement/region) echo us-east-1 ;;",
        "  *) exit 22 ;;",
        "esac",
      ].join("\n"),
    );
    stub("ip", `echo "ip $*" >>${dir}/calls; [ "$1" = -o ] && echo "2: ens5    inet 10.40.0.224/24 brd 10.40.0.255 scope global ens5" || true`);
    stub("aws", awsBody.replace(/CALLS/g, `${dir}/calls`));
    // The back-off is recorded, not waited for (seconds of test time per run).
    stub("sleep", `echo "sleep $*" >>${dir}/calls`);
    const result = spawnSync("sh", ["-c", text], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    const calls = spawnSync("cat", [`${dir}/calls`], { encoding: "utf8" }).stdout;
    spawnSync("rm", ["-rf", dir]);
    return { result, calls };
  };

  test("runs for real against stubs: adds the address, then calls the API with what IMDS said", () => {
    const { result, calls } = runWithStubs(script, 'echo "aws $*" >>CALLS');
    expect(result.status).toBe(0);
    expect(calls).toContain("ip addr replace 10.40.0.225/32 dev ens5");
    expect(calls).toContain(
      "aws ec2 associate-address --allocation-id eipalloc-0123456789abcdef0 --network-interface-id eni-0abc --private-ip-address 10.40.0.225 --allow-reassociation --region us-east-1 --output text",
    );
  });

  test("keeps trying, backing off, while the API refuses (a policy still propagating); gives up after the bound", () => {
    // The stub fails its first two calls, then succeeds: three attempts, 1 s and 2 s apart.
    const flaky = 'echo "aws $*" >>CALLS; [ "$(grep -c "^aws " CALLS)" -ge 3 ]';
    const retried = runWithStubs(renderMoveAddressScript({ allocationId: "eipalloc-1", attempts: 5 }), flaky);
    expect(retried.result.status).toBe(0);
    expect(retried.calls.match(/^aws ec2 associate-address/gm)).toHaveLength(3);
    expect(retried.result.stderr).toContain("associate-address failed (attempt 2 of 5): retrying");
    expect(retried.calls.match(/^(aws ec2 associate-address|sleep)\b.*$/gm)?.map((c) => c.split(" --")[0])).toEqual([
      "aws ec2 associate-address",
      "sleep 1",
      "aws ec2 associate-address",
      "sleep 2",
      "aws ec2 associate-address",
    ]);
    const refused = runWithStubs(renderMoveAddressScript({ allocationId: "eipalloc-1", attempts: 2 }), 'echo "aws $*" >>CALLS; exit 255');
    expect(refused.result.status).toBe(1);
    expect(refused.calls.match(/^aws ec2 associate-address/gm)).toHaveLength(2);
    expect(refused.result.stderr).toContain("could not move eipalloc-1 to eni-0abc after 2 attempts");
    expect(refused.calls.match(/^sleep .*$/gm)).toEqual(["sleep 1"]);
  }, 20000);

  test("rejects input that is not one word", () => {
    expect(validateMoveAddressConfig({ allocationId: "a b" }).map((p) => p.field)).toEqual(["allocationId"]);
    expect(validateMoveAddressConfig({ allocationId: "x", region: "" }).map((p) => p.field)).toEqual(["region"]);
    expect(validateMoveAddressConfig({ allocationId: "x", attempts: 0 }).map((p) => p.field)).toEqual(["attempts"]);
    expect(() => renderMoveAddressScript({ allocationId: "it's" })).toThrow(/allocationId/);
  });
});
