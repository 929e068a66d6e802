import { AnnotationMetadataEntryType, Annotations, Aspects, IAspect, TerraformStack } from "cdktf";
import { Construct, IConstruct } from "constructs";
import { isTerraformResource, StackIndex } from "./context";
import { HA_WEB_RULES } from "./rule-pack";
import { Finding, PolicyContext, PolicyRule, ResourceView } from "./types";

export interface PolicyOptions {
  /** The rules to run. @default HA_WEB_RULES (every rule the library ships) */
  readonly rules?: readonly PolicyRule[];
  /** Ids of rules to leave out, for exceptions you document yourself. @default [] */
  readonly skip?: readonly string[];
}

function activeRules(options: PolicyOptions): PolicyRule[] {
  const skip = new Set(options.skip ?? []);
  return (options.rules ?? HA_WEB_RULES).filter((r) => !skip.has(r.id));
}

/** Runs `rules` on one resource. */
export function evaluate(resource: ResourceView, context: PolicyContext, rules: readonly PolicyRule[]): Finding[] {
  return rules.filter((r) => r.resourceTypes.includes(resource.type)).flatMap((r) => r.check(resource, context));
}

/**
 * The library's security policy as a cdktf Aspect: every Terraform resource of
 * the scope is checked when the stack is synthesized, and every finding becomes
 * an error annotation naming the rule, the resource and the fix, so `cdktf synth`
 * fails. Apply it to your own stacks too:
 *
 *     HaWebPolicyChecks.applyTo(stack);
 */
export class HaWebPolicyChecks implements IAspect {
  /** Adds the checks to `scope` (usually a stack). */
  static applyTo(scope: IConstruct, options: PolicyOptions = {}): HaWebPolicyChecks {
    const aspect = new HaWebPolicyChecks(options);
    Aspects.of(scope).add(aspect);
    return aspect;
  }

  /** Every finding reported so far. */
  public readonly findings: Finding[] = [];
  private readonly rules: PolicyRule[];
  private readonly indexes = new WeakMap<TerraformStack, StackIndex>();
  // Synthesizing twice (Testing.synth, then app.synth) visits twice: report once.
  private readonly visited = new WeakSet<IConstruct>();

  constructor(options: PolicyOptions = {}) {
    this.rules = activeRules(options);
  }

  visit(node: IConstruct): void {
    if (!isTerraformResource(node) || this.visited.has(node)) return;
    this.visited.add(node);
    const stack = TerraformStack.of(node);
    let index = this.indexes.get(stack);
    if (!index) {
      // Aspects run once the tree is complete: index the whole stack once.
      index = new StackIndex(stack);
      this.indexes.set(stack, index);
    }
    const view = index.view(node);
    if (!view) return;
    for (const f of evaluate(view, index, this.rules)) {
      this.findings.push(f);
      Annotations.of(node).addError(f.message);
    }
  }
}

/**
 * Runs the policy on every resource of `stack` without annotating anything: for
 * your own tests (`expect(checkPolicy(stack)).toEqual([])`).
 */
export function checkPolicy(stack: TerraformStack, options: PolicyOptions = {}): Finding[] {
  const index = new StackIndex(stack);
  const rules = activeRules(options);
  return index.resources.flatMap((r) => evaluate(r, index, rules));
}

/** Error annotations the policy added under `scope` (after synth), as their messages. */
export function policyErrors(scope: Construct): string[] {
  return scope.node
    .findAll()
    .flatMap((c) => c.node.metadata)
    .filter((m) => m.type === AnnotationMetadataEntryType.ERROR && /^\[(CKV2?_AWS_\d+|HAWEB_AWS_\d+)\] /.test(String(m.data)))
    .map((m) => String(m.data));
}
