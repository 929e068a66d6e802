/**
 * The graph of the `aws` example stack, read from its synthesized JSON only:
 * instances in public/private subnets of the VPC, arrows from security-group
 * ingress rules, and the load balancer's Elastic IP as the way in.
 */
import { Testing } from "cdktf";
import { AwsStack } from "../../../main";
import { buildStackGraph, TerraformJson } from "../../../tools/diagram/stack-graph";
import { clusterChain, edgeLines } from "./graph-queries";

const synthesized: TerraformJson = JSON.parse(Testing.synth(new AwsStack(Testing.app(), "aws")));
const graph = buildStackGraph(synthesized, "aws");

/** The subnet box around an instance: its label and detail lines. */
function subnetOf(nodeId: string): { label: string; detail: readonly string[] } {
  let clusterId = graph.nodes.find((node) => node.id === nodeId)?.cluster;
  while (clusterId) {
    const cluster = graph.clusters.find((candidate) => candidate.id === clusterId)!;
    if (cluster.kind === "subnet") return { label: cluster.label, detail: cluster.detail };
    clusterId = cluster.parent;
  }
  throw new Error(`${nodeId} is in no subnet`);
}

describe("the graph of the aws example stack", () => {
  test("puts each instance in its tier's box, inside its subnet, inside the VPC", () => {
    expect(graph.target).toBe("aws");
    const instances = graph.nodes.filter((node) => node.kind === "instance");
    expect(Object.fromEntries(instances.map((node) => [node.label, clusterChain(graph, node.id)]))).toEqual({
      "lb-1": ["load-balancer tier", "haweb-public-1", "VPC haweb-vpc"],
      "web-1": ["web tier", "haweb-private-1", "VPC haweb-vpc"],
      "web-2": ["web tier", "haweb-private-2", "VPC haweb-vpc"],
      "db-primary": ["database tier", "haweb-private-1", "VPC haweb-vpc"],
      "db-replica-1": ["database tier", "haweb-private-2", "VPC haweb-vpc"],
    });
  });

  test("tells public from private subnets and numbers their availability zones", () => {
    expect(subnetOf("instance:lb-1").detail).toEqual(["public subnet, AZ #0", "10.40.0.0/24"]);
    expect(subnetOf("instance:web-2").detail).toEqual(["private subnet, AZ #1", "10.40.9.0/24"]);
    // The second AZ's public subnet holds no instance but is still drawn.
    const spare = graph.nodes.find((node) => node.kind === "placeholder");
    expect(spare && clusterChain(graph, spare.id)).toEqual(["haweb-public-2", "VPC haweb-vpc"]);
  });

  test("lets the internet in on 80/tcp through the load balancer's Elastic IP, and nowhere else", () => {
    const eip = graph.nodes.find((node) => node.id.startsWith("eip:"));
    expect(eip).toMatchObject({ kind: "endpoint", label: "Elastic IP", detail: ["haweb-lb-1"] });
    expect(edgeLines(graph, "publish")).toEqual(["Elastic IP -> lb-1 [80/tcp]", "internet -> Elastic IP [80/tcp]"]);
    expect(edgeLines(graph).filter((line) => line.startsWith("internet"))).toEqual(["internet -> Elastic IP [80/tcp]"]);
  });

  test("draws the security-group flows between instances, with their ports", () => {
    expect(edgeLines(graph, "flow")).toEqual([
      "db-primary -> db-replica-1 [3306/tcp]",
      "db-replica-1 -> db-primary [3306/tcp]",
      "lb-1 -> web-1 [80/tcp]",
      "lb-1 -> web-2 [80/tcp]",
      "web-1 -> db-primary [3306/tcp]",
      "web-1 -> db-replica-1 [3306/tcp]",
      "web-2 -> db-primary [3306/tcp]",
      "web-2 -> db-replica-1 [3306/tcp]",
    ]);
  });

  test("follows a rule's referenced group: without the lb -> web rule, no lb -> web arrow", () => {
    const json = JSON.parse(JSON.stringify(synthesized));
    const rules = json.resource.aws_vpc_security_group_ingress_rule;
    for (const [name, rule] of Object.entries<any>(rules)) {
      if (rule.from_port === 80 && rule.referenced_security_group_id) delete rules[name];
    }
    expect(edgeLines(buildStackGraph(json, "aws"), "flow").filter((line) => line.startsWith("lb-1"))).toEqual([]);
  });
});
