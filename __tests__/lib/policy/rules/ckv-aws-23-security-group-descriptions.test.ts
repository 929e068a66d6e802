import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { CKV_AWS_23 } from "../../../../lib/policy";
import { emptyStack, messagesOf, SOME_GROUP } from "../rule-harness";

const HTTPS_FROM_VPC = { fromPort: 443, toPort: 443, protocol: "tcp", cidrBlocks: ["10.0.0.0/16"] };
const FIX_GROUP = 'set description to what the group is for (cdktf: description: "...")';
const FIX_RULE = 'set description to the flow it allows, for example "load balancer to Nginx"';

describe(`${CKV_AWS_23.id}: ${CKV_AWS_23.title}`, () => {
  test("passes: a group and its rules (inline and separate) with descriptions", () => {
    const stack = emptyStack();
    new SecurityGroup(stack, "web", { name: "web", description: "web nodes", ingress: [{ ...HTTPS_FROM_VPC, description: "HTTPS from the VPC" }] });
    new VpcSecurityGroupIngressRule(stack, "rule", {
      securityGroupId: SOME_GROUP,
      ipProtocol: "tcp",
      fromPort: 80,
      toPort: 80,
      cidrIpv4: "10.0.0.0/16",
      description: "HTTP from the VPC",
    });
    expect(messagesOf(stack, CKV_AWS_23)).toEqual([]);
  });

  test("fails: a group without description (or with Terraform's default) and an inline rule without one", () => {
    const stack = emptyStack();
    new SecurityGroup(stack, "bare", { name: "bare", ingress: [HTTPS_FROM_VPC] });
    new SecurityGroup(stack, "default", { name: "default-text", description: "Managed by Terraform" });
    expect(messagesOf(stack, CKV_AWS_23)).toEqual([
      `[CKV_AWS_23] aws_security_group.bare (test/bare): the security group has no description. Fix: ${FIX_GROUP}.`,
      `[CKV_AWS_23] aws_security_group.bare (test/bare): rule ingress[0] has no description. Fix: ${FIX_RULE}.`,
      `[CKV_AWS_23] aws_security_group.default (test/default): the security group has no description. Fix: ${FIX_GROUP}.`,
    ]);
  });

  test("fails: a rule resource without description", () => {
    const stack = emptyStack();
    new VpcSecurityGroupIngressRule(stack, "rule", { securityGroupId: SOME_GROUP, ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "10.0.0.0/16" });
    expect(messagesOf(stack, CKV_AWS_23)).toEqual([
      `[CKV_AWS_23] aws_vpc_security_group_ingress_rule.rule (test/rule): the rule has no description. Fix: ${FIX_RULE}.`,
    ]);
  });
});
