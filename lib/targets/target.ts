import { Construct } from "constructs";
import type { BackupStoreConfig } from "../../templates/mysql/backup-plan";

/**
 * What a tier asks of a target. The tiers render configs with the framework-free
 * templates and describe hosts; a target (Docker, AWS) turns each host into
 * provider resources. A new target implements this interface; the tiers do not change.
 */

/** The roles that flows between services are written in (network boundaries, security groups). */
export type ServiceRole = "load-balancer" | "web" | "app" | "database" | "monitoring";
/** Short code of each role, used in resource names (networks, security groups). */
export const ROLE_CODE: Readonly<Record<ServiceRole, string>> = { "load-balancer": "lb", web: "web", app: "app", database: "db", monitoring: "mon" };

/** A flow source: another role, or clients on the internet. */
export type FlowPeer = ServiceRole | "internet";

/** The default flow group of each role: the default name prefix of the tier that runs it. */
const DEFAULT_GROUP: Readonly<Record<ServiceRole, string>> = { "load-balancer": "lb", web: "web", app: "web", database: "db", monitoring: "monitoring" };

/**
 * Code of a role's peers in network and security group names. Databases are
 * scoped by their cluster (its name prefix), so each cluster gets a network and
 * a security group of its own. On Docker an app joins only the network of the
 * cluster it was given; on AWS the app servers of every web tier share one
 * security group (a known limit: see the README).
 */
export function peerCode(role: ServiceRole, group?: string): string {
  if (role !== "database" || group === undefined || group === DEFAULT_GROUP[role]) return ROLE_CODE[role];
  return `${group}-${ROLE_CODE[role]}`;
}

/** Fields of a ServiceSpec a target may be unable to honour, by the prop that set them. */
export type DeclaredField = "artifact" | "command" | "healthCheck" | "user" | "listenPort" | "secretFiles" | "floatingAddress";

/**
 * Which construct declared a service, and which of its props set the fields a
 * target may refuse or ignore (only the ones the user set): a target's message
 * then names the user's construct and prop, not an internal field.
 */
export interface DeclaredBy {
  /** Construct type, for example "WebAppTier". */
  readonly construct: string;
  /** The construct itself (its path is in every message). */
  readonly scope: Construct;
  readonly props: Partial<Record<DeclaredField, string>>;
}

/**
 * Which binaries a service needs: the target maps it to an image or a package.
 * The monitoring programs are Debian's packages on every target (Docker: a
 * Debian image with the package), so their binaries and flags are the same
 * everywhere: `prometheus`, `prometheus-alertmanager`,
 * `prometheus-nginx-exporter`, `prometheus-mysqld-exporter`.
 */
export type Software = "haproxy" | "nginx" | "node" | "mariadb" | "mysql" | "prometheus" | "alertmanager" | "nginx-exporter" | "mysqld-exporter";

export interface HostFile {
  /** Absolute path on the host (or in the container). */
  readonly path: string;
  readonly content: string;
  /** @default false */
  readonly executable?: boolean;
}

/**
 * What a service runs beyond the target's own binaries for its software: an
 * image (Docker), or a bundle shipped to the host and run with the software's
 * binary (every target). Each target says which kinds it supports.
 */
export type Artifact =
  | { readonly kind: "image"; readonly image: string }
  | {
      readonly kind: "bundle";
      /** Absolute path of the file on the machine that runs synth. */
      readonly sourcePath: string;
      /** Where it lands on the host. */
      readonly path: string;
    };

export type ArtifactKind = Artifact["kind"];

/** Transport of a flow: TCP and UDP by port; VRRP (IP protocol 112, keepalived) has no port. */
export type Protocol = "tcp" | "udp" | "vrrp";

/** Linux capabilities a process needs beyond an unprivileged user's (keepalived: NET_ADMIN). */
export type Capability = "NET_ADMIN" | "NET_RAW" | "NET_BIND_SERVICE";

/**
 * Programs a service runs beside its software (Debian package names): the
 * target installs them (AWS: apt; Docker: an image built on the pinned one).
 */
export type Tool = "keepalived" | "iproute2" | "awscli";

/** Signals a service may be stopped with. */
export type StopSignal = "SIGTERM" | "SIGQUIT" | "SIGUSR1" | "SIGINT";

