import { Construct } from "constructs";
import { APP_ENV, DEFAULT_APP_METRICS_PORT, DEFAULT_APP_PORT } from "../../templates/app-environment";
import { MONITORING_PORTS, renderNginxExporterStartScript } from "../../templates/scripts/monitoring";
import { NGINX_DEFAULTS, NginxProxyTimeouts, renderIndexHtml, renderNginxConfig } from "../../templates/nginx";
import { PATHS } from "../../templates/paths";
import { renderAppStartScript } from "../../templates/scripts/app";
import { renderWebStartScript, WEB_START_SCRIPT_DEFAULTS } from "../../templates/scripts/web";
import { IDatabase, IMonitored, IWebBackends, WebNode } from "../interfaces";
import { demoAppBundlePath } from "../private/app-bundle";
import { httpHealthCheck, httpHealthcheckFile, startCommand, startScriptFile } from "../private/host-files";
import { warnProp } from "../private/validation";
import { Artifact, DeclaredField, DeployedHost, DeploymentTarget, MetricsEndpoint, ServiceSpec } from "../targets/target";
import { AppArtifact } from "./app-artifact";
import { resolveNginxLimits, ResolvedNginxLimits } from "../../templates/edge-limits";
import { WebLimitsProps } from "./edge-limits";
import { validateWebAppTierProps } from "./validate-web-app-tier-props";

/** The application server behind Nginx on every web node. */
export interface AppServerProps {
  /**
   * What the app servers run: `AppArtifact.fromBundle(path)` (every target) or
   * `AppArtifact.fromImage(ref)` (DockerTarget only; AwsTarget refuses images).
   * @default the demo app's bundle, run by the target's Node.js
   */
  readonly artifact?: AppArtifact;
  /** Command that starts your app (overrides an image's entrypoint). @default the app start script (an image's own entrypoint) */
  readonly command?: string[];
  /** Port the app listens on. @default 3000 */
  readonly port?: number;
  /**
   * Extra environment variables, never secrets (a literal value under a name
   * such as *_PASSWORD or *_TOKEN is refused). The names the tier sets itself
   * (PORT, BIND_ADDRESS, NODE_NAME, DB_*, HAWEB_*) are refused too.
   * @default {}
   */
  readonly environment?: Record<string, string>;
  /**
   * Health check command run inside the app's container (Docker). AwsTarget has
   * no health-check runner (systemd restarts a service that exits; the load
   * balancer checks `healthPath`), so it warns that this has no effect there.
   * @default HTTP GET of the tier's `healthPath` on `port`, by a POSIX sh probe we upload (bash, wget or curl; set this if your image has none)
   */
  readonly healthCheck?: string[];
  /** User the app runs as. @default "node" for the demo app and bundles, else the image's user */
  readonly user?: string;
  /**
   * Port of the app's Prometheus `/metrics` listener (the demo app serves it with
   * prom-client; your app must serve it there, bound to METRICS_BIND_ADDRESS).
   * Only the monitoring hosts reach it. `null`: the app serves no metrics.
   * @default 9464
   */
  readonly metricsPort?: number | null;
}

export interface WebAppTierProps {
  readonly target: DeploymentTarget;
  /** The database the app uses (a MysqlCluster, or your own IDatabase): its endpoints and credentials are handed over. */
  readonly database: IDatabase;
  /** Number of web nodes. 1 synthesizes with a warning (single point of failure). @default 2 */
  readonly nodes?: number;
  /** Prefix of node names: `<prefix>-1`, `<prefix>-2`, ... @default "web" */
  readonly namePrefix?: string;
  /** Port Nginx listens on. @default 80 */
  readonly port?: number;
  /** Requests under this prefix go to the app. With the demo app it must stay a prefix of /api/items/. @default "/api/" */
  readonly appPathPrefix?: string;
  /** Liveness path (proxied to the app) that the load balancer checks. The demo app answers only /health. @default "/health" */
  readonly healthPath?: string;
  /** Port of Nginx's stub_status on 127.0.0.1; `null` disables it (and the Nginx exporter). @default 8081 */
  readonly statusPort?: number | null;
  /**
   * Port of the Nginx exporter (prometheus-nginx-exporter) beside every Nginx,
   * reading its stub_status; only the monitoring hosts reach it. `null`: none.
   * @default 9113
   */
  readonly exporterPort?: number | null;
  /**
   * How long Nginx waits for its app: connecting (a failed connect is answered
   * 425, "not processed", which the load balancer retries on another node, POST
   * included), reading its answer (keep it below the load balancer's
   * `timeouts.serverMs`), and the health path the load balancer checks.
   * @default connect 2 s, read 12 s, health path 1 s
   */
  readonly proxyTimeouts?: NginxProxyTimeouts;
  readonly app?: AppServerProps;

