import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { CKV_AWS_25 } from "../../../../lib/policy";
import { emptyStack, messagesOf, SOME_GROUP } from "../rule-harness";

describe(`${CKV_AWS_25.id}: ${CKV_AWS_25.title}`, () => {
  test("passes: RDP from a private range", () => {
    const stack = emptyStack();
    new VpcSecurityGroupIngressRule(stack, "rdp", {
      securityGroupId: SOME_GROUP,
      ipProtocol: "tcp",
      fromPort: 3389,
      toPort: 3389,
      cidrIpv4: "10.0.0.0/8",
      description: "RDP from the office",
    });
    expect(messagesOf(stack, CKV_AWS_25)).toEqual([]);
  });

  test("fails: port 3389 from 0.0.0.0/0", () => {
    const stack = emptyStack();
    new VpcSecurityGroupIngressRule(stack, "rdp", {
      securityGroupId: SOME_GROUP,
      ipProtocol: "tcp",
      fromPort: 3389,
      toPort: 3389,
      cidrIpv4: "0.0.0.0/0",
      description: "RDP",
    });
    expect(messagesOf(stack, CKV_AWS_25)).toEqual([
      "[CKV_AWS_25] aws_vpc_security_group_ingress_rule.rdp (test/rdp): allows ingress from 0.0.0.0/0 on port 3389, which exposes RDP (port 3389) to the internet. Fix: remove the rule, or allow only your network's range.",
    ]);
  });
});