/** How a target checks a service's health: a command that exits 0 when healthy. */
export interface HealthCheck {
  readonly command: readonly string[];
  /** How long a starting service may fail the check (bootstrap, waiting for peers). */
  readonly startPeriodSeconds: number;
}

/** A value created at deploy time that must never appear in plain text. */
export interface Secret {
  /** Logical name, for example "app-password". */
  readonly name: string;
  /** Terraform expression that yields the value at apply time (a token), never the value itself. */
  readonly value: string;
}

/** Where a secret the user keeps elsewhere lives; the target reads it at deploy or boot time, never at synth. */
export type SecretLocation =
  /** A file on the machine that runs Terraform (Docker copies it into the container). */
  | { readonly kind: "file"; readonly path: string }
  /** An SSM SecureString parameter (AWS fetches it at boot). */
  | { readonly kind: "ssm-parameter"; readonly parameterName: string }
  /** A Secrets Manager secret's string (AWS fetches it at boot). */
  | { readonly kind: "secrets-manager"; readonly secretId: string };

export type SecretLocationKind = SecretLocation["kind"];

/** A secret the user keeps: only its location is in the synthesized JSON. */
export interface SecretReference {
  readonly name: string;
  readonly location: SecretLocation;
}

/** The content of a secret file: a value made at deploy time, or the user's reference. */
export type SecretSource = Secret | SecretReference;

export function isSecretReference(source: SecretSource): source is SecretReference {
  return (source as SecretReference).location !== undefined;
}

export interface Ingress {
  /** The listener's port (0 for VRRP). */
  readonly port: number;
  /** @default "tcp" */
  readonly protocol?: Protocol;
  readonly from: FlowPeer;
  /** Why this flow exists (security group rule descriptions). */
  readonly description: string;
  /**
   * The peer is a service of the same host (Prometheus to its Alertmanager): a VM
   * carries the flow over loopback and opens nothing for it; Docker, where each
   * service is a container, still gives the two a network.
   * @default false
   */
  readonly withinHost?: boolean;
}

/** A flow a service opens: to a role's listener, or to anywhere outside the stack. */
export interface Egress {
  readonly port: number;
  /** @default "tcp" */
  readonly protocol?: Protocol;
  /** A role, or anywhere outside the stack ("internet": Alertmanager's webhook receiver). */
  readonly to: ServiceRole | "internet";
  /** The peer's flow group (a database cluster's name prefix). @default the role's default group */
  readonly toGroup?: string;
  readonly description: string;
  /** The peer is a service of the same host (see `Ingress.withinHost`). @default false */
  readonly withinHost?: boolean;
}

/**
 * One process of a host: a container on Docker, a systemd unit on a VM, a
 * process in the lab. Everything here is target-neutral; a target honours each
 * declaration or refuses it at synth (see TargetSupport).
 */
