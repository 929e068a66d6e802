/**
 * A security policy for the Terraform this library (or you) synthesizes, as a
 * cdktf Aspect. Each rule mirrors a checkov rule and lives in its own file.
 */
export * from "./types";
export * from "./markers";
export * from "./secret-scan";
export * from "./context";
export * from "./security-group-rules";
export * from "./rule-pack";
export * from "./policy-aspect";
export * from "./rules/ckv-aws-3-ebs-volume-encrypted";
export * from "./rules/ckv-aws-8-launch-volumes-encrypted";
export * from "./rules/ckv-aws-23-security-group-descriptions";
export * from "./rules/ckv-aws-24-no-public-ssh";
export * from "./rules/ckv-aws-25-no-public-rdp";
export * from "./rules/ckv-aws-46-no-secrets-in-user-data";
export * from "./rules/ckv-aws-79-imdsv2-required";
export * from "./rules/ckv-aws-88-no-public-ip";
export * from "./rules/ckv-aws-126-detailed-monitoring";
export * from "./rules/ckv-aws-260-no-public-http";
export * from "./rules/ckv-aws-277-no-public-all-ports";
export * from "./rules/ckv-aws-382-no-unrestricted-egress";
export * from "./rules/ckv2-aws-41-instance-iam-role";
export * from "./rules/haweb-aws-1-internet-ingress-only-to-load-balancer";
