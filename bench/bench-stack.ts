/**
 * The stack `npm run bench:lab` runs: the `local` example's composition
 * (examples/seed-stack.ts: a load-balancer pair with HTTPS, two web nodes, a
 * primary and a replica, the monitoring host) with three differences, each so a
 * figure can be measured at all, none of them a tuning:
 *
 *  - `redirectHttpToHttps: false`: port 80 serves plain HTTP through HAProxy, so
 *    the balanced path is measured with and without TLS in the same run (the
 *    example answers every plain request with a 308);
 *  - `limits.maxRequestsPerClient` raised: the bench's one client address would
 *    otherwise be answered 429 above 2,000 requests/s (20,000 per 10 s), which is
 *    the abuse limit doing its job, not the data path's capacity;
 *  - `--variant` (A/B runs of a rendered config, bench/README.md): the tuning
 *    props set to something else than their defaults.
 *
 * Usage: node dist-lab/bench/bench-stack.js OUTDIR [VARIANT_JSON]
 * VARIANT_JSON: `{"loadBalancer": {...LoadBalancerTierProps}, "web": {...WebAppTierProps}}` (partial).
 */
import { App, TerraformStack } from "cdktf";
import { DockerTarget, LoadBalancerTier, LoadBalancerTierProps, MonitoringTier, MysqlCluster, WebAppTier, WebAppTierProps } from "../lib";
import { EXAMPLE_ALERT_WEBHOOK_URL } from "../examples/seed-stack";

/** Far above what one client can send in the bench's runs (10 s window): the limit never answers. */
export const BENCH_MAX_REQUESTS_PER_CLIENT = 10_000_000;

export interface BenchVariant {
  readonly loadBalancer?: Partial<LoadBalancerTierProps>;
  readonly web?: Partial<WebAppTierProps>;
}

export function synthBenchStack(outdir: string, variant: BenchVariant = {}): string {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "bench");
  const target = new DockerTarget(stack, "docker", { namePrefix: "haweb" });
  const database = new MysqlCluster(stack, "database", { target, replicas: 1 });
  const web = new WebAppTier(stack, "web", { target, database, nodes: 2, ...variant.web });
  const loadBalancer = new LoadBalancerTier(stack, "load-balancer", {
    target,
    webTier: web,
    debugHeaders: true,
    redirectHttpToHttps: false,
    ...variant.loadBalancer,
    limits: { maxRequestsPerClient: BENCH_MAX_REQUESTS_PER_CLIENT, ...variant.loadBalancer?.limits },
  });
  new MonitoringTier(stack, "monitoring", { target, monitor: [database, web, loadBalancer], receiver: { webhookUrl: EXAMPLE_ALERT_WEBHOOK_URL } });
  app.synth();
  return `${outdir}/stacks/bench/cdk.tf.json`;
}

if (require.main === module) {
  const [outdir, variant] = process.argv.slice(2);
  if (!outdir) throw new Error("usage: bench-stack.js OUTDIR [VARIANT_JSON]");
  console.log(synthBenchStack(outdir, variant ? (JSON.parse(variant) as BenchVariant) : {}));
}
