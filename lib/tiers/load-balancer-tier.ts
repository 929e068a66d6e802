import { Construct } from "constructs";
import {
  BalanceAlgorithm,
  HAPROXY_DEFAULTS,
  HaproxyHealthCheck,
  HaproxyServer,
  HaproxyTimeouts,
  HaproxyTls,
  haproxyDetectionBoundMs,
  renderHaproxyConfig,
} from "../../templates/haproxy";
import { KEEPALIVED_DEFAULTS, renderKeepalivedConfig } from "../../templates/keepalived";
import { HEALTHCHECK_SCRIPT, PATHS } from "../../templates/paths";
import { renderLoadBalancerStartScript } from "../../templates/scripts/load-balancer";
import { MONITORING_PORTS } from "../../templates/scripts/monitoring";
import { SECRET_ENV } from "../../templates/scripts/shell";
import { IMonitored, IWebBackends, LoadBalancerEndpoint, WebNode } from "../interfaces";
import { httpHealthCheck, httpHealthcheckFile, startCommand, startScriptFile } from "../private/host-files";
import { PropValidator, warnProp } from "../private/validation";
import { DeployedHost, DeploymentTarget, FloatingAddress, FloatingAddressRequest, MetricsEndpoint, Secret, Tool } from "../targets/target";
import { TlsCertificate } from "../tls-certificate";
import { EdgeLimitsProps } from "./edge-limits";
import { validateLoadBalancerTierProps } from "./validate-load-balancer-tier-props";

/** HSTS: how long browsers keep to HTTPS. */
export interface HstsProps {
  /** @default 63072000 (two years, Mozilla's recommendation) */
  readonly maxAgeSeconds?: number;
  /** Apply to every subdomain too. @default true */
  readonly includeSubdomains?: boolean;
}

/** keepalived (VRRP) for two or more load-balancer nodes. */
export interface LoadBalancerFailoverProps {
  /** VRRP virtual router id, 1-255: unique among the VRRP groups of one network. @default 51 */
  readonly virtualRouterId?: number;
  /**
   * Seconds between VRRP adverts, 1-255. A dead master is replaced after about
   * 3 adverts plus a skew (about 3.6 s at 1 s). @default 1
   */
  readonly advertIntervalSeconds?: number;
  /**
   * The preferred master (1-based): it starts VRRP at once, the others 5 s later,
   * so it wins when they start within a few seconds of each other; a node that
   * starts much earlier becomes master, and a node that comes back never takes
   * over again (nopreempt). @default 1
   */
  readonly initialMaster?: number;
}

