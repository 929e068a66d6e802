import { Construct } from "constructs";
import { isDnsLabel } from "../../templates/validate";
import { DeclaredField, HostSpec, isSecretReference, SecretLocationKind, ServiceSpec, TargetSupport } from "../targets/target";

/** How messages name each place a user-kept secret can live. */
const SECRET_LOCATION_WORDS: Readonly<Record<SecretLocationKind, string>> = {
  file: "a file on the deploying machine",
  "ssm-parameter": "an SSM SecureString parameter",
  "secrets-manager": "a Secrets Manager secret",
};
import { PropValidator, warnProp } from "./validation";

/**
 * What every target checks before it deploys a host, in one place: unique host
 * and service names, dependencies declared first, and the declarations the
 * target cannot honour (refused under the user's construct and prop) or would
 * ignore (warned about).
 */
export class HostRegistry {
  private readonly hosts = new Set<string>();
  private readonly services = new Set<string>();

  constructor(
    private readonly target: Construct,
    private readonly support: TargetSupport,
  ) {}

  /** Throws at synth when `spec` cannot be deployed as declared; records it otherwise. */
  register(spec: HostSpec): void {
    const v = new PropValidator(this.support.name, this.target);
    v.check(isDnsLabel(spec.name), "host name", `"${spec.name}" is not a DNS label`, "use lower-case letters, digits and dashes");
    v.check(!this.hosts.has(spec.name), "host name", `"${spec.name}" is used by two hosts`, "give every node a unique name (namePrefix)");
    const local = new Set<string>();
    for (const service of spec.services) {
      v.check(isDnsLabel(service.name), "service name", `"${service.name}" is not a DNS label`, "use lower-case letters, digits and dashes");
      v.check(
        !this.services.has(service.name) && !local.has(service.name),
        "service name",
        `"${service.name}" is used by two services`,
        "give every node a unique name (namePrefix)",
      );
      local.add(service.name);
      const missing = service.dependsOn.filter((name) => !this.services.has(name) && !local.has(name));
      v.check(
        missing.length === 0,
        "dependsOn",
        `of ${service.name} names ${missing.join(", ")}, which is not deployed yet`,
        "declare tiers in dependency order: MysqlCluster, then WebAppTier, then LoadBalancerTier",
      );
    }
    v.check(
      spec.services.filter((s) => s.dataVolume).length <= 1,
      "dataVolume",
      `: host ${spec.name} has more than one service with a data volume`,
      "give each database node its own host",
    );
    v.throwIfInvalid();
    for (const service of spec.services) checkSupport(this.support, this.target, service);
    this.hosts.add(spec.name);
    for (const s of spec.services) this.services.add(s.name);
  }
}

/** Refuses what the target cannot honour, warns about what it would ignore; both under the declaring construct's prop. */
export function checkSupport(support: TargetSupport, target: Construct, service: ServiceSpec): void {
  const declared = service.declaredBy;
  const construct = declared?.construct ?? support.name;
  const scope = declared?.scope ?? target;
  const prop = (field: DeclaredField, fallback: string) => declared?.props[field] ?? fallback;
  const v = new PropValidator(construct, scope);
  if (service.artifact) {
    const what = service.artifact.kind === "image" ? `the image "${service.artifact.image}"` : `the bundle ${service.artifact.sourcePath}`;
    v.check(
      support.artifacts.includes(service.artifact.kind),
      prop("artifact", "artifact"),
      `is ${what}, but ${support.name} runs ${support.artifacts.join(" or ")} artifacts only (service ${service.name})`,
      support.artifacts.includes("bundle")
        ? `ship your app as a bundle (AppArtifact.fromBundle) on ${support.name}`
        : `use an artifact ${support.name} supports`,
    );
  }
  for (const flow of [...service.ingress, ...service.egress]) {
    const protocol = flow.protocol ?? "tcp";
    v.check(
      support.protocols.includes(protocol),
      "flows",
      `of ${service.name} use ${protocol}, which ${support.name} cannot carry`,
      `use ${support.protocols.join(" or ")}, or another target`,
    );
  }
  if ((service.capabilities ?? []).length > 0)
    v.check(
      support.capabilities,
      "capabilities",
      `of ${service.name} (${service.capabilities!.join(", ")}) cannot be granted by ${support.name}`,
      "use a target that grants capabilities",
    );
  if (Object.keys(service.secretFiles ?? {}).length > 0)
    v.check(
      support.secretFiles,
      prop("secretFiles", "secretFiles"),
      `of ${service.name} cannot be delivered by ${support.name}`,
      "use secretEnvironment, or a target that writes secret files",
    );
  for (const source of Object.values(service.secretFiles ?? {})) {
    if (!isSecretReference(source)) continue;
    const kind = source.location.kind;
    v.check(
      support.secretLocations.includes(kind),
      prop("secretFiles", "secretFiles"),
      `is read from ${SECRET_LOCATION_WORDS[kind]} (${source.name}), which ${support.name} cannot read`,
      `on ${support.name} keep it in ${support.secretLocations.map((k) => SECRET_LOCATION_WORDS[k]).join(" or ")}, or pass its value as a Terraform value`,
    );
  }
  if (service.floatingAddress !== undefined)
    v.check(
      support.floatingAddresses,
      prop("floatingAddress", "floatingAddress"),
      `asks for a floating address shared by several nodes (service ${service.name}), which ${support.name} cannot give`,
      "set nodes to 1, or use DockerTarget or AwsTarget",
    );
  if (service.backupStore !== undefined || service.textfileMetricsDir !== undefined)
    v.check(
      support.backupStores,
      "backup",
      `needs a backup store and its metrics served (service ${service.name}), which ${support.name} cannot give`,
      "use DockerTarget or AwsTarget, or turn backups off (backup: false, not recommended)",
    );
  v.throwIfInvalid();
  if (!support.healthChecks && declared?.props.healthCheck) {
    warnProp(
      construct,
      scope,
      declared.props.healthCheck,
      `has no effect on ${support.name}: it runs no health checks (systemd restarts a service that exits; the load balancer checks the health path)`,
      `leave it unset for ${support.name}`,
    );
  }
}
