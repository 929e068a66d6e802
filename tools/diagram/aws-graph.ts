/**
 * The graph of an AWS stack: `aws_instance`s in their `aws_subnet`s, arrows from
 * `aws_vpc_security_group_ingress_rule`s between the security groups the
 * instances carry, Elastic IPs as the way in, a role's own egress rules to the
 * internet as its way out, and the monitoring host's scrapes one arrow per tier box.
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
import { findResource, listArg, numberArg, referencedName, resourcesOfType, stringArg, tagsOf, TerraformJson, TerraformResource } from "./terraform-json";

interface Instance {
  readonly resourceName: string;
  readonly nodeId: string;
  readonly host: string;
  readonly role: string;
  readonly instanceType: string;
  /** The subnet's label (see Subnet.label). */
  readonly subnet?: string;
  readonly networkInterface?: string;
  readonly securityGroups: readonly string[];
}

interface Subnet {
  readonly resourceName: string;
  /** The Name tag (or the Terraform name): ids use it since Terraform names carry construct hashes. */
  readonly label: string;
  readonly visibility: "public" | "private";
  readonly zone: string;
  readonly cidr: string;
  /** The VPC's Name tag (or Terraform name). */
  readonly vpc?: string;
}

interface ElasticIp {
  readonly nodeId: string;
  readonly name: string;
  readonly instance: Instance;
}

/** Builds the graph of a stack of `aws_instance`s (see stack-graph.ts for the entry point). */
export function awsStackGraph(json: TerraformJson, name: string): StackGraph {
  const subnets = readSubnets(json);
  const instances = readInstances(json, subnets);
  const elasticIps = readElasticIps(json, instances);
  const shared = readSharedElasticIps(json, instances);
  const { flows: ingress, scrapes } = splitScrapes(ingressEdges(json, instances, elasticIps), instances);
  const flows = mergePeerFlows(ingress, instances);
  const { edges: summaries, everywhere } = summarizeScrapes(scrapes);
  const edges = uniqueEdges([
    ...flows,
    ...egressEdges(json, instances),
    ...summaries,
    ...elasticIpEdges(elasticIps, flows),
    ...shared.flatMap((eip) => sharedElasticIpEdges(eip, flows, elasticIps)),
  ]);
  const order = instances.map((instance) => instance.nodeId);
  const instanceNodes = instances.map((instance): GraphNode => {
    const node = instanceNode(instance);
    const beside = besideMiddleTarget(summaries, instance.nodeId, order);
    const ports = everywhere.get(instance.nodeId);
    return { ...node, ...(ports ? { detail: [...node.detail, everywhereLine(ports)] } : {}), ...(beside ? { alignWith: beside } : {}) };
  });
  const nodes: GraphNode[] = [
    ...cidrSourceNodes(edges),
    ...instanceNodes,
    ...emptySubnetPlaceholders(subnets, instances),
    ...elasticIps.map(elasticIpNode),
    ...shared.map(sharedElasticIpNode),
  ];
  if (edges.some((edge) => edge.from === INTERNET_NODE_ID || edge.to === INTERNET_NODE_ID)) {
    nodes.unshift({ id: INTERNET_NODE_ID, kind: "internet", label: "internet", detail: [] });
  }
  return { name, target: "aws", clusters: [...vpcClusters(json), ...subnets.map(subnetCluster), ...tierClusters(instances)], nodes, edges };
}

/** `${aws_security_group.X.id}` references -> X, dropping anything else. */
function securityGroupNames(values: unknown): string[] {
  return Array.isArray(values) ? values.flatMap((value) => referencedName(value, "aws_security_group") ?? []) : [];
}

