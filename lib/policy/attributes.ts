/** Helpers to read synthesized attributes, which may be blocks (objects) or lists of blocks. */

export type Attributes = Readonly<Record<string, unknown>>;

/** A block or list of blocks as a list. */
export function blocks(value: unknown): Attributes[] {
  if (Array.isArray(value)) return value.filter((v): v is Attributes => typeof v === "object" && v !== null);
  if (typeof value === "object" && value !== null) return [value as Attributes];
  return [];
}

/** True for `true` and `"true"` (overrides may carry strings). */
export function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

export function strings(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return typeof value === "string" ? [value] : [];
}

export function tagsOf(config: Attributes): Record<string, string> {
  const tags = config.tags;
  return typeof tags === "object" && tags !== null && !Array.isArray(tags) ? (tags as Record<string, string>) : {};
}

export function num(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

export function nonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.trim().length > 0;
}
