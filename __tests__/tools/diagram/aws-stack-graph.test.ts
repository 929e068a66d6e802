/**
 * The graph of the `aws` example stack, read from its synthesized JSON only:
 * instances in public/private subnets of the VPC, arrows from security-group
 * ingress rules, the load balancer's Elastic IP as the way in, and the
 * monitoring host's scrapes (one arrow per tier box) and way out.
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
      "lb-2": ["load-balancer tier", "haweb-public-2", "VPC haweb-vpc"],
      "web-1": ["web tier", "haweb-private-1", "VPC haweb-vpc"],
      "web-2": ["web tier", "haweb-private-2", "VPC haweb-vpc"],
      "db-primary": ["database tier", "haweb-private-1", "VPC haweb-vpc"],
      "db-replica-1": ["database tier", "haweb-private-2", "VPC haweb-vpc"],
      monitoring: ["monitoring tier", "haweb-private-1", "VPC haweb-vpc"],
    });
  });

  test("tells public from private subnets and numbers their availability zones", () => {
    expect(subnetOf("instance:lb-1").detail).toEqual(["public subnet, AZ #0", "10.40.0.0/24"]);
    expect(subnetOf("instance:web-2").detail).toEqual(["private subnet, AZ #1", "10.40.9.0/24"]);
    // The pair's second node fills the second zone's public subnet: no empty subnet is left to draw.
    expect(subnetOf("instance:lb-2").detail).toEqual(["public subnet, AZ #1", "10.40.1.0/24"]);
    expect(graph.nodes.filter((node) => node.kind === "placeholder")).toEqual([]);
  });

  test("lets the internet in on 80 and 443 through the pair's shared Elastic IP and each node's own, and nowhere else", () => {
    const shared = graph.nodes.find((node) => node.id === "eip:haweb-lb");
    expect(shared).toMatchObject({ kind: "address", label: "Elastic IP (shared)", detail: ["haweb-lb", "moved by keepalived to the master"] });
    expect(graph.edges.filter((edge) => edge.from === "eip:haweb-lb" && edge.kind === "address").map((edge) => edge.to)).toEqual([
      "instance:lb-1",
      "instance:lb-2",
    ]);
    expect(edgeLines(graph, "publish")).toEqual([
      "Elastic IP -> lb-1 [443/tcp]",
      "Elastic IP -> lb-1 [80/tcp]",
      "Elastic IP -> lb-2 [443/tcp]",
      "Elastic IP -> lb-2 [80/tcp]",
      "internet -> Elastic IP (shared) [443/tcp]",
      "internet -> Elastic IP (shared) [80/tcp]",
      "internet -> Elastic IP [443/tcp]",
      "internet -> Elastic IP [443/tcp]",
      "internet -> Elastic IP [80/tcp]",
      "internet -> Elastic IP [80/tcp]",
    ]);
    expect(edgeLines(graph).every((line) => !line.startsWith("internet") || line.includes("-> Elastic IP"))).toBe(true);
  });

  test("draws the security-group flows between instances, with their ports", () => {
    expect(edgeLines(graph, "flow")).toEqual([
      "db-primary -> db-replica-1 [3306/tcp]",
      "db-replica-1 -> db-primary [3306/tcp]",
      "lb-1 -> web-1 [80/tcp]",
      "lb-1 -> web-2 [80/tcp]",
      "lb-1 <-> lb-2 [VRRP]",
      "lb-2 -> web-1 [80/tcp]",
      "lb-2 -> web-2 [80/tcp]",
      // Alertmanager's way out to its receiver; the monitoring host's scrapes are summaries, not flows (below).
      "monitoring -> internet [443/tcp]",
      "web-1 -> db-primary [3306/tcp]",
      "web-1 -> db-replica-1 [3306/tcp]",
      "web-2 -> db-primary [3306/tcp]",
      "web-2 -> db-replica-1 [3306/tcp]",
    ]);
  });

  test("draws the monitoring host's scrapes one arrow per tier box, the node exporter's port said once on the host", () => {
    expect(edgeLines(graph, "scrape")).toEqual([
      "monitoring -> VPC haweb-vpc / haweb-private-1 / database tier [9104/tcp]",
      "monitoring -> VPC haweb-vpc / haweb-private-1 / web tier [9113, 9464/tcp]",
      "monitoring -> VPC haweb-vpc / haweb-private-2 / database tier [9104/tcp]",
      "monitoring -> VPC haweb-vpc / haweb-private-2 / web tier [9113, 9464/tcp]",
      "monitoring -> VPC haweb-vpc / haweb-public-1 / load-balancer tier [8405/tcp]",
      "monitoring -> VPC haweb-vpc / haweb-public-2 / load-balancer tier [8405/tcp]",
    ]);
    const monitoring = graph.nodes.find((node) => node.id === "instance:monitoring")!;
    // 9100 (every VM's node exporter) is open to it on every box: one line on the host instead of on six arrows.
    expect(monitoring.detail).toEqual(["monitoring", "t3.small", "scrapes 9100/tcp on every tier"]);
    // Level with the middle of the boxes it watches (the second web node's), so its arrows fan out up and down.
    expect(monitoring.alignWith).toBe("instance:web-2");
  });

  test("keeps a port on every arrow when some box is scraped on that port only", () => {
    const json = JSON.parse(JSON.stringify(synthesized));
    const rules = json.resource.aws_vpc_security_group_ingress_rule;
    for (const [name, rule] of Object.entries<any>(rules)) if (rule.from_port === 8405) delete rules[name];
    const changed = buildStackGraph(json, "aws");
    expect(edgeLines(changed, "scrape").filter((line) => line.includes("load-balancer tier") || line.includes("haweb-private-1 / web"))).toEqual([
      "monitoring -> VPC haweb-vpc / haweb-private-1 / web tier [9100, 9113, 9464/tcp]",
      "monitoring -> VPC haweb-vpc / haweb-public-1 / load-balancer tier [9100/tcp]",
      "monitoring -> VPC haweb-vpc / haweb-public-2 / load-balancer tier [9100/tcp]",
    ]);
    expect(changed.nodes.find((node) => node.id === "instance:monitoring")!.detail).toEqual(["monitoring", "t3.small"]);
  });

  test("draws a role's own egress to the internet, not the group every host carries for mirrors and AWS APIs", () => {
    expect(edgeLines(graph).filter((line) => line.includes("-> internet"))).toEqual(["monitoring -> internet [443/tcp]"]);
    // The same rule on a group without a role is plumbing, like the shared egress group: not drawn.
    const json = JSON.parse(JSON.stringify(synthesized));
    for (const group of Object.values<any>(json.resource.aws_security_group)) delete group.tags?.["ha-web:role"];
    expect(edgeLines(buildStackGraph(json, "aws")).filter((line) => line.includes("-> internet"))).toEqual([]);
  });

  test("follows a rule's referenced group: without the lb -> web rule, no lb -> web arrow", () => {
    const json = JSON.parse(JSON.stringify(synthesized));
    const rules = json.resource.aws_vpc_security_group_ingress_rule;
    for (const [name, rule] of Object.entries<any>(rules)) {
      if (rule.from_port === 80 && rule.referenced_security_group_id) delete rules[name];
    }
    // Only the pair's own VRRP is left from lb-1.
    expect(edgeLines(buildStackGraph(json, "aws"), "flow").filter((line) => line.startsWith("lb-1"))).toEqual(["lb-1 <-> lb-2 [VRRP]"]);
  });
});
