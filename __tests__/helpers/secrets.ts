/**
 * Paths in a synthesized stack where a password stands in plain text: a
 * `*PASSWORD*=value` that is neither a Terraform reference nor a start script
 * reading the secret at run time, or a literal in `IDENTIFIED BY '...'`.
 */
export function findPlainTextSecrets(value: unknown, path = "$"): string[] {
  if (typeof value === "string") {
    const findings: string[] = [];
    for (const m of value.matchAll(/([A-Z_]*PASSWORD[A-Z_]*)=([^\s"]*)/g)) {
      // NAME_FILE=/absolute/path names where the secret is, not the secret.
      if (/_FILE$/.test(m[1]) && /^\/[\w./-]+$/.test(m[2])) continue;
      if (!/^\$\{(random_password\.[\w-]+\.result|var\.[\w-]+|data\.[\w.-]+)\}$|^\$\(|^"\$/.test(m[2])) findings.push(`${path}: ${m[1]}=<plain text>`);
    }
    if (/IDENTIFIED BY '(?!\$?\$\{)[^']*'/.test(value)) findings.push(`${path}: literal password in SQL`);
    return findings;
  }
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => findPlainTextSecrets(v, `${path}.${k}`));
  }
  return [];
}
