/**
 * The graph of a Docker stack: `docker_container`s described by their ha-web
 * labels, `docker_network`s they share, ports they publish on the host, the
 * virtual address a load-balancer pair holds with keepalived, and the monitoring
 * host's scrapes. A sidecar (`network_mode = "container:OWNER"`) is no machine
 * of its own: it is drawn as a line in its owner's box, and what it accepts is
 * accepted by the owner's network namespace.
 */
import {
  besideMiddleTarget,
  compareNames,
  everywhereLine,
  GraphCluster,
  GraphEdge,
  GraphNode,
  INTERNET_NODE_ID,
  MONITORING_ROLE,
  roleRank,
  ScrapeFlow,
  StackGraph,
  summarizeScrapes,
  uniqueEdges,
} from "./graph-model";
import {
  findResource,
  listArg,
  numberArg,
  parseReference,
  referencedName,
  resolveString,
  resourcesOfType,
  stringArg,
  TerraformJson,
  TerraformResource,
} from "./terraform-json";

/** One `PORT/PROTO:FROM` entry of the `ha-web.ingress` label (`0/vrrp:load-balancer`: VRRP has no port). */
interface Ingress {
  /** `PORT/PROTO` as in the label, e.g. "80/tcp", "0/vrrp". */
  readonly port: string;
  readonly protocol: string;
  /** False for a protocol without ports (VRRP, IP protocol 112), written with port 0. */
  readonly hasPort: boolean;
  readonly from: string;
}

interface PublishedPort {
  readonly ip: string;
  readonly external: number;
  readonly internal: number;
  readonly protocol: string;
}

/** A container in another's network namespace, drawn as a line of its owner. */
interface Sidecar {
  /** What it runs: the packages its image adds to a base, or the image's name. */
  readonly software: string;
  readonly role: string;
  readonly ingress: readonly Ingress[];
  /** The `ha-web.listen-port` label, for a sidecar nothing else may reach. */
  readonly listenPort?: string;
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
  /** What its network namespace accepts: its own ingress and its sidecars'. */
  readonly ingress: readonly Ingress[];
  readonly published: readonly PublishedPort[];
  readonly sidecars: readonly Sidecar[];
  /** The `ha-web.floating-address` label: the virtual address keepalived may move to this container. */
  readonly floatingAddress?: string;
}

interface Network {
  readonly name: string;
  readonly internal: boolean;
  /** Whether Docker masquerades its traffic to the outside (off: the host reaches it, it reaches nothing beyond). */
  readonly masquerade: boolean;
  readonly driver: string;
  /** IPv4 subnets of its `ipam_config` (CIDR), to tell which network a virtual address lives on. */
  readonly subnets: readonly string[];
}

/** Network name -> whether it is internal, for choosing the network a published port arrives on. */
type NetworkIndex = ReadonlyMap<string, Network>;

