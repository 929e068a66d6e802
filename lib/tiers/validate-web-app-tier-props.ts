import { existsSync, statSync } from "fs";
import { Construct } from "constructs";
import { isEnvName, isReservedAppEnv, looksLikeSecretName } from "../../templates/app-environment";
import { validateNginxConfig } from "../../templates/nginx";
import { isDnsLabel, isImageReference, isPort } from "../../templates/validate";
import { isLiteral, isWholeNumber, PropValidator } from "../private/validation";
import type { WebAppTierProps } from "./web-app-tier";

/** The demo app's routes: what the tier's paths must reach when no app of yours is set. */
export const DEMO_APP_HEALTH_PATH = "/health";
export const DEMO_APP_API_PATH = "/api/items/";

/** The props with their defaults filled in, as the tier uses them. */
export interface ResolvedWebAppTierProps {
  readonly nodes: number;
  readonly namePrefix: string;
  readonly port: number;
  readonly appPort: number;
  readonly appPathPrefix: string;
  readonly healthPath: string;
  readonly statusPort: number | null;
  readonly exporterPort: number | null;
  readonly appMetricsPort: number | null;
}

/**
 * The rules of WebAppTierProps (what Nginx, the app, Docker and systemd accept),
 * checked before anything is created: throws one error listing every problem.
 */
