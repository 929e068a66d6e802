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

/**
 * Characters a name may not contain: C0 (U+0000–U+001F), DEL (U+007F), C1
 * (U+0080–U+009F, which includes NEL U+0085), and the line and paragraph
 * separators U+2028/U+2029 (they break lines in logs and terminals just as
 * a newline does).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes the body as UTF-8, refusing invalid bytes (never replaced by U+FFFD),
 * then parses it as JSON.
 */
export function parseJson(body: Buffer | string): Validation<unknown> {
  let text: string;
  if (typeof body === "string") text = body;
  else {
    try {
      text = STRICT_UTF8.decode(body);
    } catch {
      return { ok: false, error: "request body is not valid UTF-8" };
    }
  }
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

/**
 * A POST body's Content-Type: `application/json`, with at most a `charset`
 * parameter that must be `utf-8` (RFC 8259: JSON is UTF-8). Anything else
 * (missing, another type, another charset) is refused: 415.
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(";");
  if (type.trim().toLowerCase() !== "application/json") return false;
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq < 0) {
      if (p.trim() === "") continue;
      return false;
    }
    const name = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name === "charset" && value.toLowerCase() !== "utf-8") return false;
  }
  return true;
}

/** Longest accepted Idempotency-Key (the key column is VARCHAR(255)). */
export const MAX_IDEMPOTENCY_KEY_CHARS = 255;

/**
 * The Idempotency-Key request header (IETF httpapi idempotency-key draft): a
 * Structured Field String (`"..."`, printable ASCII, `\\"` and `\\\\` escaped),
 * or, as most clients send it, the bare value (printable ASCII without spaces,
 * quotes or commas). 1 to 255 characters once unquoted. Absent: `undefined`.
 * Present more than once, empty, too long, or with any other character: refused (400).
 */
export function parseIdempotencyKey(values: readonly string[] | undefined): Validation<string | undefined> {
  if (values === undefined || values.length === 0) return { ok: true, value: undefined };
  if (values.length > 1) return { ok: false, error: "Idempotency-Key must be sent once" };
  const raw = values[0].trim();
  let key: string;
  if (raw.startsWith('"')) {
    const m = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(raw);
    if (!m) return { ok: false, error: "Idempotency-Key is not a valid string" };
    key = m[1].replace(/\\(["\\])/g, "$1");
  } else {
    if (!/^[\x21\x23-\x2b\x2d-\x7e]*$/.test(raw)) return { ok: false, error: "Idempotency-Key must be printable ASCII" };
    key = raw;
  }
  if (key.length === 0) return { ok: false, error: "Idempotency-Key must not be empty" };
  if (key.length > MAX_IDEMPOTENCY_KEY_CHARS) return { ok: false, error: `Idempotency-Key must be at most ${MAX_IDEMPOTENCY_KEY_CHARS} characters` };
  return { ok: true, value: key };
}

/** Longest accepted GTID position in X-Db-Min-Gtid. */
export const MAX_GTID_CHARS = 2048;

const MARIADB_GTID_LIST = /^\d{1,10}-\d{1,10}-\d{1,20}(,\d{1,10}-\d{1,10}-\d{1,20})*$/;
const MYSQL_GTID_SET =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:([a-z_][a-z0-9_]{0,31}|\d{1,19}(-\d{1,19})?))+(,\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:([a-z_][a-z0-9_]{0,31}|\d{1,19}(-\d{1,19})?))+)*$/i;

export type GtidFlavor = "mariadb" | "mysql";

/**
 * X-Db-Min-Gtid: a MariaDB GTID list (`0-1-42`, `0-1-42,1-1-7`) or a MySQL GTID
 * set (`uuid:1-42`), as X-Db-Gtid returned it. Anything else: 400, so a client
 * can never make a replica fail (and be skipped) with a malformed position.
 */
export function parseMinGtid(value: string | undefined): Validation<{ gtid: string; flavor: GtidFlavor } | undefined> {
  if (value === undefined) return { ok: true, value: undefined };
  const v = value.trim();
  if (v === "" || v.length > MAX_GTID_CHARS) return { ok: false, error: "X-Db-Min-Gtid must be a GTID position" };
  if (MARIADB_GTID_LIST.test(v)) return { ok: true, value: { gtid: v, flavor: "mariadb" } };
  if (MYSQL_GTID_SET.test(v)) return { ok: true, value: { gtid: v, flavor: "mysql" } };
  return { ok: false, error: "X-Db-Min-Gtid must be a GTID position" };
}
