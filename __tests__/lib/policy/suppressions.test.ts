import { App, Testing, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { checkPolicy, HA_WEB_RULES, HaWebPolicyChecks, PolicyRule, PolicySuppressions } from "../../../lib/policy";
import { policyErrors, policyInfos } from "../../../lib/policy/policy-aspect";
import { SUPPRESSIONS_METADATA } from "../../../lib/policy/suppressions";

const REASON = "a legacy host: its agent polls every 5 minutes anyway";

function newStack(app: App = Testing.app(), id = "test"): TerraformStack {
  const stack = new TerraformStack(app, id);
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  return stack;
}

/** An instance that passes every rule but CKV_AWS_126 (detailed monitoring off), unless `props` says otherwise. */
function host(scope: Construct, id: string, props: { iamInstanceProfile?: string } = { iamInstanceProfile: "web" }): Instance {
  return new Instance(scope, id, {
    ami: "ami-0123456789abcdef0",
    instanceType: "t3.micro",
    rootBlockDevice: { encrypted: true },
    metadataOptions: { httpTokens: "required" },
    ...props,
  });
}

const paths = (stack: TerraformStack) => checkPolicy(stack).map((f) => `${f.ruleId} ${f.path}`);

describe("PolicySuppressions on resources", () => {
  test("a suppressed finding on one resource does not fail synth; the same finding on another does", () => {
    const app = Testing.app();
    const stack = newStack(app);
    const legacy = host(stack, "legacy");
    host(stack, "web");
    HaWebPolicyChecks.applyTo(stack);
    PolicySuppressions.addResourceSuppressions(legacy, [{ id: "CKV_AWS_126", reason: REASON }]);

    let error: Error | undefined;
    try {
      app.synth();
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/\[CKV_AWS_126\] aws_instance\.web \(test\/web\): detailed monitoring is off/);
    expect(error?.message).not.toContain("aws_instance.legacy");
    expect(policyErrors(stack)).toEqual([expect.stringMatching(/^\[CKV_AWS_126\] aws_instance\.web \(test\/web\): /)]);
    expect(policyInfos(stack)).toEqual([`[CKV_AWS_126] suppressed on aws_instance.legacy (test/legacy): ${REASON} (finding: detailed monitoring is off)`]);
  });

  test("with only suppressed findings, synth passes and checkPolicy returns nothing unless asked", () => {
    const app = Testing.app();
    const stack = newStack(app);
    const legacy = host(stack, "legacy");
    const aspect = HaWebPolicyChecks.applyTo(stack);
    PolicySuppressions.addResourceSuppressions(legacy, [{ id: "CKV_AWS_126", reason: REASON }]);
    expect(() => app.synth()).not.toThrow();
    expect(aspect.findings).toEqual([]);
    expect(aspect.suppressed).toEqual([expect.objectContaining({ ruleId: "CKV_AWS_126", address: "aws_instance.legacy", suppressed: { reason: REASON } })]);
    expect(checkPolicy(stack)).toEqual([]);
    expect(checkPolicy(stack, { includeSuppressed: true })).toEqual([
      {
        ruleId: "CKV_AWS_126",
        address: "aws_instance.legacy",
        path: "test/legacy",
        problem: "detailed monitoring is off",
        fix: "set monitoring = true (cdktf: monitoring: true)",
        message: "[CKV_AWS_126] aws_instance.legacy (test/legacy): detailed monitoring is off. Fix: set monitoring = true (cdktf: monitoring: true).",
        suppressed: { reason: REASON },
      },
    ]);
  });

  test("a suppression names one rule: the resource's other findings still count", () => {
    const stack = newStack();
    const legacy = host(stack, "legacy", {});
    PolicySuppressions.addResourceSuppressions(legacy, [{ id: "CKV_AWS_126", reason: REASON }]);
    expect(paths(stack)).toEqual(["CKV2_AWS_41 test/legacy"]);
  });

  test("applyToChildren covers a whole subtree; without it a suppression on a parent covers nothing below", () => {
    const stack = newStack();
    const legacy = new Construct(stack, "legacy");
    host(legacy, "a");
    host(new Construct(legacy, "inner"), "b");
    host(stack, "web");
    PolicySuppressions.addResourceSuppressions(legacy, [{ id: "CKV_AWS_126", reason: REASON }]);
    expect(paths(stack)).toEqual(["CKV_AWS_126 test/legacy/a", "CKV_AWS_126 test/legacy/inner/b", "CKV_AWS_126 test/web"]);
    PolicySuppressions.addResourceSuppressions(legacy, [{ id: "CKV_AWS_126", reason: REASON }], true);
    expect(paths(stack)).toEqual(["CKV_AWS_126 test/web"]);
  });

  test("the nearest suppression's reason is the one recorded", () => {
    const stack = newStack();
    const legacy = new Construct(stack, "legacy");
    const a = host(legacy, "a");
    host(legacy, "b");
    PolicySuppressions.addResourceSuppressions(legacy, [{ id: "CKV_AWS_126", reason: "the legacy tier is retired in Q3" }], true);
    PolicySuppressions.addResourceSuppressions(a, [{ id: "CKV_AWS_126", reason: "host a is a throwaway canary" }]);
    expect(checkPolicy(stack, { includeSuppressed: true }).map((f) => [f.path, f.suppressed?.reason])).toEqual([
      ["test/legacy/a", "host a is a throwaway canary"],
      ["test/legacy/b", "the legacy tier is retired in Q3"],
    ]);
  });

  test("by path, for resources the library creates: the path a finding prints, with or without a leading /", () => {
    const stack = newStack();
    const legacy = new Construct(stack, "legacy");
    host(legacy, "a");
    host(legacy, "b");
    PolicySuppressions.addResourceSuppressionsByPath(stack, "test/legacy/a", [{ id: "CKV_AWS_126", reason: REASON }]);
    PolicySuppressions.addResourceSuppressionsByPath(stack, "/test/legacy/b", [{ id: "CKV_AWS_126", reason: REASON }]);
    expect(paths(stack)).toEqual([]);
    expect(() => PolicySuppressions.addResourceSuppressionsByPath(stack, "test/legacy/c", [{ id: "CKV_AWS_126", reason: REASON }])).toThrow(
      'PolicySuppressions: no construct at path "test/legacy/c" in stack "test"',
    );
  });
});

describe("PolicySuppressions on stacks", () => {
  test("a stack suppression covers every resource of that stack, and no other stack", () => {
    const app = Testing.app();
    const accepted = newStack(app, "accepted");
    const other = newStack(app, "other");
    host(new Construct(accepted, "deep"), "a");
    host(accepted, "b");
    host(other, "c");
    PolicySuppressions.addStackSuppressions(accepted, [{ id: "CKV_AWS_126", reason: "a test stack: 5-minute metrics are enough" }]);
    expect(paths(accepted)).toEqual([]);
    expect(checkPolicy(accepted, { includeSuppressed: true }).map((f) => f.suppressed?.reason)).toEqual([
      "a test stack: 5-minute metrics are enough",
      "a test stack: 5-minute metrics are enough",
    ]);
    expect(paths(other)).toEqual(["CKV_AWS_126 other/c"]);
  });
});

describe("PolicySuppressions are checked when added", () => {
  test.each<[string, unknown, string]>([
    ["missing", undefined, '""'],
    ["empty", "", '""'],
    ["blank", "    \t ", '""'],
    ["too short (9 characters)", "too short", '"too short"'],
  ])("a %s reason throws, naming the construct path and the rule id", (_, reason, got) => {
    const stack = newStack();
    const web = host(stack, "web");
    expect(() => PolicySuppressions.addResourceSuppressions(web, [{ id: "CKV_AWS_79", reason: reason as string }])).toThrow(
      `PolicySuppressions: the suppression of CKV_AWS_79 on "test/web" needs a reason of at least 10 characters saying why the finding is acceptable there (got ${got})`,
    );
    expect(() => PolicySuppressions.addStackSuppressions(stack, [{ id: "CKV_AWS_126", reason: reason as string }])).toThrow(
      'PolicySuppressions: the suppression of CKV_AWS_126 on "test" needs a reason',
    );
  });

  test("a reason of 10 characters is enough (cdk-nag's minimum)", () => {
    const web = host(newStack(), "web");
    expect(() => PolicySuppressions.addResourceSuppressions(web, [{ id: "CKV_AWS_126", reason: "0123456789" }])).not.toThrow();
  });

  test("an unknown rule id throws, listing the known ones; nothing of a rejected call is stored", () => {
    const stack = newStack();
    const web = host(stack, "web");
    expect(() =>
      PolicySuppressions.addResourceSuppressions(web, [
        { id: "CKV_AWS_126", reason: REASON },
        { id: "CKV_AWS_999", reason: REASON },
      ]),
    ).toThrow(
      `PolicySuppressions: cannot suppress "CKV_AWS_999" on "test/web": no rule has that id (known: ${HA_WEB_RULES.map((r) => r.id).join(", ")}). ` +
        "To suppress a rule of your own pack, pass the pack as the last argument.",
    );
    expect(web.node.metadata.filter((m) => m.type === SUPPRESSIONS_METADATA)).toEqual([]);
    expect(paths(stack)).toEqual(["CKV_AWS_126 test/web"]);
  });

  test("a rule of your own pack can be suppressed when you pass the pack", () => {
    const MY_1: PolicyRule = {
      id: "MY_1",
      title: "Instances are t3",
      resourceTypes: ["aws_instance"],
      check: (r) =>
        String(r.config.instance_type).startsWith("t3.")
          ? []
          : [{ ruleId: "MY_1", address: r.address, path: r.path, problem: "not t3", fix: "use t3", message: `[MY_1] ${r.address}: not t3` }],
    };
    const stack = newStack();
    const big = new Instance(stack, "big", { ami: "ami-0123456789abcdef0", instanceType: "m5.large" });
    expect(() => PolicySuppressions.addResourceSuppressions(big, [{ id: "MY_1", reason: "the batch host needs the memory" }])).toThrow(
      /cannot suppress "MY_1"/,
    );
    PolicySuppressions.addResourceSuppressions(big, [{ id: "MY_1", reason: "the batch host needs the memory" }], false, [MY_1]);
    expect(checkPolicy(stack, { rules: [MY_1] })).toEqual([]);
    expect(checkPolicy(stack, { rules: [MY_1], includeSuppressed: true }).map((f) => f.suppressed)).toEqual([{ reason: "the batch host needs the memory" }]);
  });
});
