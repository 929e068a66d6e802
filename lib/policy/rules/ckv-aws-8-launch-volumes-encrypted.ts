import { blocks, isTrue } from "../attributes";
import { finding, Finding, PolicyRule, ResourceView } from "../types";

const FIX_ROOT = 'set root_block_device { encrypted = true, volume_type = "gp3" } (cdktf: rootBlockDevice: { encrypted: true, volumeType: "gp3" })';

/** CKV_AWS_8: the volumes an instance (or launch template) starts with are encrypted. */
export function checkLaunchVolumesEncrypted(resource: ResourceView): Finding[] {
  const c = resource.config;
  const findings: Finding[] = [];
  if (resource.type === "aws_launch_template") {
    blocks(c.block_device_mappings).forEach((mapping, i) => {
      const ebs = blocks(mapping.ebs)[0];
      if (ebs && !isTrue(ebs.encrypted)) {
        findings.push(
          finding("CKV_AWS_8", resource, `block_device_mappings[${i}].ebs is not encrypted`, "set block_device_mappings { ebs { encrypted = true } }"),
        );
      }
    });
    return findings;
  }
  const root = blocks(c.root_block_device)[0];
  if (!root) {
    findings.push(finding("CKV_AWS_8", resource, "has no root_block_device, so the root volume's encryption is left to the account default", FIX_ROOT));
  } else if (!isTrue(root.encrypted)) {
    findings.push(finding("CKV_AWS_8", resource, "root_block_device is not encrypted", FIX_ROOT));
  }
  blocks(c.ebs_block_device).forEach((device, i) => {
    if (!isTrue(device.encrypted)) {
      findings.push(
        finding(
          "CKV_AWS_8",
          resource,
          `ebs_block_device[${i}] (${String(device.device_name ?? "?")}) is not encrypted`,
          "set encrypted = true on every ebs_block_device",
        ),
      );
    }
  });
  return findings;
}

/** CKV_AWS_8 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkLaunchVolumesEncrypted}. */
export const CKV_AWS_8: PolicyRule = {
  id: "CKV_AWS_8",
  title: "Launch volumes (root and block devices) are encrypted",
  resourceTypes: ["aws_instance", "aws_launch_configuration", "aws_launch_template"],
  check: checkLaunchVolumesEncrypted,
};
