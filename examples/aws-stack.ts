import { TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AwsTarget, AwsTargetProps } from "../lib/targets/aws";
import { HaWebPolicyChecks } from "../lib/policy";
import { declareSeedStack } from "./seed-stack";

export interface AwsStackProps {
  /** Settings of the AWS target (region, zones, NAT gateways, instance types, ...). @default {} */
  readonly target?: AwsTargetProps;
  /** Apply the library's policy checks (IMDSv2, encryption, ingress, ...): a finding fails synth. @default true */
  readonly policyChecks?: boolean;
}

/**
 * `aws`: the seed's stack (a load-balancer pair, two web nodes with their apps, a
 * primary and one replica) on EC2 in a new VPC, in us-east-1 unless
 * `target.region` says otherwise. Synthesizes without AWS credentials;
 * `cdktf deploy aws` needs them.
 */
export class AwsStack extends TerraformStack {
  public readonly target: AwsTarget;

  constructor(scope: Construct, id: string, props: AwsStackProps = {}) {
    super(scope, id);
    this.target = new AwsTarget(this, "aws", props.target);
    const { loadBalancer, database } = declareSeedStack(this, this.target);
    new TerraformOutput(this, "load-balancer-public-ips", {
      value: loadBalancer.endpoints.map((e) => e.host),
      description: "Each load balancer node's own Elastic IP (HTTPS on 443, HTTP redirected); clients use `url`, the pair's shared address",
    });
    new TerraformOutput(this, "database-endpoints", {
      value: [database.writerEndpoint, ...database.readerEndpoints].map((e) => `${e.host}:${e.port}`),
      description: "Private DNS names of the database nodes (writer first), resolvable inside the VPC",
    });
    if (props.policyChecks ?? true) HaWebPolicyChecks.applyTo(this);
  }
}
