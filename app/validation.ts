/** Request validation: JSON body, new-item payload, item ids. Pure functions. */

/** Largest accepted request body (bytes); larger -> 413. */
export const MAX_BODY_BYTES = 16 * 1024;
/** items.name is VARCHAR(200): MySQL counts characters (code points), not bytes. */
export const MAX_NAME_CHARS = 200;
/** items.id is BIGINT UNSIGNED. */
export const MAX_ITEM_ID = 18446744073709551615n;

export type Validation<T> = { ok: true; value: T } | { ok: false; error: string };

export interface NewItem {
  name: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function parseJson(body: Buffer | string): Validation<unknown> {
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (text.trim() === "") return { ok: false, error: "request body must be JSON" };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: "request body is not valid JSON" };
  }
}

/**
 * Validates a new-item payload `{"name": "..."}`: name must be a string of 1..200
 * characters after trimming surrounding whitespace, without control characters.
 * Other properties are ignored. The trimmed name is returned.
 */
export function validateNewItem(body: unknown): Validation<NewItem> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object like {"name": "..."}' };
  }
  const raw = (body as Record<string, unknown>).name;
  if (typeof raw !== "string") return { ok: false, error: "name must be a string" };
  const name = raw.trim();
  const chars = [...name].length;
  if (chars < 1) return { ok: false, error: "name must not be empty" };
  if (chars > MAX_NAME_CHARS) return { ok: false, error: `name must be at most ${MAX_NAME_CHARS} characters` };
  if (CONTROL_CHARS.test(name)) return { ok: false, error: "name must not contain control characters" };
  if (LONE_SURROGATE.test(name)) return { ok: false, error: "name must be valid Unicode" };
  return { ok: true, value: { name } };
}

/**
 * Parses an item id path segment: a positive decimal integer within BIGINT
 * UNSIGNED, returned as a canonical decimal string (exact beyond 2^53).
 */
export function parseItemId(raw: string): string | null {
  if (!/^[0-9]{1,20}$/.test(raw)) return null;
  const n = BigInt(raw);
  if (n < 1n || n > MAX_ITEM_ID) return null;
  return n.toString();
}