/** Builds the graph of a stack of `docker_container`s (see stack-graph.ts for the entry point). */
export function dockerStackGraph(json: TerraformJson, name: string): StackGraph {
  const containers = readContainers(json);
  const allNetworks = readNetworks(json, containers);
  const byName: NetworkIndex = new Map(allNetworks.map((network) => [network.name, network]));
  const addresses = readFloatingAddresses(containers, byName);
  const published = publishEdges(containers, byName);
  const { flows, scrapes } = splitScrapes(flowEdges(containers), containers);
  // A network that only scrapes cross is named on their summary arrows instead of drawn as a box.
  const crossed = new Set([
    ...[...published, ...flows].flatMap((edge) => (edge.via ? [networkOfNodeId(edge.via)] : [])),
    ...addresses.flatMap((a) => a.network ?? []),
  ]);
  const scrapeOnly = new Set(scrapes.flatMap((scrape) => (scrape.network && !crossed.has(scrape.network) ? [scrape.network] : [])));
  const within = monitoringNetworks(allNetworks, containers, scrapeOnly);
  const folded = new Set([...scrapeOnly, ...within.map((network) => network.name)]);
  const networks = allNetworks.filter((network) => !folded.has(network.name));
  const { edges: summaries, everywhere } = summarizeScrapes(scrapes);
  const edges = [
    ...published,
    // A flow across a folded network goes straight from sender to receiver.
    ...flows.map(({ via, ...edge }): GraphEdge => (via && folded.has(networkOfNodeId(via)) ? edge : { ...edge, ...(via ? { via } : {}) })),
    ...outboundEdges(containers, networks),
    ...summaries,
    ...addresses.flatMap(addressEdges),
    ...attachmentEdges(containers, folded),
  ];
  const order = containers.map((container) => container.nodeId);
  const containerNodes = containers.map((container): GraphNode => {
    const node = containerNode(container);
    const beside = besideMiddleTarget(summaries, container.nodeId, order);
    const ports = everywhere.get(container.nodeId);
    return { ...node, ...(ports ? { detail: [...node.detail, everywhereLine(ports)] } : {}), ...(beside ? { alignWith: beside } : {}) };
  });
  const nodes: GraphNode[] = [...containerNodes, ...networks.map(networkNode), ...addresses.map(addressNode), ...endpointNodes(containers)];
  if (edges.some((edge) => edge.from === INTERNET_NODE_ID || edge.to === INTERNET_NODE_ID)) {
    nodes.unshift({ id: INTERNET_NODE_ID, kind: "internet", label: "internet / host", detail: [] });
  }
  const scrapeNetworks = (tier: string) =>
    allNetworks.filter((network) => scrapeOnly.has(network.name) && scrapes.some((scrape) => scrape.network === network.name && scrape.fromCluster === tier));
  const clusters = [
    ...tierClusters(containers).map((cluster) =>
      withNetworksWithin(
        withScrapeNetworks(cluster, scrapeNetworks(cluster.id)),
        within.filter((network) => containers.some((c) => c.networks.includes(network.name) && tierClusterId(c.tier) === cluster.id)),
      ),
    ),
    ...networks.map((network) => networkCluster(network, containers)),
  ];
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
  return entries.flatMap((entry): Ingress[] => {
    const match = /^((\d+(?:-\d+)?)\/([a-z]+)):(.+)$/.exec(entry);
    return match ? [{ port: match[1], protocol: match[3], hasPort: match[2] !== "0", from: match[4] }] : [];
  });
}

/** The label of a flow: its port ("80/tcp"), or the protocol's name when it has no port ("VRRP", not "0/vrrp"). */
function flowLabel(ingress: Ingress): string {
  return ingress.hasPort ? ingress.port : ingress.protocol.toUpperCase();
}

/** An image as the picture names it: the image (or the base it is built on) and the packages a build adds. */
interface ImageName {
  readonly name: string;
  readonly packages?: string;
}

/**
 * The image's name (`nginx:1.30-trixie`), following `${docker_image.X.image_id}`
 * to the image resource; a pinned digest is left out of the picture. An image
 * the stack builds on a pinned one with extra Debian packages (its `build`
 * block's BASE and PACKAGES arguments) reads as the base plus the packages,
 * e.g. `haproxy:2.6-trixie + iproute2 keepalived`, rather than its generated name.
 */
function readImage(json: TerraformJson, value: unknown): ImageName {
  const withoutDigest = (name: string) => name.replace(/@sha256:[0-9a-f]+$/, "");
  const imageResource = referencedName(value, "docker_image");
  const image = imageResource ? findResource(json, "docker_image", imageResource) : undefined;
  if (!image) return { name: withoutDigest(resolveString(json, value) ?? "image") };
  const buildArgs = listArg(image, "build")[0]?.build_args;
  const args = typeof buildArgs === "object" && buildArgs !== null ? (buildArgs as TerraformResource) : {};
  const base = stringArg(args, "BASE");
  if (base) return { name: withoutDigest(base), packages: stringArg(args, "PACKAGES") || undefined };
  return { name: withoutDigest(stringArg(image, "name") ?? "image") };
}

