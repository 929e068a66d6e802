/**
 * How a resource says what it is for, so the policy can allow exactly the load
 * balancer's exceptions (a public address, internet ingress on 80 and 443).
 */

/** Tag naming the role of an instance, network interface or security group. */
export const ROLE_TAG = "ha-web:role";

/** The only role that may face the internet. */
export const LOAD_BALANCER_ROLE = "load-balancer";

/** Ports a load balancer security group may open to 0.0.0.0/0 (and ::/0). */
export const PUBLIC_LOAD_BALANCER_PORTS: readonly number[] = [80, 443];
