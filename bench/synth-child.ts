/**
 * One measured synth, in its own process so its peak RSS is its own:
 *   node synth-child.js <examples|naive|scale> <outdir> [docker|aws] [webNodes] [replicas]
 * Prints one JSON line: { maxRssKb, jsonBytes, synthMs } (wall time is measured by
 * the parent, around the whole process: module loading is part of the cost).
 *
 * `naive` is the baseline of issue 14: the same example stacks, declared by a
 * program that imports the provider packages from their roots (as most cdktf
 * programs do), before it declares anything.
 */
import { readdirSync, statSync } from "fs";
import { join } from "path";

const [mode, outdir, target = "docker", webNodesArg = "2", replicasArg = "1"] = process.argv.slice(2);

function jsonBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += jsonBytes(p);
    else if (e.name === "cdk.tf.json") total += statSync(p).size;
  }
  return total;
}

function main(): void {
  const started = process.hrtime.bigint();
  if (mode === "naive") {
    // The root imports: every resource class of every provider is loaded.
    for (const pkg of ["@cdktf/provider-aws", "@cdktf/provider-docker", "@cdktf/provider-random", "@cdktf/provider-tls"]) require(pkg);
  }
  const { App, TerraformStack } = require("cdktf") as typeof import("cdktf");
  const app = new App({ outdir });
  if (mode === "examples" || mode === "naive") {
    const { LocalStack, AwsStack } = require("../main") as typeof import("../main");
    new LocalStack(app, "local");
    new AwsStack(app, "aws");
  } else if (mode === "scale") {
    const { declareSeedStack } = require("../examples/seed-stack") as typeof import("../examples/seed-stack");
    const stack = new TerraformStack(app, `scale-${target}`);
    const webNodes = Number(webNodesArg);
    const replicas = Number(replicasArg);
    if (target === "aws") {
      const { AwsTarget } = require("../lib/targets/aws") as typeof import("../lib/targets/aws");
      declareSeedStack(stack, new AwsTarget(stack, "aws"), { webNodes, databaseReplicas: replicas });
    } else {
      const { DockerTarget } = require("../lib") as typeof import("../lib");
      declareSeedStack(stack, new DockerTarget(stack, "docker", { namePrefix: "haweb" }), { webNodes, databaseReplicas: replicas });
    }
  } else {
    throw new Error(`unknown mode "${mode}" (examples, naive, scale)`);
  }
  app.synth();
  const synthMs = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, jsonBytes: jsonBytes(outdir), synthMs })}\n`);
}

main();
