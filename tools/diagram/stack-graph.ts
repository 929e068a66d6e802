/**
 * Synthesized stack JSON -> StackGraph. Pure: reads only the JSON (no cdktf
 * constructs, no files), so the same input always gives the same graph.
 */
import { awsStackGraph } from "./aws-graph";
import { dockerStackGraph } from "./docker-graph";
import { StackGraph } from "./graph-model";
import { resourcesOfType, TerraformJson } from "./terraform-json";

export * from "./graph-model";
export type { TerraformJson } from "./terraform-json";

/**
 * Builds the graph of one synthesized stack (the parsed `cdk.tf.json`). The
 * target is told by what the stack holds: `docker_container`s or `aws_instance`s.
 *
 * @param json the stack as synthesized (`cdk.tf.json`, or `Testing.synth` parsed)
 * @param name the stack's name, used as the picture's title
 */
export function buildStackGraph(json: TerraformJson, name: string): StackGraph {
  if (resourcesOfType(json, "docker_container").length > 0) return dockerStackGraph(json, name);
  if (resourcesOfType(json, "aws_instance").length > 0) return awsStackGraph(json, name);
  throw new Error(`stack "${name}" has neither docker_container nor aws_instance resources: nothing to draw`);
}
