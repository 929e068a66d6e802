import { Instance } from "@cdktf/provider-aws/lib/instance";
import { CKV2_AWS_41 } from "../../../../lib/policy";
import { emptyStack, messagesOf } from "../rule-harness";

const AMI = { ami: "ami-0123456789abcdef0", instanceType: "t3.micro" };

describe(`${CKV2_AWS_41.id}: ${CKV2_AWS_41.title}`, () => {
  test("passes: an instance with an instance profile", () => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, iamInstanceProfile: "web" });
    expect(messagesOf(stack, CKV2_AWS_41)).toEqual([]);
  });

  test("fails: an instance without one", () => {
    const stack = emptyStack();
    new Instance(stack, "web", AMI);
    expect(messagesOf(stack, CKV2_AWS_41)).toEqual([
      "[CKV2_AWS_41] aws_instance.web (test/web): the instance has no IAM instance profile. Fix: attach an instance profile whose role allows only what the host needs (cdktf: iamInstanceProfile: profile.name).",
    ]);
  });
});
