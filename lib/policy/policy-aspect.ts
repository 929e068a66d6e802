import { AnnotationMetadataEntryType, Annotations, Aspects, IAspect, TerraformStack } from "cdktf";
import { Construct, IConstruct } from "constructs";
import { isTerraformResource, StackIndex } from "./context";
import { HA_WEB_RULES } from "./rule-pack";
import { suppressedMessage, withSuppression } from "./suppressions";
import { Finding, PolicyContext, PolicyRule, ResourceView } from "./types";

/** Which rules the policy runs. Exceptions are `PolicySuppressions`, each with a reason. */
export interface PolicyOptions {
  /**
   * The rules to run: `HA_WEB_RULES`, a subset of it, or your own pack (your
   * rules implement `PolicyRule`). @default HA_WEB_RULES (every rule the library ships)
   */
  readonly rules?: readonly PolicyRule[];
}

/** Options of `checkPolicy`. */
export interface CheckPolicyOptions extends PolicyOptions {
  /**
   * Also return the findings `PolicySuppressions` accepted, each with its
   * `suppressed.reason`. @default false (only what would fail synth)
   */
  readonly includeSuppressed?: boolean;
}

/** Runs `rules` on one resource (suppressions not applied). */
export function evaluate(resource: ResourceView, context: PolicyContext, rules: readonly PolicyRule[]): Finding[] {
  return rules.filter((r) => r.resourceTypes.includes(resource.type)).flatMap((r) => r.check(resource, context));
}

/** `evaluate`, each finding marked `suppressed` when a suppression covers it. */
function evaluateWithSuppressions(resource: ResourceView, context: PolicyContext, rules: readonly PolicyRule[]): Finding[] {
  return evaluate(resource, context, rules).map((f) => withSuppression(f, resource.construct));
}

/**
 * The library's security policy as a cdktf Aspect: every Terraform resource of
 * the scope is checked when the stack is synthesized, and every finding becomes
 * an error annotation naming the rule, the resource and the fix, so `cdktf synth`
 * fails. A finding `PolicySuppressions` accepts becomes an info annotation
 * carrying its reason instead. Apply it to your own stacks too:
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

  /** Every finding reported as an error so far (unsuppressed). */
  public readonly findings: Finding[] = [];
  /** Every suppressed finding so far, each with its `suppressed.reason`. */
  public readonly suppressed: Finding[] = [];
  private readonly rules: readonly PolicyRule[];
  private readonly indexes = new WeakMap<TerraformStack, StackIndex>();
  // Synthesizing twice (Testing.synth, then app.synth) visits twice: report once.
  private readonly visited = new WeakSet<IConstruct>();

  constructor(options: PolicyOptions = {}) {
    this.rules = options.rules ?? HA_WEB_RULES;
  }

  visit(node: IConstruct): void {
    if (!isTerraformResource(node) || this.visited.has(node)) return;
    this.visited.add(node);
    const index = this.indexOf(TerraformStack.of(node));
    const view = index.view(node);
    if (!view) return;
    for (const f of evaluateWithSuppressions(view, index, this.rules)) this.report(node, f);
  }

  /** The stack's index, built once: aspects run once the tree is complete. */
  private indexOf(stack: TerraformStack): StackIndex {
    let index = this.indexes.get(stack);
    if (!index) {
      index = new StackIndex(stack);
      this.indexes.set(stack, index);
    }
    return index;
  }

  private report(node: IConstruct, f: Finding): void {
    if (f.suppressed) {
      this.suppressed.push(f);
      Annotations.of(node).addInfo(suppressedMessage(f));
    } else {
      this.findings.push(f);
      Annotations.of(node).addError(f.message);
    }
  }
}

/**
 * Runs the policy on every resource of `stack` without annotating anything, for
 * your own tests: `expect(checkPolicy(stack)).toEqual([])` holds exactly when
 * `HaWebPolicyChecks` would let synth pass. Findings that `PolicySuppressions`
 * accepted are left out unless `includeSuppressed` is set; then they carry
 * `suppressed: { reason }`.
 */
export function checkPolicy(stack: TerraformStack, options: CheckPolicyOptions = {}): Finding[] {
  const index = new StackIndex(stack);
  const rules = options.rules ?? HA_WEB_RULES;
  const findings = index.resources.flatMap((r) => evaluateWithSuppressions(r, index, rules));
  return options.includeSuppressed ? findings : findings.filter((f) => !f.suppressed);
}

/** Error annotations the policy added under `scope` (after synth), as their messages. */
export function policyErrors(scope: Construct): string[] {
  return policyAnnotations(scope, AnnotationMetadataEntryType.ERROR);
}

/** Info annotations the policy added under `scope` (after synth): its suppressed findings. */
export function policyInfos(scope: Construct): string[] {
  return policyAnnotations(scope, AnnotationMetadataEntryType.INFO);
}

function policyAnnotations(scope: Construct, type: AnnotationMetadataEntryType): string[] {
  return scope.node
    .findAll()
    .flatMap((c) => c.node.metadata)
    .filter((m) => m.type === type && /^\[(CKV2?_AWS_\d+|HAWEB_AWS_\d+)\] /.test(String(m.data)))
    .map((m) => String(m.data));
}
