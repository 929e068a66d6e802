import { Construct } from "constructs";
import { DIALECTS, isSupportedEngine, MysqlEngine, supportedEnginesText } from "../../templates/mysql/engine";
import { validateBackupPlan } from "../../templates/mysql/backup-schedule";
import { validateMyCnfConfig } from "../../templates/mysql/my-cnf";
import { isDnsLabel, isPort, isSqlIdentifier } from "../../templates/validate";
import { isLiteral, isWholeNumber, PropValidator } from "../private/validation";
import type { MysqlClusterProps, ResolvedMysqlBackup } from "./mysql-cluster";

/** The props with their defaults filled in, as the cluster uses them. */
export interface ResolvedMysqlClusterProps {
  readonly replicas: number;
  readonly engine: MysqlEngine;
  readonly version: string;
  readonly port: number;
  readonly database: string;
  readonly appUser: string;
  readonly replicationUser: string;
  readonly namePrefix: string;
  /** The cluster's node names, the primary first. */
  readonly nodeNames: readonly string[];
  /** The backup props with their defaults; undefined with `backup: false`. */
  readonly backup?: ResolvedMysqlBackup;
}

/**
 * The rules of MysqlClusterProps (what MariaDB, MySQL, Docker and EC2 accept),
 * checked before anything is created: throws one error listing every problem.
 */
export function validateMysqlClusterProps(scope: Construct, props: MysqlClusterProps, r: ResolvedMysqlClusterProps): void {
  const v = new PropValidator("MysqlCluster", scope);
  v.check(props.target !== undefined && props.target !== null, "target", "is missing", "pass the DockerTarget or AwsTarget the nodes run on");
  v.check(isWholeNumber(r.replicas, 0), "replicas", `is ${r.replicas}; it must be a whole number of at least 0`, "use 0, 1, 2, ...");
  v.check(r.engine in DIALECTS, "engine", `"${r.engine}" is not supported`, 'use "mariadb" or "mysql"');
  v.check(
    !(r.engine in DIALECTS) || isSupportedEngine(r.engine, r.version),
    "version",
    `"${r.version}" is not supported for ${r.engine}`,
    `use one of: ${supportedEnginesText()}`,
  );
  v.check(isPort(r.port), "port", `is ${r.port}; it must be a whole number in 1-65535`, "use 3306");
  const lastNode = `${r.namePrefix}-replica-${Math.max(1, isWholeNumber(r.replicas, 0) ? r.replicas : 1)}`;
  v.check(
    isDnsLabel(lastNode) && isDnsLabel(`${r.namePrefix}-primary`),
    "namePrefix",
    `"${r.namePrefix}" does not make valid DNS labels (node names such as "${lastNode}", at most 63 characters)`,
    'use lower-case letters, digits and dashes, for example "db"',
  );
  for (const [prop, value] of Object.entries({ database: r.database, appUser: r.appUser, replicationUser: r.replicationUser })) {
    v.check(
      isSqlIdentifier(value),
      prop,
      `"${value}" is not a valid SQL identifier`,
      "use letters, digits and _ (at most 32, not starting with a digit, not a system schema or root)",
    );
  }
  v.check(r.appUser !== r.replicationUser, "replicationUser", `equals appUser ("${r.appUser}")`, "give replication its own user");
  // Gone in 0.2: a password would sit in clear in every replica's master.info. JavaScript callers still pass it.
  v.check(
    (props as { replicationPassword?: unknown }).replicationPassword === undefined,
    "replicationPassword",
    "is no longer accepted: the replication user logs in with a client certificate the cluster generates, so no password is stored on any replica",
    "remove the prop",
  );
  const exporter = props.exporter === false ? undefined : props.exporter;
  if (exporter?.port !== undefined) {
    v.check(isPort(exporter.port), "exporter.port", `is ${exporter.port}; it must be a whole number in 1-65535`, "use 9104");
    v.check(exporter.port !== r.port, "exporter.port", `is the database's own port (${r.port})`, "use 9104");
  }
  if (exporter?.user !== undefined) {
    v.check(
      isSqlIdentifier(exporter.user),
      "exporter.user",
      `"${exporter.user}" is not a valid SQL identifier`,
      'use letters, digits and _, for example "exporter"',
    );
    v.check(
      ![r.appUser, r.replicationUser].includes(exporter.user),
      "exporter.user",
      `"${exporter.user}" is also appUser or replicationUser`,
      "give the exporter its own user",
    );
  }
  const failover = props.failover === false ? undefined : props.failover;
  if (failover?.user !== undefined) {
    v.check(
      isSqlIdentifier(failover.user),
      "failover.user",
      `"${failover.user}" is not a valid SQL identifier`,
      'use letters, digits and _, for example "failover"',
    );
    v.check(
      ![r.appUser, r.replicationUser, exporter?.user ?? "exporter"].includes(failover.user),
      "failover.user",
      `"${failover.user}" is also the app's, the replication's or the exporter's user`,
      "give the failover script its own user",
    );
  }
  if (failover?.catchUpTimeoutSeconds !== undefined) {
    v.check(
      isWholeNumber(failover.catchUpTimeoutSeconds, 1) && failover.catchUpTimeoutSeconds <= 3600,
      "failover.catchUpTimeoutSeconds",
      `is ${failover.catchUpTimeoutSeconds}; it must be a whole number of seconds from 1 to 3600`,
      "use 30",
    );
  }
  for (const [prop, secret] of Object.entries({
    appPassword: props.appPassword,
    "exporter.password": exporter?.password,
    "failover.password": failover?.password,
  })) {
    if (secret === undefined) continue;
    v.check(
      !isLiteral(secret.value),
      prop,
      "is a literal string, which would be written in plain text into the synthesized JSON",
      "pass a reference instead: a sensitive TerraformVariable, a data source or a random_password's result (or omit it to generate one)",
    );
    v.check(
      /^[A-Za-z0-9_.-]{1,64}$/.test(secret.name),
      `${prop}.name`,
      `"${secret.name}" is not a secret name (it names the SSM parameter on AWS)`,
      "use letters, digits, _ . and -",
    );
  }
  v.check(
    !(props.semiSync && r.replicas === 0),
    "semiSync",
    "is on with replicas: 0: no replica could acknowledge a commit, so the first write after every start would wait for the semi-sync timeout",
    "add a replica, or turn semiSync off",
  );
  if (r.backup) validateBackup(v, props, r, r.backup);
  if (v.ok) {
    // The template's own rules (buffer pool size, ...), reported under the props that set them.
    v.fromTemplate(
      validateMyCnfConfig({
        engine: r.engine,
        version: r.version,
        role: "primary",
        serverId: 1,
        port: r.port,
        semiSync: props.semiSync,
        semiSyncTimeoutMs: props.semiSyncTimeoutMs,
        replicaParallelThreads: props.replicaParallelThreads,
        innodbBufferPoolSize: props.innodbBufferPoolSize,
      }),
      {
        version: "checked",
        serverId: "checked",
        port: "checked",
        innodbBufferPoolSize: { prop: "innodbBufferPoolSize", fix: 'use a size of at least 5M, written like "128M" or "2G"' },
        semiSyncTimeoutMs: { prop: "semiSyncTimeoutMs", fix: "give a whole number of milliseconds, such as 10000" },
        replicaParallelThreads: { prop: "replicaParallelThreads", fix: "give a whole number of threads from 0 to 256, such as 4" },
        maxConnections: "checked",
      },
    );
  }
  v.throwIfInvalid();
}

