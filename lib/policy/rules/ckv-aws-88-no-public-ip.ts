import { blocks, isTrue, tagsOf } from "../attributes";
import { LOAD_BALANCER_ROLE, ROLE_TAG } from "../markers";
import { finding, Finding, PolicyContext, PolicyRule, ResourceView } from "../types";

const FIX = `give public addresses only to load balancers (an instance or network interface tagged ${ROLE_TAG} = ${LOAD_BALANCER_ROLE}); keep other hosts in private subnets behind NAT`;

function isLoadBalancer(resource: ResourceView | undefined): boolean {
  return resource !== undefined && tagsOf(resource.config)[ROLE_TAG] === LOAD_BALANCER_ROLE;
}

/**
 * CKV_AWS_88: no instance has a public IP, except load balancers. Looks at
 * associate_public_ip_address, at subnets that map public IPs on launch, and at
 * Elastic IPs attached to instances or network interfaces.
 */
export function checkNoPublicIp(resource: ResourceView, context: PolicyContext): Finding[] {
  const c = resource.config;
  switch (resource.type) {
    case "aws_instance": {
      if (isLoadBalancer(resource)) return [];
      if (isTrue(c.associate_public_ip_address))
        return [finding("CKV_AWS_88", resource, "associate_public_ip_address is true on a host that is not a load balancer", FIX)];
      const subnet = context.resolve(c.subnet_id);
      if (c.associate_public_ip_address === undefined && subnet && isTrue(subnet.config.map_public_ip_on_launch)) {
        return [
          finding("CKV_AWS_88", resource, `its subnet ${subnet.address} maps public IPs on launch`, `${FIX}; or set associate_public_ip_address = false`),
        ];
      }
      return [];
    }
    case "aws_launch_template": {
      if (isLoadBalancer(resource)) return [];
      return blocks(c.network_interfaces)
        .map((nic, i) => ({ nic, i }))
        .filter(({ nic }) => isTrue(nic.associate_public_ip_address))
        .map(({ i }) => finding("CKV_AWS_88", resource, `network_interfaces[${i}].associate_public_ip_address is true`, FIX));
    }
    case "aws_eip":
    case "aws_eip_association": {
      const target =
        context.resolve(resource.type === "aws_eip" ? c.instance : c.instance_id) ??
        context.resolve(resource.type === "aws_eip" ? c.network_interface : c.network_interface_id);
      if (!target || isLoadBalancer(target)) return [];
      return [finding("CKV_AWS_88", resource, `the Elastic IP is attached to ${target.address}, which is not a load balancer`, FIX)];
    }
    default:
      return [];
  }
}

/** CKV_AWS_88 as a `PolicyRule`, for `HA_WEB_RULES` or your own pack: see {@link checkNoPublicIp}. */
export const CKV_AWS_88: PolicyRule = {
  id: "CKV_AWS_88",
  title: "No public IP except on load balancers",
  resourceTypes: ["aws_instance", "aws_launch_template", "aws_eip", "aws_eip_association"],
  check: checkNoPublicIp,
};
