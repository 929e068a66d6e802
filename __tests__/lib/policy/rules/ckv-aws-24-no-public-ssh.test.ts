import { SecurityGroupRule } from "@cdktf/provider-aws/lib/security-group-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { CKV_AWS_24 } from "../../../../lib/policy";
import { emptyStack, messagesOf, SOME_GROUP } from "../rule-harness";

const FIX = "remove the rule and use Session Manager, or allow only your network's range (AwsTarget's sshCidr)";

describe(`${CKV_AWS_24.id}: ${CKV_AWS_24.title}`, () => {
  test("passes: SSH from a private range; every port open is CKV_AWS_277's finding, not this rule's", () => {
    const stack = emptyStack();
    new VpcSecurityGroupIngressRule(stack, "ssh", {
      securityGroupId: SOME_GROUP,
      ipProtocol: "tcp",
      fromPort: 22,
      toPort: 22,
      cidrIpv4: "10.0.0.0/8",
      description: "SSH from the office",
    });
    new VpcSecurityGroupIngressRule(stack, "all", { securityGroupId: SOME_GROUP, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "everything" });
    expect(messagesOf(stack, CKV_AWS_24)).toEqual([]);
  });

  test("fails: port 22 from 0.0.0.0/0, and a range that includes it from ::/0", () => {
    const stack = emptyStack();
    new VpcSecurityGroupIngressRule(stack, "ssh", {
      securityGroupId: SOME_GROUP,
      ipProtocol: "tcp",
      fromPort: 22,
      toPort: 22,
      cidrIpv4: "0.0.0.0/0",
      description: "SSH",
    });
    new SecurityGroupRule(stack, "range", {
      type: "ingress",
      securityGroupId: SOME_GROUP,
      protocol: "tcp",
      fromPort: 20,
      toPort: 25,
      ipv6CidrBlocks: ["::/0"],
      description: "20 to 25",
    });
    expect(messagesOf(stack, CKV_AWS_24)).toEqual([
      `[CKV_AWS_24] aws_vpc_security_group_ingress_rule.ssh (test/ssh): allows ingress from 0.0.0.0/0 on port 22, which exposes SSH (port 22) to the internet. Fix: ${FIX}.`,
      `[CKV_AWS_24] aws_security_group_rule.range (test/range): allows ingress from ::/0 on ports 20-25, which exposes SSH (port 22) to the internet. Fix: ${FIX}.`,
    ]);
  });
});
