/**
 * docs/props.md lists what every prop accepts: this keeps the tables complete
 * as props are added (the props are read from the interfaces themselves).
 */
import { readFileSync } from "fs";
import { join } from "path";
import * as ts from "typescript";

const repo = join(__dirname, "..", "..");

/** Member names of an exported interface in a source file. */
function membersOf(file: string, name: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(repo, file), "utf8"), ts.ScriptTarget.ES2022, true);
  const found = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
  if (!found) throw new Error(`${file} has no interface ${name}`);
  return found.members.flatMap((m) => (m.name && ts.isIdentifier(m.name) ? [m.name.text] : []));
}

/** The props named in the first column of the table under `## \`Heading\``. */
function documented(heading: string): Set<string> {
  const doc = readFileSync(join(repo, "docs", "props.md"), "utf8");
  const section = doc.split(/^## /m).find((s) => s.startsWith(`\`${heading}\``));
  if (!section) throw new Error(`docs/props.md has no section ## \`${heading}\``);
  const names = new Set<string>();
  for (const line of section.split("\n").filter((l) => l.startsWith("| `"))) {
    for (const m of line.split("|")[1].matchAll(/`([^`]+)`/g)) names.add(m[1]);
  }
  return names;
}

test.each([
  ["DockerTarget", "lib/targets/docker/docker-target.ts", "DockerTargetProps", ""],
  ["AwsTarget", "lib/targets/aws/props.ts", "AwsTargetProps", ""],
  ["MysqlCluster", "lib/tiers/mysql-cluster.ts", "MysqlClusterProps", ""],
  ["WebAppTier", "lib/tiers/web-app-tier.ts", "WebAppTierProps", ""],
  ["WebAppTier", "lib/tiers/web-app-tier.ts", "AppServerProps", "app."],
  ["LoadBalancerTier", "lib/tiers/load-balancer-tier.ts", "LoadBalancerTierProps", ""],
  ["LoadBalancerTier", "templates/haproxy.ts", "HaproxyHealthCheck", "healthCheck."],
  ["LoadBalancerTier", "lib/tiers/load-balancer-tier.ts", "LoadBalancerFailoverProps", "failover."],
  ["LoadBalancerTier", "templates/edge-limits.ts", "HaproxyLimits", "limits."],
  ["WebAppTier", "templates/edge-limits.ts", "NginxLimits", "limits."],
  ["MonitoringTier", "lib/tiers/monitoring-tier.ts", "MonitoringTierProps", ""],
])("docs/props.md documents every prop of %s (%s %s)", (heading, file, iface, prefix) => {
  const doc = documented(heading);
  // Nested props are documented one by one (app.port) or as a group (timeouts.*Ms).
  const missing = membersOf(file, iface)
    .map((m) => `${prefix}${m}`)
    .filter(
      (p) =>
        !doc.has(p) &&
        !(p === "app" || p === "healthCheck" || p === "timeouts" || p === "failover") &&
        ![...doc].some((d) => d.endsWith("*Ms") && p.startsWith(d.split(".")[0])),
    );
  expect(missing).toEqual([]);
  // And no row for a prop that no longer exists.
  const members = new Set(membersOf(file, iface).map((m) => `${prefix}${m}`));
  const stale = [...doc].filter((d) => (prefix === "" ? !d.includes(".") : d.startsWith(prefix)) && !members.has(d) && !d.endsWith("*Ms"));
  expect(stale).toEqual([]);
});

test("the nested groups the table names as a whole are documented", () => {
  expect([...documented("LoadBalancerTier")]).toEqual(expect.arrayContaining(["timeouts.*Ms", "healthCheck.path"]));
  expect([...documented("WebAppTier")]).toEqual(expect.arrayContaining(["app.environment", "app.port"]));
});
