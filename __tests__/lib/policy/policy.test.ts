import "cdktf/lib/testing/adapters/jest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, Testing, TerraformStack, TerraformVariable } from "cdktf";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { SecurityGroupRule } from "@cdktf/provider-aws/lib/security-group-rule";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Password } from "@cdktf/provider-random/lib/password";
import { AwsStack } from "../../../examples/aws-stack";
import { LoadBalancerTier, MysqlCluster, WebAppTier } from "../../../lib";
import { AwsTarget } from "../../../lib/targets/aws";
import { checkPolicy, HA_WEB_RULES, HaWebPolicyChecks, PolicySuppressions } from "../../../lib/policy";
import { policyErrors, policyInfos } from "../../../lib/policy/policy-aspect";

/** The example stack (policy checks on), made insecure by `mutate`, synthesized; the policy's error annotations. */
function errorsOf(mutate: (stack: AwsStack) => void): string[] {
  const stack = new AwsStack(Testing.app(), "aws");
  mutate(stack);
  Testing.synth(stack);
  return policyErrors(stack);
}

const host = (stack: AwsStack, name: string) => stack.target.hosts[name];
const group = (stack: AwsStack, role: "load-balancer" | "web" | "database" | "monitoring") => stack.target.securityGroups.forRole(role);
const openIngress = (
  stack: AwsStack,
  id: string,
  role: "load-balancer" | "web" | "database" | "monitoring",
  port: number,
  extra: Partial<{ ipProtocol: string; cidrIpv6: string }> = {},
) =>
  new VpcSecurityGroupIngressRule(stack, id, {
    securityGroupId: group(stack, role).id,
    ipProtocol: extra.ipProtocol ?? "tcp",
    fromPort: extra.ipProtocol === "-1" ? undefined : port,
    toPort: extra.ipProtocol === "-1" ? undefined : port,
    ...(extra.cidrIpv6 ? { cidrIpv6: extra.cidrIpv6 } : { cidrIpv4: "0.0.0.0/0" }),
    description: `deliberately open ${port}`,
  });

const WEB_1 = /aws_instance\.web_web-1-host_instance_[0-9A-F]+ \(aws\/web\/web-1-host\/instance\)/;

describe("the policy on the aws stack", () => {
  // app.synth() writes about 1 MB per stack: every outdir is removed when the file is done.
  const outdirs: string[] = [];
  const newOutdir = (prefix: string) => {
    outdirs.push(mkdtempSync(join(tmpdir(), prefix)));
    return outdirs[outdirs.length - 1];
  };
  afterAll(() => {
    for (const d of outdirs) rmSync(d, { recursive: true, force: true });
  });

  test("passes: no finding, and `app.synth()` writes the stack", () => {
    const outdir = newOutdir("aws-synth-");
    const app = new App({ outdir });
    const stack = new AwsStack(app, "aws");
    app.synth();
    expect(policyErrors(stack)).toEqual([]);
    expect(checkPolicy(stack)).toEqual([]);
    expect(existsSync(join(outdir, "stacks", "aws", "cdk.tf.json"))).toBe(true);
  });

  test("a finding fails `app.synth()` and no JSON is written", () => {
    const outdir = newOutdir("aws-insecure-");
    const app = new App({ outdir });
    const stack = new AwsStack(app, "aws");
    host(stack, "web-1").instance.addOverride("metadata_options.http_tokens", "optional");
    expect(() => app.synth()).toThrow(/\[CKV_AWS_79\] aws_instance\.web_web-1-host_instance/);
    expect(existsSync(join(outdir, "stacks", "aws", "cdk.tf.json"))).toBe(false);
  });

  test("reports once even when synthesized twice", () => {
    const stack = new AwsStack(Testing.app(), "aws");
    host(stack, "web-1").instance.addOverride("monitoring", false);
    Testing.synth(stack);
    Testing.synth(stack);
    expect(policyErrors(stack)).toHaveLength(1);
  });
});