/** A stand-in store for checking the plan's own fields: the store is the target's (checked there). */
const STAND_IN_STORE = { kind: "directory", path: "/var/lib/ha-web/backups" } as const;

/** The backup props: the target must keep backups, the source must be a node, and the plan's rules (backupPlanProblems). */
function validateBackup(v: PropValidator, props: MysqlClusterProps, r: ResolvedMysqlClusterProps, backup: ResolvedMysqlBackup): void {
  const target = props.target;
  if (target) {
    v.check(
      target.support?.backupStores === true && typeof target.backupStore === "function",
      "backup",
      `is on (the default), but the target ${target.support?.name ?? "given"} keeps no backups`,
      "use DockerTarget or AwsTarget, give your target a backupStore, or set backup: false (not recommended: nothing protects against a dropped table or a bad deploy)",
    );
  }
  const given = props.backup === false ? {} : (props.backup ?? {});
  v.check(
    r.nodeNames.includes(backup.sourceNode),
    "backup.sourceNode",
    `"${backup.sourceNode}" is not a node of this cluster (${r.nodeNames.join(", ")})`,
    `name one of them, or leave it unset for the last replica (${r.nodeNames[r.nodeNames.length - 1]})`,
  );
  v.check(
    given.binlogArchive === undefined || typeof given.binlogArchive === "boolean",
    "backup.binlogArchive",
    `is ${JSON.stringify(given.binlogArchive)}; it must be true or false`,
    "use true (point-in-time recovery) or false",
  );
  if (!(r.engine in DIALECTS) || !isDnsLabel(`${r.namePrefix}-primary`)) return;
  v.fromTemplate(
    validateBackupPlan({
      engine: r.engine,
      cluster: r.namePrefix,
      sourceNode: r.nodeNames.includes(backup.sourceNode) ? backup.sourceNode : r.nodeNames[0],
      fullSchedule: backup.fullSchedule,
      ...(backup.incrementalSchedule === undefined ? {} : { incrementalSchedule: backup.incrementalSchedule }),
      retentionDays: backup.retentionDays,
      binlogArchive: backup.binlogArchive,
      writerHost: `${r.namePrefix}-writer`,
      writerPort: isPort(r.port) ? r.port : undefined,
      store: STAND_IN_STORE,
      metricsDir: "/var/lib/ha-web/backup-metrics",
    }),
    {
      fullSchedule: {
        prop: "backup.fullSchedule",
        fix: 'give a five-field cron expression in UTC (minute hour day-of-month month day-of-week), for example "0 3 * * *"',
      },
      incrementalSchedule: {
        prop: "backup.incrementalSchedule",
        fix:
          r.engine === "mysql"
            ? "leave it unset on MySQL (full backups only; the binlog archive covers the time between them)"
            : 'run incrementals more often than full backups, for example "0 * * * *", or set it to false',
      },
      retentionDays: {
        prop: "backup.retentionDays",
        fix: "keep backups at least as long as the longest gap between full backups (7 with daily full backups), or take full backups more often",
      },
      sourceNode: "checked",
      cluster: "checked",
      writerHost: "checked",
      writerPort: "checked",
      replicationUser: "checked",
      metricsDir: "checked",
      store: "checked",
    },
  );
}
