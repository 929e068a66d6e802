/**
 * The graph of a Docker stack: `docker_container`s described by their ha-web
 * labels, `docker_network`s they share, and ports they publish on the host.
 */
import { compareNames, GraphCluster, GraphEdge, GraphNode, INTERNET_NODE_ID, roleRank, StackGraph, uniqueEdges } from "./graph-model";
import {
  findResource,
  listArg,
  numberArg,
  referencedName,
  resolveString,
  resourcesOfType,
  stringArg,
  TerraformJson,
  TerraformResource,
} from "./terraform-json";

/** One `PORT/PROTO:FROM` entry of the `ha-web.ingress` label. */
interface Ingress {
  readonly port: string;
  readonly from: string;
}

interface PublishedPort {
  readonly ip: string;
  readonly external: number;
  readonly internal: number;
  readonly protocol: string;
}

/** What the diagram needs of one container, read from its arguments and labels. */
interface Container {
  readonly nodeId: string;
  readonly hostname: string;
  readonly role: string;
  readonly tier: string;
  readonly host: string;
  readonly image: string;
  readonly networks: readonly string[];
  readonly ingress: readonly Ingress[];
  readonly published: readonly PublishedPort[];
}

interface Network {
  readonly name: string;
  readonly internal: boolean;
  readonly driver: string;
}

/** Network name -> whether it is internal, for choosing the network a published port arrives on. */
type NetworkIndex = ReadonlyMap<string, Network>;

/** Builds the graph of a stack of `docker_container`s (see stack-graph.ts for the entry point). */
export function dockerStackGraph(json: TerraformJson, name: string): StackGraph {
  const containers = readContainers(json);
  const networks = readNetworks(json, containers);
  const byName: NetworkIndex = new Map(networks.map((network) => [network.name, network]));
  const edges = [...publishEdges(containers, byName), ...flowEdges(containers), ...attachmentEdges(containers)];
  const nodes: GraphNode[] = [...containers.map(containerNode), ...networks.map(networkNode), ...endpointNodes(containers)];
  if (edges.some((edge) => edge.from === INTERNET_NODE_ID)) {
    nodes.unshift({ id: INTERNET_NODE_ID, kind: "internet", label: "internet / host", detail: [] });
  }
  const clusters = [...tierClusters(containers), ...networks.map((network) => networkCluster(network, containers))];
  return { name, target: "docker", clusters, nodes, edges: uniqueEdges(edges) };
}

function labelsOf(container: TerraformResource): Map<string, string> {
  const labels = new Map<string, string>();
  for (const entry of listArg(container, "labels")) {
    const label = stringArg(entry, "label");
    const value = stringArg(entry, "value");
    if (label !== undefined && value !== undefined) labels.set(label, value);
  }
  return labels;
}

function parseIngress(value: string | undefined): Ingress[] {
  const entries = (value ?? "").split(/\s+/).filter(Boolean);
  return entries.flatMap((entry) => {
    const match = /^(\d+(?:-\d+)?\/[a-z]+):(.+)$/.exec(entry);
    return match ? [{ port: match[1], from: match[2] }] : [];
  });
}

/** The image's name (`nginx:1.30-trixie`), following `${docker_image.X.image_id}` to the image resource; a pinned digest is left out of the picture. */
function imageName(json: TerraformJson, value: unknown): string {
  const imageResource = referencedName(value, "docker_image");
  const name = imageResource ? stringArg(findResource(json, "docker_image", imageResource) ?? {}, "name") : resolveString(json, value);
  return (name ?? "image").replace(/@sha256:[0-9a-f]+$/, "");
}

function readContainers(json: TerraformJson): Container[] {
  const containers = resourcesOfType(json, "docker_container").map(({ name, body }): Container => {
    const labels = labelsOf(body);
    const hostname = stringArg(body, "hostname") ?? stringArg(body, "name") ?? name;
    return {
      nodeId: `container:${hostname}`,
      hostname,
      role: labels.get("ha-web.role") ?? "unknown",
      tier: labels.get("ha-web.tier") ?? "untiered",
      host: labels.get("ha-web.host") ?? hostname,
      image: imageName(json, body.image),
      networks: listArg(body, "networks_advanced").flatMap((attachment) => resolveString(json, attachment.name) ?? []),
      ingress: parseIngress(labels.get("ha-web.ingress")),
      published: listArg(body, "ports").flatMap((port) => {
        const internal = numberArg(port, "internal");
        const external = numberArg(port, "external");
        if (internal === undefined || external === undefined) return [];
        return [{ ip: stringArg(port, "ip") ?? "0.0.0.0", external, internal, protocol: stringArg(port, "protocol") ?? "tcp" }];
      }),
    };
  });
  return containers.sort((a, b) => roleRank(a.role) - roleRank(b.role) || compareNames(a.hostname, b.hostname));
}

