import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { CKV_AWS_260 } from "../../../../lib/policy";
import { emptyStack, LOAD_BALANCER_TAGS, messagesOf } from "../rule-harness";

const FIX =
  "open port 80 to the internet only on the load balancer's security group (tag ha-web:role = load-balancer, a rule for port 80 alone); reach other hosts through it";

describe(`${CKV_AWS_260.id}: ${CKV_AWS_260.title}`, () => {
  test("passes: port 80 alone from the internet on the load balancer's group; from a private range elsewhere", () => {
    const stack = emptyStack();
    const lb = new SecurityGroup(stack, "lb", { name: "lb", description: "load balancer", tags: LOAD_BALANCER_TAGS });
    const web = new SecurityGroup(stack, "web", { name: "web", description: "web nodes" });
    new VpcSecurityGroupIngressRule(stack, "lb-http", {
      securityGroupId: lb.id,
      ipProtocol: "tcp",
      fromPort: 80,
      toPort: 80,
      cidrIpv4: "0.0.0.0/0",
      description: "HTTP",
    });
    new VpcSecurityGroupIngressRule(stack, "web-http", {
      securityGroupId: web.id,
      ipProtocol: "tcp",
      fromPort: 80,
      toPort: 80,
      cidrIpv4: "10.0.0.0/16",
      description: "HTTP from the VPC",
    });
    expect(messagesOf(stack, CKV_AWS_260)).toEqual([]);
  });

  test("fails: port 80 from the internet on another group, or a range around 80 on the load balancer's", () => {
    const stack = emptyStack();
    const lb = new SecurityGroup(stack, "lb", { name: "lb", description: "load balancer", tags: LOAD_BALANCER_TAGS });
    const web = new SecurityGroup(stack, "web", { name: "web", description: "web nodes" });
    new VpcSecurityGroupIngressRule(stack, "web-http", {
      securityGroupId: web.id,
      ipProtocol: "tcp",
      fromPort: 80,
      toPort: 80,
      cidrIpv4: "0.0.0.0/0",
      description: "HTTP",
    });
    new VpcSecurityGroupIngressRule(stack, "lb-range", {
      securityGroupId: lb.id,
      ipProtocol: "tcp",
      fromPort: 79,
      toPort: 81,
      cidrIpv4: "0.0.0.0/0",
      description: "79 to 81",
    });
    expect(messagesOf(stack, CKV_AWS_260)).toEqual([
      `[CKV_AWS_260] aws_vpc_security_group_ingress_rule.web-http (test/web-http): allows ingress from 0.0.0.0/0 on port 80, and its security group is not the load balancer's. Fix: ${FIX}.`,
      `[CKV_AWS_260] aws_vpc_security_group_ingress_rule.lb-range (test/lb-range): allows ingress from 0.0.0.0/0 on ports 79-81, and its security group is not the load balancer's. Fix: ${FIX}.`,
    ]);
  });
});
