import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { CKV_AWS_382 } from "../../../../lib/policy";
import { emptyStack, messagesOf, SOME_GROUP } from "../rule-harness";

const FIX = "allow only the ports the host needs (AwsTarget allows TCP 80 to Debian's mirrors and 443 to AWS APIs), and peers by security group";

describe(`${CKV_AWS_382.id}: ${CKV_AWS_382.title}`, () => {
  test("passes: HTTPS to the internet; all traffic inside the VPC", () => {
    const stack = emptyStack();
    new VpcSecurityGroupEgressRule(stack, "https", {
      securityGroupId: SOME_GROUP,
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
      description: "AWS APIs",
    });
    new VpcSecurityGroupEgressRule(stack, "vpc", { securityGroupId: SOME_GROUP, ipProtocol: "-1", cidrIpv4: "10.0.0.0/16", description: "the VPC" });
    expect(messagesOf(stack, CKV_AWS_382)).toEqual([]);
  });

  test('passes: one port to the internet for an alert receiver (AwsTarget\'s egress to "internet": SMTP submission, a webhook)', () => {
    const stack = emptyStack();
    for (const [protocol, port] of [
      ["tcp", 587],
      ["tcp", 8443],
      ["udp", 514],
    ] as const)
      new VpcSecurityGroupEgressRule(stack, `receiver-${protocol}-${port}`, {
        securityGroupId: SOME_GROUP,
        ipProtocol: protocol,
        fromPort: port,
        toPort: port,
        cidrIpv4: "0.0.0.0/0",
        description: "Alertmanager notifies the receiver",
      });
    expect(messagesOf(stack, CKV_AWS_382)).toEqual([]);
  });

  test("fails: every TCP port to the internet, written as the range 0-65535", () => {
    const stack = emptyStack();
    new VpcSecurityGroupEgressRule(stack, "tcp-all", {
      securityGroupId: SOME_GROUP,
      ipProtocol: "tcp",
      fromPort: 0,
      toPort: 65535,
      cidrIpv4: "0.0.0.0/0",
      description: "every port",
    });
    expect(messagesOf(stack, CKV_AWS_382)).toEqual([
      `[CKV_AWS_382] aws_vpc_security_group_egress_rule.tcp-all (test/tcp-all): allows egress to 0.0.0.0/0 on all ports. Fix: ${FIX}.`,
    ]);
  });

  test("fails: all traffic to the internet, as a rule resource and inline", () => {
    const stack = emptyStack();
    new VpcSecurityGroupEgressRule(stack, "all", { securityGroupId: SOME_GROUP, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "everything" });
    new SecurityGroup(stack, "open", {
      name: "open",
      description: "open egress",
      egress: [{ fromPort: 0, toPort: 0, protocol: "-1", cidrBlocks: ["0.0.0.0/0"], description: "everything" }],
    });
    expect(messagesOf(stack, CKV_AWS_382)).toEqual([
      `[CKV_AWS_382] aws_vpc_security_group_egress_rule.all (test/all): allows egress to 0.0.0.0/0 on all ports. Fix: ${FIX}.`,
      `[CKV_AWS_382] aws_security_group.open (test/open): egress[0] allows egress to 0.0.0.0/0 on all ports. Fix: ${FIX}.`,
    ]);
  });
});
