/**
 * What the lab knows about the stack it runs, read only from the facts the
 * Docker target writes on every container as `ha-web.*` labels (role, host,
 * ports, HAProxy's check timing, the database engine and roles, the writer's
 * movable address) and from the app's environment contract (APP_ENV). Nothing
 * here parses a config file or guesses from an image name; a missing fact fails
 * with the container, the label and what it is needed for.
 */
import { APP_ENV } from "../templates/app-environment";
import { DIALECTS, EngineDialect, MysqlEngine } from "../templates/mysql/engine";
import { LabContainer, LabPlan } from "./spec";

/**
 * Prefix of the describing labels. The same string as DESCRIBE_LABEL_PREFIX in
 * lib/targets/docker/docker-target.ts (a spec test keeps them equal); not
 * imported, so the CLI does not load the construct library to read a label.
 */
export const FACT_LABEL_PREFIX = "ha-web.";

/** The roles a container can have (ServiceRole in lib/targets/target.ts). */
export const ROLES = ["load-balancer", "web", "app", "database", "monitoring"] as const;
export type Role = (typeof ROLES)[number];

/** A fact the lab needs is absent or malformed in the synthesized stack. */
export class MissingFactError extends Error {}

/** One container as its labels describe it. */
export interface ContainerFacts {
  name: string;
  hostname: string;
  role: Role;
  /** The host it belongs to (`ha-web.host`): web-1 and web-1-app share host web-1. */
  host: string;
  /** Every `ha-web.*` label, without the prefix. */
  facts: Record<string, string>;
}

/** HAProxy's stats listener and server-check timing (`ha-web.stats-port`, `ha-web.health-check`). */
export interface LoadBalancerFacts {
  hostname: string;
  /** Plain HTTP (`ha-web.listen-port`). */
  listenPort: number;
  /** HTTPS (`ha-web.https-port`), if the load balancer terminates TLS. */
  httpsPort?: number;
  /** The virtual address a load-balancer pair shares (`ha-web.floating-address`), if any. */
  floatingAddress?: string;
  statsPort: number;
  check: { interMs: number; fall: number; rise: number; path: string };
}

/** One database cluster (`ha-web.cluster`): engine, primary, replicas, the writer's address. */
export interface DatabaseFacts {
  cluster: string;
  engine: MysqlEngine;
  version: string;
  /** The engine's binaries (client, admin, server). */
  dialect: EngineDialect;
  primary: string;
  replicas: string[];
  /** The name clients write to (`ha-web.addresses` of the primary, a movable alias), else the primary's host name. */
  writerAddress: string;
  port: number;
}

/** An application server's database wiring, from its environment (APP_ENV). */
export interface AppFacts {
  hostname: string;
  host: string;
  env: Record<string, string>;
  databaseName: string;
  /** Host part of the writer endpoint (DB_WRITER_HOST may carry `:port`). */
  writerHost: string;
  readerHosts: string[];
}

const why = {
  role: "to know what the container is",
  host: "to pair an app server with its web node",
  statsPort: "to read HAProxy's stats",
  healthCheck: "for HAProxy's check timing (inter x fall bounds failure detection)",
  engine: "to pick the database client",
  engineVersion: "to describe the database",
  dbRole: "to tell the primary from the replicas",
  listenPort: "to reach the service",
};

/** A container's labels as facts; fails if it has no (valid) role. */
export function containerFacts(c: LabContainer): ContainerFacts {
  const facts = Object.fromEntries(
    Object.entries(c.labels)
      .filter(([k]) => k.startsWith(FACT_LABEL_PREFIX))
      .map(([k, v]) => [k.slice(FACT_LABEL_PREFIX.length), v]),
  );
  const role = requiredFact(c, "role", why.role);
  if (!(ROLES as readonly string[]).includes(role)) throw factError(c, "role", `is "${role}", not one of ${ROLES.join(", ")}`, why.role);
  return { name: c.name, hostname: c.hostname, role: role as Role, host: requiredFact(c, "host", why.host), facts };
}

/** The facts of a whole plan: look-ups by role, and the load balancer's, database's and app's specifics. */
export class StackFacts {
  constructor(readonly plan: LabPlan) {}

  /** A container by hostname or container name. */
  container(nameOrHost: string): LabContainer {
    const c = this.plan.containers.find((x) => x.name === nameOrHost || x.hostname === nameOrHost);
    if (!c) throw new Error(`no container "${nameOrHost}" in this stack (have: ${this.plan.containers.map((x) => x.hostname).join(", ")})`);
    return c;
  }

  facts(nameOrHost: string): ContainerFacts {
    return containerFacts(this.container(nameOrHost));
  }

