import { Token } from "cdktf";
import { Construct } from "constructs";
import { DIALECTS, isSupportedEngine, MysqlEngine, supportedEnginesText } from "../../templates/mysql/engine";
import { renderMyCnf } from "../../templates/mysql/my-cnf";
import { PATHS } from "../../templates/paths";
import { renderPrimaryStartScript, renderReplicaStartScript } from "../../templates/scripts/database";
import { SECRET_ENV } from "../../templates/scripts/shell";
import { isDnsLabel, isPort, isSqlIdentifier } from "../../templates/validate";
import { DeployedHost, DeploymentTarget, HostSpec, Secret, ServiceSpec } from "../targets/target";
import { isWholeNumber, PropValidator } from "../validation";
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
  /** Size of each node's data volume (AWS EBS). @default 20 */
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

    const v = new PropValidator("MysqlCluster", this);
    v.check(isWholeNumber(replicaCount, 0), "replicas", `is ${replicaCount}; it must be a whole number of at least 0`, "use 0, 1, 2, ...");
    v.check(this.engine in DIALECTS, "engine", `"${this.engine}" is not supported`, 'use "mariadb" or "mysql"');
    v.check(!(this.engine in DIALECTS) || isSupportedEngine(this.engine, this.version), "version", `"${this.version}" is not supported for ${this.engine}`, `use one of: ${supportedEnginesText()}`);
    v.check(isPort(this.port), "port", `is ${this.port}; it must be a whole number in 1-65535`, "use 3306");
    v.check(isDnsLabel(`${prefix}-replica-1`), "namePrefix", `"${prefix}" does not make valid DNS labels`, 'use lower-case letters, digits and dashes, for example "db"');
    for (const [prop, value] of Object.entries({ database: this.database, appUser: this.appUser, replicationUser: this.replicationUser })) {
      v.check(isSqlIdentifier(value), prop, `"${value}" is not a valid SQL identifier`, "use letters, digits and _ (at most 32, not starting with a digit, not a system schema)");
    }
    v.check(this.appUser !== this.replicationUser, "replicationUser", "equals appUser", "give replication its own user");
    for (const [prop, secret] of Object.entries({ appPassword: props.appPassword, replicationPassword: props.replicationPassword })) {
      v.check(secret === undefined || Token.isUnresolved(secret.value), prop, "is a literal string, which would be written in plain text into the synthesized JSON", "pass a reference instead: a sensitive TerraformVariable, a data source or a random_password's result (or omit it to generate one)");
    }
    v.check(props.volumeSizeGb === undefined || isWholeNumber(props.volumeSizeGb, 1), "volumeSizeGb", `is ${props.volumeSizeGb}`, "use a whole number of GiB, at least 1");
    v.throwIfInvalid();

    this.appPassword = props.appPassword ?? props.target.createSecret(this, "app-password", "db-app-password");
    this.replicationPassword = props.replicationPassword ?? props.target.createSecret(this, "replication-password", "db-replication-password");

    const primaryName = `${prefix}-primary`;
    const common = { engine: this.engine, version: this.version, port: this.port, semiSync: props.semiSync, innodbBufferPoolSize: props.innodbBufferPoolSize };
    const volumeSizeGb = props.volumeSizeGb ?? 20;

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
    volumeSizeGb: number,
    dependsOn: string[],
    r: { cnf: string; script: string; scriptRole: string; secrets: Record<string, Secret> },
  ): ServiceSpec {
    const d = DIALECTS[this.engine];
    return {
      name,
      role: "database",
      software: this.engine,
      command: startCommand(r.scriptRole),
      files: [{ path: PATHS.mysqlConfig, content: r.cnf }, startScriptFile(r.scriptRole, r.script)],
      environment: {},
      secretEnvironment: r.secrets,
      ingress: [
        { port: this.port, from: "app", description: "application servers to MySQL" },
        { port: this.port, from: "database", description: "replicas stream the binlog of the primary" },
      ],
      egress: [{ port: this.port, to: "database", description: "replication to the primary" }],
      healthCheck: [d.admin, `--defaults-file=${PATHS.mysqlConfig}`, "--user=root", "ping"],
      dataVolume: { mountPath: PATHS.mysqlVolume, sizeGb: volumeSizeGb },
      user: "root", // binds its port, then drops privileges
      dependsOn,
    };
  }
}
