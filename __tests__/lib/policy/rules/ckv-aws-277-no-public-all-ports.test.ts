import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { CKV_AWS_277 } from "../../../../lib/policy";
import { emptyStack, LOAD_BALANCER_TAGS, messagesOf, SOME_GROUP } from "../rule-harness";

const FIX = "allow only the ports the service listens on, from the peers that need them (the load balancer alone takes 80/443 from the internet)";

describe(`${CKV_AWS_277.id}: ${CKV_AWS_277.title}`, () => {
  test("passes: all ports from a private range; one port from the internet", () => {
    const stack = emptyStack();
    new VpcSecurityGroupIngressRule(stack, "all", { securityGroupId: SOME_GROUP, ipProtocol: "-1", cidrIpv4: "10.0.0.0/16", description: "the VPC" });
    new VpcSecurityGroupIngressRule(stack, "https", {
      securityGroupId: SOME_GROUP,
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
      description: "HTTPS",
    });
    expect(messagesOf(stack, CKV_AWS_277)).toEqual([]);
  });

  test("fails: every protocol from ::/0, and every TCP port from 0.0.0.0/0 even on the load balancer's group", () => {
    const stack = emptyStack();
    const lb = new SecurityGroup(stack, "lb", { name: "lb", description: "load balancer", tags: LOAD_BALANCER_TAGS });
    new VpcSecurityGroupIngressRule(stack, "all-v6", { securityGroupId: SOME_GROUP, ipProtocol: "-1", cidrIpv6: "::/0", description: "everything" });
    new VpcSecurityGroupIngressRule(stack, "all-tcp", {
      securityGroupId: lb.id,
      ipProtocol: "tcp",
      fromPort: 0,
      toPort: 65535,
      cidrIpv4: "0.0.0.0/0",
      description: "every TCP port",
    });
    expect(messagesOf(stack, CKV_AWS_277)).toEqual([
      `[CKV_AWS_277] aws_vpc_security_group_ingress_rule.all-v6 (test/all-v6): allows ingress from ::/0 on all ports. Fix: ${FIX}.`,
      `[CKV_AWS_277] aws_vpc_security_group_ingress_rule.all-tcp (test/all-tcp): allows ingress from 0.0.0.0/0 on all ports. Fix: ${FIX}.`,
    ]);
  });
});
