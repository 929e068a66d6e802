/**
 * The graph of the `local` example stack (Docker), read from its synthesized
 * JSON only: containers by tier, the networks they share, the allowed flows
 * and the published port.
 */
import { Testing } from "cdktf";
import { LocalStack } from "../../../main";
import { buildStackGraph, StackGraph, TerraformJson } from "../../../tools/diagram/stack-graph";
import { clusterChain, edgeLines, labelOf } from "./graph-queries";

const synthesized: TerraformJson = JSON.parse(Testing.synth(new LocalStack(Testing.app(), "local")));
const graph = buildStackGraph(synthesized, "local");

/** A deep copy of the synthesized stack, changed by `mutate`, and its graph. */
function graphOfChanged(mutate: (json: any) => void): StackGraph {
  const json = JSON.parse(JSON.stringify(synthesized));
  mutate(json);
  return buildStackGraph(json, "local");
}

/** The container resource whose hostname is `hostname`. */
function container(json: any, hostname: string): any {
  return Object.values<any>(json.resource.docker_container).find((body) => body.hostname === hostname);
}

/** Network label -> labels of the containers plugged into it. */
function networkMembers(g: StackGraph): Record<string, string[]> {
  const members: Record<string, string[]> = {};
  for (const edge of g.edges.filter((e) => e.kind === "attachment")) {
    const network = labelOf(g, edge.to);
    members[network] = [...(members[network] ?? []), labelOf(g, edge.from)];
  }
  for (const list of Object.values(members)) list.sort();
  return members;
}

describe("the graph of the local (Docker) example stack", () => {
  test("is a Docker graph of the 7 containers, each in the box of its tier", () => {
    expect(graph.target).toBe("docker");
    const containers = graph.nodes.filter((node) => node.kind === "container");
    expect(Object.fromEntries(containers.map((node) => [node.label, clusterChain(graph, node.id)]))).toEqual({
      "lb-1": ["load-balancer tier"],
      "web-1": ["web tier"],
      "web-2": ["web tier"],
      "web-1-app": ["web tier"],
      "web-2-app": ["web tier"],
      "db-primary": ["database tier"],
      "db-replica-1": ["database tier"],
    });
    expect(containers.find((node) => node.label === "web-1-app")!.detail).toEqual(["app on host web-1", "node:22-trixie-slim"]);
  });

  test("groups the containers under their 5 networks, each a box of its own", () => {
    expect(networkMembers(graph)).toEqual({
      "haweb-edge": ["lb-1"],
      "haweb-lb-web": ["lb-1", "web-1", "web-2"],
      "haweb-web-app": ["web-1", "web-1-app", "web-2", "web-2-app"],
      "haweb-app-db": ["db-primary", "db-replica-1", "web-1-app", "web-2-app"],
      "haweb-db-db": ["db-primary", "db-replica-1"],
    });
    const networkBoxes = graph.clusters.filter((cluster) => cluster.kind === "network");
    expect(networkBoxes.map((cluster) => [cluster.label, cluster.detail])).toEqual([
      ["haweb-edge", ["bridge network"]],
      ["haweb-lb-web", ["internal bridge, no route out"]],
      ["haweb-web-app", ["internal bridge, no route out"]],
      ["haweb-app-db", ["internal bridge, no route out"]],
      ["haweb-db-db", ["internal bridge, no route out"]],
    ]);
    // A network between containers of one tier is drawn inside that tier's box.
    expect(clusterChain(graph, "network:haweb-web-app")).toEqual(["haweb-web-app", "web tier"]);
    expect(clusterChain(graph, "network:haweb-lb-web")).toEqual(["haweb-lb-web"]);
  });

  test("draws exactly the flows the ingress labels allow between containers sharing a network, with their ports", () => {
    expect(edgeLines(graph, "flow")).toEqual([
      "db-primary -> db-replica-1 [3306/tcp]",
      "db-replica-1 -> db-primary [3306/tcp]",
      "lb-1 -> web-1 [80/tcp]",
      "lb-1 -> web-2 [80/tcp]",
      "web-1 -> web-1-app [3000/tcp]",
      "web-1 -> web-2-app [3000/tcp]",
      "web-1-app -> db-primary [3306/tcp]",
      "web-1-app -> db-replica-1 [3306/tcp]",
      "web-2 -> web-1-app [3000/tcp]",
      "web-2 -> web-2-app [3000/tcp]",
      "web-2-app -> db-primary [3306/tcp]",
      "web-2-app -> db-replica-1 [3306/tcp]",
    ]);
    const lbToWeb = graph.edges.find((edge) => edge.from === "container:lb-1" && edge.to === "container:web-1");
    expect(lbToWeb).toMatchObject({ label: "80/tcp", via: "network:haweb-lb-web" });
    // Replication is drawn across the database-only network, not the one shared with the apps.
    const replication = graph.edges.find((edge) => edge.from === "container:db-replica-1" && edge.to === "container:db-primary");
    expect(replication?.via).toBe("network:haweb-db-db");
  });

  test("shows the published 127.0.0.1:8080 as the only way in from the internet / host", () => {
    expect(graph.nodes.find((node) => node.kind === "internet")?.label).toBe("internet / host");
    expect(graph.nodes.filter((node) => node.kind === "endpoint").map((node) => node.label)).toEqual(["127.0.0.1:8080"]);
    expect(edgeLines(graph, "publish")).toEqual(["127.0.0.1:8080 -> lb-1 [80/tcp]", "internet / host -> 127.0.0.1:8080 [8080/tcp]"]);
    expect(graph.edges.find((edge) => edge.kind === "publish" && edge.to === "container:lb-1")?.via).toBe("network:haweb-edge");
  });

  test("draws no arrow between containers that share no network, whatever their ingress says", () => {
    const changed = graphOfChanged((json) => {
      // lb-1 leaves haweb-lb-web: it keeps only the edge network.
      const lb = container(json, "lb-1");
      lb.networks_advanced = lb.networks_advanced.filter((attachment: any) => !String(attachment.name).includes("lb-web"));
    });
    expect(edgeLines(changed, "flow").filter((line) => line.startsWith("lb-1"))).toEqual([]);
  });

  test("resolves literal network names as well as ${docker_network.X.name} references", () => {
    const changed = graphOfChanged((json) => {
      for (const body of Object.values<any>(json.resource.docker_container)) {
        for (const attachment of body.networks_advanced) {
          const key = /^\$\{docker_network\.([^.]+)\.name\}$/.exec(attachment.name)![1];
          attachment.name = json.resource.docker_network[key].name;
        }
      }
    });
    expect(edgeLines(changed)).toEqual(edgeLines(graph));
  });

  test("marks ingress from the internet that no published port serves", () => {
    const changed = graphOfChanged((json) => delete container(json, "lb-1").ports);
    expect(edgeLines(changed).filter((line) => line.startsWith("internet"))).toEqual(["internet / host -> lb-1 [80/tcp (not published)]"]);
  });
});
