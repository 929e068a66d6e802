import { coversAllPorts, coversPort, describeRule, isOpenToInternet, SECURITY_GROUP_RULE_TYPES, securityGroupRules } from "../security-group-rules";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

/**
 * HAWEB_AWS_2 (no checkov id): no plain-HTTP listener without HTTPS beside it.
 * From the synthesized JSON a redirect is seen only as its precondition: a
 * security group that takes port 80 from the internet must take 443 from the
 * internet too (LoadBalancerTier answers 80 with a 308 to HTTPS unless
 * `https: false` or `redirectHttpToHttps: false`).
 */
export function checkHttpOnlyWithHttps(resource: ResourceView, context: PolicyContext): Finding[] {
  const open80 = securityGroupRules(resource, context).filter(
    (r) => r.direction === "ingress" && isOpenToInternet(r) && !coversAllPorts(r) && coversPort(r, 80),
  );
  if (open80.length === 0) return [];
  return open80
    .filter((rule) => {
      const group = rule.group;
      if (!group) return false; // a group outside the stack: its other rules are unknown
      // The group's own inline rules, and every rule resource of the stack attached to it.
      const siblings = [group, ...(context.resources ?? []).filter((r) => r !== group && r.type !== "aws_security_group")].flatMap((r) =>
        securityGroupRules(r, context).filter((s) => s.group?.address === group.address),
      );
      return !siblings.some((s) => s.direction === "ingress" && isOpenToInternet(s) && coversPort(s, 443));
    })
    .map((rule) =>
      finding(
        "HAWEB_AWS_2",
        resource,
        `${describeRule(rule)}, but its security group takes no HTTPS (443) from the internet: a plain-HTTP listener without HTTPS to redirect to`,
        "serve HTTPS (LoadBalancerTier's https: true, the default, which answers port 80 with a 308 redirect to 443), or stop listening on 80",
      ),
    );
}

/** HAWEB_AWS_2 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkHttpOnlyWithHttps}. */
export const HAWEB_AWS_2: PolicyRule = {
  id: "HAWEB_AWS_2",
  title: "No HTTP listener open to the internet without HTTPS beside it (the redirect's target)",
  resourceTypes: SECURITY_GROUP_RULE_TYPES,
  check: checkHttpOnlyWithHttps,
};
