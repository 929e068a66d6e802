import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { HAWEB_AWS_2 } from "../../../../lib/policy";
import { emptyStack, LOAD_BALANCER_TAGS, messagesOf } from "../rule-harness";

const FIX = "serve HTTPS (LoadBalancerTier's https: true, the default, which answers port 80 with a 308 redirect to 443), or stop listening on 80";

const open = (port: number) => ({ ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: `port ${port}` });

describe(`${HAWEB_AWS_2.id}: ${HAWEB_AWS_2.title}`, () => {
  test("passes: 80 beside 443 (rule resources, or inline), and 443 alone", () => {
    const stack = emptyStack();
    const lb = new SecurityGroup(stack, "lb", { name: "lb", description: "load balancer", tags: LOAD_BALANCER_TAGS });
    new VpcSecurityGroupIngressRule(stack, "lb-http", { securityGroupId: lb.id, ...open(80) });
    new VpcSecurityGroupIngressRule(stack, "lb-https", { securityGroupId: lb.id, ...open(443) });
    new SecurityGroup(stack, "inline", {
      name: "inline",
      description: "inline rules",
      ingress: [
        { protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"], description: "HTTP" },
        { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], description: "HTTPS" },
      ],
    });
    const https = new SecurityGroup(stack, "https-only", { name: "https-only", description: "HTTPS only" });
    new VpcSecurityGroupIngressRule(stack, "https-only-443", { securityGroupId: https.id, ...open(443) });
    expect(messagesOf(stack, HAWEB_AWS_2)).toEqual([]);
  });

  test("fails: 80 from the internet where 443 is not (443 on another group, or from a private range only)", () => {
    const stack = emptyStack();
    const lb = new SecurityGroup(stack, "lb", { name: "lb", description: "load balancer", tags: LOAD_BALANCER_TAGS });
    const other = new SecurityGroup(stack, "other", { name: "other", description: "another group" });
    new VpcSecurityGroupIngressRule(stack, "lb-http", { securityGroupId: lb.id, ...open(80) });
    new VpcSecurityGroupIngressRule(stack, "lb-https-private", { securityGroupId: lb.id, ...open(443), cidrIpv4: "10.0.0.0/8" });
    new VpcSecurityGroupIngressRule(stack, "other-https", { securityGroupId: other.id, ...open(443) });
    new SecurityGroup(stack, "inline", {
      name: "inline",
      description: "inline rules",
      ingress: [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"], description: "HTTP" }],
    });
    expect(messagesOf(stack, HAWEB_AWS_2)).toEqual([
      `[HAWEB_AWS_2] aws_vpc_security_group_ingress_rule.lb-http (test/lb-http): allows ingress from 0.0.0.0/0 on port 80, but its security group takes no HTTPS (443) from the internet: a plain-HTTP listener without HTTPS to redirect to. Fix: ${FIX}.`,
      `[HAWEB_AWS_2] aws_security_group.inline (test/inline): ingress[0] allows ingress from 0.0.0.0/0 on port 80, but its security group takes no HTTPS (443) from the internet: a plain-HTTP listener without HTTPS to redirect to. Fix: ${FIX}.`,
    ]);
  });
});