describe("each rule fails, with its message, on a stack made insecure on purpose", () => {
  test("CKV_AWS_79: IMDSv1 allowed through an escape-hatch override", () => {
    const errors = errorsOf((s) => host(s, "web-1").instance.addOverride("metadata_options.http_tokens", "optional"));
    expect(errors).toEqual([expect.stringMatching(/^\[CKV_AWS_79\] /)]);
    expect(errors[0]).toMatch(WEB_1);
    expect(errors[0]).toContain(
      'IMDSv1 is allowed: metadata_options.http_tokens is "optional". Fix: set metadata_options { http_tokens = "required", http_put_response_hop_limit = 1 }',
    );
  });

  test("CKV_AWS_8: an unencrypted root volume", () => {
    const errors = errorsOf((s) => host(s, "db-primary").instance.addOverride("root_block_device.encrypted", false));
    expect(errors).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_8\] aws_instance\.database_db-primary-host_instance_\w+ \(aws\/database\/db-primary-host\/instance\): root_block_device is not encrypted\. Fix: set root_block_device \{ encrypted = true/,
      ),
    ]);
  });

  test("CKV_AWS_3: an unencrypted data volume", () => {
    const errors = errorsOf((s) => host(s, "db-replica-1").dataVolume?.addOverride("encrypted", false));
    expect(errors).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_3\] aws_ebs_volume\.database_db-replica-1-host_data-volume_\w+ \(aws\/database\/db-replica-1-host\/data-volume\): the EBS volume is not encrypted\. Fix: set encrypted = true/,
      ),
    ]);
  });

  test("CKV_AWS_24: SSH open to the internet", () => {
    const errors = errorsOf((s) => openIngress(s, "ssh-open", "web", 22));
    expect(errors).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_24\] aws_vpc_security_group_ingress_rule\.ssh-open \(aws\/ssh-open\): allows ingress from 0\.0\.0\.0\/0 on port 22, which exposes SSH \(port 22\) to the internet\. Fix: remove the rule and use Session Manager/,
      ),
    ]);
  });

  test("CKV_AWS_25: RDP open to the internet, inline in a security group", () => {
    const errors = errorsOf(
      (s) =>
        new SecurityGroup(s, "rdp", {
          name: "rdp",
          description: "remote desktop",
          vpcId: s.target.network.vpcId,
          ingress: [{ fromPort: 3389, toPort: 3389, protocol: "tcp", cidrBlocks: ["0.0.0.0/0"], description: "RDP" }],
        }),
    );
    expect(errors).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_25\] aws_security_group\.rdp \(aws\/rdp\): ingress\[0\] allows ingress from 0\.0\.0\.0\/0 on port 3389, which exposes RDP/,
      ),
    ]);
  });

  test("CKV_AWS_260 (and HAWEB_AWS_2: no HTTPS beside it): port 80 open on a group that is not the load balancer's", () => {
    const errors = errorsOf(
      (s) =>
        new SecurityGroupRule(s, "http-db", {
          type: "ingress",
          securityGroupId: group(s, "database").id,
          fromPort: 80,
          toPort: 80,
          protocol: "tcp",
          cidrBlocks: ["0.0.0.0/0"],
          description: "web on the database",
        }),
    );
    expect(errors).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_260\] aws_security_group_rule\.http-db \(aws\/http-db\): allows ingress from 0\.0\.0\.0\/0 on port 80, and its security group is not the load balancer's\. Fix: open port 80 to the internet only on the load balancer's security group \(tag ha-web:role = load-balancer/,
      ),
      expect.stringMatching(
        /^\[HAWEB_AWS_2\] aws_security_group_rule\.http-db \(aws\/http-db\): allows ingress from 0\.0\.0\.0\/0 on port 80, but its security group takes no HTTPS \(443\)/,
      ),
    ]);
  });

  test("CKV_AWS_260 / HAWEB_AWS_1: 80 and 443 on the load balancer's group are the documented exception", () => {
    expect(errorsOf((s) => openIngress(s, "https", "load-balancer", 443))).toEqual([]);
  });

  test("CKV_AWS_277: every port open to ::/0", () => {
    const errors = errorsOf((s) => openIngress(s, "all-v6", "web", 0, { ipProtocol: "-1", cidrIpv6: "::/0" }));
    expect(errors).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_277\] aws_vpc_security_group_ingress_rule\.all-v6 \(aws\/all-v6\): allows ingress from ::\/0 on all ports\. Fix: allow only the ports/,
      ),
    ]);
  });

  test("HAWEB_AWS_1: any other port open to the internet, even on the load balancer", () => {
    const errors = errorsOf((s) => {
      openIngress(s, "mysql-open", "database", 3306);
      openIngress(s, "stats-open", "load-balancer", 8404);
    });
    expect(errors.sort()).toEqual([
      expect.stringMatching(
        /^\[HAWEB_AWS_1\] aws_vpc_security_group_ingress_rule\.mysql-open \(aws\/mysql-open\): allows ingress from 0\.0\.0\.0\/0 on port 3306; only the load balancer may take traffic from the internet, on 80 and 443\. Fix: /,
      ),
      expect.stringMatching(
        /^\[HAWEB_AWS_1\] aws_vpc_security_group_ingress_rule\.stats-open .* on port 8404; the load balancer may take traffic from the internet only on 80 and 443\. Fix: listen on 80 \(LoadBalancerTier's port/,
      ),
    ]);
  });

  test("HAWEB_AWS_1: a load balancer listening on 8080 is told to listen on 80 or suppress the finding with a reason, not to do what it did", () => {
    const stack = new TerraformStack(Testing.app(), "lb8080");
    const target = new AwsTarget(stack, "aws");
    const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
    new LoadBalancerTier(stack, "lb", { target, webTier: new WebAppTier(stack, "web", { target, database }), port: 8080 });
    const findings = checkPolicy(stack).filter((f) => f.ruleId === "HAWEB_AWS_1");
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringMatching(
        /on port 8080; the load balancer may take traffic from the internet only on 80 and 443\. Fix: listen on 80 \(LoadBalancerTier's port; 443 for HTTPS\), or, if the other port is intended, suppress this finding with a reason: /,
      ),
    ]);
    // The fix names the call that accepts this one rule resource, by the path the library gave it.
    const hint = `PolicySuppressions.addResourceSuppressionsByPath(stack, "${findings[0].path}", [{ id: "HAWEB_AWS_1", reason: "<why this port must take traffic from the internet>" }]).`;
    expect(findings[0].message.endsWith(hint)).toBe(true);
    expect(findings[0].path).toMatch(/^lb8080\/aws\//);

    // Following it (with a real reason) clears the finding; nothing else is affected.
    const reason = "the legacy client only knows port 8080 (ticket OPS-42)";
    PolicySuppressions.addResourceSuppressionsByPath(stack, findings[0].path, [{ id: "HAWEB_AWS_1", reason }]);
    expect(checkPolicy(stack)).toEqual([]);
    expect(checkPolicy(stack, { includeSuppressed: true })).toEqual([{ ...findings[0], suppressed: { reason } }]);
  });

  test("CKV_AWS_23: a group without description and a rule whose description was removed", () => {
    const errors = errorsOf((s) => {
      new SecurityGroup(s, "bare", { name: "bare", vpcId: s.target.network.vpcId });
      const rule = s.target.securityGroups.node.findChild("web-in-80-from-lb") as VpcSecurityGroupIngressRule;
      rule.addOverride("description", "");
    });
    expect(errors.sort()).toEqual([
      expect.stringMatching(/^\[CKV_AWS_23\] aws_security_group\.bare \(aws\/bare\): the security group has no description\. Fix: set description/),
      expect.stringMatching(
        /^\[CKV_AWS_23\] aws_vpc_security_group_ingress_rule\.aws_security-groups_web-in-80-from-lb_\w+ \(aws\/aws\/security-groups\/web-in-80-from-lb\): the rule has no description\. Fix: /,
      ),
    ]);
  });

  test("CKV_AWS_88: a public IP on a web node, an Elastic IP on the database", () => {
    const errors = errorsOf((s) => {
      host(s, "web-1").instance.addOverride("associate_public_ip_address", true);
      new Eip(s, "db-eip", { domain: "vpc", instance: host(s, "db-primary").instance.id });
    });
    expect(errors.sort()).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_88\] aws_eip\.db-eip \(aws\/db-eip\): the Elastic IP is attached to aws_instance\.database_db-primary-host_instance_\w+, which is not a load balancer\. Fix: give public addresses only to load balancers/,
      ),
      expect.stringMatching(
        /^\[CKV_AWS_88\] aws_instance\.web_web-1-host_instance_\w+ .*: associate_public_ip_address is true on a host that is not a load balancer\. Fix: /,
      ),
    ]);
  });

  test("CKV_AWS_46: a literal password, a reference to a generated one, a sensitive variable, base64 user data", () => {
    const errors = errorsOf((s) => {
      host(s, "web-1").instance.addOverride("user_data", "#cloud-config\nruncmd:\n  - [sh, -c, 'echo DB_PASSWORD=hunter2hunter2 > /etc/app.env']\n");
      const leak = new Password(s, "leak", { length: 24 });
      host(s, "web-2").instance.addOverride("user_data", `#!/bin/sh\nexport APP_SECRET=${leak.result}\n`);
      const variable = new TerraformVariable(s, "api_key", { type: "string", sensitive: true });
      host(s, "db-primary").instance.addOverride("user_data", `#!/bin/sh\necho ${variable.stringValue} > /etc/key\n`);
      host(s, "db-replica-1").instance.addOverride("user_data_base64", Buffer.from("#!/bin/sh\nexport API_TOKEN=s3cr3t-t0ken-value\n").toString("base64"));
    });
    expect(errors.sort()).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_46\] aws_instance\.database_db-primary-host_instance_\w+ .*: user_data contains a reference to the sensitive variable var\.api_key\. Fix: keep secrets out of user data/,
      ),
      expect.stringMatching(
        /^\[CKV_AWS_46\] aws_instance\.database_db-replica-1-host_instance_\w+ .*: user_data_base64 contains a literal value for API_TOKEN \(base64-decoded\)\./,
      ),
      expect.stringMatching(/^\[CKV_AWS_46\] aws_instance\.web_web-1-host_instance_\w+ .*: user_data contains a literal value for DB_PASSWORD\./),
      expect.stringMatching(
        /^\[CKV_AWS_46\] aws_instance\.web_web-2-host_instance_\w+ .*: user_data contains a reference to random_password\.leak\.result, a secret value\./,
      ),
    ]);
  });

  test("the monitoring host is no exception: Prometheus' UI opened to the internet, a public IP on it, its data volume unencrypted", () => {
    const errors = errorsOf((s) => {
      openIngress(s, "prometheus-ui", "monitoring", 9090);
      host(s, "monitoring").instance.addOverride("associate_public_ip_address", true);
      host(s, "monitoring").dataVolume?.addOverride("encrypted", false);
    });
    expect(errors.sort()).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_3\] aws_ebs_volume\.monitoring_monitoring-host_data-volume_\w+ \(aws\/monitoring\/monitoring-host\/data-volume\): the EBS volume is not encrypted\./,
      ),
      expect.stringMatching(
        /^\[CKV_AWS_88\] aws_instance\.monitoring_monitoring-host_instance_\w+ .*: associate_public_ip_address is true on a host that is not a load balancer\./,
      ),
      expect.stringMatching(
        /^\[HAWEB_AWS_1\] aws_vpc_security_group_ingress_rule\.prometheus-ui \(aws\/prometheus-ui\): allows ingress from 0\.0\.0\.0\/0 on port 9090; only the load balancer may take traffic from the internet/,
      ),
    ]);
  });

  test("CKV2_AWS_41: an instance without an IAM role", () => {
    const errors = errorsOf(
      (s) =>
        new Instance(s, "bare", {
          ami: "ami-0123456789abcdef0",
          instanceType: "t3.micro",
          monitoring: true,
          metadataOptions: { httpTokens: "required" },
          rootBlockDevice: { encrypted: true },
        }),
    );
    expect(errors).toEqual([
      expect.stringMatching(/^\[CKV2_AWS_41\] aws_instance\.bare \(aws\/bare\): the instance has no IAM instance profile\. Fix: attach an instance profile/),
    ]);
  });

  test("CKV_AWS_126: detailed monitoring turned off", () => {
    expect(errorsOf((s) => host(s, "lb-1").instance.addOverride("monitoring", false))).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_126\] aws_instance\.load-balancer_lb-1-host_instance_\w+ \(aws\/load-balancer\/lb-1-host\/instance\): detailed monitoring is off\. Fix: set monitoring = true/,
      ),
    ]);
  });

  test("CKV_AWS_382: all traffic to the internet", () => {
    const errors = errorsOf(
      (s) =>
        new VpcSecurityGroupEgressRule(s, "egress-all", {
          securityGroupId: group(s, "database").id,
          ipProtocol: "-1",
          cidrIpv4: "0.0.0.0/0",
          description: "everything",
        }),
    );
    expect(errors).toEqual([
      expect.stringMatching(
        /^\[CKV_AWS_382\] aws_vpc_security_group_egress_rule\.egress-all \(aws\/egress-all\): allows egress to 0\.0\.0\.0\/0 on all ports\. Fix: /,
      ),
    ]);
  });
});