export interface ServiceSpec {
  /** DNS label, unique within the target: the name peers use to reach it. */
  readonly name: string;
  readonly role: ServiceRole;
  /** The flow group of the tier that runs it (its name prefix); scopes database networks. @default the role's default */
  readonly group?: string;
  readonly software: Software;
  /** Version of the software (major.minor): picks the image tag or the package. @default the target's default */
  readonly version?: string;
  /** An image or a bundle to run instead of the bare software. @default none */
  readonly artifact?: Artifact;
  /** Command that starts the service (the role's start script); empty runs an image's own entrypoint. */
  readonly command: readonly string[];
  readonly files: readonly HostFile[];
  /** Plain settings. Never a secret. */
  readonly environment: Readonly<Record<string, string>>;
  /** Environment variables whose values are secrets. */
  readonly secretEnvironment: Readonly<Record<string, Secret>>;
  /** Files (absolute paths) whose whole content is a secret, mode 0400 owned by root. @default {} */
  readonly secretFiles?: Readonly<Record<string, SecretSource>>;
  /**
   * Another service of the same host whose network this one shares (a sidecar:
   * an exporter reading its server's loopback-only status). Its listeners are
   * reached at that service's address; Docker runs it in that container's
   * network namespace, a VM shares one anyway. @default its own
   */
  readonly sharesNetworkWith?: string;
  /** The flows the service accepts: its listeners and who may reach them. */
  readonly ingress: readonly Ingress[];
  readonly egress: readonly Egress[];
  readonly healthCheck: HealthCheck;
  /** Capabilities the process needs. @default none */
  readonly capabilities?: readonly Capability[];
  /** Programs beyond the software's own that the start script runs. @default none */
  readonly tools?: readonly Tool[];
  /**
   * The floating address group (FloatingAddressRequest.name) this service holds a
   * share of: the target pins the host's own address and lets the group's peers
   * exchange VRRP. @default none
   */
  readonly floatingAddress?: string;
  /**
   * Persistent data directory (database, Prometheus). `sizeGb` is what the
   * service asks for; a target with sized volumes (AWS) gives it, Docker's named
   * volumes grow with the disk. @default size: the target's (AwsTarget `dataVolumeSizeGb`)
   */
  readonly dataVolume?: { readonly mountPath: string; readonly sizeGb?: number };
  /**
   * User the process starts as. Our start scripts start as root and drop
   * privileges themselves (HAProxy, Nginx, mysqld). @default the image's user (Docker), root (VM)
   */
  readonly user?: string;
  /** How long a graceful stop may take before the process is killed. */
  readonly stopTimeoutSeconds: number;
  /**
   * The signal that stops the service gracefully, sent to its main process only
   * (HAProxy: SIGUSR1, a soft stop; Nginx: SIGQUIT). @default "SIGTERM"
   */
  readonly stopSignal?: StopSignal;
  /**
   * Listeners reached from outside the stack. `internet` (the load balancer's):
   * the target picks a public address and ports. `operators` (Prometheus' UI):
   * Docker publishes them on its publish address (loopback by default); AWS gives
   * them no public address (reach them through SSM port forwarding).
   */
  readonly publish?: { readonly ports: readonly number[] /** @default "internet" */; readonly audience?: PublishAudience };
  /** Prometheus endpoints the service serves (each port also needs an ingress from "monitoring"). @default none */
  readonly metrics?: readonly MetricsPort[];
  /**
   * Names that belong to this service now and may move to another host later
   * (the database writer): peers use them instead of the host's own name. @default []
   */
  readonly movableAddresses?: readonly string[];
  /**
   * Movable names (another service's `movableAddresses`, the writer) that this
   * service's host may point at another host, as a database promotion does. The
   * target grants exactly that and nothing more (AWS: an UPSERT of that one DNS
   * record); `DeploymentTarget.moveAddressCommand` says how. @default []
   */
  readonly movesAddresses?: readonly string[];
  /**
   * The backup store (BackupStoreRequest.name, planned with
   * `DeploymentTarget.backupStore`) this service uses: `write` on the node that
   * takes backups, `read` on the nodes that may restore from it. The target
   * gives exactly that (Docker: the store's volume mounted on the writer; AWS:
   * S3 access under the store's prefix for the host's role). @default none
   */
  readonly backupStore?: { readonly name: string; readonly access: BackupStoreAccess };
  /**
   * A directory where the service writes Prometheus textfiles (`*.prom`, the
   * backup commands' BACKUP_METRICS). The target serves them to Prometheus
   * (AWS: the host's node exporter with `--collector.textfile.directory`;
   * Docker: a node exporter container beside the service, sharing the
   * directory through a volume) and reports that endpoint in the host's
   * `metrics`. @default none
   */
  readonly textfileMetricsDir?: string;
  /** Services that must exist before this one starts. */
  readonly dependsOn: readonly string[];
  /**
   * Services whose address this one caches at start-up (Nginx's upstream): when
   * one of them is replaced, this service is replaced too. @default []
   */
  readonly restartWith?: readonly string[];
  /**
   * Facts about the service for tools that read only the deployed description
   * (the lab, the diagram): short key -> value, for example { "db-role": "primary" }.
   * @default {}
   */
  readonly facts?: Readonly<Record<string, string>>;
  /** The construct and props behind the service, for targets' messages. */
  readonly declaredBy?: DeclaredBy;
}

/** Who reaches a published listener. */
export type PublishAudience = "internet" | "operators";

/** A Prometheus endpoint a service serves. */
export interface MetricsPort {
  /** The scrape job it belongs to (one per kind of exporter: "haproxy", "nginx", "app", "mysql", "node"). */
  readonly job: string;
  /** The port the endpoint listens on. */
  readonly port: number;
  /** @default "/metrics" */
  readonly path?: string;
}