export interface LoadBalancerTierProps {
  readonly target: DeploymentTarget;
  /** The web nodes to balance over (a WebAppTier, or your own IWebBackends). Either this or `backends`. */
  readonly webTier?: IWebBackends;
  /** Explicit web nodes (instead of, or in addition to, `webTier`). @default [] */
  readonly backends?: WebNode[];
  /**
   * Number of load balancer nodes, each running HAProxy. Two or more share one
   * virtual address with keepalived (VRRP): a dead or hung HAProxy's node gives
   * it up within about 4 s. One node is a single point of failure (a warning).
   * @default 2
   */
  readonly nodes?: number;
  /** Prefix of node names: `<prefix>-1`, ... @default "lb" */
  readonly namePrefix?: string;
  /** Port HAProxy listens on for HTTP. @default 80 */
  readonly port?: number;
  /** Port of the stats page and Prometheus `/metrics`, on the node's loopback only. @default 8404 */
  readonly statsPort?: number;
  /**
   * User of the stats page's login (`/stats` asks for it; `/healthz` and
   * `/metrics` stay open on loopback for the node's own checks). Its password
   * is generated at deploy time (`statsPassword`) and reaches HAProxy through
   * its environment, never the rendered config.
   * @default "admin"
   */
  readonly statsUser?: string;
  /**
   * Port of a listener serving only HAProxy's Prometheus `/metrics`, which only
   * the monitoring hosts reach (security groups, firewalls, Docker networks).
   * `null`: none.
   * @default 8405
   */
  readonly metricsPort?: number | null;
  /** @default "roundrobin" */
  readonly algorithm?: BalanceAlgorithm;
  /**
   * Active health checks of the web nodes, through Nginx to the app. A dead or
   * frozen node is out within intervalMs + fall x timeouts.checkMs + (fall - 1) x fastIntervalMs.
   * @default GET of the web tier's health path every 1 s (every 250 ms once one failed), fall 3, rise 2: out within 3 s
   */
  readonly healthCheck?: HaproxyHealthCheck;
  /** Retries (on another node) after a failed attempt. @default 3 */
  readonly retries?: number;
  /** @default connect 5 s, client 50 s, server 15 s, http-request 10 s, keep-alive 10 s, queue 30 s, check 500 ms */
  readonly timeouts?: HaproxyTimeouts;
  /**
   * Serve HTTPS (Mozilla's intermediate profile: TLS 1.2 and 1.3, HTTP/2 by ALPN).
   * `false` serves plain HTTP only (then `certificate`, `httpsPort`,
   * `redirectHttpToHttps` and `hsts` must stay unset).
   * @default true
   */
  readonly https?: boolean;
  /** The certificate and key. @default TlsCertificate.selfSigned(): generated at deploy time, key in Terraform state only */
  readonly certificate?: TlsCertificate;
  /** Port of the HTTPS listener. @default 443 */
  readonly httpsPort?: number;
  /** Answer plain HTTP with a 308 redirect to HTTPS. @default true */
  readonly redirectHttpToHttps?: boolean;
  /** `Strict-Transport-Security` on HTTPS answers; `false` sends none. @default max-age two years, includeSubDomains */
  readonly hsts?: HstsProps | false;
  /** keepalived settings of a pair (nodes >= 2). @default virtual router 51, adverts every 1 s, node 1 starts as master */
  readonly failover?: LoadBalancerFailoverProps;

  /**
   * Abuse limits: a request body must arrive within 10 s (else 408, and it never
   * reaches a web node); one client address may hold 1,000 connections and send
   * 20,000 requests per 10 s (then 429); the public listeners accept 3,000
   * connections, and each web node gets at most 128 requests at once per backend (the rest
   * queue), so one client cannot exhaust a web node and get it marked down.
   * Every field: EdgeLimitsProps (HaproxyLimits).
   * @default bodyTimeoutMs 10000, maxConnections 3000, maxConnectionsPerClient 1000, maxRequestsPerClient 20000 per requestRateWindowMs 10000, trackedClients 100000, maxConnectionsPerServer 128
   */
  readonly limits?: EdgeLimitsProps;
  /**
   * Pass the debugging headers (`X-Db-Node`, `X-Db-Role`, `X-Db-Server-Id`,
   * `X-Web-Node`, `X-Lb-Node`) to clients. Off, HAProxy strips them from every
   * public answer: they name internal hosts and roles. For a lab or a test stack.
   * @default false
   */
  readonly debugHeaders?: boolean;
  /**
   * One log line per request from HAProxy (client, timers, status, server), on
   * its standard output. Off saves HAProxy two system calls per request (a
   * `writev` and a `getpid`); the measured effect on its CPU per request is in
   * the README's "Performance" section. @default true
   */
  readonly requestLog?: boolean;
  /**
   * HAProxy's worker threads (`nbthread`) on each node, 1-64. Unset, HAProxy
   * starts one per CPU it may run on, which a dedicated load-balancer host
   * wants. Where HAProxy shares its cores with the rest of the stack (one
   * Docker host), 1 costs it less CPU per request (measured in the README's
   * "Performance" section).
   * @default - one per CPU (HAProxy's own default)
   */
  readonly threads?: number;
}