describe("using the policy on your own stacks", () => {
  test("HaWebPolicyChecks.applyTo any stack; a stack suppression with a reason accepts a rule's findings, recorded as info", () => {
    const stack = new TerraformStack(Testing.app(), "mine");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new Instance(stack, "legacy", {
      ami: "ami-0123456789abcdef0",
      instanceType: "t3.micro",
      iamInstanceProfile: "legacy",
      rootBlockDevice: { encrypted: true },
      metadataOptions: { httpTokens: "required" },
    });
    const aspect = HaWebPolicyChecks.applyTo(stack);
    PolicySuppressions.addStackSuppressions(stack, [{ id: "CKV_AWS_126", reason: "a test stack: 5-minute metrics are enough" }]);
    Testing.synth(stack);
    expect(policyErrors(stack)).toEqual([]);
    expect(aspect.findings).toEqual([]);
    expect(aspect.suppressed.map((f) => f.ruleId)).toEqual(["CKV_AWS_126"]);
    expect(policyInfos(stack)).toEqual([
      "[CKV_AWS_126] suppressed on aws_instance.legacy (mine/legacy): a test stack: 5-minute metrics are enough (finding: detailed monitoring is off)",
    ]);
    expect(checkPolicy(stack)).toEqual([]);
    expect(checkPolicy(stack, { includeSuppressed: true }).map((f) => [f.ruleId, f.suppressed?.reason])).toEqual([
      ["CKV_AWS_126", "a test stack: 5-minute metrics are enough"],
    ]);
  });

  test("`rules` runs a pack of your choice: HA_WEB_RULES without a rule leaves it out entirely", () => {
    const stack = new TerraformStack(Testing.app(), "mine");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new Instance(stack, "legacy", {
      ami: "ami-0123456789abcdef0",
      instanceType: "t3.micro",
      iamInstanceProfile: "legacy",
      rootBlockDevice: { encrypted: true },
      metadataOptions: { httpTokens: "required" },
    });
    const rules = HA_WEB_RULES.filter((r) => r.id !== "CKV_AWS_126");
    const aspect = HaWebPolicyChecks.applyTo(stack, { rules });
    Testing.synth(stack);
    expect(policyErrors(stack)).toEqual([]);
    expect(aspect.findings).toEqual([]);
    expect(checkPolicy(stack, { rules })).toEqual([]);
    expect(checkPolicy(stack).map((f) => f.ruleId)).toEqual(["CKV_AWS_126"]);
  });

  test("checkPolicy returns findings with the rule, the resource, the problem and the fix", () => {
    const stack = new TerraformStack(Testing.app(), "mine");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new Instance(stack, "web", { ami: "ami-0123456789abcdef0", instanceType: "t3.micro" });
    const findings = checkPolicy(stack);
    expect(findings.map((f) => f.ruleId).sort()).toEqual(["CKV2_AWS_41", "CKV_AWS_126", "CKV_AWS_79", "CKV_AWS_8"]);
    expect(findings.find((f) => f.ruleId === "CKV_AWS_8")).toEqual({
      ruleId: "CKV_AWS_8",
      address: "aws_instance.web",
      path: "mine/web",
      problem: "has no root_block_device, so the root volume's encryption is left to the account default",
      fix: expect.stringContaining("encrypted = true"),
      message: expect.stringMatching(/^\[CKV_AWS_8\] aws_instance\.web \(mine\/web\): has no root_block_device/),
    });
  });

  test("every rule lives in its own file, named after the checkov rule it mirrors", () => {
    const files = readdirSync(join(__dirname, "../../../lib/policy/rules"))
      .filter((f) => f.endsWith(".ts"))
      .sort();
    const expected = HA_WEB_RULES.map((r) => r.id.toLowerCase().replace(/_/g, "-"));
    expect(files).toHaveLength(HA_WEB_RULES.length);
    for (const id of expected) expect(files.filter((f) => f.startsWith(`${id}-`))).toHaveLength(1);
    expect(new Set(HA_WEB_RULES.map((r) => r.id)).size).toBe(HA_WEB_RULES.length);
  });

  test("every rule file has a test file of the same name, with a passing and a failing case", () => {
    const rules = readdirSync(join(__dirname, "../../../lib/policy/rules")).filter((f) => f.endsWith(".ts"));
    const tests = readdirSync(join(__dirname, "rules")).filter((f) => f.endsWith(".test.ts"));
    expect(tests.sort()).toEqual(rules.map((f) => f.replace(/\.ts$/, ".test.ts")).sort());
    for (const file of tests) {
      const text = readFileSync(join(__dirname, "rules", file), "utf8");
      expect([file, /\("passes: /.test(text), /\("fails: /.test(text)]).toEqual([file, true, true]);
    }
  });
});
