import { isTrue } from "../attributes";
import { finding, Finding, PolicyRule, ResourceView } from "../types";

/** CKV_AWS_126: detailed (1-minute) CloudWatch monitoring, so failures show within a minute. */
export function checkDetailedMonitoring(resource: ResourceView): Finding[] {
  if (isTrue(resource.config.monitoring)) return [];
  return [finding("CKV_AWS_126", resource, "detailed monitoring is off", "set monitoring = true (cdktf: monitoring: true)")];
}

/** CKV_AWS_126 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkDetailedMonitoring}. */
export const CKV_AWS_126: PolicyRule = {
  id: "CKV_AWS_126",
  title: "EC2 instances have detailed monitoring",
  resourceTypes: ["aws_instance"],
  check: checkDetailedMonitoring,
};
