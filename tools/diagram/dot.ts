/**
 * StackGraph -> Graphviz DOT text. Deterministic: statements come out in the
 * graph's own order, and only the graph's own ids and labels end up in it (no
 * Terraform resource names, paths or hashes, which change between builds).
 */
import { GraphCluster, GraphEdge, GraphNode, INTERNET_NODE_ID, StackGraph } from "./graph-model";

// Graphviz measures text with built-in metrics (the WASM build has no font files):
// Arial is one it knows, and the one browsers and rsvg find everywhere.
const FONT = "Arial";

/** Fill colours per ha-web role, so a role reads the same in every picture. */
const ROLE_FILL: Readonly<Record<string, string>> = {
  "load-balancer": "#dbeafe",
  web: "#dcfce7",
  app: "#fef9c3",
  database: "#f3e8ff",
  monitoring: "#ccfbf1",
};

/** The colour of the monitoring host and its scrapes, apart from the traffic the stack serves. */
const SCRAPE_COLOUR = "#0f766e";

const CLUSTER_STYLE: Readonly<Record<GraphCluster["kind"], string>> = {
  vpc: 'style="rounded" color="#64748b" penwidth=1.5',
  subnet: 'style="rounded,filled" color="#94a3b8" fillcolor="#f8fafc"',
  tier: 'style="rounded,filled" color="#cbd5e1" fillcolor="#ffffff"',
  network: 'style="rounded,filled" color="#64748b" fillcolor="#e2e8f0"',
};