function readInstances(json: TerraformJson, subnets: readonly Subnet[]): Instance[] {
  const subnetLabel = (resourceName: string | undefined) => subnets.find((subnet) => subnet.resourceName === resourceName)?.label;
  const instances = resourcesOfType(json, "aws_instance").map(({ name, body }): Instance => {
    const tags = tagsOf(body);
    const networkInterface = referencedName(listArg(body, "primary_network_interface")[0]?.network_interface_id, "aws_network_interface");
    const eni = networkInterface ? findResource(json, "aws_network_interface", networkInterface) : undefined;
    const host = tags["ha-web:host"] ?? tags.Name ?? name;
    return {
      resourceName: name,
      nodeId: `instance:${host}`,
      host,
      role: tags["ha-web:role"] ?? "unknown",
      instanceType: stringArg(body, "instance_type") ?? "",
      subnet: subnetLabel(referencedName(body.subnet_id, "aws_subnet") ?? referencedName(eni?.subnet_id, "aws_subnet")),
      networkInterface,
      securityGroups: [...securityGroupNames(body.vpc_security_group_ids), ...securityGroupNames(eni?.security_groups)],
    };
  });
  return instances.sort((a, b) => roleRank(a.role) - roleRank(b.role) || compareNames(a.host, b.host));
}

/** `${element(data.aws_availability_zones.X.names, N)}` -> "AZ #N"; a literal zone stays as is. */
function zoneText(value: unknown): string {
  if (typeof value !== "string") return "AZ ?";
  const index = /^\$\{element\(data\.aws_availability_zones\.[^,]+\.names,\s*(\d+)\)\}$/.exec(value);
  if (index) return `AZ #${index[1]}`;
  return value.includes("${") ? "AZ ?" : value;
}

/** Public when tagged so, or when its route table sends traffic to an internet gateway. */
function isPublicSubnet(json: TerraformJson, subnetName: string, subnet: TerraformResource): boolean {
  const tier = tagsOf(subnet)["ha-web:tier"];
  if (tier) return tier === "public";
  if (subnet.map_public_ip_on_launch === true) return true;
  const routeTables = resourcesOfType(json, "aws_route_table_association")
    .filter(({ body }) => referencedName(body.subnet_id, "aws_subnet") === subnetName)
    .flatMap(({ body }) => referencedName(body.route_table_id, "aws_route_table") ?? []);
  return resourcesOfType(json, "aws_route").some(
    ({ body }) =>
      routeTables.includes(referencedName(body.route_table_id, "aws_route_table") ?? "") &&
      referencedName(body.gateway_id, "aws_internet_gateway") !== undefined,
  );
}

/** Subnets ordered public first, then by availability zone, then by name. */
function readSubnets(json: TerraformJson): Subnet[] {
  const subnets = resourcesOfType(json, "aws_subnet").map(
    ({ name, body }): Subnet => ({
      resourceName: name,
      label: tagsOf(body).Name ?? name,
      visibility: isPublicSubnet(json, name, body) ? "public" : "private",
      zone: zoneText(body.availability_zone),
      cidr: stringArg(body, "cidr_block") ?? "",
      vpc: vpcLabel(json, referencedName(body.vpc_id, "aws_vpc")),
    }),
  );
  return subnets.sort(
    (a, b) => (a.visibility === b.visibility ? 0 : a.visibility === "public" ? -1 : 1) || compareNames(a.zone, b.zone) || compareNames(a.label, b.label),
  );
}

function vpcLabel(json: TerraformJson, resourceName: string | undefined): string | undefined {
  if (!resourceName) return undefined;
  return tagsOf(findResource(json, "aws_vpc", resourceName) ?? {}).Name ?? resourceName;
}

function vpcClusterId(vpc: string): string {
  return `vpc:${vpc}`;
}

function subnetClusterId(subnet: string): string {
  return `subnet:${subnet}`;
}

function tierClusterId(subnet: string, role: string): string {
  return `tier:${subnet}:${role}`;
}

function vpcClusters(json: TerraformJson): GraphCluster[] {
  return resourcesOfType(json, "aws_vpc").map(({ name, body }) => ({
    id: vpcClusterId(vpcLabel(json, name)!),
    kind: "vpc",
    label: `VPC ${vpcLabel(json, name)}`,
    detail: [stringArg(body, "cidr_block") ?? ""].filter(Boolean),
  }));
}

