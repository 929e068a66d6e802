/**
 * Client namespaces outside the stack, for the bench's load: the way `docker run
 * --network X` attaches a client container (Lab.attach: one veth into the
 * network's bridge, recorded in the lab's state so `down` removes it too).
 *
 *  - `edge`: on the load balancers' public network (the one that is not
 *    internal), where the stack's real clients come from;
 *  - `inside`: on the network the load balancers share with the web nodes, for
 *    the "directly to one web node" path. The web nodes' firewalls accept port 80
 *    from the load balancers only; `allowDirect` adds one rule accepting this
 *    client's address too (the rule goes with the lab, or with `disallowDirect`).
 *
 * Both are bare namespaces with the host's tools (wrk, h2load, openssl): the
 * same client on both paths, and no process of the stack shares their
 * namespace (the load balancer's own netns would put the client's softirq work
 * on HAProxy's side of the counters).
 */
import { Lab } from "./runner";

export interface ClientNamespace {
  /** The name Lab.netExec / netSpawn take. */
  readonly name: string;
  readonly netns: string;
  readonly network: string;
  readonly address: string;
}

export interface BenchClients {
  readonly edge: ClientNamespace;
  readonly inside: ClientNamespace;
}

const RULE_COMMENT = "bench client";

/** The load balancer's public network (not internal) and the network it shares with `web`. */
export function benchNetworks(lab: Lab, lb: string, web: string): { edge: string; inside: string } {
  const state = lab.state;
  if (!state) throw new Error("benchNetworks: the lab is not up");
  const lbNets = lab.container(lb).spec.networks.map((n) => n.network);
  const webNets = new Set(lab.container(web).spec.networks.map((n) => n.network));
  const edge = lbNets.find((n) => state.networks.find((s) => s.name === n)?.internal === false);
  const inside = lbNets.find((n) => webNets.has(n));
  if (!edge) throw new Error(`benchNetworks: ${lb} is on no public (non-internal) network`);
  if (!inside) throw new Error(`benchNetworks: ${lb} and ${web} share no network`);
  return { edge, inside };
}

/** Attaches `<prefix>-edge` and `<prefix>-inside` (see the file's comment). */
export function attachBenchClients(lab: Lab, lb: string, web: string, prefix = "bench"): BenchClients {
  const nets = benchNetworks(lab, lb, web);
  const one = (suffix: string, network: string): ClientNamespace => {
    const name = `${prefix}-${suffix}`;
    const a = lab.attach(name, network);
    return { name, netns: a.netns, network, address: a.address };
  };
  return { edge: one("edge", nets.edge), inside: one("inside", nets.inside) };
}

/** Lets `client` reach `web`'s `port` through the web node's firewall (one nftables rule, first in its input chain). */
export function allowDirect(lab: Lab, web: string, client: ClientNamespace, port: number): void {
  const r = lab.netExec(web, [
    "nft",
    "insert",
    "rule",
    "inet",
    "ha_web",
    "input",
    "ip",
    "saddr",
    client.address,
    "tcp",
    "dport",
    String(port),
    "accept",
    "comment",
    `"${RULE_COMMENT}"`,
  ]);
  if (r.status !== 0) throw new Error(`allowDirect: nft on ${web}: ${r.stderr}`);
}

/** Removes the rules allowDirect added on `web` (by their comment); returns how many. */
export function disallowDirect(lab: Lab, web: string): number {
  const listed = lab.netExec(web, ["nft", "-a", "list", "chain", "inet", "ha_web", "input"]);
  const handles = [...String(listed.stdout).matchAll(new RegExp(`comment "${RULE_COMMENT}" # handle (\\d+)`, "g"))].map((m) => m[1]);
  for (const h of handles) lab.netExec(web, ["nft", "delete", "rule", "inet", "ha_web", "input", "handle", h]);
  return handles.length;
}

/** The HAProxy worker of a load balancer container (the child of the master, `-W`): its host PID. */
export function haproxyWorkerPid(lab: Lab, lb: string): number {
  const procs = lab.processes(lb).filter((p) => p.comm === "haproxy");
  const masters = new Set(procs.map((p) => p.ref.pid));
  const workers = procs.filter((p) => masters.has(p.ppid));
  if (workers.length !== 1) throw new Error(`haproxyWorkerPid: ${workers.length} HAProxy workers in ${lb} (want 1)`);
  return workers[0].ref.pid;
}
