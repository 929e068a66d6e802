/**
 * The host firewall of every lab namespace: the same nftables ruleset a VM of the
 * stack loads (templates/nftables.ts's renderFirewallRuleset, not a second
 * renderer), made from the flow model the Docker target writes on each container
 * as its `ha-web.ingress` label: `PORT/PROTOCOL:FROM` entries, FROM a role
 * (`ha-web.role` of the peers) or `internet`. A role's sources are the lab
 * addresses of the other containers with that role on the networks they share
 * with this one; `internet` is any source; `0/vrrp:ROLE` allows VRRP (IP
 * protocol 112) from those peers.
 */
import { FirewallConfig, FirewallRule, renderFirewallRuleset } from "../templates/nftables";
import { LabContainer, LabPlan } from "./spec";
import { FACT_LABEL_PREFIX, MissingFactError, ROLES } from "./stack";

export const INGRESS_LABEL = `${FACT_LABEL_PREFIX}ingress`;

export interface IngressEntry {
  port?: number;
  protocol: "tcp" | "udp" | "vrrp";
  /** A role, or "internet". */
  from: string;
}

/** `80/tcp:internet 0/vrrp:load-balancer` → entries; a malformed entry fails with the container and its JSON path. */
export function parseIngress(c: LabContainer): IngressEntry[] {
  const raw = c.labels[INGRESS_LABEL] ?? "";
  return raw
    .split(/\s+/)
    .filter(Boolean)
    .map((entry) => {
      const m = /^(\d+)\/(tcp|udp|vrrp):([a-z0-9-]+)$/.exec(entry);
      const bad = (why: string) =>
        new MissingFactError(
          `${c.name} ($.resource.docker_container.${c.key}.labels): the label "${INGRESS_LABEL}" has "${entry}": ${why}; the lab needs it for the namespace's firewall`,
        );
      if (!m) throw bad("not PORT/PROTOCOL:FROM (tcp, udp or vrrp)");
      const [, port, protocol, from] = m;
      if (from !== "internet" && !(ROLES as readonly string[]).includes(from)) throw bad(`"${from}" is neither a role (${ROLES.join(", ")}) nor internet`);
      if (protocol === "vrrp") {
        if (port !== "0") throw bad("a VRRP flow has port 0");
        return { protocol: "vrrp" as const, from };
      }
      const n = Number(port);
      if (n < 1 || n > 65535) throw bad(`port ${port} is outside 1-65535`);
      return { port: n, protocol: protocol as "tcp" | "udp", from };
    });
}

/**
 * The firewall of the network namespace container `c` runs in: its own ingress
 * flows and those of its sidecars (containers with `network_mode =
 * "container:<c>"`, which share the namespace; a sidecar's own label lists only
 * its own flows), with the lab's addresses. For a sidecar, its owner's
 * namespace's firewall. Undefined when no container of the namespace has a role
 * label (an unlabelled container runs without one); a labelled one without
 * `ha-web.ingress` fails.
 */
export function firewallConfig(plan: LabPlan, addressesOf: (container: string) => Record<string, string>, c: LabContainer): FirewallConfig | undefined {
  const owner = c.networkOf === undefined ? c : plan.containers.find((x) => x.name === c.networkOf);
  if (!owner) throw new Error(`${c.name}: network_mode names ${c.networkOf}, which is not in the plan`);
  const members = [owner, ...plan.containers.filter((x) => x.networkOf === owner.name)];
  const labelled = members.filter((m) => m.labels[`${FACT_LABEL_PREFIX}role`] !== undefined);
  if (labelled.length === 0) return undefined;
  for (const m of labelled) {
    if (m.labels[INGRESS_LABEL] === undefined)
      throw new MissingFactError(
        `${m.name} ($.resource.docker_container.${m.key}.labels): the label "${INGRESS_LABEL}" is missing; the lab needs it for the namespace's firewall. ` +
          "The Docker target writes it on every container: synthesize the stack again (npm run synth).",
      );
  }
  const ownNetworks = new Set(owner.networks.map((n) => n.network));
  const memberNames = new Set(members.map((m) => m.name));
  // A peer's networks and addresses are those of the namespace it runs in (a sidecar's: its owner's).
  const namespaceOf = (p: LabContainer) => (p.networkOf === undefined ? p : (plan.containers.find((x) => x.name === p.networkOf) ?? p));
  const sourcesOf = (role: string): string[] =>
    plan.containers
      .filter((p) => !memberNames.has(p.name) && p.labels[`${FACT_LABEL_PREFIX}role`] === role)
      .map(namespaceOf)
      .filter((p) => !memberNames.has(p.name))
      .flatMap((p) =>
        p.networks
          .filter((n) => ownNetworks.has(n.network))
          .map((n) => addressesOf(p.name)[n.network])
          .filter(Boolean),
      );
  const rules: FirewallRule[] = [];
  for (const e of labelled.flatMap((m) => parseIngress(m))) {
    const comment = `${e.protocol === "vrrp" ? "vrrp" : `${e.port}/${e.protocol}`} from ${e.from}`;
    if (e.from === "internet") {
      rules.push({ protocol: e.protocol, port: e.port, sources: "any", comment });
      continue;
    }
    const sources = [...new Set(sourcesOf(e.from))].sort();
    // No peer of that role shares a network (a single load balancer's VRRP flow): nothing to allow.
    if (sources.length > 0) rules.push({ protocol: e.protocol, port: e.port, sources, comment });
  }
  return { hostName: owner.hostname, rules };
}

/** The `nft -f` file of the namespace container `c` runs in (renderFirewallRuleset), or undefined (see firewallConfig). */
export function firewallRuleset(plan: LabPlan, addressesOf: (container: string) => Record<string, string>, c: LabContainer): string | undefined {
  const config = firewallConfig(plan, addressesOf, c);
  return config ? renderFirewallRuleset(config) : undefined;
}
