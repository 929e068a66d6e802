import { Instance } from "@cdktf/provider-aws/lib/instance";
import { CKV_AWS_79 } from "../../../../lib/policy";
import { emptyStack, messagesOf } from "../rule-harness";

const AMI = { ami: "ami-0123456789abcdef0", instanceType: "t3.micro" };
const FIX =
  'set metadata_options { http_tokens = "required", http_put_response_hop_limit = 1 } (cdktf: metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 })';

describe(`${CKV_AWS_79.id}: ${CKV_AWS_79.title}`, () => {
  test("passes: IMDSv2 required, or the metadata service turned off", () => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } });
    new Instance(stack, "offline", { ...AMI, metadataOptions: { httpEndpoint: "disabled" } });
    expect(messagesOf(stack, CKV_AWS_79)).toEqual([]);
  });

  test("fails: metadata options left to AWS's default", () => {
    const stack = emptyStack();
    new Instance(stack, "web", AMI);
    expect(messagesOf(stack, CKV_AWS_79)).toEqual([
      `[CKV_AWS_79] aws_instance.web (test/web): IMDSv1 is allowed: metadata_options.http_tokens is unset (AWS allows IMDSv1). Fix: ${FIX}.`,
    ]);
  });

  test("fails: http_tokens optional", () => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, metadataOptions: { httpTokens: "optional" } });
    expect(messagesOf(stack, CKV_AWS_79)).toEqual([
      `[CKV_AWS_79] aws_instance.web (test/web): IMDSv1 is allowed: metadata_options.http_tokens is "optional". Fix: ${FIX}.`,
    ]);
  });
});
