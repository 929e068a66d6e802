import { Fn, ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones";
import { DataAwsSubnet } from "@cdktf/provider-aws/lib/data-aws-subnet";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { Ec2SubnetCidrReservation } from "@cdktf/provider-aws/lib/ec2-subnet-cidr-reservation";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { ExistingVpc } from "../props";
import { cidrSubnet, parseCidr } from "./cidr";

/** A subnet as the instances need it: its id and its availability zone (EBS volumes must match it). */
export interface SubnetRef {
  readonly id: string;
  readonly availabilityZone: string;
  /** Its CIDR block: literal for the subnets AwsNetwork creates, a reference for an existing VPC's. */
  readonly cidrBlock: string;
  /** The block no instance is given an address from unless it asks for it (public subnets this construct creates). */
  readonly fixedAddresses?: string;
}

/** The block of a public /24 kept for fixed addresses (the load-balancer pairs'): .224/28, below the broadcast address. */
export function fixedAddressBlock(subnetCidr: string): string {
  return cidrSubnet(subnetCidr, 4, 14);
}

export interface AwsNetworkProps {
  readonly namePrefix: string;
  readonly vpcCidr: string;
  readonly availabilityZones: number;
  readonly natGateways: number;
  readonly existingVpc?: ExistingVpc;
  readonly flowLogs: boolean;
  readonly flowLogRetentionDays: number;
}

/**
 * The VPC: public subnets (load balancers, NAT gateways) and private subnets
 * (everything else) in `availabilityZones` zones, an internet gateway, NAT
 * gateways, the default security group stripped of its rules, and flow logs.
 * With `existingVpc`, only looks up the given subnets' zones.
 */
export class AwsNetwork extends Construct {
  public readonly vpcId: string;
  public readonly publicSubnets: SubnetRef[] = [];
  public readonly privateSubnets: SubnetRef[] = [];
  /** The VPC, when this construct created it. */
  public readonly vpc?: Vpc;
  public readonly natGateways: NatGateway[] = [];
  /** What a private host needs before it boots: its route to the internet through NAT (for packages). */
  public readonly privateEgress: ITerraformDependable[] = [];
  /** What a public host needs before it boots: the route to the internet gateway. */
  public readonly publicEgress: ITerraformDependable[] = [];
  private readonly publicReservations: Ec2SubnetCidrReservation[] = [];

  constructor(scope: Construct, id: string, props: AwsNetworkProps) {
    super(scope, id);
    const name = (suffix: string) => ({ Name: `${props.namePrefix}-${suffix}` });

    if (props.existingVpc) {
      this.vpcId = props.existingVpc.vpcId;
      const lookup = (kind: string, ids: readonly string[], into: SubnetRef[]) =>
        ids.forEach((subnetId, i) => {
          const subnet = new DataAwsSubnet(this, `${kind}-subnet-${i + 1}`, { id: subnetId });
          into.push({ id: subnetId, availabilityZone: subnet.availabilityZone, cidrBlock: subnet.cidrBlock });
        });
      lookup("public", props.existingVpc.publicSubnetIds, this.publicSubnets);
      lookup("private", props.existingVpc.privateSubnetIds, this.privateSubnets);
      return;
    }

    const vpc = new Vpc(this, "vpc", {
      cidrBlock: props.vpcCidr,
      // The private hosted zone needs both.
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: name("vpc"),
    });
    this.vpc = vpc;
    this.vpcId = vpc.id;

    // Nothing may use the default security group: it allows all traffic between its members.
    new DefaultSecurityGroup(this, "default-security-group", { vpcId: vpc.id, tags: name("default-deny-all") });

    const zones = new DataAwsAvailabilityZones(this, "zones", {
      state: "available",
      filter: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
    });
    const igw = new InternetGateway(this, "internet-gateway", { vpcId: vpc.id, tags: name("igw") });

    const [, prefix] = parseCidr(props.vpcCidr) ?? [0, 16];
    const newBits = 24 - prefix; // /24 subnets
    const publicRoutes = new RouteTable(this, "public-routes", { vpcId: vpc.id, tags: name("public") });
    this.publicEgress.push(new Route(this, "public-default-route", { routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }));

    for (let i = 0; i < props.availabilityZones; i++) {
      const zone = Fn.element(zones.names, i);
      const cidrBlock = cidrSubnet(props.vpcCidr, newBits, i);
      const subnet = new Subnet(this, `public-subnet-${i + 1}`, {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock,
        // Only load balancers live here, and they get an Elastic IP: nothing else gets a public address.
        mapPublicIpOnLaunch: false,
        tags: { ...name(`public-${i + 1}`), "ha-web:tier": "public" },
      });
      this.publicEgress.push(new RouteTableAssociation(this, `public-subnet-${i + 1}-routes`, { subnetId: subnet.id, routeTableId: publicRoutes.id }));
      // AWS hands out addresses of this block only on request: the load-balancer pairs' fixed
      // addresses (keepalived's peers) never collide with a NAT gateway's or another interface's.
      const fixedAddresses = fixedAddressBlock(cidrBlock);
      const reservation = new Ec2SubnetCidrReservation(this, `public-subnet-${i + 1}-fixed-addresses`, {
        subnetId: subnet.id,
        cidrBlock: fixedAddresses,
        reservationType: "explicit",
        description: "cdktf-ha-web: fixed addresses of load-balancer pairs",
      });
      this.publicEgress.push(reservation);
      this.publicReservations.push(reservation);
      this.publicSubnets.push({ id: subnet.id, availabilityZone: zone, cidrBlock, fixedAddresses });
    }

    for (let i = 0; i < props.natGateways; i++) {
      const eip = new Eip(this, `nat-${i + 1}-address`, { domain: "vpc", tags: name(`nat-${i + 1}`), dependsOn: [igw] });
      this.natGateways.push(
        new NatGateway(this, `nat-${i + 1}`, {
          allocationId: eip.allocationId,
          subnetId: this.publicSubnets[i].id,
          tags: name(`nat-${i + 1}`),
          dependsOn: [igw, ...this.publicReservations],
        }),
      );
    }

    for (let i = 0; i < props.availabilityZones; i++) {
      const zone = Fn.element(zones.names, i);
      const cidrBlock = cidrSubnet(props.vpcCidr, newBits, 8 + i);
      const subnet = new Subnet(this, `private-subnet-${i + 1}`, {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock,
        mapPublicIpOnLaunch: false,
        tags: { ...name(`private-${i + 1}`), "ha-web:tier": "private" },
      });
      // A zone without its own NAT gateway uses another zone's (cheaper, less available).
      const nat = this.natGateways[i % this.natGateways.length];
      const routes = new RouteTable(this, `private-routes-${i + 1}`, { vpcId: vpc.id, tags: name(`private-${i + 1}`) });
      this.privateEgress.push(
        new Route(this, `private-default-route-${i + 1}`, { routeTableId: routes.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id }),
        new RouteTableAssociation(this, `private-subnet-${i + 1}-routes`, { subnetId: subnet.id, routeTableId: routes.id }),
      );
      this.privateSubnets.push({ id: subnet.id, availabilityZone: zone, cidrBlock });
    }

    if (props.flowLogs) this.addFlowLogs(vpc, props);
  }

  private addFlowLogs(vpc: Vpc, props: AwsNetworkProps): void {
    const group = new CloudwatchLogGroup(this, "flow-log-group", {
      namePrefix: `/${props.namePrefix}/vpc-flow-logs/`,
      retentionInDays: props.flowLogRetentionDays,
      tags: { Name: `${props.namePrefix}-flow-logs` },
    });
    const role = new IamRole(this, "flow-log-role", {
      namePrefix: `${props.namePrefix}-flow-logs-`,
      description: "Delivers the VPC flow logs of cdktf-ha-web to CloudWatch Logs",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    new IamRolePolicy(this, "flow-log-policy", {
      role: role.id,
      name: "deliver-flow-logs",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: [group.arn, `${group.arn}:*`],
          },
        ],
      }),
    });
    new FlowLog(this, "flow-log", {
      vpcId: vpc.id,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: group.arn,
      iamRoleArn: role.arn,
      maxAggregationInterval: 600,
      tags: { Name: `${props.namePrefix}-vpc` },
    });
  }
}
