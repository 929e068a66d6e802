/**
 * The README's pictures: the example stacks of main.ts, synthesized afresh
 * into a temporary folder (removed afterwards) and rendered.
 */
import { App } from "cdktf";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { AwsStack, LocalStack } from "../../main";
import { stackToSvg } from "./stack-svg";

/** The example stacks drawn in the README, by name. */
export const EXAMPLE_STACKS = ["local", "aws"] as const;

export interface ExampleDiagram {
  readonly stack: (typeof EXAMPLE_STACKS)[number];
  readonly svg: string;
}

/**
 * Synthesizes `local` (Docker) and `aws` exactly as `npm run synth` does (an
 * App writing cdk.tf.json files) and renders each. Needs the app bundle
 * (dist/app/server.js, from `npm run build`), like any synth of the examples.
 */
export async function renderExampleDiagrams(): Promise<ExampleDiagram[]> {
  const outdir = mkdtempSync(join(tmpdir(), "haweb-diagram-"));
  try {
    const app = new App({ outdir });
    new LocalStack(app, "local");
    new AwsStack(app, "aws");
    app.synth();
    const diagrams: ExampleDiagram[] = [];
    for (const stack of EXAMPLE_STACKS) {
      const json = JSON.parse(readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8"));
      diagrams.push({ stack, svg: await stackToSvg(json, stack) });
    }
    return diagrams;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