/** Where Prometheus scrapes one endpoint: what a target reports for each MetricsPort, and for its own exporters. */
export interface MetricsEndpoint {
  /** The scrape job it belongs to (MetricsPort.job). */
  readonly job: string;
  /** The role and flow group of the service that serves it: Prometheus' flows are written to them. */
  readonly role: ServiceRole;
  /** @default the role's default group */
  readonly group?: string;
  /** The port it listens on (Prometheus' flow goes to it). */
  readonly port: number;
  /** "host:port", reachable from the monitoring hosts. */
  readonly address: string;
  /** @default "/metrics" */
  readonly path?: string;
  /** The machine it measures (the host's name): the shipped alert rules join on this `node` label. */
  readonly node: string;
}

/** A machine: one VM on AWS; on Docker, one container per service. */
export interface HostSpec {
  /** DNS label of the host; its first service usually carries the same name. */
  readonly name: string;
  /** The tier's role decides subnet, instance type and security group. */
  readonly role: ServiceRole;
  readonly services: readonly ServiceSpec[];
}

/** Where a service is reached by its host's other services, and what it binds to. */
export interface ColocatedAddress {
  readonly address: string;
  /** What the service binds to: loopback (its own health check; on a VM also its peers). */
  readonly bindAddress: string;
  /**
   * The service also listens on its own address on the network it shares with
   * the colocated peer that reaches it (Docker: a container has an address on
   * every network it joins, and only the peer's network may reach it). The tier
   * names the peer to the service. @default false
   */
  readonly bindTowardPeer?: boolean;
}

/** What the target created for a host. */
export interface DeployedHost {
  readonly name: string;
  /** Name by which peers reach the host (a Docker alias; a private DNS name on AWS). */
  readonly address: string;
  /** The provider resources, keyed by service name, for users who need them. */
  readonly resources: Readonly<Record<string, Construct>>;
  /** Where clients reach the published listeners (the load balancer), if any: the address, and the public port of each listener port. */
  readonly published?: { readonly address: string; readonly ports: Readonly<Record<number, number>> };
  /** How peers reach each of the services' movable addresses (a Docker alias; a DNS name on AWS). */
  readonly movableAddresses: Readonly<Record<string, string>>;
  /**
   * Where Prometheus scrapes the host: its services' `metrics`, and what the
   * target runs on every machine itself (AWS: the node exporter, job "node").
   */
  readonly metrics: readonly MetricsEndpoint[];
}

/** Hosts that share one address, held by whichever is VRRP master (keepalived). */
export interface FloatingAddressRequest {
  /** Group name (the tier's name prefix), unique per target. */
  readonly name: string;
  /** The member hosts, first the preferred master. At least two. */
  readonly members: readonly string[];
  /** The construct that asks, for messages. */
  readonly declaredBy: DeclaredBy;
}

/** What keepalived needs to know on one member. */
export interface FloatingAddressMember {
  /** The member's own fixed address (VRRP source). */
  readonly address: string;
  /** The other members' fixed addresses (unicast peers). */
  readonly peerAddresses: readonly string[];
}

/** How the target realises a floating address. */
export interface FloatingAddress {
  /** Where clients reach the group: the virtual address (Docker, lab) or the Elastic IP (AWS, a token). */
  readonly address: string;
  /** Addresses keepalived adds while master ("a.b.c.d/n", optionally " dev IFACE"). */
  readonly virtualAddresses: readonly string[];
  readonly members: Readonly<Record<string, FloatingAddressMember>>;
  /** A script to run on becoming master (AWS: moves the Elastic IP), installed on every member. @default none */
  readonly notifyMaster?: HostFile;
  /** Programs the members need beyond keepalived (AWS: awscli for the notify script). @default none */
  readonly tools?: readonly Tool[];
  /** Extra flows the members need (AWS: HTTPS to the EC2 API is already open). @default none */
  readonly egress?: readonly Egress[];
}

/** What a service may do with a backup store. */
export type BackupStoreAccess = "write" | "read";

