/**
 * The tags AwsTarget writes so a resource says what it is for. The target owns
 * them; the policy reads them (to allow exactly the load balancer's exceptions).
 */

/** Tag naming the role of an instance, network interface or security group. */
export const ROLE_TAG = "ha-web:role";

/** The role of the load balancers: the only hosts that face the internet. */
export const LOAD_BALANCER_ROLE = "load-balancer";

/** Tag naming the host (node) an instance, volume or interface belongs to. */
export const HOST_TAG = "ha-web:host";