function subnetCluster(subnet: Subnet): GraphCluster {
  return {
    id: subnetClusterId(subnet.label),
    kind: "subnet",
    label: subnet.label,
    detail: [`${subnet.visibility} subnet, ${subnet.zone}`, subnet.cidr],
    parent: subnet.vpc ? vpcClusterId(subnet.vpc) : undefined,
  };
}

/** Each tier inside a subnet gets its own box, so the picture groups by subnet and by tier. */
function tierClusters(instances: readonly Instance[]): GraphCluster[] {
  const seen = new Set<string>();
  return instances.flatMap((instance): GraphCluster[] => {
    if (!instance.subnet) return [];
    const id = tierClusterId(instance.subnet, instance.role);
    if (seen.has(id)) return [];
    seen.add(id);
    return [{ id, kind: "tier", label: `${instance.role} tier`, detail: [], parent: subnetClusterId(instance.subnet) }];
  });
}

function instanceNode(instance: Instance): GraphNode {
  return {
    id: instance.nodeId,
    kind: "instance",
    label: instance.host,
    detail: [instance.role, instance.instanceType].filter(Boolean),
    role: instance.role,
    cluster: instance.subnet ? tierClusterId(instance.subnet, instance.role) : undefined,
  };
}

/** Graphviz draws no empty box: an empty subnet (a spare AZ) gets a small note so it still shows. */
function emptySubnetPlaceholders(subnets: readonly Subnet[], instances: readonly Instance[]): GraphNode[] {
  return subnets
    .filter((subnet) => !instances.some((instance) => instance.subnet === subnet.label))
    .map((subnet): GraphNode => {
      // Beside an instance of a subnet of the same kind: the empty public subnet of a second AZ next to the full one.
      const alike = instances.find((instance) => subnets.find((other) => other.label === instance.subnet)?.visibility === subnet.visibility);
      return {
        id: `empty:${subnet.label}`,
        kind: "placeholder",
        label: "no instances",
        detail: [],
        cluster: subnetClusterId(subnet.label),
        alignWith: alike?.nodeId,
      };
    });
}

/** Elastic IPs attached to an instance, directly, through its primary network interface or by an `aws_eip_association`. */
function readElasticIps(json: TerraformJson, instances: readonly Instance[]): ElasticIp[] {
  const associations = resourcesOfType(json, "aws_eip_association").map(({ body }) => body);
  return resourcesOfType(json, "aws_eip").flatMap(({ name, body }): ElasticIp[] => {
    const association = associations.find((candidate) => referencedName(candidate.allocation_id, "aws_eip") === name) ?? {};
    const byInstance = referencedName(body.instance ?? association.instance_id, "aws_instance");
    const byInterface = referencedName(body.network_interface ?? association.network_interface_id, "aws_network_interface");
    const instance = instances.find(
      (candidate) => (byInstance && candidate.resourceName === byInstance) || (byInterface && candidate.networkInterface === byInterface),
    );
    if (!instance) return [];
    // The Name tag, not the Terraform name: the latter carries a construct hash.
    const eipName = tagsOf(body).Name ?? instance.host;
    return [{ nodeId: `eip:${eipName}`, name: eipName, instance }];
  });
}

/**
 * An Elastic IP attached to no one in the JSON but tagged with a role: the
 * address a load-balancer pair shares, which keepalived's notify script moves
 * to whichever member is master (Terraform never attaches it).
 */
interface SharedElasticIp {
  readonly nodeId: string;
  readonly name: string;
  readonly holders: readonly Instance[];
}

function readSharedElasticIps(json: TerraformJson, instances: readonly Instance[]): SharedElasticIp[] {
  const associated = new Set(resourcesOfType(json, "aws_eip_association").map(({ body }) => referencedName(body.allocation_id, "aws_eip")));
  return resourcesOfType(json, "aws_eip").flatMap(({ name, body }): SharedElasticIp[] => {
    const tags = tagsOf(body);
    if (body.instance || body.network_interface || associated.has(name) || tags["ha-web:host"] || !tags["ha-web:role"]) return [];
    const holders = instances.filter((instance) => instance.role === tags["ha-web:role"]);
    if (holders.length === 0) return [];
    const eipName = tags.Name ?? name;
    return [{ nodeId: `eip:${eipName}`, name: eipName, holders }];
  });
}

