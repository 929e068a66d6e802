import { blocks } from "../attributes";
import { finding, Finding, PolicyRule, ResourceView } from "../types";

/** CKV_AWS_79: the instance metadata service answers only IMDSv2 (session token) requests. */
export function checkImdsv2Required(resource: ResourceView): Finding[] {
  const options = blocks(resource.config.metadata_options)[0] ?? {};
  if (options.http_tokens === "required" || options.http_endpoint === "disabled") return [];
  const tokens = options.http_tokens === undefined ? "unset (AWS allows IMDSv1)" : JSON.stringify(options.http_tokens);
  return [
    finding(
      "CKV_AWS_79",
      resource,
      `IMDSv1 is allowed: metadata_options.http_tokens is ${tokens}`,
      'set metadata_options { http_tokens = "required", http_put_response_hop_limit = 1 } (cdktf: metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 })',
    ),
  ];
}

/** CKV_AWS_79 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkImdsv2Required}. */
export const CKV_AWS_79: PolicyRule = {
  id: "CKV_AWS_79",
  title: "Instance metadata service v1 is disabled (IMDSv2 required)",
  resourceTypes: ["aws_instance", "aws_launch_template"],
  check: checkImdsv2Required,
};
