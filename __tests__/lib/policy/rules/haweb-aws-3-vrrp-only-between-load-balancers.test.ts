import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { SecurityGroupRule } from "@cdktf/provider-aws/lib/security-group-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { HAWEB_AWS_3 } from "../../../../lib/policy";
import { emptyStack, LOAD_BALANCER_TAGS, messagesOf } from "../rule-harness";

const FIX =
  "allow VRRP (IP protocol 112) only on the load balancers' security group (tag ha-web:role = load-balancer), from that group itself: keepalived's peers, nobody else";

describe(`${HAWEB_AWS_3.id}: ${HAWEB_AWS_3.title}`, () => {
  test("passes: VRRP into the load balancers' group from itself (a rule resource, a legacy rule with self, inline self)", () => {
    const stack = emptyStack();
    const lb = new SecurityGroup(stack, "lb", { name: "lb", description: "load balancer", tags: LOAD_BALANCER_TAGS });
    new VpcSecurityGroupIngressRule(stack, "lb-vrrp", { securityGroupId: lb.id, ipProtocol: "112", referencedSecurityGroupId: lb.id, description: "VRRP" });
    new SecurityGroupRule(stack, "lb-vrrp-legacy", { type: "ingress", securityGroupId: lb.id, protocol: "112", fromPort: 0, toPort: 0, selfAttribute: true });
    new SecurityGroup(stack, "inline", {
      name: "inline",
      description: "load balancer, inline",
      tags: LOAD_BALANCER_TAGS,
      ingress: [{ protocol: "112", fromPort: 0, toPort: 0, selfAttribute: true, description: "VRRP" }],
    });
    expect(messagesOf(stack, HAWEB_AWS_3)).toEqual([]);
  });

  test("fails: VRRP from an address range, from another group, or into a group that is not the load balancers'", () => {
    const stack = emptyStack();
    const lb = new SecurityGroup(stack, "lb", { name: "lb", description: "load balancer", tags: LOAD_BALANCER_TAGS });
    const web = new SecurityGroup(stack, "web", { name: "web", description: "web nodes" });
    new VpcSecurityGroupIngressRule(stack, "lb-vrrp-open", { securityGroupId: lb.id, ipProtocol: "112", cidrIpv4: "0.0.0.0/0", description: "VRRP" });
    new VpcSecurityGroupIngressRule(stack, "lb-vrrp-web", {
      securityGroupId: lb.id,
      ipProtocol: "112",
      referencedSecurityGroupId: web.id,
      description: "VRRP",
    });
    new VpcSecurityGroupIngressRule(stack, "web-vrrp", { securityGroupId: web.id, ipProtocol: "112", referencedSecurityGroupId: web.id, description: "VRRP" });
    new SecurityGroupRule(stack, "lb-vrrp-range", {
      type: "ingress",
      securityGroupId: lb.id,
      protocol: "112",
      fromPort: 0,
      toPort: 0,
      cidrBlocks: ["10.0.0.0/8"],
    });
    expect(messagesOf(stack, HAWEB_AWS_3)).toEqual([
      `[HAWEB_AWS_3] aws_vpc_security_group_ingress_rule.lb-vrrp-open (test/lb-vrrp-open): allows VRRP from 0.0.0.0/0. Fix: ${FIX}.`,
      `[HAWEB_AWS_3] aws_vpc_security_group_ingress_rule.lb-vrrp-web (test/lb-vrrp-web): allows VRRP from aws_security_group.web, not from the load balancers' group itself. Fix: ${FIX}.`,
      `[HAWEB_AWS_3] aws_vpc_security_group_ingress_rule.web-vrrp (test/web-vrrp): allows VRRP into a group that is not the load balancers'. Fix: ${FIX}.`,
      `[HAWEB_AWS_3] aws_security_group_rule.lb-vrrp-range (test/lb-vrrp-range): allows VRRP from 10.0.0.0/8. Fix: ${FIX}.`,
    ]);
  });
});
