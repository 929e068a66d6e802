/**
 * cdktf-ha-web: the constructs of a highly available web stack, their props,
 * the Docker target and the interfaces tiers meet through. The AWS target is
 * `cdktf-ha-web/aws`, the policy checks `cdktf-ha-web/policy`, the framework-free
 * renderers `cdktf-ha-web/templates`.
 */
export * from "./interfaces";
export { peerCode, ROLE_CODE } from "./targets/target";
export * from "./tiers/app-artifact";
export * from "./tiers/mysql-cluster";
export * from "./tiers/web-app-tier";
export * from "./tiers/load-balancer-tier";
export * from "./targets/docker/docker-target";
export { DEFAULT_DOCKER_IMAGES, DOCKER_IMAGES_BY_VERSION, imageForVersion } from "./targets/docker/images";
export type {
  Artifact,
  ArtifactKind,
  Capability,
  ColocatedAddress,
  DeclaredBy,
  DeclaredField,
  DeployedHost,
  DeploymentTarget,
  Egress,
  FlowPeer,
  HealthCheck,
  HostFile,
  HostSpec,
  Ingress,
  Protocol,
  Secret,
  ServiceRole,
  ServiceSpec,
  Software,
  TargetSupport,
} from "./targets/target";