  /**
   * Nginx's abuse limits on every web node: 10 s for the request headers and
   * between two reads of a body, 30 s between two writes to a client that stopped
   * reading, 1,024 connections per worker, and at most 256 requests in progress
   * per client address (the X-Real-IP the load balancer sets), 429 beyond.
   * Every field: WebLimitsProps (NginxLimits).
   * @default clientHeaderTimeoutSeconds 10, clientBodyTimeoutSeconds 10, sendTimeoutSeconds 30, workerConnections 1024, maxConnectionsPerClient 256, clientZoneMb 10
   */
  readonly limits?: WebLimitsProps;
  /**
   * Nginx's access log (a line per request, standard output) is written from a
   * buffer of this many KiB, flushed at least every second, instead of one write
   * per request; 0 writes each line at once. At most 4 (larger writes to a pipe,
   * Docker's standard output, are not atomic). The measured effect (none on
   * Nginx's CPU in the lab) is in the README's "Performance" section. @default 0
   */
  readonly accessLogBufferKb?: number;
}

/** The defaults of WebAppTierProps (the one source for code, docs and tests). */
export const WEB_APP_TIER_DEFAULTS = {
  nodes: 2,
  namePrefix: "web",
  port: NGINX_DEFAULTS.listenPort,
  appPathPrefix: NGINX_DEFAULTS.appPathPrefix,
  healthPath: NGINX_DEFAULTS.healthPath,
  statusPort: NGINX_DEFAULTS.statusPort,
  appPort: DEFAULT_APP_PORT,
  appMetricsPort: DEFAULT_APP_METRICS_PORT,
  exporterPort: MONITORING_PORTS.nginxExporter,
  accessLogBufferKb: NGINX_DEFAULTS.accessLogBufferKb,
  /** The user the demo app and bundles run as (the official Node.js image has it; the AWS target creates it). */
  appUser: "node",
} as const;

/** Web nodes and apps start fast; a bit of slack for a cold VM or image. */
const WEB_START_PERIOD_SECONDS = 20;
/** An exporter holds no state: it stops at once. */
const EXPORTER_STOP_TIMEOUT_SECONDS = 5;
/** Nginx and the app drain in-flight requests on SIGTERM within this. */
const WEB_STOP_TIMEOUT_SECONDS = 15;

/**
 * `nodes` web nodes, each Nginx (static files, proxy with upstream keep-alive) in
 * front of an application server that writes to the database's writer and reads
 * from its readers.
 */
export class WebAppTier extends Construct implements IWebBackends, IMonitored {
  /** The web nodes, as the load balancer sees them. */
  public readonly backends: WebNode[];
  public readonly hosts: DeployedHost[];
  public readonly port: number;
  public readonly appPort: number;
  public readonly healthPath: string;
  public readonly dependables: readonly string[];
  /** The Nginx exporters' and the apps' metrics endpoints (hand the tier to a MonitoringTier). */
  public readonly metricsEndpoints: readonly MetricsEndpoint[];
  /** Nginx's limits with every default filled in (the load balancer checks its per-server maxconn against them). */
  public readonly limits: ResolvedNginxLimits;