/** Networks some container is on, ordered by the roles they connect so the picture reads front to back. */
function readNetworks(json: TerraformJson, containers: readonly Container[]): Network[] {
  const byName = new Map<string, Network>();
  for (const { body } of resourcesOfType(json, "docker_network")) {
    const networkName = resolveString(json, body.name);
    if (networkName) byName.set(networkName, { name: networkName, internal: body.internal === true, driver: stringArg(body, "driver") ?? "bridge" });
  }
  const used = [...new Set(containers.flatMap((container) => container.networks))];
  const memberRanks = (network: string) =>
    containers
      .filter((container) => container.networks.includes(network))
      .map((container) => roleRank(container.role))
      .sort((a, b) => a - b);
  const compareRanks = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  };
  return used
    .sort((a, b) => compareRanks(memberRanks(a), memberRanks(b)) || compareNames(a, b))
    .map((network) => byName.get(network) ?? { name: network, internal: false, driver: "external" });
}

function tierClusterId(tier: string): string {
  return `tier:${tier}`;
}

/** One box per tier (networks between containers of one tier go inside: see networkCluster). */
function tierClusters(containers: readonly Container[]): GraphCluster[] {
  return [...new Set(containers.map((container) => container.tier))].map((tier) => ({
    id: tierClusterId(tier),
    kind: "tier",
    label: `${tier.split("/").pop()} tier`,
    detail: [tier],
  }));
}

function containerNode(container: Container): GraphNode {
  return {
    id: container.nodeId,
    kind: "container",
    label: container.hostname,
    detail: container.host === container.hostname ? [container.role, container.image] : [`${container.role} on host ${container.host}`, container.image],
    role: container.role,
    cluster: tierClusterId(container.tier),
  };
}

function networkNodeId(network: string): string {
  return `network:${network}`;
}

function networkCluster(network: Network, containers: readonly Container[]): GraphCluster {
  const members = containers.filter((container) => container.networks.includes(network.name));
  const tiers = new Set(members.map((container) => container.tier));
  // Only a network between containers of one tier is inside it; a one-container network is its way out.
  const parent = members.length > 1 && tiers.size === 1 ? tierClusterId([...tiers][0]) : undefined;
  return { id: networkNodeId(network.name), kind: "network", label: network.name, detail: [networkKindText(network)], parent };
}

function networkNode(network: Network): GraphNode {
  return { id: networkNodeId(network.name), kind: "network", label: network.name, detail: [networkKindText(network)], cluster: networkNodeId(network.name) };
}

function networkKindText(network: Network): string {
  return network.internal ? `internal ${network.driver}, no route out` : `${network.driver} network`;
}

function endpointNodeId(port: PublishedPort): string {
  return `published:${port.ip}:${port.external}/${port.protocol}`;
}

function endpointNodes(containers: readonly Container[]): GraphNode[] {
  return containers.flatMap((container) =>
    container.published.map(
      (port): GraphNode => ({
        id: endpointNodeId(port),
        kind: "endpoint",
        label: `${port.ip}:${port.external}`,
        detail: ["published host port"],
      }),
    ),
  );
}

/**
 * internet -> published host port -> container port; Docker forwards a
 * published port over a network with a route out, so the arrow crosses it.
 */
function publishEdges(containers: readonly Container[], networks: NetworkIndex): GraphEdge[] {
  return containers.flatMap((container) => {
    const routed = container.networks.find((network) => networks.get(network)?.internal === false);
    return container.published.flatMap((port): GraphEdge[] => [
      { from: INTERNET_NODE_ID, to: endpointNodeId(port), kind: "publish", label: `${port.external}/${port.protocol}` },
      { from: endpointNodeId(port), to: container.nodeId, kind: "publish", label: `${port.internal}/${port.protocol}`, via: routed && networkNodeId(routed) },
    ]);
  });
}

/**
 * The network a flow is drawn across: of the networks both ends share, the one
 * with the fewest containers (db-db rather than app-db for replication).
 */
function sharedNetwork(sender: Container, receiver: Container, containers: readonly Container[]): string | undefined {
  const size = (network: string) => containers.filter((container) => container.networks.includes(network)).length;
  const shared = sender.networks.filter((network) => receiver.networks.includes(network));
  return shared.sort((a, b) => size(a) - size(b) || compareNames(a, b))[0];
}

/**
 * One arrow per allowed flow: from every container of the ingress' role that
 * shares a network with the receiver. Ingress from the internet that no
 * published port serves is drawn too, marked, since nothing can reach it.
 */
function flowEdges(containers: readonly Container[]): GraphEdge[] {
  return containers.flatMap((receiver) =>
    receiver.ingress.flatMap(({ port, from }): GraphEdge[] => {
      if (from === "internet") {
        const isPublished = receiver.published.some((published) => `${published.internal}/${published.protocol}` === port);
        return isPublished ? [] : [{ from: INTERNET_NODE_ID, to: receiver.nodeId, kind: "flow", label: `${port} (not published)` }];
      }
      return containers.flatMap((sender): GraphEdge[] => {
        const network = sender !== receiver && sender.role === from ? sharedNetwork(sender, receiver, containers) : undefined;
        return network ? [{ from: sender.nodeId, to: receiver.nodeId, kind: "flow", label: port, via: networkNodeId(network) }] : [];
      });
    }),
  );
}

function attachmentEdges(containers: readonly Container[]): GraphEdge[] {
  return containers.flatMap((container) =>
    container.networks.map((network): GraphEdge => ({ from: container.nodeId, to: networkNodeId(network), kind: "attachment", label: "" })),
  );
}
