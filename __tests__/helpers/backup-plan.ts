import { BackupPlan } from "../../templates/mysql/backup-plan";

/**
 * The backup plan the template tests start from (a MariaDB cluster "demo",
 * backups on its replica db-2, a directory store); each test spreads it and
 * overrides only what it is about.
 */
export const TEST_BACKUP_PLAN: BackupPlan = {
  engine: "mariadb",
  cluster: "demo",
  sourceNode: "db-2",
  fullSchedule: "0 3 * * *",
  incrementalSchedule: "0 * * * *",
  retentionDays: 7,
  binlogArchive: true,
  writerHost: "db-writer",
  store: { kind: "directory", path: "/var/backups/ha-web" },
  metricsDir: "/var/lib/ha-web/textfile",
};