function imageText(image: ImageName): string {
  return image.packages ? `${image.name} + ${image.packages}` : image.name;
}

/**
 * The container whose network namespace a container joins
 * (`network_mode = "container:${docker_container.X.name}"`, or the literal
 * container name), as that container's Terraform name.
 */
function networkOwner(json: TerraformJson, body: TerraformResource): string | undefined {
  const mode = stringArg(body, "network_mode");
  const match = mode ? /^container:(.+)$/.exec(mode) : null;
  if (!match) return undefined;
  const reference = parseReference(match[1]);
  if (reference) return reference.type === "docker_container" ? reference.name : undefined;
  return resourcesOfType(json, "docker_container").find(({ body: other }) => resolveString(json, other.name) === match[1])?.name;
}

/**
 * Sidecar -> owner, by Terraform name: containers in the network namespace of
 * another container of the stack that has a network of its own.
 */
function readOwners(json: TerraformJson): Map<string, string> {
  const owners = new Map<string, string>();
  for (const { name, body } of resourcesOfType(json, "docker_container")) {
    const owner = networkOwner(json, body);
    const ownerBody = owner === undefined ? undefined : findResource(json, "docker_container", owner);
    if (owner !== undefined && ownerBody && networkOwner(json, ownerBody) === undefined) owners.set(name, owner);
  }
  return owners;
}

function readSidecar(json: TerraformJson, body: TerraformResource): Sidecar {
  const labels = labelsOf(body);
  const image = readImage(json, body.image);
  return {
    software: image.packages ?? image.name,
    role: labels.get("ha-web.role") ?? "unknown",
    ingress: parseIngress(labels.get("ha-web.ingress")),
    listenPort: labels.get("ha-web.listen-port"),
  };
}

/** Containers with a network of their own, each with the sidecars in its namespace. */
function readContainers(json: TerraformJson): Container[] {
  const owners = readOwners(json);
  const all = resourcesOfType(json, "docker_container");
  const sidecarsOf = (owner: string) => all.filter(({ name }) => owners.get(name) === owner).map(({ body }) => readSidecar(json, body));
  const machines = all.filter(({ name }) => !owners.has(name));
  const containers = machines.map(({ name, body }): Container => {
    const labels = labelsOf(body);
    const hostname = stringArg(body, "hostname") ?? stringArg(body, "name") ?? name;
    const own = sidecarsOf(name);
    return {
      nodeId: `container:${hostname}`,
      hostname,
      role: labels.get("ha-web.role") ?? "unknown",
      tier: labels.get("ha-web.tier") ?? "untiered",
      host: labels.get("ha-web.host") ?? hostname,
      image: imageText(readImage(json, body.image)),
      networks: listArg(body, "networks_advanced").flatMap((attachment) => resolveString(json, attachment.name) ?? []),
      ingress: [...parseIngress(labels.get("ha-web.ingress")), ...own.flatMap((sidecar) => sidecar.ingress)],
      sidecars: own,
      published: listArg(body, "ports").flatMap((port) => {
        const internal = numberArg(port, "internal");
        const external = numberArg(port, "external");
        if (internal === undefined || external === undefined) return [];
        return [{ ip: stringArg(port, "ip") ?? "0.0.0.0", external, internal, protocol: stringArg(port, "protocol") ?? "tcp" }];
      }),
      floatingAddress: labels.get("ha-web.floating-address"),
    };
  });
  return containers.sort((a, b) => roleRank(a.role) - roleRank(b.role) || compareNames(a.hostname, b.hostname));
}

