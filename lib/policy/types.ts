import { TerraformResource } from "cdktf";

/** A resource as Terraform will see it: attributes after overrides, references as `${type.name.attr}`. */
export interface ResourceView {
  /** Terraform type, for example "aws_instance". */
  readonly type: string;
  /** Terraform name (cdktf's logical id). */
  readonly name: string;
  /** `type.name`, the resource's Terraform address. */
  readonly address: string;
  /** Construct path, for example "aws/web/web-1-host/instance". */
  readonly path: string;
  /** Synthesized attributes (snake_case), escape-hatch overrides included. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The cdktf resource itself. */
  readonly construct: TerraformResource;
}

/** What a rule may look up beyond the resource it checks. */
export interface PolicyContext {
  /** The stack's resource a reference such as `${aws_security_group.lb.id}` points to, if any. */
  resolve(reference: unknown): ResourceView | undefined;
  /** Names of the stack's sensitive variables (`var.<name>`). */
  readonly sensitiveVariables: ReadonlySet<string>;
  /** Every resource of the stack (a rule that compares a resource with its siblings: a group's other rules). */
  readonly resources?: readonly ResourceView[];
  /** The value of the stack's local `name` (`local.<name>`), as Terraform will see it, if it is a string. */
  localValue?(name: string): string | undefined;
}

/** A rule's verdict on one resource: what is wrong there and how to fix it. */
export interface Finding {
  /** The checkov rule mirrored, for example "CKV_AWS_79". */
  readonly ruleId: string;
  readonly address: string;
  readonly path: string;
  /** What is wrong. */
  readonly problem: string;
  /** How to fix it. */
  readonly fix: string;
  /** The annotation text: rule, resource, problem and fix. */
  readonly message: string;
  /**
   * Set when a `PolicySuppressions` entry accepts this finding (it is then an
   * info annotation, not an error). `checkPolicy` returns such findings only
   * with `includeSuppressed: true`.
   */
  readonly suppressed?: { readonly reason: string };
}

/** One check of the policy. Implement it to add your own rules to a pack (`PolicyOptions.rules`). */
export interface PolicyRule {
  /** The checkov id (or HAWEB_* for a rule checkov has no single id for). */
  readonly id: string;
  /** What the rule requires, in one line. */
  readonly title: string;
  /** Terraform types the rule looks at. */
  readonly resourceTypes: readonly string[];
  /** The findings on `resource` (one of `resourceTypes`): none when it complies. */
  readonly check: (resource: ResourceView, context: PolicyContext) => Finding[];
}

/** A finding of `ruleId` on `resource`. */
export function finding(ruleId: string, resource: ResourceView, problem: string, fix: string): Finding {
  return {
    ruleId,
    address: resource.address,
    path: resource.path,
    problem,
    fix,
    message: `[${ruleId}] ${resource.address} (${resource.path}): ${problem}. Fix: ${fix}.`,
  };
}