export function validateWebAppTierProps(scope: Construct, props: WebAppTierProps, r: ResolvedWebAppTierProps): void {
  const v = new PropValidator("WebAppTier", scope);
  const app = props.app ?? {};
  v.check(props.target !== undefined && props.target !== null, "target", "is missing", "pass the DockerTarget or AwsTarget the nodes run on");
  v.check(props.database !== undefined && props.database !== null, "database", "is missing", "pass the MysqlCluster the app uses");
  v.check(
    isWholeNumber(r.nodes, 1),
    "nodes",
    `is ${r.nodes}; a web tier needs a whole number of at least 1 node`,
    "use 2 or more (1 works but is a single point of failure)",
  );
  const lastApp = `${r.namePrefix}-${isWholeNumber(r.nodes, 1) ? r.nodes : 1}-app`;
  v.check(
    isDnsLabel(lastApp),
    "namePrefix",
    `"${r.namePrefix}" does not make valid DNS labels (node names such as "${lastApp}", at most 63 characters)`,
    'use lower-case letters, digits and dashes, for example "web"',
  );
  v.check(isPort(r.port), "port", `is ${r.port}; it must be a whole number in 1-65535`, "use 80");
  v.check(isPort(r.appPort), "app.port", `is ${r.appPort}; it must be a whole number in 1-65535`, "use 3000");
  if (r.statusPort !== null)
    v.check(isPort(r.statusPort), "statusPort", `is ${r.statusPort}; it must be a whole number in 1-65535, or null to turn stub_status off`, "use 8081");
  if (r.exporterPort !== null) {
    v.check(isPort(r.exporterPort), "exporterPort", `is ${r.exporterPort}; it must be a whole number in 1-65535, or null for no Nginx exporter`, "use 9113");
    v.check(
      r.statusPort !== null,
      "exporterPort",
      "is set but statusPort is null: the Nginx exporter reads stub_status",
      "leave statusPort on, or set exporterPort to null",
    );
  }
  if (r.appMetricsPort !== null)
    v.check(
      isPort(r.appMetricsPort),
      "app.metricsPort",
      `is ${r.appMetricsPort}; it must be a whole number in 1-65535, or null for no app metrics`,
      "use 9464",
    );
  const listeners = [r.port, r.appPort, r.statusPort, r.exporterPort, r.appMetricsPort].filter((p): p is number => p !== null);
  v.check(
    new Set(listeners).size === listeners.length,
    "port",
    `, app.port, statusPort, exporterPort and app.metricsPort (${listeners.join(", ")}) put two listeners on one port (on a VM, Nginx, the app and the exporter share the host)`,
    "give each listener its own port",
  );

  const custom = app.artifact !== undefined || app.command !== undefined;
  if (app.artifact?.kind === "image") {
    v.check(
      isImageReference(app.artifact.location),
      "app.artifact",
      `is the image "${app.artifact.location}", which is not an image reference`,
      'use a reference like "ghcr.io/acme/shop:1.2"',
    );
  }
  if (app.artifact?.kind === "bundle") {
    const path = app.artifact.location;
    const isFile = existsSync(path) && statSync(path).isFile();
    v.check(isFile, "app.artifact", `is the bundle "${path}", which is not a file on this machine`, "build your app into one .js file first and pass its path");
    v.check(
      /\.c?js$/.test(path),
      "app.artifact",
      `is the bundle "${path}", which is not a .js or .cjs file (it runs as CommonJS: Debian 12's Node.js 18 would not load an ES module bundle)`,
      "bundle your app into one JavaScript file (esbuild, ncc)",
    );
  }
  if (app.command !== undefined) {
    v.check(
      app.command.length > 0 && app.command.every((w) => typeof w === "string" && w.length > 0 && !/[\n\r\0]/.test(w)),
      "app.command",
      `${JSON.stringify(app.command)} is empty or has an empty word or a line break`,
      'pass the argv of your start command, for example ["/usr/local/bin/shop", "serve"]',
    );
  }
  if (app.healthCheck !== undefined) {
    v.check(
      app.healthCheck.length > 0 && app.healthCheck.every((w) => typeof w === "string" && w.length > 0),
      "app.healthCheck",
      `${JSON.stringify(app.healthCheck)} is empty or has an empty word`,
      'pass a command that exits 0 when the app is healthy, for example ["/usr/bin/curl", "-fsS", "http://127.0.0.1:8000/health"]',
    );
  }
  if (app.user !== undefined)
    v.check(
      /^([a-z_][a-z0-9_-]{0,31}|\d+(:\d+)?)$/.test(app.user),
      "app.user",
      `"${app.user}" is not a user name or uid`,
      'use a name such as "node" or a uid such as "1000"',
    );
  for (const [name, value] of Object.entries(app.environment ?? {})) {
    v.check(
      isEnvName(name),
      "app.environment",
      `has "${name}", which is not an environment variable name`,
      "use letters, digits and _, not starting with a digit",
    );
    v.check(
      !isReservedAppEnv(name),
      "app.environment",
      `sets "${name}", which the tier sets itself (the app's port, bind address, node name and database wiring: PORT, BIND_ADDRESS, NODE_NAME, DB_*, HAWEB_*)`,
      `remove it: set app.port for PORT, and the database's props for DB_*`,
    );
    v.check(
      typeof value === "string" && !/[\n\r\0]/.test(value),
      "app.environment",
      `value of ${name} is not a single-line string`,
      "pass one line of text (systemd and Docker take one line per variable)",
    );
    v.check(
      !(looksLikeSecretName(name) && isLiteral(value)),
      "app.environment",
      `sets ${name} to a literal value: a secret would be written in plain text into the synthesized JSON and the VMs' user data`,
      "keep secrets out of environment: read them from a secret store at run time (the database password is handed over for you)",
    );
  }
  if (!custom) {
    v.check(
      r.healthPath === DEMO_APP_HEALTH_PATH,
      "healthPath",
      `is "${r.healthPath}", but the demo app answers only GET ${DEMO_APP_HEALTH_PATH}: every node would fail the load balancer's check`,
      `keep "${DEMO_APP_HEALTH_PATH}", or run your own app (app.artifact) that answers it`,
    );
    v.check(
      DEMO_APP_API_PATH.startsWith(r.appPathPrefix),
      "appPathPrefix",
      `is "${r.appPathPrefix}", but the demo app serves ${DEMO_APP_API_PATH}...: requests there would get the static 404`,
      `keep "/api/", or run your own app`,
    );
  }
  if (v.ok) {
    v.fromTemplate(
      validateNginxConfig({
        nodeName: `${r.namePrefix}-1`,
        listenPort: r.port,
        app: { host: "app", port: r.appPort },
        appPathPrefix: r.appPathPrefix,
        healthPath: r.healthPath,
        statusPort: r.statusPort,
        limits: props.limits,
        proxyTimeouts: props.proxyTimeouts,
        accessLogBufferKb: props.accessLogBufferKb,
      }),
      {
        listenPort: "checked",
        "app.port": "checked",
        statusPort: "checked",
        appPathPrefix: { prop: "appPathPrefix", fix: 'use a path such as "/api/"' },
        healthPath: { prop: "healthPath", fix: 'use a path such as "/health"' },
        nodeName: "checked",
        limits: { prop: "limits", fix: "use whole numbers within the range the message gives, or leave the field unset for its default" },
        proxyTimeouts: { prop: "proxyTimeouts", fix: "use whole milliseconds, for example appReadMs: 12000" },
        accessLogBufferKb: { prop: "accessLogBufferKb", fix: "use 0 (every line at once) or up to 4 (KiB)" },
      },
    );
  }
  v.throwIfInvalid();
}