  constructor(scope: Construct, id: string, props: WebAppTierProps) {
    super(scope, id);
    const d = WEB_APP_TIER_DEFAULTS;
    const count = props.nodes ?? d.nodes;
    const prefix = props.namePrefix ?? d.namePrefix;
    const app = props.app ?? {};
    this.port = props.port ?? d.port;
    this.appPort = app.port ?? d.appPort;
    this.healthPath = props.healthPath ?? d.healthPath;
    const appPathPrefix = props.appPathPrefix ?? d.appPathPrefix;
    const statusPort = props.statusPort === undefined ? d.statusPort : props.statusPort;
    const exporterPort = statusPort === null ? null : props.exporterPort === undefined ? d.exporterPort : props.exporterPort;
    const appMetricsPort = app.metricsPort === undefined ? d.appMetricsPort : app.metricsPort;
    this.limits = resolveNginxLimits(props.limits);
    validateWebAppTierProps(this, props, {
      nodes: count,
      namePrefix: prefix,
      port: this.port,
      appPort: this.appPort,
      appPathPrefix,
      healthPath: this.healthPath,
      statusPort,
      exporterPort: props.exporterPort === undefined ? exporterPort : props.exporterPort,
      appMetricsPort,
    });
    if (count === 1) {
      warnProp("WebAppTier", this, "nodes", "is 1: the single web node is a single point of failure", "use nodes: 2 or more");
    }

    const db = props.database;
    const chosen = app.artifact ?? AppArtifact.fromBundle(demoAppBundlePath());
    const artifact: Artifact =
      chosen.kind === "image" ? { kind: "image", image: chosen.location } : { kind: "bundle", sourcePath: chosen.location, path: PATHS.appEntry };
    const isImage = artifact.kind === "image";
    const declaredProps: Partial<Record<DeclaredField, string>> = {
      ...(app.artifact !== undefined ? { artifact: "app.artifact" } : {}),
      ...(app.command !== undefined ? { command: "app.command" } : {}),
      ...(app.healthCheck !== undefined ? { healthCheck: "app.healthCheck" } : {}),
      ...(app.user !== undefined ? { user: "app.user" } : {}),
      ...(app.port !== undefined ? { listenPort: "app.port" } : {}),
    };
    this.backends = [];
    this.hosts = [];
    for (let i = 1; i <= count; i++) {
      const name = `${prefix}-${i}`;
      const appName = `${name}-app`;
      const appAddress = props.target.colocated(name, appName);
      const appService: ServiceSpec = {
        name: appName,
        role: "app",
        software: "node",
        artifact,
        // An image runs its own entrypoint unless told otherwise; a bundle runs through the start script.
        command: app.command ?? (isImage ? [] : startCommand("app")),
        // The probe goes to images too: the default health check runs it (with the image's sh).
        files: isImage ? [httpHealthcheckFile()] : [startScriptFile("app", renderAppStartScript()), httpHealthcheckFile()],
        environment: {
          // The user's first: the tier's wiring is checked to be theirs alone (validate-web-app-tier-props).
          ...app.environment,
          [APP_ENV.port]: String(this.appPort),
          // Docker: loopback plus the app's address on Nginx's network, no other. An image runs its
          // own entrypoint, which may not know BIND_PEER: it keeps every address (README: known limit).
          [APP_ENV.bindAddress]: isImage && appAddress.bindTowardPeer ? "0.0.0.0" : appAddress.bindAddress,
          ...(appAddress.bindTowardPeer && !isImage ? { [APP_ENV.bindPeer]: name } : {}),
          [APP_ENV.nodeName]: name,
          [APP_ENV.writerHost]: db.writerEndpoint.host,
          [APP_ENV.writerPort]: String(db.writerEndpoint.port),
          [APP_ENV.readerHosts]: db.readerEndpoints.map((r) => `${r.host}:${r.port}`).join(","),
          [APP_ENV.database]: db.databaseName,
          [APP_ENV.user]: db.appUser,
          // Its own listener on every address: the firewalls open it to the monitoring hosts only.
          ...(appMetricsPort === null ? {} : { [APP_ENV.metricsPort]: String(appMetricsPort), [APP_ENV.metricsBindAddress]: "0.0.0.0" }),
        },
        secretEnvironment: { [APP_ENV.password]: db.appPassword },
        ingress: [
          { port: this.appPort, from: "web", description: "Nginx to its application server" },
          ...(appMetricsPort === null ? [] : [{ port: appMetricsPort, from: "monitoring" as const, description: "Prometheus scrapes the app's metrics" }]),
        ],
        metrics: appMetricsPort === null ? [] : [{ job: "app", port: appMetricsPort }],
        egress: [{ port: db.writerEndpoint.port, to: "database", toGroup: db.flowGroup, description: "application server to MySQL" }],
        healthCheck: { command: app.healthCheck ?? httpHealthCheck(this.appPort, this.healthPath), startPeriodSeconds: WEB_START_PERIOD_SECONDS },
        user: app.user ?? (isImage ? undefined : d.appUser),
        stopTimeoutSeconds: WEB_STOP_TIMEOUT_SECONDS,
        dependsOn: [...db.dependables],
        facts: { "listen-port": String(this.appPort) },
        declaredBy: { construct: "WebAppTier", scope: this, props: declaredProps },
      };
      const nginxConfig = renderNginxConfig({
        nodeName: name,
        listenPort: this.port,
        app: { host: appAddress.address, port: this.appPort },
        appPathPrefix,
        healthPath: this.healthPath,
        statusPort,
        limits: props.limits,
        proxyTimeouts: props.proxyTimeouts,
        accessLogBufferKb: props.accessLogBufferKb,
      });
      const nginxService: ServiceSpec = {
        name,
        role: "web",
        software: "nginx",
        command: startCommand("web"),
        files: [
          { path: PATHS.nginxConfig, content: nginxConfig },
          { path: `${PATHS.staticRoot}/index.html`, content: renderIndexHtml(name) },
          // Nginx waits (bounded) for its app's name to resolve instead of crash-looping.
          startScriptFile("web", renderWebStartScript({ appHost: appAddress.address })),
          httpHealthcheckFile(),
        ],
        environment: {},
        secretEnvironment: {},
        ingress: [{ port: this.port, from: "load-balancer", description: "load balancer to Nginx" }],
        egress: [{ port: this.appPort, to: "app", description: "Nginx to its application server" }],
        healthCheck: {
          command: httpHealthCheck(this.port, NGINX_DEFAULTS.nginxLivenessPath),
          startPeriodSeconds: WEB_START_SCRIPT_DEFAULTS.appHostWaitSeconds + WEB_START_PERIOD_SECONDS,
        },
        user: "root", // binds its port, then drops privileges
        stopTimeoutSeconds: WEB_STOP_TIMEOUT_SECONDS,
        // Nginx's graceful stop: workers finish their requests (the official image's STOPSIGNAL too).
        stopSignal: "SIGQUIT",
        dependsOn: [appName],
        restartWith: [appName],
        facts: { "listen-port": String(this.port), "status-port": statusPort === null ? "" : String(statusPort) },
        declaredBy: { construct: "WebAppTier", scope: this, props: {} },
      };
      const exporter: ServiceSpec[] =
        exporterPort === null || statusPort === null
          ? []
          : [
              {
                name: `${name}-nginx-exporter`,
                role: "web",
                software: "nginx-exporter",
                // Beside Nginx, on its loopback: stub_status never leaves the node.
                sharesNetworkWith: name,
                command: startCommand("nginx-exporter"),
                files: [
                  startScriptFile(
                    "nginx-exporter",
                    renderNginxExporterStartScript({ scrapeUri: `http://127.0.0.1:${statusPort}/stub_status`, listenAddress: `:${exporterPort}` }),
                  ),
                  httpHealthcheckFile(),
                ],
                environment: {},
                secretEnvironment: {},
                ingress: [{ port: exporterPort, from: "monitoring", description: "Prometheus scrapes the Nginx exporter" }],
                egress: [],
                metrics: [{ job: "nginx", port: exporterPort }],
                healthCheck: { command: httpHealthCheck(exporterPort, "/metrics"), startPeriodSeconds: WEB_START_PERIOD_SECONDS },
                user: "root", // owns nothing; the start script drops to the prometheus user
                stopTimeoutSeconds: EXPORTER_STOP_TIMEOUT_SECONDS,
                dependsOn: [name],
                // It lives in Nginx's network namespace: a new Nginx needs a new exporter.
                restartWith: [name],
                facts: { "listen-port": String(exporterPort) },
                declaredBy: { construct: "WebAppTier", scope: this, props: {} },
              },
            ];
      // The app first: Nginx resolves its upstream once, at start-up.
      const host = props.target.addHost(this, { name, role: "web", services: [appService, nginxService, ...exporter] });
      this.hosts.push(host);
      this.backends.push({ name, host: host.address, port: this.port });
    }
    this.dependables = this.backends.map((b) => b.name);
    this.metricsEndpoints = this.hosts.flatMap((h) => h.metrics);
  }
}
