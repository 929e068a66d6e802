import { App, TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { DeploymentTarget, DockerTarget, LoadBalancerTier, MysqlCluster, WebAppTier } from "./lib";

/** The seed's stack: one load balancer, two web nodes, a primary and one replica. */
export function declareSeedStack(stack: Construct, target: DeploymentTarget) {
  const database = new MysqlCluster(stack, "database", { target, replicas: 1 });
  const web = new WebAppTier(stack, "web", { target, database, nodes: 2 });
  const loadBalancer = new LoadBalancerTier(stack, "load-balancer", { target, webTier: web });
  new TerraformOutput(stack, "url", { value: loadBalancer.endpoint.url, description: "Entry point of the stack" });
  new TerraformOutput(stack, "database-writer", { value: `${database.writerEndpoint.host}:${database.writerEndpoint.port}` });
  new TerraformOutput(stack, "database-readers", { value: database.readerEndpoints.map((r) => `${r.host}:${r.port}`).join(",") });
  return { database, web, loadBalancer };
}

/** `local`: everything on the local Docker engine, published on 127.0.0.1:8080. */
export class LocalStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const target = new DockerTarget(this, "docker", { namePrefix: "haweb" });
    declareSeedStack(this, target);
  }
}

if (require.main === module) {
  const app = new App();
  new LocalStack(app, "local");
  app.synth();
}