function sharedElasticIpNode(eip: SharedElasticIp): GraphNode {
  return { id: eip.nodeId, kind: "address", label: "Elastic IP (shared)", detail: [eip.name, "moved by keepalived to the master"] };
}

/** Shared address -> each member that may hold it; and the internet -> it, on the ports the internet may use to reach its holders. */
function sharedElasticIpEdges(eip: SharedElasticIp, flows: readonly GraphEdge[], own: readonly ElasticIp[]): GraphEdge[] {
  const holderTargets = new Set([...eip.holders.map((h) => h.nodeId), ...own.filter((o) => eip.holders.includes(o.instance)).map((o) => o.nodeId)]);
  const ports = [...new Set(flows.filter((f) => f.from === INTERNET_NODE_ID && holderTargets.has(f.to)).map((f) => f.label))];
  return [
    ...ports.map((label): GraphEdge => ({ from: INTERNET_NODE_ID, to: eip.nodeId, kind: "publish", label })),
    ...eip.holders.map((holder): GraphEdge => ({ from: eip.nodeId, to: holder.nodeId, kind: "address", label: "" })),
  ];
}

/**
 * The monitoring host's flows to instances of other tier boxes are scrapes,
 * summarised one arrow per box (see summarizeScrapes); the rest are drawn as is.
 */
function splitScrapes(edges: readonly GraphEdge[], instances: readonly Instance[]): { flows: GraphEdge[]; scrapes: ScrapeFlow[] } {
  const byId = new Map(instances.map((instance) => [instance.nodeId, instance]));
  const boxOf = (instance: Instance) => (instance.subnet ? tierClusterId(instance.subnet, instance.role) : undefined);
  const flows: GraphEdge[] = [];
  const scrapes: ScrapeFlow[] = [];
  for (const edge of edges) {
    const sender = byId.get(edge.from);
    const receiver = byId.get(edge.to);
    const box = receiver && boxOf(receiver);
    if (sender?.role === MONITORING_ROLE && box && box !== boxOf(sender)) {
      scrapes.push({ from: edge.from, to: edge.to, toCluster: box, label: edge.label });
    } else {
      flows.push(edge);
    }
  }
  return { flows, scrapes };
}

/**
 * A role's own way out: egress rules to anywhere on a group tagged with an
 * ha-web role (Alertmanager's to its receiver), from every instance carrying
 * it. The untagged group every host carries (package mirrors, AWS APIs) is
 * plumbing, not a flow of the stack, and is left out, as are group-to-group
 * egress rules, the mirror of the ingress ones drawn already.
 */
function egressEdges(json: TerraformJson, instances: readonly Instance[]): GraphEdge[] {
  return resourcesOfType(json, "aws_vpc_security_group_egress_rule").flatMap(({ body }): GraphEdge[] => {
    const group = referencedName(body.security_group_id, "aws_security_group");
    if (!group || !tagsOf(findResource(json, "aws_security_group", group) ?? {})["ha-web:role"]) return [];
    const cidr = stringArg(body, "cidr_ipv4") ?? stringArg(body, "cidr_ipv6");
    if (!cidr || !ANYWHERE.includes(cidr)) return [];
    return instances
      .filter((instance) => instance.securityGroups.includes(group))
      .map((instance): GraphEdge => ({ from: instance.nodeId, to: INTERNET_NODE_ID, kind: "flow", label: portText(body) }));
  });
}

/** IP protocols without ports, by number, as people name them. */
const PROTOCOL_NAMES: Readonly<Record<string, string>> = { "112": "VRRP" };

/**
 * A portless protocol allowed both ways between two instances (VRRP: whoever is
 * master sends the adverts) is one two-headed edge, as on Docker; TCP both ways
 * (replication) stays two arrows, a different client each way.
 */
