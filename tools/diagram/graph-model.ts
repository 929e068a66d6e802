/**
 * The picture of a stack as plain data: clusters (boxes), nodes and arrows.
 * Built from synthesized Terraform JSON by stack-graph.ts, drawn by dot.ts.
 */

/** What a cluster stands for; dot.ts styles each kind differently. */
export type ClusterKind = "tier" | "network" | "vpc" | "subnet";

/** A box around nodes (a Graphviz cluster). Clusters nest through `parent`. */
export interface GraphCluster {
  readonly id: string;
  readonly kind: ClusterKind;
  readonly label: string;
  /** Smaller lines under the label, e.g. the construct path of a tier or a subnet's CIDR block. */
  readonly detail: readonly string[];
  readonly parent?: string;
}

/** What a node stands for; dot.ts picks shape and colour from it. */
export type NodeKind = "container" | "instance" | "network" | "internet" | "endpoint" | "address" | "placeholder";

export interface GraphNode {
  readonly id: string;
  readonly kind: NodeKind;
  readonly label: string;
  /** Extra lines under the label (image, instance type, ...). */
  readonly detail: readonly string[];
  /** ha-web role (load-balancer, web, app, database) for hosts and containers. */
  readonly role?: string;
  /** The innermost cluster holding the node; none for nodes outside every box. */
  readonly cluster?: string;
  /** Layout hint: draw this node in the same column as that node (e.g. an empty subnet's note beside a full one). */
  readonly alignWith?: string;
}

/**
 * - flow: traffic the stack allows, labelled with its port ("80/tcp"), or its protocol when it has none ("VRRP").
 * - publish: the way in from outside (internet -> published port or Elastic IP -> host).
 * - attachment: a container plugged into a Docker network (no direction, no label).
 * - address: a virtual address -> a node that may hold it (keepalived moves it to the VRRP master).
 */
export type EdgeKind = "flow" | "publish" | "attachment" | "address";

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  readonly label: string;
  /** The network node the traffic crosses (Docker), drawn as from -- network -> to. */
  readonly via?: string;
  /**
   * Both ends send to each other and neither is the client (VRRP peers): one
   * edge for the pair, drawn with an arrowhead at each end.
   */
  readonly bidirectional?: boolean;
}

/** Everything needed to draw one stack. Arrays are in drawing order (deterministic). */
export interface StackGraph {
  readonly name: string;
  readonly target: "docker" | "aws";
  readonly clusters: readonly GraphCluster[];
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

/** The one node for the outside world; both targets use this id. */
export const INTERNET_NODE_ID = "internet";

const ROLE_ORDER = ["load-balancer", "web", "app", "database"];

/** Sort key that puts roles in the order traffic flows through them, unknown roles last. */
export function roleRank(role: string | undefined): number {
  const index = ROLE_ORDER.indexOf(role ?? "");
  return index === -1 ? ROLE_ORDER.length : index;
}

/** Compares names so that "web-2" sorts before "web-10". */
export function compareNames(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** Drops repeated edges (same ends, kind and label), keeping the first. */
export function uniqueEdges(edges: readonly GraphEdge[]): GraphEdge[] {
  const seen = new Set<string>();
  return edges.filter((edge) => {
    const key = JSON.stringify([edge.from, edge.to, edge.kind, edge.label]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