  /**
   * Hostnames of the containers labelled with `role`, in start order (unlabelled
   * containers have none). Sidecars (a container in another's network namespace,
   * `network_mode = "container:..."`: an exporter beside its server) are left out
   * unless `sidecars` is set: `hostnames("web")` are the web nodes.
   */
  hostnames(role: Role, opts: { sidecars?: boolean } = {}): string[] {
    return this.plan.containers
      .filter((c) => c.labels[`${FACT_LABEL_PREFIX}role`] === role && (opts.sidecars || c.networkOf === undefined))
      .map((c) => c.hostname);
  }

  /** The sidecars of a container (those in its network namespace), by hostname, in start order. */
  sidecarsOf(nameOrHost: string): string[] {
    const owner = this.container(nameOrHost);
    return this.plan.containers.filter((c) => c.networkOf === owner.name).map((c) => c.hostname);
  }

  /** A short description of every container's role, by container name (`database replica (mariadb 10.11)`). */
  roles(): Record<string, string> {
    return Object.fromEntries(this.plan.containers.map((c) => [c.name, describeRole(c)]));
  }

  loadBalancer(nameOrHost: string): LoadBalancerFacts {
    const c = this.containerWithRole(nameOrHost, "load-balancer");
    const optionalPort = (key: string) => (c.labels[`${FACT_LABEL_PREFIX}${key}`] === undefined ? {} : { [key]: portFact(c, key, why.listenPort) });
    const floating = c.labels[`${FACT_LABEL_PREFIX}floating-address`]?.trim();
    if (floating !== undefined && !/^\d+\.\d+\.\d+\.\d+$/.test(floating))
      throw factError(c, "floating-address", `is "${floating}", not an IPv4 address`, "to find who holds the shared address");
    const https = optionalPort("https-port")["https-port"];
    return {
      hostname: c.hostname,
      listenPort: portFact(c, "listen-port", why.listenPort),
      ...(https === undefined ? {} : { httpsPort: https }),
      ...(floating ? { floatingAddress: floating } : {}),
      statsPort: portFact(c, "stats-port", why.statsPort),
      check: parseHealthCheck(c),
    };
  }

  /** The database cluster (`cluster` is needed only when the stack has more than one). */
  database(cluster?: string): DatabaseFacts {
    // The servers only: an exporter beside a server shares its role, not its db-role.
    const members = this.plan.containers.filter((c) => c.labels[`${FACT_LABEL_PREFIX}role`] === "database" && c.networkOf === undefined);
    const clusters = [...new Set(members.map((c) => requiredFact(c, "cluster", "to group the database servers")))];
    const name = cluster ?? (clusters.length === 1 ? clusters[0] : undefined);
    if (name === undefined)
      throw new MissingFactError(
        clusters.length === 0
          ? "the stack has no container labelled ha-web.role=database"
          : `the stack has several database clusters (${clusters.join(", ")}): say which`,
      );
    const inCluster = members.filter((c) => c.labels[`${FACT_LABEL_PREFIX}cluster`] === name);
    if (inCluster.length === 0) throw new MissingFactError(`no database cluster "${name}" in the stack (have: ${clusters.join(", ")})`);
    const byRole = (r: string) => inCluster.filter((c) => requiredFact(c, "db-role", why.dbRole) === r);
    const primaries = byRole("primary");
    if (primaries.length !== 1)
      throw new MissingFactError(`database cluster "${name}": ${primaries.length} containers labelled ha-web.db-role=primary, expected exactly one`);
    const [primary] = primaries;
    const engine = engineOf(primary);
    const addresses = (primary.labels[`${FACT_LABEL_PREFIX}addresses`] ?? "").split(/\s+/).filter(Boolean);
    return {
      cluster: name,
      engine,
      version: requiredFact(primary, "engine-version", why.engineVersion),
      dialect: DIALECTS[engine],
      primary: primary.hostname,
      replicas: byRole("replica").map((c) => c.hostname),
      writerAddress: addresses[0] ?? primary.hostname,
      port: portFact(primary, "listen-port", why.listenPort),
    };
  }

  /** The database engine's binaries of one database container (`ha-web.engine`). */
  dialect(nameOrHost: string): EngineDialect {
    return DIALECTS[engineOf(this.containerWithRole(nameOrHost, "database"))];
  }

