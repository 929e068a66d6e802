import { Construct } from "constructs";
import { BalanceAlgorithm, HaproxyHealthCheck, HaproxyServer, HaproxyTimeouts, renderHaproxyConfig } from "../../templates/haproxy";
import { PATHS } from "../../templates/paths";
import { renderLoadBalancerStartScript } from "../../templates/scripts/load-balancer";
import { DeployedHost, DeploymentTarget } from "../targets/target";
import { validateLoadBalancerTierProps } from "./validate-load-balancer-tier-props";
import { httpHealthCheck, httpHealthcheckFile, startCommand, startScriptFile } from "./host-files";
import { WebAppTier, WebNode } from "./web-app-tier";

export interface LoadBalancerTierProps {
  readonly target: DeploymentTarget;
  /** The web tier to balance over. Either this or `backends`. */
  readonly webTier?: WebAppTier;
  /** Explicit web nodes (instead of, or in addition to, `webTier`). @default [] */
  readonly backends?: WebNode[];
  /** Number of load balancer nodes, each running HAProxy. @default 1 */
  readonly nodes?: number;
  /** Prefix of node names: `<prefix>-1`, ... @default "lb" */
  readonly namePrefix?: string;
  /** Port HAProxy listens on for HTTP. @default 80 */
  readonly port?: number;
  /**
   * Host port the listener is published on, on the DockerTarget's publish
   * address. Node i publishes `publishPort + i - 1`. AwsTarget publishes `port`
   * on an Elastic IP and warns that this has no effect there.
   * @default 8080
   */
  readonly publishPort?: number;
  /** Port of the stats page and Prometheus `/metrics`. @default 8404 */
  readonly statsPort?: number;
  /** @default "roundrobin" */
  readonly algorithm?: BalanceAlgorithm;
  /** Active health checks of the web nodes. @default GET /health every 2 s, fall 3, rise 2 */
  readonly healthCheck?: HaproxyHealthCheck;
  /** Retries (on another node) after a failed attempt. @default 3 */
  readonly retries?: number;
  readonly timeouts?: HaproxyTimeouts;
}

export interface LoadBalancerEndpoint {
  readonly host: string;
  readonly port: number;
  readonly url: string;
}

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
    const count = props.nodes ?? 1;
    const prefix = props.namePrefix ?? "lb";
    const port = props.port ?? 80;
    const publishPort = props.publishPort ?? 8080;
    const statsPort = props.statsPort ?? 8404;
    this.backends = [...(props.webTier?.nodes ?? []), ...(props.backends ?? [])];
    const healthCheck: HaproxyHealthCheck = { path: props.webTier?.healthPath, ...props.healthCheck };

    const servers: HaproxyServer[] = this.backends.map((b) => ({ name: b.name, host: b.host, port: b.port }));
    const sample = { nodeName: `${prefix}-1`, httpPort: port, statsPort, servers, algorithm: props.algorithm, healthCheck, retries: props.retries, timeouts: props.timeouts };
    validateLoadBalancerTierProps(this, props, { nodes: count, namePrefix: prefix, port, statsPort, publishPort, sample });

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
            egress: [...new Set(this.backends.map((b) => b.port))].map((backendPort) => ({ port: backendPort, to: "web" as const, description: "load balancer to the web nodes" })),
            healthCheck: httpHealthCheck(statsPort, "/healthz"),
            user: "root", // binds its port, then drops privileges
            publish: { port, hostPort: publishPort + i - 1 },
            // Only the tier's nodes are ours to wait for; explicit backends live elsewhere.
            dependsOn: (props.webTier?.nodes ?? []).map((n) => n.name),
            declaredBy: { construct: "LoadBalancerTier", scope: this, props: props.publishPort !== undefined ? { publish: "publishPort" } : {} },
          },
        ],
      });
      this.hosts.push(host);
      const published = host.published ?? { address: name, port };
      this.endpoints.push({ host: published.address, port: published.port, url: `http://${published.address}:${published.port}` });
    }
    this.endpoint = this.endpoints[0];
  }
}
