/**
 * A small YAML emitter for cloud-config documents: block mappings and sequences,
 * multi-line text as literal block scalars (so a start script reads in
 * /var/lib/cloud/instance/user-data.txt exactly as it is on disk), everything
 * else double-quoted. Framework-free and dependency-free.
 */

export type YamlValue = string | number | boolean | null | readonly YamlValue[] | { readonly [key: string]: YamlValue | undefined };

const INDENT = "  ";

/** Renders `value` (a mapping at the top level) as a YAML document body. */
export function toYaml(value: { readonly [key: string]: YamlValue | undefined }): string {
  return emitMapping(value, "").join("\n") + "\n";
}

function emitMapping(map: { readonly [key: string]: YamlValue | undefined }, indent: string): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(map)) {
    if (value === undefined) continue;
    const k = emitKey(key);
    lines.push(...emitEntry(`${indent}${k}:`, value, indent));
  }
  return lines;
}

/** `head` is "key:" or "-": the value follows inline (scalar) or on the next lines (collections). */
function emitEntry(head: string, value: YamlValue, indent: string): string[] {
  if (isSequence(value)) {
    if (value.length === 0) return [`${head} []`];
    return [head, ...emitSequence(value, indent + INDENT)];
  }
  if (isMapping(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return [`${head} {}`];
    return [head, ...emitMapping(value, indent + INDENT)];
  }
  if (typeof value === "string" && isBlockCandidate(value)) {
    return [`${head} ${blockHeader(value)}`, ...blockBody(value, indent + INDENT)];
  }
  return [`${head} ${emitScalar(value)}`];
}

function emitSequence(items: readonly YamlValue[], indent: string): string[] {
  const lines: string[] = [];
  for (const item of items) {
    if (isMapping(item)) {
      // "- key: value" with the other keys aligned under the first one.
      const body = emitMapping(item, indent + INDENT);
      if (body.length === 0) {
        lines.push(`${indent}- {}`);
        continue;
      }
      lines.push(`${indent}- ${body[0].slice(indent.length + INDENT.length)}`, ...body.slice(1));
    } else if (isSequence(item) && item.length > 0 && item.every((i) => !isCollection(i) && !(typeof i === "string" && i.includes("\n")))) {
      // Short command lists (bootcmd, runcmd) read best in flow style.
      lines.push(`${indent}- [${item.map((i) => emitScalar(i as string | number | boolean | null)).join(", ")}]`);
    } else {
      lines.push(...emitEntry(`${indent}-`, item, indent));
    }
  }
  return lines;
}

function emitKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : JSON.stringify(key);
}

function emitScalar(value: string | number | boolean | null): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`YAML: cannot emit the number ${value}`);
    return String(value);
  }
  if (isPlainSafe(value)) return value;
  // JSON's string escapes (\" \\ \n \t \uXXXX) are all valid YAML double-quoted escapes.
  return JSON.stringify(value);
}

/**
 * Multi-line text without characters that a literal block cannot carry: C0
 * controls other than tab and line feed, DEL, C1 controls (NEL is a YAML 1.1
 * line break), the Unicode line/paragraph separators and the byte order mark.
 */
function isBlockCandidate(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters a YAML literal block cannot carry are the point
  return value.includes("\n") && !/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(value);
}

/** Plain (unquoted) only where YAML 1.1 cannot read anything but this string: no booleans, numbers, indicators. */
function isPlainSafe(value: string): boolean {
  return /^[A-Za-z_/][A-Za-z0-9_/.@+-]*$/.test(value) && !/^(y|n|yes|no|on|off|true|false|null)$/i.test(value);
}

function blockHeader(value: string): string {
  const trailing = /\n*$/.exec(value)?.[0].length ?? 0;
  const chomp = trailing === 0 ? "-" : trailing === 1 ? "" : "+";
  // A first line that starts with a space (or is empty) needs an explicit indentation indicator.
  const indicator = /^[ \n]/.test(value) ? String(INDENT.length) : "";
  return `|${indicator}${chomp}`;
}

function blockBody(value: string, indent: string): string[] {
  const trailing = /\n*$/.exec(value)?.[0].length ?? 0;
  const body = value.slice(0, value.length - trailing);
  const lines = body.split("\n").map((line) => (line === "" ? "" : `${indent}${line}`));
  // Kept trailing newlines (chomping "+") beyond the first are empty lines.
  for (let i = 1; i < trailing; i++) lines.push("");
  return lines;
}

function isSequence(value: YamlValue | undefined): value is readonly YamlValue[] {
  return Array.isArray(value);
}

function isMapping(value: YamlValue | undefined): value is { readonly [key: string]: YamlValue | undefined } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCollection(value: YamlValue): boolean {
  return isSequence(value) || isMapping(value);
}
