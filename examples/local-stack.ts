import { TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { DockerTarget } from "../lib";
import { declareSeedStack, SeedStackOptions } from "./seed-stack";

/** `local`: the seed's stack on the local Docker engine, published on 127.0.0.1:8080. */
export class LocalStack extends TerraformStack {
  constructor(scope: Construct, id: string, options: SeedStackOptions = {}) {
    super(scope, id);
    const target = new DockerTarget(this, "docker", { namePrefix: "haweb" });
    declareSeedStack(this, target, options);
  }
}
