/**
 * One source for every default: the constants the code reads (templates'
 * *_DEFAULTS, the tiers' *_DEFAULTS) must agree with what each prop's JSDoc
 * `@default` promises, so docs and behaviour cannot drift apart.
 */
import { readFileSync } from "fs";
import { join } from "path";
import * as ts from "typescript";
import { LOAD_BALANCER_TIER_DEFAULTS, MONITORING_TIER_DEFAULTS, MYSQL_CLUSTER_DEFAULTS, WEB_APP_TIER_DEFAULTS } from "../../lib";
import { HAPROXY_LIMITS_DEFAULTS, NGINX_LIMITS_DEFAULTS } from "../../templates/edge-limits";
import { HAPROXY_DEFAULTS } from "../../templates/haproxy";
import { DEFAULT_ENGINE_VERSION } from "../../templates/mysql/engine";
import { MYSQL_DEFAULTS } from "../../templates/mysql/my-cnf";
import { NGINX_DEFAULTS } from "../../templates/nginx";

const repo = join(__dirname, "..", "..");

/** `@default` text of each member of an interface, for the literal ones (a number or a quoted string). */
function literalDefaults(file: string, iface: string): Record<string, string | number> {
  const source = ts.createSourceFile(file, readFileSync(join(repo, file), "utf8"), ts.ScriptTarget.ES2022, true);
  const decl = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === iface);
  if (!decl) throw new Error(`${file} has no interface ${iface}`);
  const out: Record<string, string | number> = {};
  for (const member of decl.members) {
    const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === "default");
    const text = typeof tag?.comment === "string" ? tag.comment.trim() : undefined;
    if (!member.name || !ts.isIdentifier(member.name) || text === undefined) continue;
    const literal = /^(\d+)(\s|$)/.exec(text) ?? /^"([^"]*)"(\s|$)/.exec(text);
    if (literal) out[member.name.text] = /^\d/.test(literal[1]) && !text.startsWith('"') ? Number(literal[1]) : literal[1];
  }
  return out;
}

test.each<[string, string, string, Record<string, unknown>]>([
  [
    "lib/tiers/mysql-cluster.ts",
    "MysqlClusterProps",
    "MYSQL_CLUSTER_DEFAULTS",
    { ...MYSQL_CLUSTER_DEFAULTS, innodbBufferPoolSize: MYSQL_DEFAULTS.innodbBufferPoolSize, version: DEFAULT_ENGINE_VERSION.mariadb },
  ],
  ["lib/tiers/web-app-tier.ts", "WebAppTierProps", "WEB_APP_TIER_DEFAULTS", { ...WEB_APP_TIER_DEFAULTS }],
  [
    "lib/tiers/web-app-tier.ts",
    "AppServerProps",
    "WEB_APP_TIER_DEFAULTS.appPort",
    { port: WEB_APP_TIER_DEFAULTS.appPort, user: WEB_APP_TIER_DEFAULTS.appUser, metricsPort: WEB_APP_TIER_DEFAULTS.appMetricsPort },
  ],
  ["lib/tiers/monitoring-tier.ts", "MonitoringTierProps", "MONITORING_TIER_DEFAULTS", { ...MONITORING_TIER_DEFAULTS }],
  ["lib/tiers/mysql-cluster.ts", "MysqlExporterProps", "MYSQL_CLUSTER_DEFAULTS.exporter", { ...MYSQL_CLUSTER_DEFAULTS.exporter }],
  [
    "lib/tiers/load-balancer-tier.ts",
    "LoadBalancerTierProps",
    "LOAD_BALANCER_TIER_DEFAULTS",
    { ...LOAD_BALANCER_TIER_DEFAULTS, algorithm: HAPROXY_DEFAULTS.algorithm, retries: HAPROXY_DEFAULTS.retries },
  ],
  ["templates/haproxy.ts", "HaproxyHealthCheck", "HAPROXY_DEFAULTS.healthCheck", { ...HAPROXY_DEFAULTS.healthCheck }],
  ["templates/haproxy.ts", "HaproxyTimeouts", "HAPROXY_DEFAULTS.timeouts", { ...HAPROXY_DEFAULTS.timeouts }],
  ["templates/nginx.ts", "NginxConfig", "NGINX_DEFAULTS", { ...NGINX_DEFAULTS }],
  ["templates/edge-limits.ts", "HaproxyLimits", "HAPROXY_LIMITS_DEFAULTS", { ...HAPROXY_LIMITS_DEFAULTS }],
  ["templates/edge-limits.ts", "NginxLimits", "NGINX_LIMITS_DEFAULTS", { ...NGINX_LIMITS_DEFAULTS }],
])("%s %s: every literal @default is %s", (file, iface, _source, constants) => {
  const documented = literalDefaults(file, iface);
  expect(Object.keys(documented).length).toBeGreaterThan(0);
  const disagreements = Object.entries(documented)
    .filter(([k, v]) => k in constants && constants[k] !== v)
    .map(([k, v]) => `${k}: @default ${v}, code ${String(constants[k])}`);
  expect(disagreements).toEqual([]);
  // Every documented literal has a constant behind it (else it is a second source).
  expect(Object.keys(documented).filter((k) => !(k in constants))).toEqual([]);
});
