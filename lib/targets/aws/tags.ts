export { LOAD_BALANCER_ROLE, ROLE_TAG } from "../../policy/markers";

/** Tag naming the host (node) an instance, volume or interface belongs to. */
export const HOST_TAG = "ha-web:host";
