/**
 * The whole pipeline for one stack: synthesized JSON -> graph -> DOT -> SVG.
 */
import { toDot } from "./dot";
import { renderSvg } from "./render";
import { buildStackGraph, TerraformJson } from "./stack-graph";

/**
 * Renders the SVG diagram of one synthesized stack. Same JSON, same bytes.
 *
 * @param json the parsed `cdk.tf.json` of the stack
 * @param name the stack's name (the picture's title)
 */
export async function stackToSvg(json: TerraformJson, name: string): Promise<string> {
  return renderSvg(toDot(buildStackGraph(json, name)));
}
