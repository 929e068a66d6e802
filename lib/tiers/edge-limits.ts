/**
 * The abuse limits of the edge (issue 13): LoadBalancerTier `limits` (HAProxy)
 * and WebAppTier `limits` (Nginx). The props, their defaults and the rendered
 * lines live in templates/edge-limits.ts; this file adds what needs both tiers.
 */
import { HaproxyLimits, NginxLimits, resolveHaproxyLimits, ResolvedNginxLimits } from "../../templates/edge-limits";
import { PropValidator } from "../private/validation";

/**
 * LoadBalancerTier `limits`: the request-body timeout, per-client connection and
 * request-rate limits, the public listeners' and every web node's maxconn.
 * Every field and its default: HaproxyLimits, HAPROXY_LIMITS_DEFAULTS.
 */
export type EdgeLimitsProps = HaproxyLimits;

/**
 * WebAppTier `limits`: Nginx's header, body and send timeouts, worker
 * connections and the per-client connection limit. Every field and its
 * default: NginxLimits, NGINX_LIMITS_DEFAULTS.
 */
export type WebLimitsProps = NginxLimits;

/**
 * A web node must hold what one load balancer sends it: a proxied request holds
 * two of Nginx's connections (the client's, the app's), and the health checks and
 * the exporter need a few more, counted for one worker (worker_processes may be 1).
 */
export const WEB_CONNECTION_HEADROOM = 32;

export function checkLimitsAgainstWebTier(v: PropValidator, lb: EdgeLimitsProps | undefined, web: ResolvedNginxLimits): void {
  const perServer = resolveHaproxyLimits(lb).maxConnectionsPerServer;
  // The cap applies in each of HAProxy's two web backends (web_nodes, web_nodes_once): a node can get it twice.
  const perNode = perServer * 2;
  v.check(
    !Number.isInteger(perServer) || perNode * 2 + WEB_CONNECTION_HEADROOM <= web.workerConnections,
    "limits.maxConnectionsPerServer",
    `is ${perServer}: a web node can get that from each of HAProxy's two web backends and would need ${perNode * 2 + WEB_CONNECTION_HEADROOM} Nginx connections (2 per request plus ${WEB_CONNECTION_HEADROOM} for checks), more than the web tier's limits.workerConnections (${web.workerConnections}); a full node would fail its health checks and be marked down`,
    `use at most ${Math.floor((web.workerConnections - WEB_CONNECTION_HEADROOM) / 4)}, or raise the web tier's limits.workerConnections`,
  );
  v.check(
    !Number.isInteger(perServer) || web.maxConnectionsPerClient >= perNode,
    "limits.maxConnectionsPerServer",
    `is ${perServer} per backend (${perNode} per node), above the web tier's limits.maxConnectionsPerClient (${web.maxConnectionsPerClient}): Nginx would answer 429 to requests HAProxy admitted for one busy client`,
    `use at most ${Math.floor(web.maxConnectionsPerClient / 2)}, or raise the web tier's limits.maxConnectionsPerClient`,
  );
}
