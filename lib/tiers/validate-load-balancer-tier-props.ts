import { Construct } from "constructs";
import { HaproxyConfig, validateHaproxyConfig } from "../../templates/haproxy";
import { ADVERT_INTERVAL_RANGE } from "../../templates/keepalived";
import { isDnsLabel, isPort } from "../../templates/validate";
import { TlsCertificate } from "../tls-certificate";
import { checkLimitsAgainstWebTier } from "./edge-limits";
import { WebAppTier } from "./web-app-tier";
import { isWholeNumber, PropValidator } from "../private/validation";
import type { LoadBalancerTierProps } from "./load-balancer-tier";

/** The props with their defaults filled in, as the tier uses them. */
export interface ResolvedLoadBalancerTierProps {
  readonly nodes: number;
  readonly namePrefix: string;
  readonly port: number;
  readonly statsPort: number;
  readonly https: boolean;
  readonly failover: { readonly virtualRouterId: number; readonly advertIntervalSeconds: number; readonly initialMaster: number };
  readonly certificate: TlsCertificate;
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
  if (!r.https) {
    for (const prop of ["certificate", "httpsPort", "redirectHttpToHttps", "hsts"] as const) {
      v.check(props[prop] === undefined, prop, "is set while `https` is false (HTTPS is off, so it would do nothing)", `remove ${prop}, or turn https back on`);
    }
  } else {
    for (const problem of r.certificate.problems()) {
      const fix = problem.includes("literal private key")
        ? "pass the key as a Terraform reference (a sensitive TerraformVariable, a data source), or use TlsCertificate.fromFiles, fromSsmParameters or fromSecretsManager"
        : problem.includes("does not exist")
          ? "give the path of an existing PEM file (relative paths are resolved against the directory synth runs in)"
          : "pass both the certificate and its private key";
      v.check(false, "certificate", problem, fix);
    }
    if (props.hsts) {
      const age = props.hsts.maxAgeSeconds;
      v.check(
        age === undefined || isWholeNumber(age, 1),
        "hsts.maxAgeSeconds",
        `is ${age}; it must be a whole number of seconds, at least 1`,
        "use 63072000 (two years), or hsts: false",
      );
    }
  }
  const f = r.failover;
  if (props.failover !== undefined) {
    v.check(r.nodes >= 2, "failover", `is set but nodes is ${r.nodes}: a single node has no one to fail over to`, "use nodes: 2, or remove failover");
  }
  v.check(
    isWholeNumber(f.virtualRouterId, 1, 255),
    "failover.virtualRouterId",
    `is ${f.virtualRouterId}; VRRP ids are 1-255`,
    "use 51, or any id no other VRRP group on the network uses",
  );
  v.check(
    isWholeNumber(f.advertIntervalSeconds, ADVERT_INTERVAL_RANGE.min, ADVERT_INTERVAL_RANGE.max),
    "failover.advertIntervalSeconds",
    `is ${f.advertIntervalSeconds}; it must be a whole number of seconds from ${ADVERT_INTERVAL_RANGE.min} to ${ADVERT_INTERVAL_RANGE.max}`,
    "use 1 (keepalived's default: takeover in about 3.6 s)",
  );
  v.check(
    isWholeNumber(f.initialMaster, 1, Math.max(1, r.nodes)),
    "failover.initialMaster",
    `is ${f.initialMaster}; it must name one of the ${r.nodes} nodes (1-${r.nodes})`,
    "use 1",
  );
  if (v.ok) {
    v.fromTemplate(validateHaproxyConfig(r.sample), {
      httpPort: "checked",
      "tls.httpsPort": { prop: "httpsPort", fix: "use 443, a port no other listener of the node uses" },
      "tls.hstsMaxAgeSeconds": "checked",
      "tls.certificatePath": "checked",
      statsPort: "checked",
      "statsAuth.user": { prop: "statsUser", fix: 'use letters, digits, "_", "." or "-", such as "admin"' },
      "statsAuth.passwordEnv": "checked",
      metricsPort: { prop: "metricsPort", fix: "use 8405, a port no other listener of the node uses, or null for none" },
      metricsBindAddress: "checked",
      nodeName: "checked",
      user: "checked",
      maxConnections: "checked",
      servers: { prop: props.webTier ? "webTier/backends" : "backends", fix: "give every web node a unique DNS-label name, a host name and a port in 1-65535" },
      algorithm: { prop: "algorithm", fix: 'use "roundrobin" (or static-rr, leastconn, first, source, random)' },
      "healthCheck.path": { prop: "healthCheck.path", fix: 'use an absolute path such as "/health"' },
      "healthCheck.intervalMs": { prop: "healthCheck.intervalMs", fix: "use 1000" },
      "healthCheck.fastIntervalMs": { prop: "healthCheck.fastIntervalMs", fix: "use 250" },
      "healthCheck.fall": { prop: "healthCheck.fall", fix: "use 3" },
      "healthCheck.rise": { prop: "healthCheck.rise", fix: "use 2" },
      retries: { prop: "retries", fix: "use 3" },
      timeouts: { prop: "timeouts", fix: "use whole milliseconds, for example connectMs: 5000" },
      limits: { prop: "limits", fix: "use whole numbers within the range the message gives, or leave the field unset for its default" },
      requestLog: { prop: "requestLog", fix: "use true (a log line per request) or false (none)" },
      threads: { prop: "threads", fix: "use a whole number from 1 to 64 (1 where HAProxy shares its cores), or leave it unset for one per CPU" },
    });
  }
  if (v.ok && props.webTier instanceof WebAppTier) checkLimitsAgainstWebTier(v, props.limits, props.webTier.limits);
  v.throwIfInvalid();
}
