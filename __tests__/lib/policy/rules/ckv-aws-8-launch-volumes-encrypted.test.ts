import { Instance, InstanceConfig } from "@cdktf/provider-aws/lib/instance";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { CKV_AWS_8 } from "../../../../lib/policy";
import { emptyStack, messagesOf } from "../rule-harness";

const AMI = { ami: "ami-0123456789abcdef0", instanceType: "t3.micro" };
const FIX_ROOT = 'set root_block_device { encrypted = true, volume_type = "gp3" } (cdktf: rootBlockDevice: { encrypted: true, volumeType: "gp3" })';

describe(`${CKV_AWS_8.id}: ${CKV_AWS_8.title}`, () => {
  test("passes: an instance whose root and block devices are encrypted, a launch template whose mappings are", () => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, rootBlockDevice: { encrypted: true }, ebsBlockDevice: [{ deviceName: "/dev/sdf", encrypted: true }] });
    new LaunchTemplate(stack, "template", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }] });
    expect(messagesOf(stack, CKV_AWS_8)).toEqual([]);
  });

  test.each<[string, Partial<InstanceConfig>, string]>([
    ["no root_block_device", {}, `has no root_block_device, so the root volume's encryption is left to the account default. Fix: ${FIX_ROOT}.`],
    ["an unencrypted root volume", { rootBlockDevice: { encrypted: false } }, `root_block_device is not encrypted. Fix: ${FIX_ROOT}.`],
    [
      "an unencrypted block device",
      { rootBlockDevice: { encrypted: true }, ebsBlockDevice: [{ deviceName: "/dev/sdf" }] },
      "ebs_block_device[0] (/dev/sdf) is not encrypted. Fix: set encrypted = true on every ebs_block_device.",
    ],
  ])("fails: an instance with %s", (_, props, text) => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, ...props });
    expect(messagesOf(stack, CKV_AWS_8)).toEqual([`[CKV_AWS_8] aws_instance.web (test/web): ${text}`]);
  });

  test("fails: a launch template with an unencrypted mapping", () => {
    const stack = emptyStack();
    new LaunchTemplate(stack, "template", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 10 } }] });
    expect(messagesOf(stack, CKV_AWS_8)).toEqual([
      "[CKV_AWS_8] aws_launch_template.template (test/template): block_device_mappings[0].ebs is not encrypted. Fix: set block_device_mappings { ebs { encrypted = true } }.",
    ]);
  });
});
