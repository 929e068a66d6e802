/** Small look-ups over a StackGraph, shared by the diagram tests. */
import { GraphEdge, StackGraph } from "../../../tools/diagram/stack-graph";

/** Node id -> its label, for writing expectations in host names. */
export function labelOf(graph: StackGraph, id: string): string {
  const node = graph.nodes.find((candidate) => candidate.id === id);
  if (!node) throw new Error(`no node ${id}`);
  return node.label;
}

/** A box by its labels, outermost first: "haweb-public-1 / load-balancer tier". */
export function clusterPath(graph: StackGraph, clusterId: string): string {
  const chain: string[] = [];
  for (let id: string | undefined = clusterId; id; ) {
    const cluster = graph.clusters.find((candidate) => candidate.id === id);
    if (!cluster) throw new Error(`no cluster ${id}`);
    chain.unshift(cluster.label);
    id = cluster.parent;
  }
  return chain.join(" / ");
}

/**
 * Every edge as "from -> to [label]" ("from <-> to" when two-headed; "to" is the
 * box for an arrow that ends at one, such as a scrape) in labels, sorted: easy to
 * read in a failing diff.
 */
export function edgeLines(graph: StackGraph, kind?: GraphEdge["kind"]): string[] {
  return graph.edges
    .filter((edge) => kind === undefined || edge.kind === kind)
    .map((edge) => {
      const to = edge.toCluster ? clusterPath(graph, edge.toCluster) : labelOf(graph, edge.to);
      return `${labelOf(graph, edge.from)} ${edge.bidirectional ? "<->" : "->"} ${to} [${edge.label}]`;
    })
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
