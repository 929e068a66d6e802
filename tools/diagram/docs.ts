/**
 * npm run diagram:docs
 *
 * Regenerates the README's pictures, docs/diagrams/local.svg and aws.svg, from
 * the example stacks as the code synthesizes them now. A test fails when the
 * committed pictures differ, so run this after changing what the stacks create.
 */
import { mkdirSync, writeFileSync } from "fs";
import { dirname, relative } from "path";
import { renderExampleDiagrams } from "./example-diagrams";
import { diagramPath, repoRoot } from "./paths";

async function main(): Promise<void> {
  const root = repoRoot();
  for (const { stack, svg } of await renderExampleDiagrams()) {
    const file = diagramPath(root, stack);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, svg);
    console.log(`wrote ${relative(root, file)}`);
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
