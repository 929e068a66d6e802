import { Construct } from "constructs";

/**
 * Collects every bad prop of a construct and throws once, at synth time, before
 * any JSON is written. Each message names the construct, the prop and the fix.
 */
export class PropValidator {
  private readonly problems: string[] = [];

  constructor(private readonly constructType: string, private readonly scope: Construct) {}

  /** Records a problem unless `ok`. */
  check(ok: boolean, prop: string, problem: string, fix: string): this {
    if (!ok) this.problems.push(`prop \`${prop}\` ${problem}. Fix: ${fix}.`);
    return this;
  }

  /** Adds problems reported by a template validator for `prop`. */
  checkAll(prop: string, problems: string[], fix: string): this {
    for (const problem of problems) this.problems.push(`prop \`${prop}\`: ${problem}. Fix: ${fix}.`);
    return this;
  }

  throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    const where = `${this.constructType} '${this.scope.node.path}'`;
    throw new Error(`${where} has invalid props:\n- ${this.problems.join("\n- ")}`);
  }
}

export function isWholeNumber(value: unknown, min: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min;
}
