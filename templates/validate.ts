/**
 * Small predicates shared by the templates and the constructs. Templates stay
 * framework-free, so they report problems as plain `Error`s; the constructs turn
 * the same predicates into messages that name the construct and the prop.
 */

/** RFC 1123 label: what a Docker alias, a hostname and a Route 53 record can all carry. */
export function isDnsLabel(value: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(value);
}

/** Docker object names (containers, networks, volumes). */
export function isDockerName(value: string): boolean {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(value);
}

export function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65535;
}

/**
 * Unquoted SQL identifier that is safe in MariaDB and MySQL alike (and in the
 * shell heredocs of the start scripts, which is why backticks are never needed).
 */
export function isSqlIdentifier(value: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(value) && !RESERVED_SCHEMAS.has(value.toLowerCase());
}

const RESERVED_SCHEMAS = new Set(["mysql", "information_schema", "performance_schema", "sys", "root"]);

/** A path inside a node's file system that our templates may write to. */
export function isAbsolutePath(value: string): boolean {
  return /^\/[A-Za-z0-9_./-]*$/.test(value) && !value.includes("..");
}

/**
 * One thing wrong with a config: the field it concerns (a dotted path into the
 * config, for example "healthCheck.fall") and what is wrong. Constructs map the
 * field to their own prop through a table, so a template's message reaches the
 * user under the prop they set, never by matching message text.
 */
export class ConfigProblem {
  constructor(
    /** Dotted path of the config field, for example "timeouts.connectMs" or "servers". */
    readonly field: string,
    /** What is wrong, with the value, in words a user can act on. */
    readonly message: string,
  ) {}

  toString(): string {
    return this.message;
  }
}

/** Thrown by a renderer given a config its validator rejects. */
export class ConfigValidationError extends Error {
  constructor(
    readonly what: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`${what}: ${problems.join("; ")}`);
    this.name = "ConfigValidationError";
  }
}

/** Throws one error listing every problem, so a user fixes them all in one round. */
export function assertNoProblems(what: string, problems: readonly ConfigProblem[]): void {
  if (problems.length > 0) throw new ConfigValidationError(what, problems);
}

/** Finds values that occur more than once (two listeners on one port, two nodes with one name). */
export function duplicates<T>(values: T[]): T[] {
  const seen = new Set<T>();
  const repeated = new Set<T>();
  for (const value of values) {
    if (seen.has(value)) repeated.add(value);
    seen.add(value);
  }
  return [...repeated];
}

/** A host name (labels of letters, digits and dashes, dot-separated) or an IPv4 address. */
export function isHostName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value.split(".").every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/** HAProxy's timers are signed 32-bit milliseconds (about 24.8 days). */
export const MAX_DURATION_MS = 2147483647;

/** A whole, positive number of milliseconds HAProxy (and Nginx) can hold. */
export function isDurationMs(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= MAX_DURATION_MS;
}

/** An image reference as Docker parses it: [registry[:port]/]name[/name...][:tag][@sha256:digest]. */
const IMAGE_REFERENCE =
  /^(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export function isImageReference(value: string): boolean {
  return IMAGE_REFERENCE.test(value);
}
