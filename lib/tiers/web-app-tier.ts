import { Annotations } from "cdktf";
import { Construct } from "constructs";
import { renderIndexHtml, renderNginxConfig, validateNginxConfig } from "../../templates/nginx";
import { PATHS } from "../../templates/paths";
import { renderAppStartScript } from "../../templates/scripts/app";
import { renderWebStartScript } from "../../templates/scripts/web";
import { isDnsLabel, isPort } from "../../templates/validate";
import { demoAppBundlePath } from "../app-bundle";
import { DeployedHost, DeploymentTarget, HostAsset, ServiceSpec, Software } from "../targets/target";
import { isWholeNumber, PropValidator } from "../validation";
import { MysqlCluster } from "./mysql-cluster";
import { httpHealthCheck, httpHealthcheckFile, startCommand, startScriptFile } from "./host-files";

/** The application server behind Nginx on every web node. */
export interface AppServerProps {
  /**
   * Image of your own application. It runs with its own entrypoint unless
   * `command` is set. @default the target's Node.js image running the demo app
   */
  readonly image?: string;
  /** Command that starts your app (overrides the image's entrypoint). @default the app start script */
  readonly command?: string[];
  /** A bundled Node.js app (one .js file) run with `node`, replacing the demo app. @default the demo app */
  readonly bundlePath?: string;
  /** Port the app listens on. @default 3000 */
  readonly port?: number;
  /** Extra environment variables (never secrets). @default {} */
  readonly environment?: Record<string, string>;
  /**
   * Health check command run inside the app's container or host.
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
  /** Requests under this prefix go to the app. @default "/api/" */
  readonly appPathPrefix?: string;
  /** Liveness path (proxied to the app) that the load balancer checks. @default "/health" */
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
    const statusPort = props.statusPort === undefined ? 8081 : props.statusPort;

    const v = new PropValidator("WebAppTier", this);
    v.check(isWholeNumber(count, 1), "nodes", `is ${count}; a web tier needs a whole number of at least 1 node`, "use 2 or more (1 works but is a single point of failure)");
    v.check(isDnsLabel(`${prefix}-1-app`), "namePrefix", `"${prefix}" does not make valid DNS labels`, 'use lower-case letters, digits and dashes, for example "web"');
    v.check(isPort(this.port), "port", `is ${this.port}; it must be a whole number in 1-65535`, "use 80");
    v.check(isPort(this.appPort), "app.port", `is ${this.appPort}; it must be a whole number in 1-65535`, "use 3000");
    const listeners = [this.port, this.appPort, ...(statusPort === null ? [] : [statusPort])];
    v.check(new Set(listeners).size === listeners.length, "port", `, app.port and statusPort (${listeners.join(", ")}) put two listeners on one port`, "give Nginx, the app and stub_status different ports");
    v.check(!(app.image && app.bundlePath), "app", "sets both image and bundlePath", "use one: an image of your app, or a bundle run by the Node.js image");
    const nginxProblems = validateNginxConfig({ nodeName: `${prefix}-1`, listenPort: this.port, app: { host: "app", port: this.appPort }, appPathPrefix: props.appPathPrefix, healthPath: this.healthPath, statusPort });
    v.checkAll("appPathPrefix/healthPath/statusPort", nginxProblems.filter((p) => !/outside 1-65535|share a port/.test(p)), "see the message");
    v.throwIfInvalid();
    if (count === 1) {
      Annotations.of(this).addWarning("WebAppTier has a single web node: it is a single point of failure. Use nodes: 2 or more.");
    }

    const db = props.database;
    const customImage = app.image !== undefined;
    const bundle: HostAsset[] = customImage ? [] : [{ path: PATHS.appEntry, sourcePath: app.bundlePath ?? demoAppBundlePath() }];
    this.nodes = [];
    this.hosts = [];
    for (let i = 1; i <= count; i++) {
      const name = `${prefix}-${i}`;
      const appName = `${name}-app`;
      const appAddress = props.target.colocatedAddress(name, appName);
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
          PORT: String(this.appPort),
          // Bind to loopback where Nginx is on the same host; else to the node's networks.
          BIND_ADDRESS: appAddress === "127.0.0.1" ? "127.0.0.1" : "0.0.0.0",
          NODE_NAME: name,
          DB_WRITER_HOST: db.writerEndpoint.host,
          DB_WRITER_PORT: String(db.writerEndpoint.port),
          DB_READER_HOSTS: db.readerEndpoints.map((r) => `${r.host}:${r.port}`).join(","),
          DB_NAME: db.database,
          DB_USER: db.appUser,
          ...app.environment,
        },
        secretEnvironment: { DB_PASSWORD: db.appPassword },
        ingress: [{ port: this.appPort, from: "web", description: "Nginx to its application server" }],
        egress: [{ port: db.port, to: "database", description: "application server to MySQL" }],
        healthCheck: app.healthCheck ?? httpHealthCheck(this.appPort, this.healthPath),
        user: app.user ?? (customImage ? undefined : "node"),
        dependsOn: [db.primary.name],
      };
      const nginxConfig = renderNginxConfig({
        nodeName: name,
        listenPort: this.port,
        app: { host: appAddress, port: this.appPort },
        appPathPrefix: props.appPathPrefix,
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
