/**
 * How a resource says what it is for, so the policy can allow exactly the load
 * balancer's exceptions (a public address, internet ingress on 80 and 443). The
 * tags are the AWS target's own.
 */
export { LOAD_BALANCER_ROLE, ROLE_TAG } from "../targets/aws/tags";

/** Ports a load balancer security group may open to 0.0.0.0/0 (and ::/0). */
export const PUBLIC_LOAD_BALANCER_PORTS: readonly number[] = [80, 443];
