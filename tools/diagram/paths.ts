/**
 * Where things are, from the sources (ts-jest) and from the compiled tool
 * (dist-tools/tools/diagram) alike.
 */
import { existsSync } from "fs";
import { dirname, join } from "path";

/** The checkout's root: the nearest folder above this file holding a package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/** Folder of the README's pictures, relative to the root. */
export const DIAGRAMS_DIR = join("docs", "diagrams");

/** The README picture of an example stack, e.g. docs/diagrams/local.svg under `root`. */
export function diagramPath(root: string, stack: string): string {
  return join(root, DIAGRAMS_DIR, `${stack}.svg`);
}

/** The file `npm run synth` writes for a stack: cdktf.out/stacks/NAME/cdk.tf.json under `root`. */
export function synthesizedStackPath(root: string, stack: string): string {
  return join(root, "cdktf.out", "stacks", stack, "cdk.tf.json");
}
