import { Construct } from "constructs";
import { DIALECTS, MysqlEngine } from "../../templates/mysql/engine";
import { renderMyCnf } from "../../templates/mysql/my-cnf";
import { PATHS } from "../../templates/paths";
import { renderPrimaryStartScript, renderReplicaStartScript } from "../../templates/scripts/database";
import { SECRET_ENV } from "../../templates/scripts/shell";
import { DeployedHost, DeploymentTarget, HostSpec, Secret, ServiceSpec } from "../targets/target";
import { validateMysqlClusterProps } from "./validate-mysql-cluster-props";
import { startCommand, startScriptFile } from "./host-files";

const DEFAULT_VERSION: Record<MysqlEngine, string> = { mariadb: "10.11", mysql: "8.4" };

export interface MysqlClusterProps {
  /** Where the nodes run (DockerTarget, AwsTarget). */
  readonly target: DeploymentTarget;
  /** Number of read replicas. 0 is allowed: reads then go to the primary. @default 1 */
  readonly replicas?: number;
  /** @default "mariadb" (what Debian ships as its MySQL server; verified end to end) */
  readonly engine?: MysqlEngine;
  /** Major.minor version. @default "10.11" for mariadb, "8.4" for mysql */
  readonly version?: string;
  /** Prefix of node names: `<prefix>-primary`, `<prefix>-replica-1`, ... @default "db" */
  readonly namePrefix?: string;
  /** @default 3306 */
  readonly port?: number;
  /** Schema of the application. @default "appdb" */
  readonly database?: string;
  /** Database user of the application (SELECT, INSERT, UPDATE, DELETE on `database`). @default "app" */
  readonly appUser?: string;
  /** Replication user (REPLICATION SLAVE, REPLICATION CLIENT). @default "repl" */
  readonly replicationUser?: string;
  /** Password of the application user, as a reference. @default generated at deploy time */
  readonly appPassword?: Secret;
  /** Password of the replication user, as a reference. @default generated at deploy time */
  readonly replicationPassword?: Secret;
  /** Semi-synchronous replication (AFTER_SYNC). @default false */
  readonly semiSync?: boolean;
  /** @default "128M" */
  readonly innodbBufferPoolSize?: string;
  /**
   * Size of each node's data volume, in GiB (an EBS volume on AWS). Docker's
   * named volumes have no size: setting it there is warned about.
   * @default 20 on AWS
   */
  readonly volumeSizeGb?: number;
  /** Create the demo app's `items` table. @default true */
  readonly createDemoSchema?: boolean;
}

export interface DatabaseEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * A primary and `replicas` read replicas with GTID replication. The app writes to
 * `writerEndpoint` and reads from `readerEndpoints`.
 */
export class MysqlCluster extends Construct {
  public readonly engine: MysqlEngine;
  /** Prefix of the node names; also scopes the cluster's network and security group. */
  public readonly namePrefix: string;
  public readonly version: string;
  public readonly port: number;
  public readonly database: string;
  public readonly appUser: string;
  public readonly replicationUser: string;
  /** Reference to the application user's password (hand it to the app). */
  public readonly appPassword: Secret;
  public readonly replicationPassword: Secret;
  public readonly writerEndpoint: DatabaseEndpoint;
  public readonly readerEndpoints: DatabaseEndpoint[];
  public readonly primary: DeployedHost;
  public readonly replicas: DeployedHost[];

