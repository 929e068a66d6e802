import { Instance } from "@cdktf/provider-aws/lib/instance";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { CKV_AWS_46 } from "../../../../lib/policy";
import { emptyStack, messagesOf } from "../rule-harness";

const AMI = { ami: "ami-0123456789abcdef0", instanceType: "t3.micro" };
const FIX =
  "keep secrets out of user data: store them in SSM Parameter Store (SecureString) or Secrets Manager and fetch them at boot with the instance role (AwsTarget does this for every Secret)";

describe(`${CKV_AWS_46.id}: ${CKV_AWS_46.title}`, () => {
  test("passes: user data that names where a secret is, not the secret", () => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, userData: "#!/bin/sh\nexport DB_PASSWORD_FILE=/run/secrets/db\napt-get install -y nginx\n" });
    expect(messagesOf(stack, CKV_AWS_46)).toEqual([]);
  });

  test("fails: a literal password in an instance's user data", () => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, userData: "#!/bin/sh\nexport DB_PASSWORD=hunter2hunter2\n" });
    expect(messagesOf(stack, CKV_AWS_46)).toEqual([
      `[CKV_AWS_46] aws_instance.web (test/web): user_data contains a literal value for DB_PASSWORD. Fix: ${FIX}.`,
    ]);
  });

  test("fails: a token in a launch template's (base64) user data", () => {
    const stack = emptyStack();
    new LaunchTemplate(stack, "template", { userData: Buffer.from("#!/bin/sh\nexport API_TOKEN=s3cr3t-t0ken-value\n").toString("base64") });
    expect(messagesOf(stack, CKV_AWS_46)).toEqual([
      `[CKV_AWS_46] aws_launch_template.template (test/template): user_data contains a literal value for API_TOKEN (base64-decoded). Fix: ${FIX}.`,
    ]);
  });
});
