/** Small look-ups over a StackGraph, shared by the diagram tests. */
import { GraphEdge, StackGraph } from "../../../tools/diagram/stack-graph";

/** Node id -> its label, for writing expectations in host names. */
export function labelOf(graph: StackGraph, id: string): string {
  const node = graph.nodes.find((candidate) => candidate.id === id);
  if (!node) throw new Error(`no node ${id}`);
  return node.label;
}

/** Every edge as "from -> to [label]" ("from <-> to" when two-headed) in labels, sorted: easy to read in a failing diff. */
export function edgeLines(graph: StackGraph, kind?: GraphEdge["kind"]): string[] {
  return graph.edges
    .filter((edge) => kind === undefined || edge.kind === kind)
    .map((edge) => `${labelOf(graph, edge.from)} ${edge.bidirectional ? "<->" : "->"} ${labelOf(graph, edge.to)} [${edge.label}]`)
    .sort();
}

/** The chain of cluster labels around a node, innermost first. */
export function clusterChain(graph: StackGraph, nodeId: string): string[] {
  const chain: string[] = [];
  let clusterId = graph.nodes.find((node) => node.id === nodeId)?.cluster;
  while (clusterId) {
    const cluster = graph.clusters.find((candidate) => candidate.id === clusterId);
    if (!cluster) throw new Error(`node ${nodeId} is in a cluster that does not exist: ${clusterId}`);
    chain.push(cluster.label);
    clusterId = cluster.parent;
  }
  return chain;
}