/** The defaults of LoadBalancerTierProps (the one source for code, docs and tests). */
export const LOAD_BALANCER_TIER_DEFAULTS = {
  nodes: 2,
  namePrefix: "lb",
  port: HAPROXY_DEFAULTS.httpPort,
  statsPort: HAPROXY_DEFAULTS.statsPort,
  statsUser: "admin",
  metricsPort: MONITORING_PORTS.haproxyMetrics,
  https: true,
  httpsPort: HAPROXY_DEFAULTS.tls.httpsPort,
  redirectHttpToHttps: HAPROXY_DEFAULTS.tls.redirectHttp,
  hsts: { maxAgeSeconds: HAPROXY_DEFAULTS.tls.hstsMaxAgeSeconds, includeSubdomains: HAPROXY_DEFAULTS.tls.hstsIncludeSubdomains },
  failover: { virtualRouterId: KEEPALIVED_DEFAULTS.virtualRouterId, advertIntervalSeconds: KEEPALIVED_DEFAULTS.advertIntervalSeconds, initialMaster: 1 },
  requestLog: HAPROXY_DEFAULTS.requestLog,
} as const;

/** HAProxy starts in a second; slack for a cold VM or image. */
const LB_START_PERIOD_SECONDS = 20;
/** The environment variable that carries the stats page's password to HAProxy (its config expands it). */
const STATS_PASSWORD_ENV = SECRET_ENV.statsPassword;
/**
 * Longer than HAProxy's graceful stop: `docker stop` sends the official image's
 * STOPSIGNAL, SIGUSR1 (soft stop), and the workers finish their connections for
 * at most `hard-stop-after 30s` (templates/haproxy.ts); 5 s more for the master
 * to exit before the SIGKILL.
 */
const LB_STOP_TIMEOUT_SECONDS = 35;

/**
 * HAProxy in front of a web tier: round-robin (by default) over every web node,
 * active health checks, retries with redispatch for idempotent requests; by
 * default two nodes sharing a virtual address (keepalived), and HTTPS with a
 * redirect from HTTP and HSTS.
 */
export class LoadBalancerTier extends Construct implements IMonitored {
  /** Where clients reach the tier: the pair's virtual address (Elastic IP on AWS), or the single node. */
  public readonly endpoint: LoadBalancerEndpoint;
  /** Where clients reach each node directly (published ports on Docker). */
  public readonly endpoints: LoadBalancerEndpoint[];
  public readonly hosts: DeployedHost[];
  /** The web nodes every load balancer node balances over. */
  public readonly backends: WebNode[];
  /** The floating address of a pair; undefined for a single node. */
  public readonly floatingAddress?: FloatingAddress;
  /** Whether the tier serves HTTPS. */
  public readonly https: boolean;
  /** HAProxy's metrics endpoints (hand the tier to a MonitoringTier). */
  public readonly metricsEndpoints: readonly MetricsEndpoint[];
  /** User of the stats page's login. */
  public readonly statsUser: string;
  /** Reference to the stats page's password (generated at deploy time; Terraform state and the target's secret store hold it). */
  public readonly statsPassword: Secret;