/** Networks some container is on, ordered by the roles they connect so the picture reads front to back. */
function readNetworks(json: TerraformJson, containers: readonly Container[]): Network[] {
  const byName = new Map<string, Network>();
  for (const { body } of resourcesOfType(json, "docker_network")) {
    const networkName = resolveString(json, body.name);
    if (networkName) {
      const subnets = listArg(body, "ipam_config").flatMap((ipam) => stringArg(ipam, "subnet") ?? []);
      const options = (body.options ?? {}) as Record<string, unknown>;
      const masquerade = options["com.docker.network.bridge.enable_ip_masquerade"] !== "false";
      byName.set(networkName, { name: networkName, internal: body.internal === true, masquerade, driver: stringArg(body, "driver") ?? "bridge", subnets });
    }
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
    .map((network) => byName.get(network) ?? { name: network, internal: false, masquerade: true, driver: "external", subnets: [] });
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

/**
 * "+ prometheus-nginx-exporter :9113": what a sidecar runs and the ports others
 * may reach it on; one nothing else reaches shows its listening port as local.
 */
function sidecarLine(sidecar: Sidecar): string {
  const ports = [...new Set(sidecar.ingress.map((ingress) => (ingress.hasPort ? `:${ingress.port.split("/")[0]}` : flowLabel(ingress))))];
  const where = ports.length > 0 ? ` ${ports.join(" ")}` : sidecar.listenPort ? ` :${sidecar.listenPort} (local only)` : "";
  return `+ ${sidecar.software}${where}`;
}

/**
 * The networks only the tier's scrapes cross are not drawn (their arrows go
 * straight to the tiers): the tier's box names them instead.
 */
function withScrapeNetworks(cluster: GraphCluster, networks: readonly Network[]): GraphCluster {
  if (networks.length === 0) return cluster;
  const names = networks.map((network) => network.name);
  const pairs = names.filter((_, i) => i % 2 === 0).map((_, i) => names.slice(2 * i, 2 * i + 2).join(", "));
  const kind = networks.every((network) => network.internal) ? "internal networks" : "networks";
  return { ...cluster, detail: [...cluster.detail, `scrapes across ${kind}`, ...pairs] };
}

/**
 * The monitoring tier's own internal networks (Prometheus -> Alertmanager):
 * between monitoring containers only, they carry a flow or two inside the tier
 * and are not drawn as boxes, like the networks its scrapes cross; the arrows go
 * straight between the containers, and the tier's box names the networks.
 */
function monitoringNetworks(networks: readonly Network[], containers: readonly Container[], scrapeOnly: ReadonlySet<string>): Network[] {
  return networks.filter((network) => {
    const members = containers.filter((container) => container.networks.includes(network.name));
    return (
      network.internal &&
      !scrapeOnly.has(network.name) &&
      members.length > 1 &&
      members.every((member) => member.role === MONITORING_ROLE) &&
      new Set(members.map((member) => member.tier)).size === 1
    );
  });
}

/** The tier's box names the networks within it that are not drawn (see monitoringNetworks). */
function withNetworksWithin(cluster: GraphCluster, networks: readonly Network[]): GraphCluster {
  if (networks.length === 0) return cluster;
  return { ...cluster, detail: [...cluster.detail, `within the tier: ${networks.map((network) => network.name).join(", ")}`] };
}

function containerNode(container: Container): GraphNode {
  return {
    id: container.nodeId,
    kind: "container",
    label: container.hostname,
    detail: container.host === container.hostname ? [container.role, container.image] : [`${container.role} on host ${container.host}`, container.image],
    ...(container.sidecars.length > 0 ? { sidecars: container.sidecars.map(sidecarLine) } : {}),
    role: container.role,
    cluster: tierClusterId(container.tier),
  };
}

function networkNodeId(network: string): string {
  return `network:${network}`;
}

function networkOfNodeId(nodeId: string): string {
  return nodeId.slice(networkNodeId("").length);
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
  if (network.internal) return `internal ${network.driver}, no route out`;
  return network.masquerade ? `${network.driver} network` : `${network.driver}, host only (no masquerading)`;
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
 * published port over a network with a route out, so the arrow crosses it. A
 * container on internal networks only has no such network, and Docker does not
 * forward its published ports (moby/moby#36174): the arrow says so.
 */
function publishEdges(containers: readonly Container[], networks: NetworkIndex): GraphEdge[] {
  return containers.flatMap((container) => {
    const routed = container.networks.find((network) => networks.get(network)?.internal !== true);
    const unreachable = routed === undefined && container.networks.length > 0 ? " (unreachable:\ninternal networks only)" : "";
    return container.published.flatMap((port): GraphEdge[] => [
      { from: INTERNET_NODE_ID, to: endpointNodeId(port), kind: "publish", label: `${port.external}/${port.protocol}` },
      {
        from: endpointNodeId(port),
        to: container.nodeId,
        kind: "publish",
        label: `${port.internal}/${port.protocol}${unreachable}`,
        ...(routed ? { via: networkNodeId(routed) } : {}),
      },
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

/** A flow edge and whether it is between peers (a protocol without ports, such as VRRP). */
interface Flow {
  readonly edge: GraphEdge;
  readonly peer: boolean;
}

/**
 * One arrow per allowed flow: from every container of the ingress' role that
 * shares a network with the receiver. Ingress from the internet that no
 * published port serves is drawn too, marked, since nothing can reach it.
 */
function flowEdges(containers: readonly Container[]): GraphEdge[] {
  const flows = containers.flatMap((receiver) =>
    receiver.ingress.flatMap((ingress): Flow[] => {
      const label = flowLabel(ingress);
      if (ingress.from === "internet") {
        const isPublished = receiver.published.some((published) => `${published.internal}/${published.protocol}` === ingress.port);
        return isPublished ? [] : [{ edge: { from: INTERNET_NODE_ID, to: receiver.nodeId, kind: "flow", label: `${label} (not published)` }, peer: false }];
      }
      return containers.flatMap((sender): Flow[] => {
        const network = sender !== receiver && actsAs(sender, ingress.from) ? sharedNetwork(sender, receiver, containers) : undefined;
        if (!network) return [];
        return [{ edge: { from: sender.nodeId, to: receiver.nodeId, kind: "flow", label, via: networkNodeId(network) }, peer: !ingress.hasPort }];
      });
    }),
  );
  return mergePeerFlows(flows, containers);
}

/** Whether a container (or one of its sidecars, which send from its network namespace) has the role. */
function actsAs(container: Container, role: string): boolean {
  return container.role === role || container.sidecars.some((sidecar) => sidecar.role === role);
}

/** A scrape on Docker: also the sender's tier and the network it crosses. */
interface DockerScrape extends ScrapeFlow {
  readonly fromCluster: string;
  readonly network?: string;
}

/**
 * The monitoring host's flows into other tiers are scrapes, summarised one
 * arrow per target tier (see summarizeScrapes); every other flow is drawn as is.
 */
function splitScrapes(edges: readonly GraphEdge[], containers: readonly Container[]): { flows: GraphEdge[]; scrapes: DockerScrape[] } {
  const byId = new Map(containers.map((container) => [container.nodeId, container]));
  const flows: GraphEdge[] = [];
  const scrapes: DockerScrape[] = [];
  for (const edge of edges) {
    const sender = byId.get(edge.from);
    const receiver = byId.get(edge.to);
    if (sender && receiver && sender.role === MONITORING_ROLE && receiver.tier !== sender.tier && !edge.bidirectional) {
      const network = edge.via === undefined ? undefined : networkOfNodeId(edge.via);
      scrapes.push({
        from: edge.from,
        to: edge.to,
        toCluster: tierClusterId(receiver.tier),
        fromCluster: tierClusterId(sender.tier),
        label: edge.label,
        network,
      });
    } else {
      flows.push(edge);
    }
  }
  return { flows, scrapes };
}

/**
 * A network with a route out that lets nothing in from the internet exists for
 * going out (Alertmanager's route to its receiver): its members -> the
 * internet, across it. Docker limits no port there, so the arrow says
 * "outbound". The edge network's route out only serves its way in, and is not drawn.
 */
function outboundEdges(containers: readonly Container[], networks: readonly Network[]): GraphEdge[] {
  return (
    networks
      // Without masquerading a network only joins its containers to the host (a published port): no way out.
      .filter((network) => !network.internal && network.masquerade)
      .flatMap((network) => {
        const members = containers.filter((container) => container.networks.includes(network.name));
        if (members.some((member) => member.ingress.some((ingress) => ingress.from === "internet"))) return [];
        return members.map(
          (member): GraphEdge => ({ from: member.nodeId, to: INTERNET_NODE_ID, kind: "flow", label: "outbound", via: networkNodeId(network.name) }),
        );
      })
  );
}

/**
 * A flow without ports (VRRP) allowed both ways between two containers is one
 * exchange between peers, not a client and a server: keepalived's adverts go
 * from whichever of the pair is master to the other, and either may be master.
 * So the pair gets one two-headed edge, from the container drawn first, instead
 * of two arrows saying the same thing. A portless flow allowed one way only
 * keeps its one arrow. TCP flows allowed both ways (database replication) stay
 * two arrows: each direction is a different client reaching a different server.
 */
function mergePeerFlows(flows: readonly Flow[], containers: readonly Container[]): GraphEdge[] {
  const key = (from: string, to: string, label: string) => JSON.stringify([from, to, label]);
  const peerFlows = new Set(flows.filter((flow) => flow.peer).map(({ edge }) => key(edge.from, edge.to, edge.label)));
  const order = (nodeId: string) => containers.findIndex((container) => container.nodeId === nodeId);
  return flows.flatMap(({ edge, peer }): GraphEdge[] => {
    if (!peer || !peerFlows.has(key(edge.to, edge.from, edge.label))) return [edge];
    return order(edge.from) < order(edge.to) ? [{ ...edge, bidirectional: true }] : [];
  });
}

/** A virtual address (keepalived's) and the containers that may hold it. */
interface FloatingAddress {
  readonly nodeId: string;
  readonly address: string;
  readonly holders: readonly Container[];
  /** The network it lives on: the holders' network whose subnet holds it, else their shared network with a route out. */
  readonly network?: string;
}

function ipv4ToNumber(address: string): number | undefined {
  const parts = address.split(".");
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return undefined;
  return parts.reduce((n, part) => n * 256 + Number(part), 0);
}

function inSubnet(address: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const addressNumber = ipv4ToNumber(address);
  const baseNumber = ipv4ToNumber(base);
  const prefix = Number(bits);
  if (addressNumber === undefined || baseNumber === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return false;
  const size = 2 ** (32 - prefix);
  return Math.floor(addressNumber / size) === Math.floor(baseNumber / size);
}

function readFloatingAddresses(containers: readonly Container[], networks: NetworkIndex): FloatingAddress[] {
  const addresses = [...new Set(containers.flatMap((container) => container.floatingAddress ?? []))];
  return addresses.map((address) => {
    const holders = containers.filter((container) => container.floatingAddress === address);
    const shared = holders[0].networks.filter((network) => holders.every((holder) => holder.networks.includes(network)));
    const network =
      shared.find((candidate) => networks.get(candidate)?.subnets.some((subnet) => inSubnet(address, subnet))) ??
      shared.find((candidate) => networks.get(candidate)?.internal === false);
    return { nodeId: `address:${address}`, address, holders, network };
  });
}

function addressNode(address: FloatingAddress): GraphNode {
  return {
    id: address.nodeId,
    kind: "address",
    label: address.address,
    detail: ["virtual address (keepalived)", "held by the VRRP master"],
    cluster: address.network && networkNodeId(address.network),
  };
}

/** Virtual address -> each container that may hold it. */
function addressEdges(address: FloatingAddress): GraphEdge[] {
  return address.holders.map((holder): GraphEdge => ({ from: address.nodeId, to: holder.nodeId, kind: "address", label: "" }));
}

/** Each container's plug into each network drawn (not into the scrape-only ones, named on the scrape arrows instead). */
function attachmentEdges(containers: readonly Container[], hidden: ReadonlySet<string>): GraphEdge[] {
  return containers.flatMap((container) =>
    container.networks
      .filter((network) => !hidden.has(network))
      .map((network): GraphEdge => ({ from: container.nodeId, to: networkNodeId(network), kind: "attachment", label: "" })),
  );
}
