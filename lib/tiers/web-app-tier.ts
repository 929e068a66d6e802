import { Construct } from "constructs";
import { renderIndexHtml, renderNginxConfig } from "../../templates/nginx";
import { PATHS } from "../../templates/paths";
import { renderAppStartScript } from "../../templates/scripts/app";
import { renderWebStartScript } from "../../templates/scripts/web";
import { APP_ENV } from "../../templates/app-environment";
import { demoAppBundlePath } from "../app-bundle";
import { DeployedHost, DeploymentTarget, HostAsset, ServiceSpec, Software } from "../targets/target";
import { warnProp } from "../validation";
import { validateWebAppTierProps } from "./validate-web-app-tier-props";
import { MysqlCluster } from "./mysql-cluster";
import { httpHealthCheck, httpHealthcheckFile, startCommand, startScriptFile } from "./host-files";

/** The application server behind Nginx on every web node. */
export interface AppServerProps {
  /**
   * Image of your own application (Docker only: AwsTarget runs no images and
   * refuses it). It runs with its own entrypoint unless `command` is set.
   * @default the target's Node.js image running the demo app
   */
  readonly image?: string;
  /** Command that starts your app (overrides the image's entrypoint). @default the app start script */
  readonly command?: string[];
  /** A bundled Node.js app (one .js, .cjs or .mjs file that exists at synth) run with `node`, replacing the demo app. @default the demo app */
  readonly bundlePath?: string;
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
   * @default HTTP GET of the tier's `healthPath` on `port`, by a bash probe we upload (set this if your image has no bash)
   */
  readonly healthCheck?: string[];
  /** User the app runs as. @default "node" for the default image, else the image's user */
  readonly user?: string;
}

export interface WebAppTierProps {
  readonly target: DeploymentTarget;
  /** The database the app uses: its writer and reader endpoints and credentials are handed over. */
  readonly database: MysqlCluster;
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
  /** Port of Nginx's stub_status on 127.0.0.1; `null` disables it. @default 8081 */
  readonly statusPort?: number | null;
  readonly app?: AppServerProps;
}

/** A web node as the load balancer sees it. */
export interface WebNode {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/**
 * `nodes` web nodes, each Nginx (static files, proxy with upstream keep-alive) in
 * front of an application server that writes to the cluster's primary and reads
 * from its replicas.
 */
export class WebAppTier extends Construct {
  public readonly nodes: WebNode[];
  public readonly hosts: DeployedHost[];
  public readonly port: number;
  public readonly appPort: number;
  public readonly healthPath: string;

  constructor(scope: Construct, id: string, props: WebAppTierProps) {
    super(scope, id);
    const count = props.nodes ?? 2;
    const prefix = props.namePrefix ?? "web";
    const app = props.app ?? {};
    this.port = props.port ?? 80;
    this.appPort = app.port ?? 3000;
    this.healthPath = props.healthPath ?? "/health";
    const appPathPrefix = props.appPathPrefix ?? "/api/";
    const statusPort = props.statusPort === undefined ? 8081 : props.statusPort;
    validateWebAppTierProps(this, props, { nodes: count, namePrefix: prefix, port: this.port, appPort: this.appPort, appPathPrefix, healthPath: this.healthPath, statusPort });
    if (count === 1) {
      warnProp("WebAppTier", this, "nodes", "is 1: the single web node is a single point of failure", "use nodes: 2 or more");
    }

    const db = props.database;
    const customImage = app.image !== undefined;
    const bundle: HostAsset[] = customImage ? [] : [{ path: PATHS.appEntry, sourcePath: app.bundlePath ?? demoAppBundlePath() }];
    this.nodes = [];
    this.hosts = [];
    for (let i = 1; i <= count; i++) {
      const name = `${prefix}-${i}`;
      const appName = `${name}-app`;
      const appAddress = props.target.colocated(name, appName);
      const appService: ServiceSpec = {
        name: appName,
        role: "app",
        software: "node" as Software,
        image: app.image,
        command: app.command ?? (customImage ? [] : startCommand("app")),
        // The probe goes to custom images too: the default health check runs it (with the image's bash).
        files: customImage ? [httpHealthcheckFile()] : [startScriptFile("app", renderAppStartScript()), httpHealthcheckFile()],
        assets: bundle,
        environment: {
          // The user's first: the tier's wiring is checked to be theirs alone (validate-web-app-tier-props).
          ...app.environment,
          [APP_ENV.port]: String(this.appPort),
          [APP_ENV.bindAddress]: appAddress.bindAddress,
          [APP_ENV.nodeName]: name,
          [APP_ENV.writerHost]: db.writerEndpoint.host,
          [APP_ENV.writerPort]: String(db.writerEndpoint.port),
          [APP_ENV.readerHosts]: db.readerEndpoints.map((r) => `${r.host}:${r.port}`).join(","),
          [APP_ENV.database]: db.database,
          [APP_ENV.user]: db.appUser,
        },
        secretEnvironment: { [APP_ENV.password]: db.appPassword },
        ingress: [{ port: this.appPort, from: "web", description: "Nginx to its application server" }],
        egress: [{ port: db.port, to: "database", toGroup: db.namePrefix, description: "application server to MySQL" }],
        healthCheck: app.healthCheck ?? httpHealthCheck(this.appPort, this.healthPath),
        user: app.user ?? (customImage ? undefined : "node"),
        dependsOn: [db.primary.name],
        declaredBy: {
          construct: "WebAppTier",
          scope: this,
          props: {
            ...(app.image !== undefined ? { image: "app.image" } : {}),
            ...(app.command !== undefined ? { command: "app.command" } : {}),
            ...(app.healthCheck !== undefined ? { healthCheck: "app.healthCheck" } : {}),
            ...(app.user !== undefined ? { user: "app.user" } : {}),
          },
        },
      };
      const nginxConfig = renderNginxConfig({
        nodeName: name,
        listenPort: this.port,
        app: { host: appAddress.address, port: this.appPort },
        appPathPrefix,
        healthPath: this.healthPath,
        statusPort,
      });
      const nginxService: ServiceSpec = {
        name,
        role: "web",
        software: "nginx",
        command: startCommand("web"),
        files: [
          { path: PATHS.nginxConfig, content: nginxConfig },
          { path: `${PATHS.staticRoot}/index.html`, content: renderIndexHtml(name) },
          startScriptFile("web", renderWebStartScript()),
          httpHealthcheckFile(),
        ],
        environment: {},
        secretEnvironment: {},
        ingress: [{ port: this.port, from: "load-balancer", description: "load balancer to Nginx" }],
        egress: [{ port: this.appPort, to: "app", description: "Nginx to its application server" }],
        healthCheck: httpHealthCheck(this.port, "/nginx-health"),
        user: "root", // binds its port, then drops privileges
        dependsOn: [appName],
        restartWith: [appName],
      };
      // The app first: Nginx resolves its upstream once, at start-up.
      const host = props.target.addHost(this, { name, role: "web", services: [appService, nginxService] });
      this.hosts.push(host);
      this.nodes.push({ name, host: host.address, port: this.port });
    }
  }
}
