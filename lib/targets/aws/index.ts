/**
 * `cdktf-ha-web/aws`: the AWS EC2 target. Its internals (network, IAM, secrets,
 * instances, cloud-init) live in ./private and are not part of the public API.
 */
export * from "./aws-target";
export * from "./props";
export { DEFAULT_DEBIAN_PACKAGES, debianPackagesFor } from "./packages";
export { HOST_TAG, LOAD_BALANCER_ROLE, ROLE_TAG } from "./tags";