  /** An app server's database wiring; without an argument, the first app server. */
  app(nameOrHost?: string): AppFacts {
    const c = nameOrHost === undefined ? this.container(this.firstWithRole("app")) : this.containerWithRole(nameOrHost, "app");
    const env = Object.fromEntries(c.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    const need = (name: string) => {
      if (!env[name])
        throw new MissingFactError(
          `${c.name} ($.resource.docker_container.${c.key}.env): no ${name}; the lab reads the app's database wiring from its environment (templates/app-environment.ts)`,
        );
      return env[name];
    };
    const hostOnly = (endpoint: string) => endpoint.split(":")[0];
    return {
      hostname: c.hostname,
      host: containerFacts(c).host,
      env,
      databaseName: need(APP_ENV.database),
      writerHost: hostOnly(need(APP_ENV.writerHost)),
      readerHosts: (env[APP_ENV.readerHosts] ?? "").split(",").filter(Boolean).map(hostOnly),
    };
  }

  /** The app server that runs on the same host as web node `webHostname`. */
  appOf(webHostname: string): string {
    const host = this.facts(webHostname).host;
    const app = this.plan.containers.find(
      (c) => c.labels[`${FACT_LABEL_PREFIX}role`] === "app" && c.labels[`${FACT_LABEL_PREFIX}host`] === host && c.networkOf === undefined,
    );
    if (!app) throw new MissingFactError(`no container labelled ha-web.role=app with ha-web.host=${host} (the host of ${webHostname})`);
    return app.hostname;
  }

  private firstWithRole(role: Role): string {
    const [first] = this.hostnames(role);
    if (!first) throw new MissingFactError(`the stack has no container labelled ha-web.role=${role}`);
    return first;
  }

  private containerWithRole(nameOrHost: string, role: Role): LabContainer {
    const c = this.container(nameOrHost);
    const actual = containerFacts(c).role;
    if (actual !== role) throw new MissingFactError(`${c.name} is labelled ha-web.role=${actual}, not ${role}`);
    return c;
  }
}

/** `load balancer`, `web`, `app`, `database primary (mariadb 10.11)`; `?` for an unlabelled container. */
export function describeRole(c: LabContainer): string {
  const label = (key: string) => c.labels[`${FACT_LABEL_PREFIX}${key}`];
  switch (label("role")) {
    case "load-balancer":
      return "load balancer";
    case "database":
      if (c.networkOf !== undefined) return `database exporter (beside ${c.networkOf})`;
      return `database ${label("db-role") ?? "?"} (${[label("engine") ?? "?", label("engine-version")].filter(Boolean).join(" ")})`;
    case "monitoring":
      return label("monitoring-role") ? `monitoring ${label("monitoring-role")}` : "monitoring";
    case undefined:
      return "?";
    default:
      return c.networkOf !== undefined ? `${label("role")} sidecar (beside ${c.networkOf})` : label("role");
  }
}

function factError(c: LabContainer, key: string, problem: string, purpose: string): MissingFactError {
  return new MissingFactError(
    `${c.name} ($.resource.docker_container.${c.key}.labels): the label "${FACT_LABEL_PREFIX}${key}" ${problem}; the lab needs it ${purpose}. ` +
      "The Docker target writes these labels on every container: synthesize the stack again (npm run synth).",
  );
}

function requiredFact(c: LabContainer, key: string, purpose: string): string {
  const v = c.labels[`${FACT_LABEL_PREFIX}${key}`];
  if (v === undefined || v.trim() === "") throw factError(c, key, "is missing", purpose);
  return v.trim();
}

function portFact(c: LabContainer, key: string, purpose: string): number {
  const v = requiredFact(c, key, purpose);
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw factError(c, key, `is "${v}", not a port number`, purpose);
  return n;
}

function engineOf(c: LabContainer): MysqlEngine {
  const engine = requiredFact(c, "engine", why.engine);
  if (!(engine in DIALECTS)) throw factError(c, "engine", `is "${engine}", not one of ${Object.keys(DIALECTS).join(", ")}`, why.engine);
  return engine as MysqlEngine;
}

/** `inter=2000 fall=3 rise=2 path=/health` (milliseconds, counts, the checked path). */
function parseHealthCheck(c: LabContainer): LoadBalancerFacts["check"] {
  const raw = requiredFact(c, "health-check", why.healthCheck);
  const fields = Object.fromEntries(
    raw
      .split(/\s+/)
      .filter((kv) => kv.includes("="))
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
  const count = (key: string) => {
    const n = Number(fields[key]);
    if (fields[key] === undefined || !Number.isInteger(n) || n < 1)
      throw factError(c, "health-check", `is "${raw}": ${key}= must be a positive integer`, why.healthCheck);
    return n;
  };
  return { interMs: count("inter"), fall: count("fall"), rise: count("rise"), path: fields.path ?? "/" };
}
