import { gunzipSync } from "zlib";

export interface SecretScanOptions {
  /** Sensitive Terraform variables: a `${var.<name>}` of one of them is a secret. @default none */
  readonly sensitiveVariables?: ReadonlySet<string>;
  /** The text is base64 (user_data_base64): scan the decoded (and gunzipped) content too. @default false */
  readonly base64?: boolean;
}

/** Terraform attributes that hold secret values. */
const SECRET_REFERENCES: readonly RegExp[] = [
  /\brandom_password\.[\w-]+\.(result|bcrypt_hash)\b/,
  /\b(data\.)?aws_ssm_parameter\.[\w-]+\.value\b/,
  /\b(data\.)?aws_secretsmanager_secret_version\.[\w-]+\.secret_(string|binary)\b/,
  /\btls_private_key\.[\w-]+\.private_key_\w+\b/,
  /\baws_iam_access_key\.[\w-]+\.(secret|ses_smtp_password_v4)\b/,
  /\baws_db_instance\.[\w-]+\.password\b/,
];

/** `name=value` / `name: value` where the name says secret. */
const KEYWORD_ASSIGNMENT = /\b([A-Za-z0-9_]*?(?:password|passwd|secret|token|api_?key|access_?key|private_?key)[A-Za-z0-9_]*)\s*[=:]\s*['"]?([^\s'"]+)/gi;
/** Names that point at a secret rather than hold one. */
const LOCATION_NAME = /(_file|_path|_name|_arn|_id|_dir|_ttl)$/i;
/** Values that are no secret: references, expansions, paths, flags. */
const NOT_A_VALUE = /^([$%/<({]|(true|false|yes|no|null|none|required|optional|disabled|enabled)$|\d+$)/i;

/**
 * Heuristics for secrets in a text (user data): references to secret-bearing
 * Terraform attributes or sensitive variables, private keys, AWS access keys,
 * `password=literal` style assignments, literal passwords in SQL, and
 * high-entropy strings. Returns one description per hit (never the secret).
 */
export function findSecretsInText(text: string, options: SecretScanOptions = {}): string[] {
  // A literal base64 blob is scanned decoded (the blob itself is high-entropy by nature);
  // an expression such as ${base64gzip("...")} is scanned as written.
  const decoded = options.base64 ? decodeBase64(text) : undefined;
  const hits = decoded === undefined ? scan(text, options) : scan(decoded, options).map((h) => `${h} (base64-decoded)`);
  return [...new Set(hits)];
}

function scan(text: string, options: SecretScanOptions): string[] {
  const hits: string[] = [];
  // Interpolations only: `$${...}` is an escaped literal that Terraform leaves alone.
  for (const m of text.matchAll(/(?<!\$)\$\{([^}]*)\}/g)) {
    const expression = m[1];
    for (const pattern of SECRET_REFERENCES) {
      const ref = pattern.exec(expression);
      if (ref) hits.push(`a reference to ${ref[0]}, a secret value`);
    }
    for (const v of expression.matchAll(/\bvar\.([\w-]+)/g)) {
      if (options.sensitiveVariables?.has(v[1])) hits.push(`a reference to the sensitive variable var.${v[1]}`);
    }
  }
  if (/-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/.test(text)) hits.push("a private key");
  if (/\b(AKIA|ASIA)[0-9A-Z]{16}\b/.test(text)) hits.push("an AWS access key id");
  // Comments (shell, YAML, unit files) describe; they do not assign.
  const code = text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n");
  for (const m of code.matchAll(KEYWORD_ASSIGNMENT)) {
    const [, name, value] = m;
    if (LOCATION_NAME.test(name) || NOT_A_VALUE.test(value)) continue;
    hits.push(`a literal value for ${name}`);
  }
  if (/IDENTIFIED (BY|WITH \w+ BY) '(?!\$)[^']+'/i.test(text)) hits.push("a literal password in SQL (IDENTIFIED BY)");
  // Long random-looking words: mixed case and digits, high entropy. Slashes split words (paths
  // are everywhere in user data), except in the 40-character shape of an AWS secret access key.
  const candidates = [...text.matchAll(/[A-Za-z0-9+=]{24,}/g), ...text.matchAll(/(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g)].map((m) => m[0]);
  for (const s of new Set(candidates)) {
    if (/[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s) && shannonEntropy(s) >= (s.includes("/") ? 4.5 : 4.3)) {
      hits.push(`a high-entropy string (${s.length} characters) that looks like a key or password`);
    }
  }
  return hits;
}

/** Bits per character. */
export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let entropy = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

function decodeBase64(text: string): string | undefined {
  const compact = text.replace(/\s+/g, "");
  if (compact.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const bytes = Buffer.from(compact, "base64");
  if (bytes.length > 1 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes).toString("utf8");
    } catch {
      return undefined;
    }
  }
  return bytes.toString("utf8");
}
