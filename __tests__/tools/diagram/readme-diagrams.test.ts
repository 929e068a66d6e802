/**
 * The README's pictures, docs/diagrams/{local,aws}.svg, must be what the code
 * draws now: each is rendered again from a fresh synth of the example stacks
 * and compared byte for byte. A failure means: run `npm run diagram:docs`.
 */
import { Testing } from "cdktf";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { LocalStack } from "../../../main";
import { ExampleDiagram, renderExampleDiagrams } from "../../../tools/diagram/example-diagrams";
import { DIAGRAMS_DIR } from "../../../tools/diagram/paths";
import { stackToSvg } from "../../../tools/diagram/stack-svg";

const root = join(__dirname, "..", "..", "..");

let diagrams: ExampleDiagram[];
beforeAll(async () => {
  diagrams = await renderExampleDiagrams();
}, 120_000);

describe("the README diagrams", () => {
  test("docs/diagrams/local.svg and aws.svg equal what rendering the example stacks gives now", () => {
    const stale = diagrams.flatMap(({ stack, svg }) => {
      const file = join(DIAGRAMS_DIR, `${stack}.svg`);
      const committed = existsSync(join(root, file)) ? readFileSync(join(root, file), "utf8") : undefined;
      if (committed === svg) return [];
      return [`${file} ${committed === undefined ? "is missing" : "is out of date"}: run \`npm run diagram:docs\` and commit the result`];
    });
    expect(stale).toEqual([]);
  });

  test("carry nothing that changes between builds or machines: no Terraform names, hashes, paths or references", () => {
    for (const { stack, svg: text } of diagrams) {
      expect({ stack, constructHashes: text.match(/_[0-9A-F]{8}\b/g) ?? [] }).toEqual({ stack, constructHashes: [] });
      expect({ stack, references: text.match(/\$\{[^}]*\}/g) ?? [] }).toEqual({ stack, references: [] });
      expect({ stack, paths: text.match(/(?:\/tmp\/|\/work\/|assets\/|cdktf\.out)/g) ?? [] }).toEqual({ stack, paths: [] });
    }
  });

  test("the same stack JSON gives the same SVG bytes (Testing.synth and an App's cdk.tf.json alike)", async () => {
    const json = JSON.parse(Testing.synth(new LocalStack(Testing.app(), "local")));
    expect(await stackToSvg(json, "local")).toBe(diagrams.find((diagram) => diagram.stack === "local")!.svg);
  });
});
