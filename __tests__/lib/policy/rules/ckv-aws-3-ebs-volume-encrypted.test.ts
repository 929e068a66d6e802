import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { CKV_AWS_3 } from "../../../../lib/policy";
import { emptyStack, messagesOf } from "../rule-harness";

describe(`${CKV_AWS_3.id}: ${CKV_AWS_3.title}`, () => {
  test("passes: an encrypted volume", () => {
    const stack = emptyStack();
    new EbsVolume(stack, "data", { availabilityZone: "eu-west-1a", size: 10, encrypted: true });
    expect(messagesOf(stack, CKV_AWS_3)).toEqual([]);
  });

  test("fails: a volume that does not set encrypted", () => {
    const stack = emptyStack();
    new EbsVolume(stack, "data", { availabilityZone: "eu-west-1a", size: 10 });
    expect(messagesOf(stack, CKV_AWS_3)).toEqual([
      "[CKV_AWS_3] aws_ebs_volume.data (test/data): the EBS volume is not encrypted. Fix: set encrypted = true (cdktf: encrypted: true), with kms_key_id for a customer managed key.",
    ]);
  });
});
