import { TerraformOutput } from "cdktf";
import { Construct } from "constructs";
import { DeploymentTarget, LoadBalancerTier, MysqlCluster, WebAppTier } from "../lib";

/**
 * The seed's stack on any target, with its weaknesses fixed: a load-balancer pair
 * sharing one address, HTTPS (a self-signed certificate by default), two web
 * nodes, a primary and one replica.
 */
export function declareSeedStack(stack: Construct, target: DeploymentTarget) {
  const database = new MysqlCluster(stack, "database", { target, replicas: 1 });
  const web = new WebAppTier(stack, "web", { target, database, nodes: 2 });
  const loadBalancer = new LoadBalancerTier(stack, "load-balancer", { target, webTier: web });
  new TerraformOutput(stack, "url", { value: loadBalancer.endpoint.url, description: "Entry point of the stack: the load balancers' shared address" });
  new TerraformOutput(stack, "load-balancer-node-urls", {
    value: loadBalancer.endpoints.map((e) => e.url).join(","),
    description: "Each load balancer node directly",
  });
  new TerraformOutput(stack, "database-writer", { value: `${database.writerEndpoint.host}:${database.writerEndpoint.port}` });
  new TerraformOutput(stack, "database-readers", { value: database.readerEndpoints.map((r) => `${r.host}:${r.port}`).join(",") });
  return { database, web, loadBalancer };
}
