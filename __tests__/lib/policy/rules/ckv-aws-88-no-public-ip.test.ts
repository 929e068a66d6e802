import { Eip } from "@cdktf/provider-aws/lib/eip";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { CKV_AWS_88 } from "../../../../lib/policy";
import { emptyStack, LOAD_BALANCER_TAGS, messagesOf } from "../rule-harness";

const AMI = { ami: "ami-0123456789abcdef0", instanceType: "t3.micro" };
const FIX =
  "give public addresses only to load balancers (an instance or network interface tagged ha-web:role = load-balancer); keep other hosts in private subnets behind NAT";

describe(`${CKV_AWS_88.id}: ${CKV_AWS_88.title}`, () => {
  test("passes: a private host; a load balancer with a public address and an Elastic IP", () => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, associatePublicIpAddress: false });
    const lb = new Instance(stack, "lb", { ...AMI, associatePublicIpAddress: true, tags: LOAD_BALANCER_TAGS });
    new Eip(stack, "lb-ip", { domain: "vpc", instance: lb.id });
    expect(messagesOf(stack, CKV_AWS_88)).toEqual([]);
  });

  test("fails: a public address on a host that is not a load balancer", () => {
    const stack = emptyStack();
    new Instance(stack, "web", { ...AMI, associatePublicIpAddress: true });
    expect(messagesOf(stack, CKV_AWS_88)).toEqual([
      `[CKV_AWS_88] aws_instance.web (test/web): associate_public_ip_address is true on a host that is not a load balancer. Fix: ${FIX}.`,
    ]);
  });

  test("fails: a host in a subnet that maps public IPs on launch", () => {
    const stack = emptyStack();
    const subnet = new Subnet(stack, "public", { vpcId: "vpc-0123456789abcdef0", cidrBlock: "10.0.0.0/24", mapPublicIpOnLaunch: true });
    new Instance(stack, "web", { ...AMI, subnetId: subnet.id });
    expect(messagesOf(stack, CKV_AWS_88)).toEqual([
      `[CKV_AWS_88] aws_instance.web (test/web): its subnet aws_subnet.public maps public IPs on launch. Fix: ${FIX}; or set associate_public_ip_address = false.`,
    ]);
  });

  test("fails: an Elastic IP on a host that is not a load balancer", () => {
    const stack = emptyStack();
    const web = new Instance(stack, "web", AMI);
    new Eip(stack, "web-ip", { domain: "vpc", instance: web.id });
    expect(messagesOf(stack, CKV_AWS_88)).toEqual([
      `[CKV_AWS_88] aws_eip.web-ip (test/web-ip): the Elastic IP is attached to aws_instance.web, which is not a load balancer. Fix: ${FIX}.`,
    ]);
  });
});
