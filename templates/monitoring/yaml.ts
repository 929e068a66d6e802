/**
 * A tiny YAML emitter for the monitoring files: mappings, sequences, strings,
 * numbers and booleans, nothing else (no anchors, no tags, no flow style). It
 * quotes every string a YAML 1.1 or 1.2 parser could read as something else
 * (Prometheus and Alertmanager use go-yaml, which still reads `yes`/`on` as
 * booleans), so what a caller puts in comes out as the same value.
 */
export type YamlValue = string | number | boolean | readonly YamlValue[] | { readonly [key: string]: YamlValue | undefined };

/** Strings safe to write bare: no indicator characters, and not a number, boolean, null or date. */
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
/** Durations ("15s", "1m30s") are no number or date to any YAML parser, so they stay bare too. */
const DURATION = /^(\d+(ms|[smhdwy]))+$/;
const AMBIGUOUS = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;

function hasControlCharacter(value: string): boolean {
  return [...value].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
}

function scalar(value: string | number | boolean): string {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if ((PLAIN.test(value) && !AMBIGUOUS.test(value)) || DURATION.test(value)) return value;
  // Single quotes escape nothing but themselves: PromQL's double quotes and regex backslashes stay readable.
  if (/["\\]/.test(value) && !hasControlCharacter(value)) return `'${value.replace(/'/g, "''")}'`;
  // A JSON string is a valid YAML double-quoted scalar.
  return JSON.stringify(value);
}

/** A multi-line string as a literal block (`|-`), kept readable; JSON-quoted where a block cannot carry it. */
function block(value: string, indent: string): string | undefined {
  if (!value.includes("\n") || /^\s|\s$|[^\S\n ]|\s\n/.test(value)) return undefined;
  return `|-\n${value
    .split("\n")
    .map((line) => (line === "" ? "" : `${indent}${line}`))
    .join("\n")}`;
}

function isScalar(value: YamlValue): value is string | number | boolean {
  return typeof value !== "object";
}

function emit(value: YamlValue, indent: string): string[] {
  if (isScalar(value)) return [`${indent}${scalar(value)}`];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    const lines: string[] = [];
    for (const item of value as readonly YamlValue[]) {
      if (isScalar(item)) {
        lines.push(`${indent}- ${typeof item === "string" ? (block(item, `${indent}  `) ?? scalar(item)) : scalar(item)}`);
        continue;
      }
      const inner = emit(item, `${indent}  `);
      // The first line of a nested mapping shares the dash's line.
      if (!Array.isArray(item) && inner[0] !== `${indent}  {}`) inner[0] = `${indent}- ${inner[0].slice(indent.length + 2)}`;
      else inner.unshift(`${indent}-`);
      lines.push(...inner);
    }
    return lines;
  }
  const entries = Object.entries(value as { [key: string]: YamlValue | undefined }).filter((entry): entry is [string, YamlValue] => entry[1] !== undefined);
  if (entries.length === 0) return [`${indent}{}`];
  const lines: string[] = [];
  for (const [key, item] of entries) {
    const k = scalar(key);
    if (isScalar(item)) {
      lines.push(`${indent}${k}: ${typeof item === "string" ? (block(item, `${indent}  `) ?? scalar(item)) : scalar(item)}`);
    } else if (Array.isArray(item) ? item.length === 0 : Object.values(item).every((v) => v === undefined)) {
      lines.push(`${indent}${k}: ${Array.isArray(item) ? "[]" : "{}"}`);
    } else {
      lines.push(`${indent}${k}:`, ...emit(item, `${indent}  `));
    }
  }
  return lines;
}

/** The YAML document for `value`, ending in a newline; `header` lines become `#` comments on top. */
export function toYaml(value: YamlValue, header: readonly string[] = []): string {
  return [...header.map((line) => `# ${line}`), ...emit(value, ""), ""].join("\n");
}
