import { TerraformStack } from "cdktf";
import { IConstruct } from "constructs";
import { HA_WEB_RULES } from "./rule-pack";
import { Finding, PolicyRule } from "./types";

/** One accepted finding: the rule it silences and why that is acceptable. */
export interface PolicySuppression {
  /** The rule's id, for example "CKV_AWS_79". */
  readonly id: string;
  /** Why the finding is acceptable here, for whoever reviews the stack: at least 10 characters. */
  readonly reason: string;
}

/** Shortest reason accepted (cdk-nag's minimum too): "n/a" or "todo" says nothing. */
export const MIN_REASON_LENGTH = 10;

/** The construct metadata type suppressions are stored under (not an annotation: synth ignores it). */
export const SUPPRESSIONS_METADATA = "ha-web:policy-suppressions";

/** What one `addResourceSuppressions` call stores on its construct. */
interface SuppressionEntry {
  readonly suppressions: readonly PolicySuppression[];
  readonly applyToChildren: boolean;
}

/**
 * Per-resource (and per-subtree, per-stack) exceptions to the policy, each with
 * a reason, modelled on cdk-nag's `NagSuppressions`. A suppressed finding does
 * not fail synth: `HaWebPolicyChecks` records it as an info annotation
 * ("[CKV_AWS_79] suppressed on aws_instance.web (stack/web): <reason> (finding: ...)")
 * instead of an error. Suppressions are stored as metadata on the construct, so
 * they can be added before or after `HaWebPolicyChecks.applyTo`, and on resources
 * the library creates (see `addResourceSuppressionsByPath`).
 *
 * Every suppression is checked when it is added: an unknown rule id, or a
 * reason shorter than 10 characters, throws an error naming the construct path
 * and the rule id.
 *
 *     PolicySuppressions.addResourceSuppressions(legacyHost, [
 *       { id: "CKV_AWS_79", reason: "the vendor agent on this AMI only speaks IMDSv1 (ticket OPS-123)" },
 *     ]);
 */
export class PolicySuppressions {
  /**
   * Suppresses findings of the given rules on `scope`, and with `applyToChildren`
   * on every resource under it too.
   *
   * @param scope a resource, or any construct (with `applyToChildren`, a whole subtree)
   * @param suppressions rule ids, each with the reason the finding is acceptable
   * @param applyToChildren also suppress on every construct under `scope` @default false
   * @param knownRules the rules an id may name: pass your own pack to suppress its rules @default HA_WEB_RULES
   * @throws if a rule id is unknown or a reason is shorter than 10 characters
   */
  static addResourceSuppressions(
    scope: IConstruct,
    suppressions: readonly PolicySuppression[],
    applyToChildren = false,
    knownRules: readonly PolicyRule[] = HA_WEB_RULES,
  ): void {
    const checked = suppressions.map((s) => validated(scope, s, knownRules));
    const entry: SuppressionEntry = { suppressions: checked, applyToChildren };
    scope.node.addMetadata(SUPPRESSIONS_METADATA, entry);
  }

  /**
   * Suppresses findings on the construct at `path` in `stack`: for resources the
   * library creates, whose path a finding prints (for example
   * "shop/aws/security-groups/lb-in-8080").
   *
   * @param path the construct path as in a finding (the stack's id first; a leading "/" is ignored)
   * @throws if no construct of `stack` has that path, or as `addResourceSuppressions`
   */
  static addResourceSuppressionsByPath(
    stack: TerraformStack,
    path: string,
    suppressions: readonly PolicySuppression[],
    applyToChildren = false,
    knownRules: readonly PolicyRule[] = HA_WEB_RULES,
  ): void {
    PolicySuppressions.addResourceSuppressions(constructAt(stack, path), suppressions, applyToChildren, knownRules);
  }

  /**
   * Suppresses findings of the given rules on every resource of `stack`, for an
   * exception that holds stack-wide (prefer a resource suppression when it does not).
   *
   * @throws as `addResourceSuppressions`
   */
  static addStackSuppressions(stack: TerraformStack, suppressions: readonly PolicySuppression[], knownRules: readonly PolicyRule[] = HA_WEB_RULES): void {
    PolicySuppressions.addResourceSuppressions(stack, suppressions, true, knownRules);
  }
}

/** A construct's path as error messages print it. */
function describePath(scope: IConstruct): string {
  return scope.node.path === "" ? "the app (root)" : `"${scope.node.path}"`;
}

/** `suppression`, checked: a known rule id and a real reason (trimmed). */
function validated(scope: IConstruct, suppression: PolicySuppression, knownRules: readonly PolicyRule[]): PolicySuppression {
  const id = String(suppression?.id ?? "");
  const known = knownRules.map((r) => r.id);
  if (!known.includes(id)) {
    throw new Error(
      `PolicySuppressions: cannot suppress "${id}" on ${describePath(scope)}: no rule has that id (known: ${known.join(", ")}). ` +
        `To suppress a rule of your own pack, pass the pack as the last argument.`,
    );
  }
  // A non-string reason (from JavaScript) counts as missing.
  const reason = typeof suppression.reason === "string" ? suppression.reason.trim() : "";
  if (reason.length < MIN_REASON_LENGTH) {
    throw new Error(
      `PolicySuppressions: the suppression of ${id} on ${describePath(scope)} needs a reason of at least ${MIN_REASON_LENGTH} characters ` +
        `saying why the finding is acceptable there (got ${JSON.stringify(reason)})`,
    );
  }
  return { id, reason };
}

/** The construct of `stack` at `path`, or an error. */
function constructAt(stack: TerraformStack, path: string): IConstruct {
  const wanted = path.replace(/^\//, "");
  const found = stack.node.findAll().find((c) => c.node.path === wanted);
  if (!found) throw new Error(`PolicySuppressions: no construct at path "${wanted}" in stack "${stack.node.path}"`);
  return found;
}

/** The suppression entries stored on `scope` itself, latest first. */
function entriesOn(scope: IConstruct): SuppressionEntry[] {
  return scope.node.metadata
    .filter((m) => m.type === SUPPRESSIONS_METADATA)
    .map((m) => m.data as SuppressionEntry)
    .reverse();
}

/**
 * Why findings of `ruleId` on `construct` are suppressed, or undefined: the
 * construct's own suppressions first, then its ancestors' (nearest first) that
 * apply to children; on one construct the latest added wins.
 */
export function suppressionReason(construct: IConstruct, ruleId: string): string | undefined {
  const scopes = construct.node.scopes; // root first, construct last
  for (let i = scopes.length - 1; i >= 0; i--) {
    const own = scopes[i] === construct;
    for (const entry of entriesOn(scopes[i])) {
      if (!own && !entry.applyToChildren) continue;
      const match = entry.suppressions.find((s) => s.id === ruleId);
      if (match) return match.reason;
    }
  }
  return undefined;
}

/** `finding`, marked suppressed when a suppression on `construct` (or above it) covers its rule. */
export function withSuppression(finding: Finding, construct: IConstruct): Finding {
  const reason = suppressionReason(construct, finding.ruleId);
  return reason === undefined ? finding : { ...finding, suppressed: { reason } };
}

/** The info annotation recording a suppressed finding. */
export function suppressedMessage(finding: Finding): string {
  return `[${finding.ruleId}] suppressed on ${finding.address} (${finding.path}): ${finding.suppressed?.reason} (finding: ${finding.problem})`;
}
