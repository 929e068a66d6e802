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

/** Throws one error listing every problem, so a user fixes them all in one round. */
export function assertNoProblems(what: string, problems: string[]): void {
  if (problems.length > 0) {
    throw new Error(`${what}: ${problems.join("; ")}`);
  }
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
