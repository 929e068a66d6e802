/**
 * StackGraph -> Graphviz DOT text. Deterministic: statements come out in the
 * graph's own order, and only the graph's own ids and labels end up in it (no
 * Terraform resource names, paths or hashes, which change between builds).
 */
import { GraphCluster, GraphEdge, GraphNode, StackGraph } from "./graph-model";

// Graphviz measures text with built-in metrics (the WASM build has no font files):
// Arial is one it knows, and the one browsers and rsvg find everywhere.
const FONT = "Arial";

/** Fill colours per ha-web role, so a role reads the same in every picture. */
const ROLE_FILL: Readonly<Record<string, string>> = {
  "load-balancer": "#dbeafe",
  web: "#dcfce7",
  app: "#fef9c3",
  database: "#f3e8ff",
};

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
function htmlLabel(title: string, lines: readonly string[], titleSize = 12, align: "center" | "left" = "center"): string {
  const lineBreak = align === "left" ? '<br align="left"/>' : "<br/>";
  const rest = lines.map((line) => `${lineBreak}<font point-size="9" color="#475569">${escapeHtml(line)}</font>`).join("");
  return `<<font point-size="${titleSize}"><b>${escapeHtml(title)}</b></font>${rest}${align === "left" ? lineBreak : ""}>`;
}

function nodeAttributes(node: GraphNode): string {
  const label = `label=${htmlLabel(node.label, node.detail)}`;
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
  return edge.kind === "publish" || edge.kind === "address" ? "#c2410c" : "#1e293b";
}

/** Line style beyond colour and label: ways in are thicker, a virtual address' holders dashed. */
function lineStyle(edge: GraphEdge): string {
  if (edge.kind === "publish") return " penwidth=1.5";
  if (edge.kind === "address") return " style=dashed";
  return "";
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
      statements.push(`${quote(edge.from)} -> ${quote(edge.to)} [${style} dir=both constraint=false]`);
    } else if (edge.via) {
      arrived.add(`${edge.via} ${edge.to}`);
      const box = networkBox(graph, edge.via, names);
      statements.push(`${quote(edge.via)} -> ${quote(edge.to)} [${style}${box ? ` ltail=${box}` : ""}]`);
      // A sender that is not attached (the published port) gets a line of its own.
      if (!graph.edges.some((other) => other.kind === "attachment" && other.from === edge.from && other.to === edge.via)) {
        statements.push(`${quote(edge.from)} -> ${quote(edge.via)} [dir=none color=${colour}${lineStyle(edge)}${box ? ` lhead=${box}` : ""}]`);
      }
    } else {
      statements.push(`${quote(edge.from)} -> ${quote(edge.to)} [${style}]`);
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

/** Nodes that should share a column, as `rank=same` groups. */
function alignmentStatements(graph: StackGraph): string[] {
  return graph.nodes.filter((node) => node.alignWith).map((node) => `{ rank=same; ${quote(node.id)}; ${quote(node.alignWith!)} }`);
}

/**
 * Writes the graph as DOT: clusters nested as in the model, then the nodes
 * outside every cluster, then the edges, each with its port label.
 */
export function toDot(graph: StackGraph): string {
  const names = clusterNames(graph);
  const title = graph.target === "docker" ? `stack "${graph.name}" on local Docker` : `stack "${graph.name}" on AWS EC2`;
  const legend =
    graph.target === "docker"
      ? "arrows: traffic the stack allows, with its port; grey boxes: Docker networks"
      : "arrows: traffic the security groups allow, with its port";
  const lines = [
    `digraph ${quote(graph.name)} {`,
    `  graph [rankdir=TB compound=true newrank=true nodesep=0.3 ranksep=0.7 fontname=${quote(FONT)} fontsize=11 labelloc=t label=${htmlLabel(title, [legend], 14)}]`,
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
