/**
 * Terraform reads `${` and `%{` in any string as template syntax: the start
 * scripts' shell expansions (`${2:-/}`) must reach the container or VM as
 * written, so they are escaped (`$${`, `%%{`). cdktf's own references are left alone.
 */
export function escapeTerraformTemplate(text: string): string {
  if (/\$\$\{TfToken\[/.test(text)) {
    throw new Error("text has a `$` right before a deploy-time reference, which Terraform would read as an escaped `${`");
  }
  return text.replace(/\$\{(?!TfToken\[)/g, () => "$${").replace(/%\{/g, () => "%%{");
}
