import { Annotations, Token } from "cdktf";
import { Construct } from "constructs";
import { ConfigProblem } from "../../templates/validate";

/** Where a template's config field comes from: the prop a user sets, and how to fix it. */
export interface PropOfField {
  readonly prop: string;
  readonly fix: string;
}

/**
 * How a construct maps a template validator's fields to its own props. A field
 * the construct checks itself (with a better message) maps to "checked".
 */
export type FieldTable = Readonly<Record<string, PropOfField | "checked">>;

/**
 * Collects every bad prop of a construct and throws once, at synth time, before
 * any JSON is written. Each message names the construct (type and path), the
 * prop, the value and the fix.
 */
export class PropValidator {
  private readonly problems: string[] = [];

  constructor(
    private readonly constructType: string,
    private readonly scope: Construct,
  ) {}

  /** Records a problem unless `ok`. `problem` should carry the value. */
  check(ok: boolean, prop: string, problem: string, fix: string): this {
    if (!ok) this.problems.push(`prop \`${prop}\` ${problem}. Fix: ${fix}.`);
    return this;
  }

  /**
   * Adds the problems a template validator reported, each under the prop its
   * field comes from. A field missing from the table is a bug of the library,
   * reported as such rather than dropped.
   */
  fromTemplate(problems: readonly ConfigProblem[], table: FieldTable): this {
    for (const p of problems) {
      const entry = table[p.field] ?? table[p.field.split(".")[0]];
      if (entry === "checked") continue;
      if (entry === undefined) {
        this.problems.push(`${p.message} (template field \`${p.field}\`, which cdktf-ha-web maps to no prop: please report this). Fix: see the message.`);
        continue;
      }
      this.problems.push(`prop \`${entry.prop}\`: ${p.message}. Fix: ${entry.fix}.`);
    }
    return this;
  }

  get ok(): boolean {
    return this.problems.length === 0;
  }

  throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    throw new Error(`${describeConstruct(this.constructType, this.scope)} has invalid props:\n- ${this.problems.join("\n- ")}`);
  }
}

/** `WebAppTier 'stack/web'`: how every message names a construct. */
export function describeConstruct(constructType: string, scope: Construct): string {
  return `${constructType} '${scope.node.path}'`;
}

/** A warning in the same shape as the errors: construct, prop, what happens, what to do. */
export function warnProp(constructType: string, scope: Construct, prop: string, problem: string, fix: string): void {
  const message = `${describeConstruct(constructType, scope)}: prop \`${prop}\` ${problem}. Fix: ${fix}.`;
  // Once per construct, though every node of a tier reports it.
  if (scope.node.metadata.some((m) => m.data === message)) return;
  Annotations.of(scope).addWarning(message);
}

export function isWholeNumber(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** A literal string (not a deploy-time reference). */
export function isLiteral(value: string | undefined): value is string {
  return value !== undefined && !Token.isUnresolved(value);
}
