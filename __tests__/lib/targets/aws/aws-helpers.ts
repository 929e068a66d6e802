import { Testing, TerraformStack } from "cdktf";
import { AwsTarget, AwsTargetProps } from "../../../../lib/targets/aws";
import { SynthesizedStack } from "../../../helpers/synth";

export type Json = Record<string, unknown>;

export interface AwsSynth {
  stack: TerraformStack;
  target: AwsTarget;
  json: string;
  parsed: SynthesizedStack & { data?: Record<string, Record<string, Json>>; provider?: Record<string, Json[]> };
}

/** A stack with an AWS target, declared by `declare`, synthesized once. */
export function synthAws(declare: (stack: TerraformStack, target: AwsTarget) => void, props: AwsTargetProps = {}): AwsSynth {
  const stack = new TerraformStack(Testing.app(), "test");
  const target = new AwsTarget(stack, "aws", props);
  declare(stack, target);
  const json = Testing.synth(stack);
  return { stack, target, json, parsed: JSON.parse(json) };
}

/** Resources of one type, by Terraform name. */
export function resources(parsed: SynthesizedStack, type: string): Record<string, Json> {
  return (parsed.resource[type] ?? {}) as Record<string, Json>;
}

/**
 * Instances by their `ha-web:host` tag. AwsTarget hands Terraform the cloud-config
 * text as a local and the instance `${base64gzip(local.<name>)}`: each instance
 * here carries that text as `user_data` too (what the VM reads once gunzipped).
 */
export function instancesByHost(parsed: SynthesizedStack): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const instance of Object.values(resources(parsed, "aws_instance"))) {
    const text = userDataText(parsed, instance);
    out[(instance.tags as Record<string, string>)["ha-web:host"]] = text === undefined ? instance : { ...instance, user_data: text };
  }
  return out;
}

/** The text behind an instance's `user_data_base64 = ${base64gzip(local.<name>)}`, if it is one. */
export function userDataText(parsed: SynthesizedStack, instance: Json): string | undefined {
  const m = /^\$\{base64gzip\(local\.([\w-]+)\)\}$/.exec(String(instance.user_data_base64 ?? ""));
  const locals = (parsed as { locals?: Record<string, unknown> }).locals ?? {};
  return m ? String(locals[m[1]]) : undefined;
}

/** The Terraform address a `${type.name.attr}` reference points to. */
export function addressOf(reference: unknown): string {
  const m = /^\$\{([\w-]+\.[\w-]+)\.[\w]+\}$/.exec(String(reference));
  if (!m) throw new Error(`not a reference: ${String(reference)}`);
  return m[1];
}

/** Placeholders for what Terraform fills in at apply time, by the referenced attribute. */
const PLACEHOLDERS: [RegExp, string][] = [
  [/^aws_ebs_volume\..*\.id$/, "vol-0123456789abcdef0"],
  [/^aws_s3_bucket\..*\.bucket$/, "haweb-assets-20250101000000000000000001"],
];

/**
 * The user data as the VM receives it: Terraform's references replaced by
 * realistic values, and its escapes (`$${`, `%%{`) undone.
 */
export function asDelivered(userData: string): string {
  const filled = userData.replace(/(?<!\$)\$\{([^}]+)\}/g, (_, ref: string) => PLACEHOLDERS.find(([re]) => re.test(ref))?.[1] ?? "x".repeat(32));
  return filled.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
}
