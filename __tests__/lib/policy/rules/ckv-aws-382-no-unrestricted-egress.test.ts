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
