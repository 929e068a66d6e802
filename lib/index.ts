/**
 * cdktf-ha-web: the constructs of a highly available web stack, their props,
 * the Docker target and the interfaces tiers meet through. The AWS target is
 * `cdktf-ha-web/aws`, the policy checks `cdktf-ha-web/policy`, the framework-free
 * renderers `cdktf-ha-web/templates`.
 */
export * from "./interfaces";
export { isSecretReference, peerCode, ROLE_CODE } from "./targets/target";
export * from "./tls-certificate";
export * from "./tiers/app-artifact";
export * from "./tiers/mysql-cluster";
export * from "./tiers/web-app-tier";
export * from "./tiers/load-balancer-tier";
export * from "./tiers/edge-limits";
export * from "./tiers/monitoring-tier";
export * from "./targets/docker/docker-target";
export { DEBIAN_PACKAGED_SOFTWARE, DEFAULT_DOCKER_IMAGES, DOCKER_IMAGES_BY_VERSION, imageForVersion } from "./targets/docker/images";
export type {
  Artifact,
  ArtifactKind,
  BackupStore,
  BackupStoreAccess,
  BackupStoreRequest,
  Capability,
  ColocatedAddress,
  DeclaredBy,
  DeclaredField,
  DeployedHost,
  DeploymentTarget,
  Egress,
  FloatingAddress,
  FloatingAddressMember,
  FloatingAddressRequest,
  FlowPeer,
  HealthCheck,
  HostFile,
  HostSpec,
  Ingress,
  MetricsEndpoint,
  MetricsPort,
  Protocol,
  PublishAudience,
  Secret,
  SecretLocation,
  SecretLocationKind,
  SecretReference,
  SecretSource,
  ServiceRole,
  ServiceSpec,
  Software,
  StopSignal,
  TargetSupport,
  Tool,
} from "./targets/target";
