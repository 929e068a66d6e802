import { Instance } from "@cdktf/provider-aws/lib/instance";
import { CKV_AWS_126 } from "../../../../lib/policy";
import { emptyStack, messagesOf } from "../rule-harness";

const AMI = { ami: "ami-0123456789abcdef0", instanceType: "t3.micro" };

describe(`${CKV_AWS_126.id}: ${CKV_AWS_126.title}`, () => {
  test("passes: detailed monitoring on", () => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, monitoring: true });
    expect(messagesOf(stack, CKV_AWS_126)).toEqual([]);
  });

  test("fails: monitoring left to its default (off)", () => {
    const stack = emptyStack();
    new Instance(stack, "web", AMI);
    expect(messagesOf(stack, CKV_AWS_126)).toEqual([
      "[CKV_AWS_126] aws_instance.web (test/web): detailed monitoring is off. Fix: set monitoring = true (cdktf: monitoring: true).",
    ]);
  });
});
