/**
 * The graph of the `local` example stack (Docker), read from its synthesized
 * JSON only: containers by tier (sidecars folded into their owners), the
 * networks they share, the allowed flows (VRRP between the load-balancer pair
 * included), the published ports, the pair's virtual address, and the
 * monitoring tier's scrapes, alerts and way out.
 */
import { Testing } from "cdktf";
import { LocalStack } from "../../../main";
import { toDot } from "../../../tools/diagram/dot";
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

/** Terraform names of the sidecar containers (in another container's network namespace) whose name ends with `suffix`. */
function sidecarNames(json: any, suffix: string): string[] {
  return Object.entries<any>(json.resource.docker_container)
    .filter(([, body]) => String(body.network_mode ?? "").startsWith("container:") && String(body.name).endsWith(suffix))
    .map(([name]) => name);
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
  test("is a Docker graph of the 10 containers with networks of their own, each in the box of its tier", () => {
    expect(graph.target).toBe("docker");
    const containers = graph.nodes.filter((node) => node.kind === "container");
    expect(Object.fromEntries(containers.map((node) => [node.label, clusterChain(graph, node.id)]))).toEqual({
      "lb-1": ["load-balancer tier"],
      "lb-2": ["load-balancer tier"],
      "web-1": ["web tier"],
      "web-2": ["web tier"],
      "web-1-app": ["web tier"],
      "web-2-app": ["web tier"],
      "db-primary": ["database tier"],
      "db-replica-1": ["database tier"],
      monitoring: ["monitoring tier"],
      "monitoring-alertmanager": ["monitoring tier"],
    });
    expect(containers.find((node) => node.label === "web-1-app")!.detail).toEqual(["app on host web-1", "node:22-trixie-slim"]);
    // An image the stack builds (HAProxy plus keepalived) reads as its base and packages, not its generated name.
    expect(containers.find((node) => node.label === "lb-2")!.detail).toEqual(["load-balancer", "haproxy:2.6-trixie + iproute2 keepalived"]);
    // Alertmanager is a container of its own (no sidecar of Prometheus), on the monitoring host.
    expect(containers.find((node) => node.label === "monitoring-alertmanager")!.detail).toEqual([
      "monitoring on host monitoring",
      "debian:trixie-slim + prometheus-alertmanager",
    ]);
  });

  test("folds each sidecar into its owner's box as a line: what it runs and the ports others reach it on", () => {
    const sidecars = Object.fromEntries(graph.nodes.filter((node) => node.sidecars).map((node) => [node.label, node.sidecars]));
    expect(sidecars).toEqual({
      "web-1": ["+ prometheus-nginx-exporter :9113"],
      "web-2": ["+ prometheus-nginx-exporter :9113"],
      "db-primary": ["+ prometheus-mysqld-exporter :9104"],
      // The backup source's textfile exporter (the backup metrics).
      "db-replica-1": ["+ prometheus-mysqld-exporter :9104", "+ prometheus-node-exporter :9100"],
    });
    // No node of their own, under any name: 5 sidecars in the JSON, 10 machines in the picture.
    expect(sidecarNames(synthesized, "")).toHaveLength(5);
    expect(graph.nodes.filter((node) => /exporter/.test(node.label))).toEqual([]);
    expect(graph.nodes.find((node) => node.label === "monitoring")!.detail).toEqual(["monitoring", "debian:trixie-slim + prometheus"]);
  });

  test("groups the containers under their 7 drawn networks, each a box of its own", () => {
    expect(networkMembers(graph)).toEqual({
      "haweb-edge": ["lb-1", "lb-2"],
      "haweb-lb-web": ["lb-1", "lb-2", "web-1", "web-2"],
      "haweb-web-app": ["web-1", "web-1-app", "web-2", "web-2-app"],
      "haweb-app-db": ["db-primary", "db-replica-1", "web-1-app", "web-2-app"],
      "haweb-db-db": ["db-primary", "db-replica-1"],
      // Alertmanager's way out; Prometheus has none. haweb-mon-mon, between the two, is folded (see the scrapes).
      "haweb-mon-out": ["monitoring-alertmanager"],
      "haweb-mon-pub": ["monitoring"],
    });
    const networkBoxes = graph.clusters.filter((cluster) => cluster.kind === "network");
    expect(networkBoxes.map((cluster) => [cluster.label, cluster.detail])).toEqual([
      ["haweb-edge", ["bridge network"]],
      ["haweb-lb-web", ["internal bridge, no route out"]],
      ["haweb-web-app", ["internal bridge, no route out"]],
      ["haweb-app-db", ["internal bridge, no route out"]],
      ["haweb-db-db", ["internal bridge, no route out"]],
      ["haweb-mon-out", ["bridge network"]],
      ["haweb-mon-pub", ["bridge, host only (no masquerading)"]],
    ]);
    // A network between containers of one tier is drawn inside that tier's box.
    expect(clusterChain(graph, "network:haweb-web-app")).toEqual(["haweb-web-app", "web tier"]);
    expect(clusterChain(graph, "network:haweb-edge")).toEqual(["haweb-edge", "load-balancer tier"]);
    expect(clusterChain(graph, "network:haweb-lb-web")).toEqual(["haweb-lb-web"]);
  });

  test("draws exactly the flows the ingress labels allow between containers sharing a network, with their ports", () => {
    expect(edgeLines(graph, "flow")).toEqual([
      "db-primary -> db-replica-1 [3306/tcp]",
      "db-replica-1 -> db-primary [3306/tcp]",
      "lb-1 -> web-1 [80/tcp]",
      "lb-1 -> web-2 [80/tcp]",
      "lb-1 <-> lb-2 [VRRP]",
      "lb-2 -> web-1 [80/tcp]",
      "lb-2 -> web-2 [80/tcp]",
      // Prometheus sends alerts to Alertmanager, straight across the tier's own network (not drawn, see the scrapes).
      "monitoring -> monitoring-alertmanager [9093/tcp]",
      // Not from an ingress label: Alertmanager's way out (see below). The scrapes are summaries, not flows.
      "monitoring-alertmanager -> internet / host [outbound]",
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
    const alerts = graph.edges.find((edge) => edge.from === "container:monitoring" && edge.to === "container:monitoring-alertmanager");
    expect(alerts).toEqual({ from: "container:monitoring", to: "container:monitoring-alertmanager", kind: "flow", label: "9093/tcp" });
  });

  test("draws VRRP between the load-balancer pair once, two-headed, across the edge network, with no port 0", () => {
    const vrrp = graph.edges.filter((edge) => edge.label === "VRRP");
    expect(vrrp).toEqual([{ from: "container:lb-1", to: "container:lb-2", kind: "flow", label: "VRRP", via: "network:haweb-edge", bidirectional: true }]);
    expect(graph.edges.filter((edge) => edge.label.startsWith("0/"))).toEqual([]);
    // In DOT: one statement between the two, with both arrowheads, and none back.
    const dot = toDot(graph);
    expect(dot).toContain('"container:lb-1" -> "container:lb-2" [label="VRRP"');
    expect(dot).toMatch(/"container:lb-1" -> "container:lb-2" \[[^\]]*dir=both/);
    expect(dot).not.toContain('"container:lb-2" -> "container:lb-1"');
  });

  test("keeps a one-way VRRP flow as one arrow", () => {
    const changed = graphOfChanged((json) => {
      // lb-1 no longer accepts VRRP: only lb-2 does, from lb-1.
      const ingress = container(json, "lb-1").labels.find((entry: any) => entry.label === "ha-web.ingress");
      ingress.value = ingress.value.replace(/\s*0\/vrrp:load-balancer/, "");
    });
    expect(edgeLines(changed, "flow").filter((line) => line.includes("VRRP"))).toEqual(["lb-1 -> lb-2 [VRRP]"]);
  });

  test("shows the 5 published ports, the load balancers' and Prometheus', as the ways in from the internet / host", () => {
    expect(graph.nodes.find((node) => node.kind === "internet")?.label).toBe("internet / host");
    expect(graph.nodes.filter((node) => node.kind === "endpoint").map((node) => node.label)).toEqual([
      "127.0.0.1:8080",
      "127.0.0.1:8081",
      "127.0.0.1:8082",
      "127.0.0.1:8083",
      "127.0.0.1:8084",
    ]);
    expect(edgeLines(graph, "publish")).toEqual([
      "127.0.0.1:8080 -> lb-1 [80/tcp]",
      "127.0.0.1:8081 -> lb-1 [443/tcp]",
      "127.0.0.1:8082 -> lb-2 [80/tcp]",
      "127.0.0.1:8083 -> lb-2 [443/tcp]",
      // Across haweb-mon-pub: Docker forwards a published port only over a non-internal network (moby/moby#36174).
      "127.0.0.1:8084 -> monitoring [9090/tcp]",
      "internet / host -> 127.0.0.1:8080 [8080/tcp]",
      "internet / host -> 127.0.0.1:8081 [8081/tcp]",
      "internet / host -> 127.0.0.1:8082 [8082/tcp]",
      "internet / host -> 127.0.0.1:8083 [8083/tcp]",
      "internet / host -> 127.0.0.1:8084 [8084/tcp]",
    ]);
    // Each arrives over its container's non-internal network: Prometheus' is haweb-mon-pub, which reaches only the host.
    const publishedVia = graph.edges
      .filter((edge) => edge.kind === "publish" && edge.to.startsWith("container:"))
      .map((edge) => `${labelOf(graph, edge.to)} ${edge.via}`);
    expect(new Set(publishedVia)).toEqual(new Set(["lb-1 network:haweb-edge", "lb-2 network:haweb-edge", "monitoring network:haweb-mon-pub"]));
    // On internal networks only, Docker forwards no published port (moby/moby#36174): the arrow says so.
    const unrouted = graphOfChanged((json) => {
      const pubKey = Object.keys(json.resource.docker_network).find((key) => json.resource.docker_network[key].name.endsWith("mon-pub"))!;
      const prometheus = container(json, "monitoring");
      prometheus.networks_advanced = prometheus.networks_advanced.filter((n: { name: string }) => !n.name.includes(pubKey));
    });
    expect(unrouted.edges.find((edge) => edge.kind === "publish" && edge.to === "container:monitoring")).toMatchObject({
      label: "9090/tcp (unreachable:\ninternal networks only)",
    });
    // In DOT the published ports keep their order left to right.
    expect(toDot(graph)).toContain(
      '{ rank=same; "published:127.0.0.1:8080/tcp" -> "published:127.0.0.1:8081/tcp" -> "published:127.0.0.1:8082/tcp" -> "published:127.0.0.1:8083/tcp" -> "published:127.0.0.1:8084/tcp" [style=invis] }',
    );
  });

  test("draws the monitoring host's scrapes as one arrow per tier, labelled with the ports, beside the middle tier", () => {
    expect(edgeLines(graph, "scrape")).toEqual([
      "monitoring -> database tier [9100, 9104/tcp]",
      "monitoring -> load-balancer tier [8405/tcp]",
      "monitoring -> web tier [9113, 9464/tcp]",
    ]);
    // Each is anchored on the first receiver of its tier, and ends at the tier's box.
    expect(graph.edges.filter((edge) => edge.kind === "scrape").map((edge) => [edge.to, edge.toCluster])).toEqual([
      ["container:lb-1", "tier:local/load-balancer"],
      ["container:web-1", "tier:local/web"],
      ["container:db-primary", "tier:local/database"],
    ]);
    // The networks only scrapes cross are no boxes: the monitoring tier's box names them.
    expect(graph.clusters.find((cluster) => cluster.label === "monitoring tier")!.detail).toEqual([
      "local/monitoring",
      "scrapes across internal networks",
      "haweb-mon-lb, haweb-mon-web",
      "haweb-mon-app, haweb-mon-db",
      // Nor is the tier's own network, Prometheus -> Alertmanager: its arrow goes straight.
      "within the tier: haweb-mon-mon",
    ]);
    expect(graph.nodes.filter((node) => node.label.startsWith("haweb-mon-") && !["haweb-mon-out", "haweb-mon-pub"].includes(node.label))).toEqual([]);
    // Level with the web tier, the middle of the three it watches: arrows up, across and down.
    expect(graph.nodes.find((node) => node.label === "monitoring")!.alignWith).toBe("container:web-1");
    // No port is scraped in every tier here, so none is said once on the host instead.
    expect(graph.nodes.find((node) => node.label === "monitoring")!.detail.some((line) => line.startsWith("scrapes"))).toBe(false);
  });

  test("scrapes a sidecar's port at its owner: without the Nginx exporters, the web tier is scraped on the apps' port only", () => {
    const changed = graphOfChanged((json) => {
      for (const name of sidecarNames(json, "-nginx-exporter")) delete json.resource.docker_container[name];
    });
    expect(edgeLines(changed, "scrape")).toContain("monitoring -> web tier [9464/tcp]");
    expect(changed.nodes.find((node) => node.label === "web-1")!.sidecars).toBeUndefined();
  });

  test("finds a sidecar's owner by a literal container name as well as by a ${docker_container.X.name} reference", () => {
    const changed = graphOfChanged((json) => {
      for (const body of Object.values<any>(json.resource.docker_container)) {
        const match = /^container:\$\{docker_container\.([^.]+)\.name\}$/.exec(body.network_mode ?? "");
        if (match) body.network_mode = `container:${json.resource.docker_container[match[1]].name}`;
      }
    });
    expect(changed).toEqual(graph);
  });

  test("draws Alertmanager's way out to the internet across its own network, and no way out for the edge network", () => {
    expect(edgeLines(graph).filter((line) => line.endsWith("[outbound]"))).toEqual(["monitoring-alertmanager -> internet / host [outbound]"]);
    expect(graph.edges.find((edge) => edge.label === "outbound")?.via).toBe("network:haweb-mon-out");
    // In DOT it points up at the internet, written the other way round so the internet stays on top.
    expect(toDot(graph)).toMatch(/"internet" -> "network:haweb-mon-out" \[label="outbound"[^\]]*dir=back[^\]]*lhead=cluster_\d+\]/);
    // An internal network is no way out, whatever the ingress of its members.
    const internal = graphOfChanged((json) => {
      for (const network of Object.values<any>(json.resource.docker_network)) if (network.name.endsWith("mon-out")) network.internal = true;
    });
    expect(edgeLines(internal).filter((line) => line.endsWith("[outbound]"))).toEqual([]);
  });

  test("shows the pair's virtual address 10.213.0.10 on the edge network, pointing at both load balancers", () => {
    const address = graph.nodes.find((node) => node.kind === "address");
    expect(address).toMatchObject({ label: "10.213.0.10", detail: ["virtual address (keepalived)", "held by the VRRP master"] });
    expect(clusterChain(graph, address!.id)).toEqual(["haweb-edge", "load-balancer tier"]);
    expect(edgeLines(graph, "address")).toEqual(["10.213.0.10 -> lb-1 []", "10.213.0.10 -> lb-2 []"]);
    // Without ipam_config the address still lands on the pair's network with a route out.
    const withoutIpam = graphOfChanged((json) => {
      for (const network of Object.values<any>(json.resource.docker_network)) delete network.ipam_config;
    });
    expect(withoutIpam.nodes.find((node) => node.kind === "address")?.cluster).toBe("network:haweb-edge");
  });

  test("draws no arrow between containers that share no network, whatever their ingress says", () => {
    const changed = graphOfChanged((json) => {
      // lb-1 leaves haweb-lb-web: it keeps only the edge network, which it still shares with lb-2.
      const lb = container(json, "lb-1");
      lb.networks_advanced = lb.networks_advanced.filter((attachment: any) => !String(attachment.name).includes("lb-web"));
    });
    // No arrow to the web nodes any more; VRRP with lb-2 across the edge network is a real flow and stays.
    expect(edgeLines(changed, "flow").filter((line) => line.startsWith("lb-1"))).toEqual(["lb-1 <-> lb-2 [VRRP]"]);
    expect(changed.edges.find((edge) => edge.label === "VRRP")?.via).toBe("network:haweb-edge");
    expect(edgeLines(changed, "flow").filter((line) => line.startsWith("lb-2 ->"))).toEqual(["lb-2 -> web-1 [80/tcp]", "lb-2 -> web-2 [80/tcp]"]);
  });

  test("resolves literal network names as well as ${docker_network.X.name} references", () => {
    const changed = graphOfChanged((json) => {
      for (const body of Object.values<any>(json.resource.docker_container)) {
        // A sidecar has no networks of its own.
        for (const attachment of body.networks_advanced ?? []) {
          const key = /^\$\{docker_network\.([^.]+)\.name\}$/.exec(attachment.name)![1];
          attachment.name = json.resource.docker_network[key].name;
        }
      }
    });
    expect(edgeLines(changed)).toEqual(edgeLines(graph));
  });

  test("marks ingress from the internet that no published port serves", () => {
    const changed = graphOfChanged((json) => delete container(json, "lb-1").ports);
    expect(edgeLines(changed).filter((line) => line.startsWith("internet"))).toEqual([
      "internet / host -> 127.0.0.1:8082 [8082/tcp]",
      "internet / host -> 127.0.0.1:8083 [8083/tcp]",
      "internet / host -> 127.0.0.1:8084 [8084/tcp]",
      "internet / host -> lb-1 [443/tcp (not published)]",
      "internet / host -> lb-1 [80/tcp (not published)]",
    ]);
  });
});
