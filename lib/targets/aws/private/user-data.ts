import { CloudConfigHost, CloudConfigService, HostAssetFetch, HostDataVolume, renderCloudConfig, userDataSize } from "./cloud-init";
import { HostSpec, Secret, ServiceSpec } from "../../target";
import { DISTRIBUTION_UNITS, EXISTING_USERS } from "../packages";

export interface HostUserDataInput {
  readonly spec: HostSpec;
  readonly fqdn: string;
  /** The Debian packages a service's software needs. */
  readonly packages: (service: ServiceSpec) => readonly string[];
  /** Name of the SSM parameter holding a secret. */
  readonly parameterName: (secret: Secret) => string;
  /** Downloads from S3, by the asset path on the host. */
  readonly assets: readonly HostAssetFetch[];
  readonly volume?: HostDataVolume;
  readonly installSsmAgent: boolean;
}

/** The framework-free description of a host's boot, from its HostSpec. */
export function cloudConfigHost(input: HostUserDataInput): CloudConfigHost {
  const { spec } = input;
  const local = new Set(spec.services.map((s) => s.name));
  const services: CloudConfigService[] = spec.services.map((service) => ({
    name: service.name,
    role: service.role,
    command: service.command,
    environment: service.environment,
    secrets: Object.entries(service.secretEnvironment).map(([env, secret]) => ({ env, parameterName: input.parameterName(secret) })),
    user: service.user,
    // Peers on other hosts are not systemd dependencies: the start scripts wait for them.
    after: service.dependsOn.filter((name) => local.has(name)),
    dataMount: service.dataVolume?.mountPath,
    stopTimeoutSeconds: service.stopTimeoutSeconds,
    capabilities: service.capabilities,
  }));
  const software = [...new Set(spec.services.map((s) => s.software))];
  return {
    hostName: spec.name,
    fqdn: input.fqdn,
    role: spec.role,
    packages: [...new Set(spec.services.flatMap((s) => input.packages(s)))],
    maskUnits: software.flatMap((s) => DISTRIBUTION_UNITS[s]),
    systemUsers: [...new Set(spec.services.map((s) => s.user ?? "root").filter((u) => !EXISTING_USERS.has(u)))],
    files: spec.services.flatMap((s) => s.files),
    services,
    assets: input.assets,
    volume: input.volume,
    installSsmAgent: input.installSsmAgent,
  };
}

/** cdktf marks a deploy-time value inside a string as `${TfToken[...]}`. */
const TOKEN = /\$\{TfToken\[[^\]]+\]\}/g;

/**
 * Size of the user data once Terraform fills in the references, counting each
 * reference as 64 bytes (an S3 bucket name is at most 63, an EBS volume id 21).
 */
export function estimatedUserDataSize(text: string): number {
  return userDataSize(text.replace(TOKEN, "x".repeat(64)));
}

/** Renders a host's user data (unescaped: what the VM receives), for tests and size checks. */
export function renderHostUserData(input: HostUserDataInput): string {
  return renderCloudConfig(cloudConfigHost(input));
}
