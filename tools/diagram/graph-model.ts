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
  /**
   * Lines for the containers that live inside this one (sidecars in its network
   * namespace, e.g. "+ prometheus-nginx-exporter :9113"): part of the same
   * machine, so drawn in its box rather than as nodes of their own.
   */
  readonly sidecars?: readonly string[];
  /** ha-web role (load-balancer, web, app, database, monitoring) for hosts and containers. */
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
 * - scrape: the monitoring host reading the metrics of another tier: one arrow per
 *   target tier box (`toCluster`), labelled with every port it scrapes there.
 */
export type EdgeKind = "flow" | "publish" | "attachment" | "address" | "scrape";

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
  /**
   * The box the arrow ends at (Graphviz lhead): it stands for the same traffic
   * to the nodes of that box, and `to` is only the node it is anchored on.
   */
  readonly toCluster?: string;
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

/** The role of the host that scrapes the others (MonitoringTier): its flows are drawn as scrape summaries. */
export const MONITORING_ROLE = "monitoring";

const ROLE_ORDER = ["load-balancer", "web", "app", "database", MONITORING_ROLE];

/** Sort key that puts roles in the order traffic flows through them, unknown roles last. */
export function roleRank(role: string | undefined): number {
  const index = ROLE_ORDER.indexOf(role ?? "");
  return index === -1 ? ROLE_ORDER.length : index;
}

/** Compares names so that "web-2" sorts before "web-10". */
export function compareNames(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** A flow to summarise: its ends, the receiver's box and its port. */
export interface ScrapeFlow {
  readonly from: string;
  readonly to: string;
  readonly toCluster: string;
  readonly label: string;
}

/** "9100/tcp", "9113/tcp" -> "9100, 9113/tcp": ports sorted by number, each protocol named once. */
export function portList(labels: readonly string[]): string {
  const byProtocol = new Map<string, string[]>();
  const others: string[] = [];
  for (const label of new Set(labels)) {
    const match = /^(\d+(?:-\d+)?)\/([a-z]+)$/.exec(label);
    if (!match) {
      others.push(label);
      continue;
    }
    byProtocol.set(match[2], [...(byProtocol.get(match[2]) ?? []), match[1]]);
  }
  const start = (port: string) => Number(port.split("-")[0]);
  const lists = [...byProtocol.entries()].map(([protocol, ports]) => `${ports.sort((a, b) => start(a) - start(b)).join(", ")}/${protocol}`);
  return [...lists, ...others.sort(compareNames)].join(", ");
}

/** Scrape arrows, and per sender the ports it scrapes on every box (said once, on the sender, rather than on each arrow). */
export interface ScrapeSummary {
  readonly edges: readonly GraphEdge[];
  /** Sender node id -> "9100/tcp": ports left off its arrows because every one of them had them. */
  readonly everywhere: ReadonlyMap<string, string>;
}

/**
 * The monitoring host's flows, one arrow per (sender, target box) instead of one
 * per (sender, receiver, port): anchored on the box's first receiver and
 * labelled with the ports ("9113, 9464/tcp"). Boxes come in the order of their
 * first flow. A port a sender scrapes in every one of two or more boxes (the
 * node exporter of every VM) is said once instead (`everywhere`), as long as
 * every arrow keeps a port of its own.
 */
export function summarizeScrapes(flows: readonly ScrapeFlow[]): ScrapeSummary {
  const groups = new Map<string, ScrapeFlow[]>();
  for (const flow of flows) {
    const key = JSON.stringify([flow.from, flow.toCluster]);
    groups.set(key, [...(groups.get(key) ?? []), flow]);
  }
  const everywhere = new Map<string, string>();
  const common = new Map<string, Set<string>>();
  for (const from of new Set(flows.map((flow) => flow.from))) {
    const ports = [...groups.values()].filter((group) => group[0].from === from).map((group) => new Set(group.map((flow) => flow.label)));
    const shared = new Set([...ports[0]].filter((port) => ports.every((set) => set.has(port))));
    if (ports.length >= 2 && shared.size > 0 && ports.every((set) => set.size > shared.size)) {
      common.set(from, shared);
      everywhere.set(from, portList([...shared]));
    }
  }
  const edges = [...groups.values()].map((group): GraphEdge => {
    const labels = group.map((flow) => flow.label).filter((label) => !common.get(group[0].from)?.has(label));
    return { from: group[0].from, to: group[0].to, toCluster: group[0].toCluster, kind: "scrape", label: portList(labels) };
  });
  return { edges, everywhere };
}

/** The line a sender gets for the ports it scrapes in every box it watches. */
export function everywhereLine(ports: string): string {
  return `scrapes ${ports} on every tier`;
}

/**
 * Where to draw a host that scrapes others: level with the middle one of the
 * boxes it scrapes (their anchors in drawing order), so its arrows fan out up,
 * across and down instead of all one way. Undefined when it scrapes nothing.
 */
export function besideMiddleTarget(scrapes: readonly GraphEdge[], from: string, nodeOrder: readonly string[]): string | undefined {
  const anchors = scrapes
    .filter((edge) => edge.kind === "scrape" && edge.from === from)
    .map((edge) => edge.to)
    .sort((a, b) => nodeOrder.indexOf(a) - nodeOrder.indexOf(b));
  return anchors[Math.floor(anchors.length / 2)];
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