/** Escapes text for a Graphviz HTML-like label. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Quotes text as a DOT string (ids, plain labels): backslashes and quotes escaped, newlines kept as \n. */
export function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n")}"`;
}

/**
 * A bold first line and smaller grey lines under it, as an HTML-like label;
 * left-aligned for cluster titles, which then stay clear of edges entering the box's middle.
 */
function htmlLabel(title: string, lines: readonly string[], titleSize = 12, align: "center" | "left" = "center", extra: readonly string[] = []): string {
  const lineBreak = align === "left" ? '<br align="left"/>' : "<br/>";
  const line = (text: string, colour: string) => `${lineBreak}<font point-size="9" color="${colour}">${escapeHtml(text)}</font>`;
  const rest = [...lines.map((text) => line(text, "#475569")), ...extra.map((text) => line(text, SCRAPE_COLOUR))].join("");
  return `<<font point-size="${titleSize}"><b>${escapeHtml(title)}</b></font>${rest}${align === "left" ? lineBreak : ""}>`;
}

function nodeAttributes(node: GraphNode): string {
  // A node's sidecars are lines of its own box, in the monitoring colour (they are its exporters).
  const label = `label=${htmlLabel(node.label, node.detail, 12, "center", node.sidecars)}`;
  switch (node.kind) {
    case "internet":
      return `${label} shape=ellipse style=filled fillcolor="#e0f2fe" color="#0369a1"`;
    case "endpoint":
      return `${label} shape=cds style=filled fillcolor="#ffedd5" color="#c2410c"`;
    case "address":
      // An address that moves between nodes: dashed, in the colour of the ways in.
      return `${label} style="rounded,filled,dashed" fillcolor="#ffedd5" color="#c2410c"`;
    case "network":
      // The network's cluster is the visible box; the node only carries its name.
      return `${label} shape=plaintext style="" margin=0`;
    case "placeholder":
      return `label=${quote(node.label)} shape=plaintext style="" fontsize=9 fontcolor="#64748b"`;
    default:
      return `${label} fillcolor=${quote(ROLE_FILL[node.role ?? ""] ?? "#f1f5f9")}`;
  }
}

/** The DOT cluster name of each model cluster, by position (model ids may not be DOT-safe). */
function clusterNames(graph: StackGraph): Map<string, string> {
  return new Map(graph.clusters.map((cluster, index) => [cluster.id, `cluster_${index}`]));
}

function writeCluster(graph: StackGraph, cluster: GraphCluster, names: Map<string, string>, indent: string): string[] {
  const label = cluster.kind === "network" ? 'label=""' : `label=${htmlLabel(cluster.label, cluster.detail, 11, "left")}`;
  const lines = [`${indent}subgraph ${names.get(cluster.id)} {`, `${indent}  ${label} labeljust=l ${CLUSTER_STYLE[cluster.kind]}`];
  for (const child of graph.clusters.filter((candidate) => candidate.parent === cluster.id)) {
    lines.push(...writeCluster(graph, child, names, `${indent}  `));
  }
  for (const node of graph.nodes.filter((candidate) => candidate.cluster === cluster.id)) {
    lines.push(`${indent}  ${quote(node.id)} [${nodeAttributes(node)}]`);
  }
  lines.push(`${indent}}`);
  return lines;
}

const ATTACHMENT_STYLE = 'dir=none style=dashed color="#94a3b8"';

function colourOf(edge: GraphEdge): string {
  if (edge.kind === "scrape") return SCRAPE_COLOUR;
  return edge.kind === "publish" || edge.kind === "address" ? "#c2410c" : "#1e293b";
}

/**
 * Line style beyond colour and label: ways in are thicker, a virtual address'
 * holders dashed. Scrapes reach tiers above and below the monitoring host: they
 * do not rank their ends.
 */
function lineStyle(edge: GraphEdge): string {
  if (edge.kind === "publish") return " penwidth=1.5";
  if (edge.kind === "address") return " style=dashed";
  if (edge.kind === "scrape") return " constraint=false";
  return "";
}

/**
 * One DOT edge statement, clipped at the boxes given. An arrow to the internet
 * (the way out) is written the other way round with its head at the start
 * (dir=back): ranked like the ways in, the internet stays on top.
 */
function arrow(from: string, to: string, attributes: string, clip: { tail?: string; head?: string } = {}): string {
  const reversed = to === INTERNET_NODE_ID && from !== INTERNET_NODE_ID;
  const [tail, head] = reversed ? [to, from] : [from, to];
  const ltail = reversed ? clip.head : clip.tail;
  const lhead = reversed ? clip.tail : clip.head;
  const back = reversed ? (/\bdir=none\b/.test(attributes) ? "" : " dir=back") : "";
  return `${quote(tail)} -> ${quote(head)} [${attributes}${back}${ltail ? ` ltail=${ltail}` : ""}${lhead ? ` lhead=${lhead}` : ""}]`;
}

/** The DOT cluster drawn as the box of a network node, for clipping lines at its border (compound=true). */
function networkBox(graph: StackGraph, networkNode: string, names: Map<string, string>): string | undefined {
  return names.get(graph.nodes.find((node) => node.id === networkNode)?.cluster ?? "");
}

/**
 * Edge statements. Traffic across a Docker network is drawn in two parts: the
 * sender's plug into the network (its attachment line), then one labelled arrow
 * from the network to each receiver, so N senders and M receivers need N + M
 * lines, not N x M. A receiver's own attachment line is left out: its arrow
 * already connects it. A two-headed edge between peers (VRRP) is drawn
 * straight between them, beside their plugs, and does not push one below the
 * other (constraint=false).
 */
function edgeStatements(graph: StackGraph, names: Map<string, string>): string[] {
  const statements: string[] = [];
  const arrived = new Set<string>(); // `${network} ${receiver}`: attachments the arrows already draw
  for (const edge of graph.edges) {
    if (edge.kind === "attachment") continue;
    const colour = quote(colourOf(edge));
    const style = `label=${quote(edge.label)} color=${colour} fontcolor=${colour}${lineStyle(edge)}`;
    if (edge.bidirectional) {
      statements.push(arrow(edge.from, edge.to, `${style} dir=both constraint=false`));
    } else if (edge.toCluster) {
      statements.push(arrow(edge.from, edge.to, style, { head: names.get(edge.toCluster) }));
    } else if (edge.via) {
      arrived.add(`${edge.via} ${edge.to}`);
      const box = networkBox(graph, edge.via, names);
      statements.push(arrow(edge.via, edge.to, style, { tail: box }));
      // A sender that is not attached (the published port) gets a line of its own.
      if (!graph.edges.some((other) => other.kind === "attachment" && other.from === edge.from && other.to === edge.via)) {
        statements.push(arrow(edge.from, edge.via, `dir=none color=${colour}${lineStyle(edge)}`, { head: box }));
      }
    } else {
      statements.push(arrow(edge.from, edge.to, style));
    }
  }
  const attachments = graph.edges
    .filter((edge) => edge.kind === "attachment" && !arrived.has(`${edge.to} ${edge.from}`))
    .map((edge) => {
      const box = networkBox(graph, edge.to, names);
      return `${quote(edge.from)} -> ${quote(edge.to)} [${ATTACHMENT_STYLE}${box ? ` lhead=${box}` : ""}]`;
    });
  return [...new Set([...statements, ...attachments])];
}

/**
 * Nodes that should share a rank, as `rank=same` groups; and the ways in outside
 * every box (published ports) kept in the graph's order, left to right, by an
 * invisible chain (crossing reduction would otherwise shuffle them).
 */
function alignmentStatements(graph: StackGraph): string[] {
  const aligned = graph.nodes.filter((node) => node.alignWith).map((node) => `{ rank=same; ${quote(node.id)}; ${quote(node.alignWith!)} }`);
  const endpoints = graph.nodes.filter((node) => node.kind === "endpoint" && node.cluster === undefined).map((node) => quote(node.id));
  const chain = endpoints.length > 1 ? [`{ rank=same; ${endpoints.join(" -> ")} [style=invis] }`] : [];
  return [...aligned, ...chain];
}

/**
 * Writes the graph as DOT: clusters nested as in the model, then the nodes
 * outside every cluster, then the edges, each with its port label.
 */
export function toDot(graph: StackGraph): string {
  const names = clusterNames(graph);
  const title = graph.target === "docker" ? `stack "${graph.name}" on local Docker` : `stack "${graph.name}" on AWS EC2`;
  const legend = [
    graph.target === "docker"
      ? "arrows: traffic the stack allows, with its port; grey boxes: Docker networks"
      : "arrows: traffic the security groups allow, with its port",
    ...(graph.edges.some((edge) => edge.kind === "scrape") ? ["teal: monitoring; one arrow per tier it scrapes, with the ports"] : []),
  ];
  const lines = [
    `digraph ${quote(graph.name)} {`,
    `  graph [rankdir=TB compound=true newrank=true nodesep=0.3 ranksep=0.7 fontname=${quote(FONT)} fontsize=11 labelloc=t label=${htmlLabel(title, legend, 14)}]`,
    `  node [shape=box width=1.6 style="rounded,filled" fontname=${quote(FONT)} fontsize=11 color="#475569" margin="0.15,0.06"]`,
    `  edge [fontname=${quote(FONT)} fontsize=10 arrowsize=0.7]`,
  ];
  for (const cluster of graph.clusters.filter((candidate) => candidate.parent === undefined)) {
    lines.push(...writeCluster(graph, cluster, names, "  "));
  }
  for (const node of graph.nodes.filter((candidate) => candidate.cluster === undefined)) {
    lines.push(`  ${quote(node.id)} [${nodeAttributes(node)}]`);
  }
  for (const statement of [...edgeStatements(graph, names), ...alignmentStatements(graph)]) {
    lines.push(`  ${statement}`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
