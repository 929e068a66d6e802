import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { checkPolicy, HAWEB_AWS_1, PolicySuppressions } from "../../../../lib/policy";
import { emptyStack, LOAD_BALANCER_TAGS, messagesOf } from "../rule-harness";

describe(`${HAWEB_AWS_1.id}: ${HAWEB_AWS_1.title}`, () => {
  test("passes: 443 from the internet on the load balancer's group; other ports from a private range", () => {
    const stack = emptyStack();
    const lb = new SecurityGroup(stack, "lb", { name: "lb", description: "load balancer", tags: LOAD_BALANCER_TAGS });
    const db = new SecurityGroup(stack, "db", { name: "db", description: "database" });
    new VpcSecurityGroupIngressRule(stack, "lb-https", {
      securityGroupId: lb.id,
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
      description: "HTTPS",
    });
    new VpcSecurityGroupIngressRule(stack, "db-mysql", {
      securityGroupId: db.id,
      ipProtocol: "tcp",
      fromPort: 3306,
      toPort: 3306,
      cidrIpv4: "10.0.0.0/16",
      description: "MySQL from the VPC",
    });
    expect(messagesOf(stack, HAWEB_AWS_1)).toEqual([]);
  });

  test("fails: another port from the internet on another group", () => {
    const stack = emptyStack();
    const db = new SecurityGroup(stack, "db", { name: "db", description: "database" });
    new VpcSecurityGroupIngressRule(stack, "db-mysql", {
      securityGroupId: db.id,
      ipProtocol: "tcp",
      fromPort: 3306,
      toPort: 3306,
      cidrIpv4: "0.0.0.0/0",
      description: "MySQL",
    });
    expect(messagesOf(stack, HAWEB_AWS_1)).toEqual([
      "[HAWEB_AWS_1] aws_vpc_security_group_ingress_rule.db-mysql (test/db-mysql): allows ingress from 0.0.0.0/0 on port 3306; only the load balancer may take traffic from the internet, on 80 and 443. " +
        "Fix: remove the rule (peers reach each other through security group references), or move the listener to the load balancer (security group tagged ha-web:role = load-balancer).",
    ]);
  });

  test("fails: another port on the load balancer's group, with the suppression that accepts it as the alternative fix", () => {
    const stack = emptyStack();
    const lb = new SecurityGroup(stack, "lb", { name: "lb", description: "load balancer", tags: LOAD_BALANCER_TAGS });
    new VpcSecurityGroupIngressRule(stack, "lb-8080", {
      securityGroupId: lb.id,
      ipProtocol: "tcp",
      fromPort: 8080,
      toPort: 8080,
      cidrIpv4: "0.0.0.0/0",
      description: "HTTP on 8080",
    });
    expect(checkPolicy(stack, { rules: [HAWEB_AWS_1] }).map((f) => f.message)).toEqual([
      "[HAWEB_AWS_1] aws_vpc_security_group_ingress_rule.lb-8080 (test/lb-8080): allows ingress from 0.0.0.0/0 on port 8080; the load balancer may take traffic from the internet only on 80 and 443. " +
        "Fix: listen on 80 (LoadBalancerTier's port; 443 for HTTPS), or, if the other port is intended, suppress this finding with a reason: " +
        'PolicySuppressions.addResourceSuppressionsByPath(stack, "test/lb-8080", [{ id: "HAWEB_AWS_1", reason: "<why this port must take traffic from the internet>" }]).',
    ]);
    // The suggested call, with a real reason, is accepted and clears the finding.
    PolicySuppressions.addResourceSuppressionsByPath(stack, "test/lb-8080", [{ id: "HAWEB_AWS_1", reason: "partners' firewalls only allow 8080 out" }]);
    expect(messagesOf(stack, HAWEB_AWS_1)).toEqual([]);
  });
});
