import { CKV_AWS_126 } from "./rules/ckv-aws-126-detailed-monitoring";
import { CKV_AWS_23 } from "./rules/ckv-aws-23-security-group-descriptions";
import { CKV_AWS_19 } from "./rules/ckv-aws-19-s3-encrypted";
import { CKV_AWS_21 } from "./rules/ckv-aws-21-s3-versioning";
import { CKV_AWS_24 } from "./rules/ckv-aws-24-no-public-ssh";
import { CKV_AWS_25 } from "./rules/ckv-aws-25-no-public-rdp";
import { CKV_AWS_260 } from "./rules/ckv-aws-260-no-public-http";
import { CKV_AWS_277 } from "./rules/ckv-aws-277-no-public-all-ports";
import { CKV_AWS_3 } from "./rules/ckv-aws-3-ebs-volume-encrypted";
import { CKV_AWS_382 } from "./rules/ckv-aws-382-no-unrestricted-egress";
import { CKV_AWS_46 } from "./rules/ckv-aws-46-no-secrets-in-user-data";
import { CKV_AWS_79 } from "./rules/ckv-aws-79-imdsv2-required";
import { CKV_AWS_8 } from "./rules/ckv-aws-8-launch-volumes-encrypted";
import { CKV_AWS_88 } from "./rules/ckv-aws-88-no-public-ip";
import { CKV2_AWS_6 } from "./rules/ckv2-aws-6-s3-public-access-block";
import { CKV2_AWS_61 } from "./rules/ckv2-aws-61-s3-lifecycle";
import { CKV2_AWS_41 } from "./rules/ckv2-aws-41-instance-iam-role";
import { HAWEB_AWS_1 } from "./rules/haweb-aws-1-internet-ingress-only-to-load-balancer";
import { HAWEB_AWS_2 } from "./rules/haweb-aws-2-http-only-with-https";
import { HAWEB_AWS_3 } from "./rules/haweb-aws-3-vrrp-only-between-load-balancers";
import { HAWEB_AWS_4 } from "./rules/haweb-aws-4-s3-tls-only";
import { PolicyRule } from "./types";

/** Every rule the library ships, in checkov id order. */
export const HA_WEB_RULES: readonly PolicyRule[] = [
  CKV_AWS_3,
  CKV_AWS_8,
  CKV_AWS_19,
  CKV_AWS_21,
  CKV_AWS_23,
  CKV_AWS_24,
  CKV_AWS_25,
  CKV_AWS_46,
  CKV_AWS_79,
  CKV_AWS_88,
  CKV_AWS_126,
  CKV_AWS_260,
  CKV_AWS_277,
  CKV_AWS_382,
  CKV2_AWS_6,
  CKV2_AWS_41,
  CKV2_AWS_61,
  HAWEB_AWS_1,
  HAWEB_AWS_2,
  HAWEB_AWS_3,
  HAWEB_AWS_4,
];
