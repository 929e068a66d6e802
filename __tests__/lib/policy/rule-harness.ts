import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { checkPolicy, HaWebPolicyChecks, PolicyRule } from "../../../lib/policy";
import { policyErrors } from "../../../lib/policy/policy-aspect";

/** The smallest stack a rule is tested in: stack "test" with an AWS provider and nothing else. */
export function emptyStack(): TerraformStack {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  return stack;
}

/**
 * What `rule` alone reports on `stack`, as messages. Both ways a user meets a
 * finding must agree: `checkPolicy`, and the error annotations
 * `HaWebPolicyChecks` adds at synth. Call it once per stack (it applies the aspect).
 */
export function messagesOf(stack: TerraformStack, rule: PolicyRule): string[] {
  const found = checkPolicy(stack, { rules: [rule] }).map((f) => f.message);
  HaWebPolicyChecks.applyTo(stack, { rules: [rule] });
  Testing.synth(stack);
  expect([...policyErrors(stack)].sort()).toEqual([...found].sort());
  return found;
}

/** Tags that make a security group, instance or network interface the load balancer's (the documented exception). */
export const LOAD_BALANCER_TAGS = { "ha-web:role": "load-balancer" };

/** A security group id outside the stack: rules on it are checked on their own. */
export const SOME_GROUP = "sg-0123456789abcdef0";

/** An S3 bucket to hang settings on: the S3 rules read a bucket's sibling resources. */
export function bucketIn(stack: TerraformStack, id = "backups"): S3Bucket {
  return new S3Bucket(stack, id, { bucketPrefix: `${id}-` });
}
