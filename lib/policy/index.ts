/**
 * `cdktf-ha-web/policy`: a security policy for the Terraform this library (or
 * you) synthesizes, as a cdktf Aspect. Each rule mirrors a checkov rule and
 * lives in its own file; exceptions are suppressions with a reason.
 *
 * This module exports only what users call or implement: the helpers the rules
 * share (attribute readers, security group rule views, the stack index) stay
 * internal and may change in any release.
 */
export { checkPolicy, HaWebPolicyChecks } from "./policy-aspect";
export type { CheckPolicyOptions, PolicyOptions } from "./policy-aspect";
export { PolicySuppressions } from "./suppressions";
export type { PolicySuppression } from "./suppressions";
export type { Finding, PolicyContext, PolicyRule, ResourceView } from "./types";
export { HA_WEB_RULES } from "./rule-pack";
// Every rule, so you can build your own pack (`HaWebPolicyChecks.applyTo(stack, { rules: [...] })`).
export { CKV_AWS_3 } from "./rules/ckv-aws-3-ebs-volume-encrypted";
export { CKV_AWS_8 } from "./rules/ckv-aws-8-launch-volumes-encrypted";
export { CKV_AWS_19 } from "./rules/ckv-aws-19-s3-encrypted";
export { CKV_AWS_21 } from "./rules/ckv-aws-21-s3-versioning";
export { CKV_AWS_23 } from "./rules/ckv-aws-23-security-group-descriptions";
export { CKV_AWS_24 } from "./rules/ckv-aws-24-no-public-ssh";
export { CKV_AWS_25 } from "./rules/ckv-aws-25-no-public-rdp";
export { CKV_AWS_46 } from "./rules/ckv-aws-46-no-secrets-in-user-data";
export { CKV_AWS_79 } from "./rules/ckv-aws-79-imdsv2-required";
export { CKV_AWS_88 } from "./rules/ckv-aws-88-no-public-ip";
export { CKV_AWS_126 } from "./rules/ckv-aws-126-detailed-monitoring";
export { CKV_AWS_260 } from "./rules/ckv-aws-260-no-public-http";
export { CKV_AWS_277 } from "./rules/ckv-aws-277-no-public-all-ports";
export { CKV_AWS_382 } from "./rules/ckv-aws-382-no-unrestricted-egress";
export { CKV2_AWS_6 } from "./rules/ckv2-aws-6-s3-public-access-block";
export { CKV2_AWS_41 } from "./rules/ckv2-aws-41-instance-iam-role";
export { CKV2_AWS_61 } from "./rules/ckv2-aws-61-s3-lifecycle";
export { HAWEB_AWS_1 } from "./rules/haweb-aws-1-internet-ingress-only-to-load-balancer";
export { HAWEB_AWS_2 } from "./rules/haweb-aws-2-http-only-with-https";
export { HAWEB_AWS_3 } from "./rules/haweb-aws-3-vrrp-only-between-load-balancers";
export { HAWEB_AWS_4 } from "./rules/haweb-aws-4-s3-tls-only";
// CKV_AWS_46's secret heuristics, for checking other text (the AWS target's tests scan delivered user data).
export { findSecretsInText } from "./secret-scan";
export type { SecretScanOptions } from "./secret-scan";