  constructor(scope: Construct, id: string, props: LoadBalancerTierProps) {
    super(scope, id);
    const d = LOAD_BALANCER_TIER_DEFAULTS;
    const count = props.nodes ?? d.nodes;
    const prefix = props.namePrefix ?? d.namePrefix;
    const port = props.port ?? d.port;
    const statsPort = props.statsPort ?? d.statsPort;
    this.statsUser = props.statsUser ?? d.statsUser;
    const metricsPort = props.metricsPort === undefined ? d.metricsPort : props.metricsPort;
    const https = props.https ?? d.https;
    const httpsPort = props.httpsPort ?? d.httpsPort;
    const hsts = props.hsts === false ? false : { ...d.hsts, ...props.hsts };
    const failover = { ...d.failover, ...props.failover };
    const certificate = props.certificate ?? TlsCertificate.selfSigned();
    this.https = https;
    this.backends = [...(props.webTier?.backends ?? []), ...(props.backends ?? [])];
    const healthCheck: HaproxyHealthCheck = { path: props.webTier?.healthPath, ...props.healthCheck };
    const servers: HaproxyServer[] = this.backends.map((b) => ({ name: b.name, host: b.host, port: b.port }));
    const tls: HaproxyTls | undefined = https
      ? {
          certificatePath: PATHS.tlsCertificate,
          httpsPort,
          redirectHttp: props.redirectHttpToHttps ?? d.redirectHttpToHttps,
          hstsMaxAgeSeconds: hsts === false ? 0 : hsts.maxAgeSeconds,
          hstsIncludeSubdomains: hsts === false ? false : hsts.includeSubdomains,
        }
      : undefined;
    const sample = {
      nodeName: `${prefix}-1`,
      httpPort: port,
      statsPort,
      statsAuth: { user: this.statsUser, passwordEnv: STATS_PASSWORD_ENV },
      metricsPort,
      servers,
      limits: props.limits,
      algorithm: props.algorithm,
      healthCheck,
      retries: props.retries,
      timeouts: props.timeouts,
      tls,
      debugHeaders: props.debugHeaders,
      requestLog: props.requestLog,
      threads: props.threads,
    };
    validateLoadBalancerTierProps(this, props, { nodes: count, namePrefix: prefix, port, statsPort, https, failover, certificate, sample });
    const check = { ...HAPROXY_DEFAULTS.healthCheck, ...Object.fromEntries(Object.entries(healthCheck).filter(([, v]) => v !== undefined)) };
    const checkMs = props.timeouts?.checkMs ?? HAPROXY_DEFAULTS.timeouts.checkMs;
    const names = Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`);
    if (count === 1) {
      warnProp(
        "LoadBalancerTier",
        this,
        "nodes",
        "is 1: the load balancer is a single point of failure (no second node to take over its address)",
        "use 2 nodes (the default) for a pair sharing one virtual address",
      );
    }
    const declaredBy = { construct: "LoadBalancerTier", scope: this, props: { secretFiles: "certificate", floatingAddress: "nodes" } };
    this.floatingAddress = count > 1 ? requireFloatingAddress(props.target, this, { name: prefix, members: names, declaredBy }) : undefined;
    const bound = https ? certificate.bind(this) : undefined;
    this.statsPassword = props.target.createSecret(this, "stats-password", `${prefix}-stats-password`);
    const listeners = https ? [port, httpsPort] : [port];
    const statsCheck = ["/bin/sh", HEALTHCHECK_SCRIPT, String(statsPort), "/healthz"].join(" ");

    this.hosts = [];
    this.endpoints = [];
    names.forEach((name, i) => {
      const member = this.floatingAddress?.members[name];
      const files = [
        { path: PATHS.haproxyConfig, content: renderHaproxyConfig({ ...sample, nodeName: name }) },
        startScriptFile("lb", renderLoadBalancerStartScript({ secretEnvironment: [STATS_PASSWORD_ENV] })),
        httpHealthcheckFile(),
      ];
      if (this.floatingAddress && member) {
        // The first node of the rotation after `initialMaster` gets the top priority; nopreempt keeps whoever is master.
        const rank = (i - (failover.initialMaster - 1) + count) % count;
        const notify = this.floatingAddress.notifyMaster;
        files.push({
          path: PATHS.keepalivedConfig,
          content: renderKeepalivedConfig({
            nodeName: name,
            virtualRouterId: failover.virtualRouterId,
            priority: KEEPALIVED_DEFAULTS.basePriority - 50 * Math.min(rank, 2) - Math.max(0, rank - 2),
            advertIntervalSeconds: failover.advertIntervalSeconds,
            sourceAddress: member.address,
            peerAddresses: member.peerAddresses,
            virtualAddresses: this.floatingAddress.virtualAddresses,
            checkCommand: statsCheck,
            notifyMasterScript: notify?.path,
            startupDelaySeconds: rank === 0 ? 0 : KEEPALIVED_DEFAULTS.backupStartupDelaySeconds,
          }),
        });
        if (notify) files.push(notify);
      }
      const peers = member?.peerAddresses ?? [];
      const host = props.target.addHost(this, {
        name,
        role: "load-balancer",
        services: [
          {
            name,
            role: "load-balancer",
            software: "haproxy",
            command: startCommand("lb"),
            files,
            environment: {},
            secretEnvironment: { [STATS_PASSWORD_ENV]: this.statsPassword },
            secretFiles: bound ? { [PATHS.tlsCertificate]: bound.certificate, [PATHS.tlsKey]: bound.privateKey } : {},
            ingress: [
              { port, from: "internet", description: https ? "clients to the HTTP listener (redirected to HTTPS)" : "clients to the HTTP listener" },
              ...(https ? [{ port: httpsPort, from: "internet" as const, description: "clients to the HTTPS listener" }] : []),
              ...(peers.length > 0
                ? [{ port: 0, protocol: "vrrp" as const, from: "load-balancer" as const, description: "VRRP adverts between the load balancers" }]
                : []),
              ...(metricsPort === null ? [] : [{ port: metricsPort, from: "monitoring" as const, description: "Prometheus scrapes HAProxy's metrics" }]),
            ],
            metrics: metricsPort === null ? [] : [{ job: "haproxy", port: metricsPort }],
            egress: [
              ...[...new Set(this.backends.map((b) => b.port))].map((backendPort) => ({
                port: backendPort,
                to: "web" as const,
                description: "load balancer to the web nodes",
              })),
              ...(peers.length > 0
                ? [{ port: 0, protocol: "vrrp" as const, to: "load-balancer" as const, description: "VRRP adverts between the load balancers" }]
                : []),
              ...(this.floatingAddress?.egress ?? []),
            ],
            // keepalived adds and removes the virtual address (NET_ADMIN) and sends VRRP on a raw socket (NET_RAW).
            capabilities: this.floatingAddress ? ["NET_ADMIN", "NET_RAW"] : undefined,
            tools: this.floatingAddress ? [...new Set<Tool>(["keepalived", "iproute2", ...(this.floatingAddress.tools ?? [])])] : undefined,
            floatingAddress: this.floatingAddress ? prefix : undefined,
            healthCheck: { command: httpHealthCheck(statsPort, "/healthz"), startPeriodSeconds: LB_START_PERIOD_SECONDS },
            user: "root", // binds its ports, then drops privileges
            stopTimeoutSeconds: LB_STOP_TIMEOUT_SECONDS,
            // HAProxy's soft stop; on a pair the start script stops keepalived first (templates/scripts/load-balancer.ts).
            stopSignal: "SIGUSR1",
            publish: { ports: listeners },
            // Only the web tier's nodes are ours to wait for; explicit backends live elsewhere.
            dependsOn: [...(props.webTier?.dependables ?? [])],
            facts: {
              "listen-port": String(port),
              ...(https ? { "https-port": String(httpsPort), "tls-certificate": bound!.kind } : {}),
              "stats-port": String(statsPort),
              "stats-user": this.statsUser,
              "health-check": `inter=${check.intervalMs} fastinter=${check.fastIntervalMs} fall=${check.fall} rise=${check.rise} timeout=${checkMs} bound=${haproxyDetectionBoundMs(check, checkMs)} path=${check.path}`,
              ...(this.floatingAddress ? { "floating-address": this.floatingAddress.address } : {}),
            },
            declaredBy,
          },
        ],
      });
      this.hosts.push(host);
      const published = host.published ?? { address: host.address, ports: { [port]: port, [httpsPort]: httpsPort } };
      const publicPort = published.ports[https ? httpsPort : port] ?? (https ? httpsPort : port);
      this.endpoints.push(endpointAt(published.address, publicPort, https));
    });
    this.metricsEndpoints = this.hosts.flatMap((h) => h.metrics);
    this.endpoint = this.floatingAddress ? endpointAt(this.floatingAddress.address, https ? httpsPort : port, https) : this.endpoints[0];
  }
}

function endpointAt(host: string, port: number, https: boolean): LoadBalancerEndpoint {
  const scheme = https ? "https" : "http";
  const implicit = (https && port === 443) || (!https && port === 80);
  return { host, port, url: implicit ? `${scheme}://${host}` : `${scheme}://${host}:${port}` };
}

/** The target's floating address, or a synth-time refusal naming the prop. */
function requireFloatingAddress(target: DeploymentTarget, scope: Construct, request: FloatingAddressRequest): FloatingAddress {
  new PropValidator("LoadBalancerTier", scope)
    .check(
      target.support.floatingAddresses && target.floatingAddress !== undefined,
      "nodes",
      `is ${request.members.length}, a pair sharing a virtual address, which ${target.support.name} cannot give`,
      "set nodes to 1, or use DockerTarget or AwsTarget",
    )
    .throwIfInvalid();
  return target.floatingAddress!(scope, request);
}
