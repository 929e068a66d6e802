import { Construct } from "constructs";
import { BalanceAlgorithm, HAPROXY_DEFAULTS, HaproxyHealthCheck, HaproxyServer, HaproxyTimeouts, renderHaproxyConfig } from "../../templates/haproxy";
import { PATHS } from "../../templates/paths";
import { renderLoadBalancerStartScript } from "../../templates/scripts/load-balancer";
import { IWebBackends, LoadBalancerEndpoint, WebNode } from "../interfaces";
import { httpHealthCheck, httpHealthcheckFile, startCommand, startScriptFile } from "../private/host-files";
import { DeployedHost, DeploymentTarget } from "../targets/target";
import { validateLoadBalancerTierProps } from "./validate-load-balancer-tier-props";

export interface LoadBalancerTierProps {
  readonly target: DeploymentTarget;
  /** The web nodes to balance over (a WebAppTier, or your own IWebBackends). Either this or `backends`. */
  readonly webTier?: IWebBackends;
  /** Explicit web nodes (instead of, or in addition to, `webTier`). @default [] */
  readonly backends?: WebNode[];
  /** Number of load balancer nodes, each running HAProxy. @default 1 */
  readonly nodes?: number;
  /** Prefix of node names: `<prefix>-1`, ... @default "lb" */
  readonly namePrefix?: string;
  /** Port HAProxy listens on for HTTP (what the target publishes). @default 80 */
  readonly port?: number;
  /** Port of the stats page and Prometheus `/metrics`. @default 8404 */
  readonly statsPort?: number;
  /** @default "roundrobin" */
  readonly algorithm?: BalanceAlgorithm;
  /** Active health checks of the web nodes. @default GET of the web tier's health path every 2 s, fall 3, rise 2 */
  readonly healthCheck?: HaproxyHealthCheck;
  /** Retries (on another node) after a failed attempt. @default 3 */
  readonly retries?: number;
  /** @default connect 5 s, client and server 50 s, http-request 10 s, keep-alive 10 s, queue 30 s, check 2 s */
  readonly timeouts?: HaproxyTimeouts;
}

/** The defaults of LoadBalancerTierProps (the one source for code, docs and tests). */
export const LOAD_BALANCER_TIER_DEFAULTS = {
  nodes: 1,
  namePrefix: "lb",
  port: HAPROXY_DEFAULTS.httpPort,
  statsPort: HAPROXY_DEFAULTS.statsPort,
} as const;

/** HAProxy starts in a second; slack for a cold VM or image. */
const LB_START_PERIOD_SECONDS = 20;
/**
 * Longer than HAProxy's graceful stop: `docker stop` sends the official image's
 * STOPSIGNAL, SIGUSR1 (soft stop), and the workers finish their connections for
 * at most `hard-stop-after 30s` (templates/haproxy.ts); 5 s more for the master
 * to exit before the SIGKILL.
 */
const LB_STOP_TIMEOUT_SECONDS = 35;

/**
 * HAProxy in front of a web tier: round-robin (by default) over every web node,
 * active health checks, retries with redispatch for idempotent requests.
 */
export class LoadBalancerTier extends Construct {
  /** Where clients reach the first load balancer node. */
  public readonly endpoint: LoadBalancerEndpoint;
  /** One endpoint per load balancer node. */
  public readonly endpoints: LoadBalancerEndpoint[];
  public readonly hosts: DeployedHost[];
  /** The web nodes every load balancer node balances over. */
  public readonly backends: WebNode[];

  constructor(scope: Construct, id: string, props: LoadBalancerTierProps) {
    super(scope, id);
    const d = LOAD_BALANCER_TIER_DEFAULTS;
    const count = props.nodes ?? d.nodes;
    const prefix = props.namePrefix ?? d.namePrefix;
    const port = props.port ?? d.port;
    const statsPort = props.statsPort ?? d.statsPort;
    this.backends = [...(props.webTier?.backends ?? []), ...(props.backends ?? [])];
    const healthCheck: HaproxyHealthCheck = { path: props.webTier?.healthPath, ...props.healthCheck };
    const servers: HaproxyServer[] = this.backends.map((b) => ({ name: b.name, host: b.host, port: b.port }));
    const sample = {
      nodeName: `${prefix}-1`,
      httpPort: port,
      statsPort,
      servers,
      algorithm: props.algorithm,
      healthCheck,
      retries: props.retries,
      timeouts: props.timeouts,
    };
    validateLoadBalancerTierProps(this, props, { nodes: count, namePrefix: prefix, port, statsPort, sample });
    const check = { ...HAPROXY_DEFAULTS.healthCheck, ...Object.fromEntries(Object.entries(healthCheck).filter(([, v]) => v !== undefined)) };

    this.hosts = [];
    this.endpoints = [];
    for (let i = 1; i <= count; i++) {
      const name = `${prefix}-${i}`;
      const host = props.target.addHost(this, {
        name,
        role: "load-balancer",
        services: [
          {
            name,
            role: "load-balancer",
            software: "haproxy",
            command: startCommand("lb"),
            files: [
              { path: PATHS.haproxyConfig, content: renderHaproxyConfig({ ...sample, nodeName: name }) },
              startScriptFile("lb", renderLoadBalancerStartScript()),
              httpHealthcheckFile(),
            ],
            environment: {},
            secretEnvironment: {},
            ingress: [{ port, from: "internet", description: "clients to the HTTP listener" }],
            egress: [...new Set(this.backends.map((b) => b.port))].map((backendPort) => ({
              port: backendPort,
              to: "web" as const,
              description: "load balancer to the web nodes",
            })),
            healthCheck: { command: httpHealthCheck(statsPort, "/healthz"), startPeriodSeconds: LB_START_PERIOD_SECONDS },
            user: "root", // binds its port, then drops privileges
            stopTimeoutSeconds: LB_STOP_TIMEOUT_SECONDS,
            publish: { port },
            // Only the web tier's nodes are ours to wait for; explicit backends live elsewhere.
            dependsOn: [...(props.webTier?.dependables ?? [])],
            facts: {
              "listen-port": String(port),
              "stats-port": String(statsPort),
              "health-check": `inter=${check.intervalMs} fall=${check.fall} rise=${check.rise} path=${check.path}`,
            },
            declaredBy: { construct: "LoadBalancerTier", scope: this, props: {} },
          },
        ],
      });
      this.hosts.push(host);
      const published = host.published ?? { address: host.address, port };
      this.endpoints.push({ host: published.address, port: published.port, url: `http://${published.address}:${published.port}` });
    }
    this.endpoint = this.endpoints[0];
  }
}