function mergePeerFlows(flows: readonly GraphEdge[], instances: readonly Instance[]): GraphEdge[] {
  const portless = (edge: GraphEdge) => edge.kind === "flow" && Object.values(PROTOCOL_NAMES).includes(edge.label);
  const has = (from: string, to: string, label: string) => flows.some((f) => f.from === from && f.to === to && f.label === label);
  const order = (nodeId: string) => instances.findIndex((instance) => instance.nodeId === nodeId);
  return flows.flatMap((edge): GraphEdge[] => {
    if (!portless(edge) || !has(edge.to, edge.from, edge.label)) return [edge];
    return order(edge.from) < order(edge.to) ? [{ ...edge, bidirectional: true }] : [];
  });
}

function elasticIpNode(eip: ElasticIp): GraphNode {
  return { id: eip.nodeId, kind: "endpoint", label: "Elastic IP", detail: [eip.name] };
}

/** Elastic IP -> its instance, once per port let in through it (or unlabelled when none is). */
function elasticIpEdges(eips: readonly ElasticIp[], flows: readonly GraphEdge[]): GraphEdge[] {
  return eips.flatMap((eip): GraphEdge[] => {
    const ports = flows.filter((flow) => flow.to === eip.nodeId).map((flow) => flow.label);
    return (ports.length > 0 ? ports : [""]).map((label) => ({ from: eip.nodeId, to: eip.instance.nodeId, kind: "publish", label }));
  });
}

function portText(rule: TerraformResource): string {
  const protocol = stringArg(rule, "ip_protocol") ?? String(rule.ip_protocol ?? "");
  if (protocol === "-1" || protocol === "all") return "all traffic";
  const from = numberArg(rule, "from_port");
  const to = numberArg(rule, "to_port");
  const ports = from === undefined ? "" : from === to || to === undefined ? `${from}` : `${from}-${to}`;
  return ports ? `${ports}/${protocol}` : (PROTOCOL_NAMES[protocol] ?? protocol);
}

const ANYWHERE = ["0.0.0.0/0", "::/0"];

function cidrNodeId(cidr: string): string {
  return `cidr:${cidr}`;
}

/** Sources given as a narrower CIDR block than "anywhere" get a node of their own. */
function cidrSourceNodes(edges: readonly GraphEdge[]): GraphNode[] {
  const cidrs = [...new Set(edges.map((edge) => edge.from).filter((from) => from.startsWith("cidr:")))];
  return cidrs.map((id) => ({ id, kind: "internet", label: id.slice("cidr:".length), detail: ["allowed CIDR block"] }));
}

/**
 * Arrows from ingress rules: group -> group becomes every instance carrying the
 * source group -> every other instance carrying the target group; an
 * anywhere-CIDR rule comes from the internet, through the instance's Elastic IP
 * when it has one.
 */
function ingressEdges(json: TerraformJson, instances: readonly Instance[], eips: readonly ElasticIp[]): GraphEdge[] {
  const carrying = (group: string) => instances.filter((instance) => instance.securityGroups.includes(group));
  return resourcesOfType(json, "aws_vpc_security_group_ingress_rule").flatMap(({ body }): GraphEdge[] => {
    const target = referencedName(body.security_group_id, "aws_security_group");
    if (!target) return [];
    const label = portText(body);
    const sourceGroup = referencedName(body.referenced_security_group_id, "aws_security_group");
    if (sourceGroup) {
      return carrying(sourceGroup).flatMap((sender) =>
        carrying(target)
          .filter((receiver) => receiver !== sender)
          .map((receiver): GraphEdge => ({ from: sender.nodeId, to: receiver.nodeId, kind: "flow", label })),
      );
    }
    const cidr = stringArg(body, "cidr_ipv4") ?? stringArg(body, "cidr_ipv6");
    if (!cidr) return [];
    const source = ANYWHERE.includes(cidr) ? INTERNET_NODE_ID : cidrNodeId(cidr);
    return carrying(target).map((receiver): GraphEdge => {
      const eip = eips.find((candidate) => candidate.instance === receiver);
      return { from: source, to: eip ? eip.nodeId : receiver.nodeId, kind: eip ? "publish" : "flow", label };
    });
  });
}
