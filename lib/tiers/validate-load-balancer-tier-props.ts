import { Construct } from "constructs";
import { HaproxyConfig, validateHaproxyConfig } from "../../templates/haproxy";
import { isDnsLabel, isPort } from "../../templates/validate";
import { isWholeNumber, PropValidator } from "../private/validation";
import type { LoadBalancerTierProps } from "./load-balancer-tier";

/** The props with their defaults filled in, as the tier uses them. */
export interface ResolvedLoadBalancerTierProps {
  readonly nodes: number;
  readonly namePrefix: string;
  readonly port: number;
  readonly statsPort: number;
  /** The config every node renders (with node 1's name). */
  readonly sample: HaproxyConfig;
}

/**
 * The rules of LoadBalancerTierProps (what HAProxy 2.6 and the targets accept),
 * checked before anything is created: throws one error listing every problem.
 */
export function validateLoadBalancerTierProps(scope: Construct, props: LoadBalancerTierProps, r: ResolvedLoadBalancerTierProps): void {
  const v = new PropValidator("LoadBalancerTier", scope);
  v.check(props.target !== undefined && props.target !== null, "target", "is missing", "pass the DockerTarget or AwsTarget the nodes run on");
  v.check(
    r.sample.servers.length > 0,
    "webTier",
    "and `backends` give no web node to balance over (an empty backend set)",
    "pass a WebAppTier as webTier, or at least one backend",
  );
  v.check(isWholeNumber(r.nodes, 1), "nodes", `is ${r.nodes}; it must be a whole number of at least 1`, "use 1 or more");
  const lastNode = `${r.namePrefix}-${isWholeNumber(r.nodes, 1) ? r.nodes : 1}`;
  v.check(
    isDnsLabel(lastNode),
    "namePrefix",
    `"${r.namePrefix}" does not make valid DNS labels (node names such as "${lastNode}")`,
    'use lower-case letters, digits and dashes, for example "lb"',
  );
  v.check(isPort(r.port), "port", `is ${r.port}; it must be a whole number in 1-65535`, "use 80");
  v.check(isPort(r.statsPort), "statsPort", `is ${r.statsPort}; it must be a whole number in 1-65535`, "use 8404");
  v.check(r.port !== r.statsPort, "statsPort", `equals port (${r.port}): two listeners on one port`, "use different ports, for example 80 and 8404");
  if (v.ok) {
    v.fromTemplate(validateHaproxyConfig(r.sample), {
      httpPort: "checked",
      statsPort: "checked",
      nodeName: "checked",
      user: "checked",
      maxConnections: "checked",
      servers: { prop: props.webTier ? "webTier/backends" : "backends", fix: "give every web node a unique DNS-label name, a host name and a port in 1-65535" },
      algorithm: { prop: "algorithm", fix: 'use "roundrobin" (or static-rr, leastconn, first, source, random)' },
      "healthCheck.path": { prop: "healthCheck.path", fix: 'use an absolute path such as "/health"' },
      "healthCheck.intervalMs": { prop: "healthCheck.intervalMs", fix: "use 2000 (HAProxy's default)" },
      "healthCheck.fall": { prop: "healthCheck.fall", fix: "use 3" },
      "healthCheck.rise": { prop: "healthCheck.rise", fix: "use 2" },
      retries: { prop: "retries", fix: "use 3" },
      timeouts: { prop: "timeouts", fix: "use whole milliseconds, for example connectMs: 5000" },
    });
  }
  v.throwIfInvalid();
}
