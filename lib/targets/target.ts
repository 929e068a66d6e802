import { Construct } from "constructs";

/**
 * What a tier asks of a target. The tiers render configs with the framework-free
 * templates and describe hosts; a target (Docker, AWS) turns each host into
 * provider resources. A new target implements this interface; the tiers do not change.
 */

/** The roles that flows between services are written in (network boundaries, security groups). */
export type ServiceRole = "load-balancer" | "web" | "app" | "database";
/** Short code of each role, used in resource names (networks, security groups). */
export const ROLE_CODE: Readonly<Record<ServiceRole, string>> = { "load-balancer": "lb", web: "web", app: "app", database: "db" };

/** A flow source: another role, or clients on the internet. */
export type FlowPeer = ServiceRole | "internet";

/** Which binaries a service needs: the target maps it to an image or a package. */
export type Software = "haproxy" | "nginx" | "node" | "mariadb" | "mysql";

export interface HostFile {
  /** Absolute path on the host (or in the container). */
  readonly path: string;
  readonly content: string;
  /** @default false */
  readonly executable?: boolean;
}

/** A local file shipped to the host (too big or binary for inline content: the app bundle). */
export interface HostAsset {
  readonly path: string;
  /** Absolute path of the file on the machine that runs synth. */
  readonly sourcePath: string;
}

/** A value created at deploy time that must never appear in plain text. */
export interface Secret {
  /** Logical name, for example "app-password". */
  readonly name: string;
  /** Terraform expression that yields the value at apply time (a token), never the value itself. */
  readonly value: string;
}

export interface Ingress {
  readonly port: number;
  readonly from: FlowPeer;
  /** Why this flow exists (security group rule descriptions). */
  readonly description: string;
}

export interface Egress {
  readonly port: number;
  readonly to: ServiceRole;
  readonly description: string;
}

/** One process of a host: a container on Docker, a systemd unit on a VM, a process in the lab. */
export interface ServiceSpec {
  /** DNS label, unique within the target: the name peers use to reach it. */
  readonly name: string;
  readonly role: ServiceRole;
  readonly software: Software;
  /** Image to run instead of the target's default for `software` (Docker). */
  readonly image?: string;
  /** Command that starts the service (the role's start script). */
  readonly command: readonly string[];
  readonly files: readonly HostFile[];
  readonly assets?: readonly HostAsset[];
  /** Plain settings. Never a secret. */
  readonly environment: Readonly<Record<string, string>>;
  /** Environment variables whose values are secrets. */
  readonly secretEnvironment: Readonly<Record<string, Secret>>;
  readonly ingress: readonly Ingress[];
  readonly egress: readonly Egress[];
  /** Command that exits 0 when the service is healthy. */
  readonly healthCheck: readonly string[];
  /** Persistent data directory (database). */
  readonly dataVolume?: { readonly mountPath: string; readonly sizeGb: number };
  /**
   * User the process starts as. Our start scripts start as root and drop
   * privileges themselves (HAProxy, Nginx, mysqld). @default the image's user (Docker), root (VM)
   */
  readonly user?: string;
  /** Port published to clients (the load balancer's listener), with the host-side port. */
  readonly publish?: { readonly port: number; readonly hostPort: number };
  /** Services that must exist before this one starts. */
  readonly dependsOn: readonly string[];
  /**
   * Services whose address this one caches at start-up (Nginx's upstream): when
   * one of them is replaced, this service is replaced too. @default []
   */
  readonly restartWith?: readonly string[];
}

/** A machine: one VM on AWS; on Docker, one container per service. */
export interface HostSpec {
  /** DNS label of the host; its first service usually carries the same name. */
  readonly name: string;
  /** The tier's role decides subnet, instance type and security group. */
  readonly role: ServiceRole;
  readonly services: readonly ServiceSpec[];
}

/** What the target created for a host. */
export interface DeployedHost {
  readonly name: string;
  /** Name by which peers reach the host (a Docker alias; a private DNS name on AWS). */
  readonly address: string;
  /** The provider resources, keyed by service name, for users who need them. */
  readonly resources: Readonly<Record<string, Construct>>;
  /** Where clients reach a published port (the load balancer), if any. */
  readonly published?: { readonly address: string; readonly port: number };
}

export interface DeploymentTarget {
  /** "docker" or "aws". */
  readonly kind: string;
  /**
   * Host name at which `service` on `host` is reached by another service on the
   * same host (Nginx reaching its app): a container alias on Docker, 127.0.0.1 on a VM.
   */
  colocatedAddress(hostName: string, serviceName: string): string;
  /** A secret generated at deploy time. */
  createSecret(scope: Construct, id: string, name: string): Secret;
  /** Deploys a host; the target owns naming, networks, images and dependency order. */
  addHost(scope: Construct, spec: HostSpec): DeployedHost;
}