/** A database cluster's request for the place its backups are kept: one per cluster. */
export interface BackupStoreRequest {
  /** The cluster's name prefix, unique per target: names the store and its resources. */
  readonly name: string;
  /** Days the cluster keeps its backups (MysqlBackupProps.retentionDays): snapshots a target takes itself are kept this long. */
  readonly retentionDays: number;
  /**
   * Days after which the store may expire any object of the cluster by
   * itself (S3's lifecycle), a bound behind the backup command's own
   * retention: the retention plus the longest gap between full backups (the
   * oldest full backup that kept incrementals and binlogs still build on),
   * plus a day. A directory store relies on the backup command.
   */
  readonly expireAfterDays: number;
  /** The construct that asks, for messages. */
  readonly declaredBy: DeclaredBy;
}

/** How a target keeps a cluster's backups. */
export interface BackupStore {
  /**
   * What the backup commands are rendered with. Fields may be deploy-time
   * references (AWS: the bucket's name); a cluster renders its files so that
   * Terraform fills them in.
   */
  readonly config: BackupStoreConfig;
  /** Programs the store's services need beyond their software (AWS: the AWS CLI). @default none */
  readonly tools?: readonly Tool[];
  /** Whether the store is off the cluster's machines (S3) or on one of them (a Docker volume). */
  readonly offSite: boolean;
}

/** What a target can honour; a declaration outside it is refused at synth. */
export interface TargetSupport {
  /** Construct type of the target, for messages ("AwsTarget"). */
  readonly name: string;
  readonly artifacts: readonly ArtifactKind[];
  readonly protocols: readonly Protocol[];
  readonly capabilities: boolean;
  /** Whether the target runs the services' health checks (else a user-set check is warned about). */
  readonly healthChecks: boolean;
  readonly secretFiles: boolean;
  /** Where user-kept secrets may live. */
  readonly secretLocations: readonly SecretLocationKind[];
  /** Whether the target can give a group of hosts one floating address (keepalived). */
  readonly floatingAddresses: boolean;
  /** Whether the target keeps database backups (`backupStore`) and serves services' textfile metrics. */
  readonly backupStores: boolean;
}

export interface DeploymentTarget {
  /** What this target can honour. */
  readonly support: TargetSupport;
  /**
   * How `service` on `host` is reached by another service of the same host (Nginx
   * reaching its app), and the address it should bind to: its container alias and
   * all of its networks on Docker; loopback on a VM.
   */
  colocated(hostName: string, serviceName: string): ColocatedAddress;
  /**
   * The address a movable name (`ServiceSpec.movableAddresses`, the writer) will
   * have once its host is added: known up front, so the host's own files can name
   * it (the database start scripts decide their role by it). Must equal what
   * `addHost` then returns in `DeployedHost.movableAddresses`.
   */
  movableAddress(name: string): string;
  /**
   * The address other hosts will reach the host `hostName` by, known before it is
   * added (a database node's failover script lists its peers). Must equal the
   * `DeployedHost.address` that `addHost` then returns.
   */
  hostAddress(hostName: string): string;
  /**
   * A POSIX shell snippet that points the movable `name` at the host whose
   * address is in `$NEW_PRIMARY_HOST`, run (by `sh -c`) on a host whose service
   * lists `name` in `movesAddresses`. Undefined when no host can do it: the name
   * is moved from outside (Docker: the network alias, by the operator or the lab).
   */
  moveAddressCommand(name: string): string | undefined;
  /** A secret generated at deploy time. */
  createSecret(scope: Construct, id: string, name: string): Secret;
  /**
   * Plans a floating address for hosts not yet added (call before addHost). Only
   * when `support.floatingAddresses`; the tiers check that first and refuse at synth.
   */
  floatingAddress?(scope: Construct, request: FloatingAddressRequest): FloatingAddress;
  /**
   * Plans a cluster's backup store (call before adding the hosts that use it).
   * Only when `support.backupStores`; the cluster checks that first and refuses at synth.
   */
  backupStore?(scope: Construct, request: BackupStoreRequest): BackupStore;
  /** Deploys a host; the target owns naming, networks, images and dependency order. */
  addHost(scope: Construct, spec: HostSpec): DeployedHost;
  /**
   * Exporters the target runs on every machine it creates (AWS: the node
   * exporter): a monitoring host scrapes its own on loopback. @default none
   */
  readonly hostExporters?: readonly MetricsPort[];
}