  constructor(scope: Construct, id: string, props: MysqlClusterProps) {
    super(scope, id);
    const replicaCount = props.replicas ?? 1;
    this.engine = props.engine ?? "mariadb";
    this.version = props.version ?? DEFAULT_VERSION[this.engine] ?? "";
    this.port = props.port ?? 3306;
    this.database = props.database ?? "appdb";
    this.appUser = props.appUser ?? "app";
    this.replicationUser = props.replicationUser ?? "repl";
    const prefix = props.namePrefix ?? "db";

    validateMysqlClusterProps(this, props, {
      replicas: replicaCount,
      engine: this.engine,
      version: this.version,
      port: this.port,
      database: this.database,
      appUser: this.appUser,
      replicationUser: this.replicationUser,
      namePrefix: prefix,
    });
    this.namePrefix = prefix;

    this.appPassword = props.appPassword ?? props.target.createSecret(this, "app-password", `${prefix}-app-password`);
    this.replicationPassword = props.replicationPassword ?? props.target.createSecret(this, "replication-password", `${prefix}-replication-password`);

    const primaryName = `${prefix}-primary`;
    const common = { engine: this.engine, version: this.version, port: this.port, semiSync: props.semiSync, innodbBufferPoolSize: props.innodbBufferPoolSize };
    const volumeSizeGb = props.volumeSizeGb;

    this.primary = props.target.addHost(this, {
      name: primaryName,
      role: "database",
      services: [
        this.databaseService(primaryName, volumeSizeGb, [], {
          cnf: renderMyCnf({ ...common, role: "primary", serverId: 1 }),
          script: renderPrimaryStartScript({
            engine: this.engine,
            database: this.database,
            appUser: this.appUser,
            replicationUser: this.replicationUser,
            createDemoSchema: props.createDemoSchema,
          }),
          scriptRole: "db-primary",
          secrets: { [SECRET_ENV.appPassword]: this.appPassword, [SECRET_ENV.replicationPassword]: this.replicationPassword },
        }),
      ],
    });

    this.replicas = [];
    for (let i = 1; i <= replicaCount; i++) {
      const name = `${prefix}-replica-${i}`;
      const spec: HostSpec = {
        name,
        role: "database",
        services: [
          this.databaseService(name, volumeSizeGb, [primaryName], {
            // Deterministic and unique: the primary is 1, replica i is i + 1.
            cnf: renderMyCnf({ ...common, role: "replica", serverId: i + 1 }),
            script: renderReplicaStartScript({ engine: this.engine, primaryHost: this.primary.address, primaryPort: this.port, replicationUser: this.replicationUser }),
            scriptRole: "db-replica",
            secrets: { [SECRET_ENV.replicationPassword]: this.replicationPassword },
          }),
        ],
      };
      this.replicas.push(props.target.addHost(this, spec));
    }

    this.writerEndpoint = { host: this.primary.address, port: this.port };
    this.readerEndpoints = this.replicas.map((r) => ({ host: r.address, port: this.port }));
  }

  private databaseService(
    name: string,
    volumeSizeGb: number | undefined,
    dependsOn: string[],
    r: { cnf: string; script: string; scriptRole: string; secrets: Record<string, Secret> },
  ): ServiceSpec {
    const d = DIALECTS[this.engine];
    return {
      name,
      role: "database",
      group: this.namePrefix,
      software: this.engine,
      command: startCommand(r.scriptRole),
      files: [{ path: PATHS.mysqlConfig, content: r.cnf }, startScriptFile(r.scriptRole, r.script)],
      environment: {},
      secretEnvironment: r.secrets,
      ingress: [
        { port: this.port, from: "app", description: "application servers to MySQL" },
        { port: this.port, from: "database", description: "replicas stream the binlog of the primary" },
      ],
      egress: [{ port: this.port, to: "database", toGroup: this.namePrefix, description: "replication to the primary" }],
      healthCheck: [d.admin, `--defaults-file=${PATHS.mysqlConfig}`, "--user=root", "ping"],
      dataVolume: { mountPath: PATHS.mysqlVolume, sizeGb: volumeSizeGb },
      user: "root", // binds its port, then drops privileges
      dependsOn,
      declaredBy: { construct: "MysqlCluster", scope: this, props: volumeSizeGb === undefined ? {} : { "dataVolume.sizeGb": "volumeSizeGb" } },
    };
  }
}
