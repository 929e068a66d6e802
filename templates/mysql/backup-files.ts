import { renderBackupScript } from "../scripts/database-backup";
import { renderBackupSchedulerScript } from "../scripts/database-backup-scheduler";
import { renderBinlogArchiverScript } from "../scripts/database-binlog-archiver";
import { renderRestoreScript } from "../scripts/database-restore";
import { BACKUP_COMMANDS, BackupFile, BackupPlan } from "./backup-plan";
import { validateBackupPlan } from "./backup-schedule";
import { assertNoProblems } from "../validate";

/**
 * The backup files a database node gets, by its role in the plan: the source
 * node takes backups on the plan's schedules, so it gets the backup command and
 * the scheduler that runs it, and, when the plan archives binlogs, the binlog
 * archiver (its start script starts both). Every node of a mariadb plan gets
 * the restore command (a restore happens where the data is needed; a mysql
 * plan's mysqldump backups have no restore command here).
 *
 * Every target installs exactly these files (Docker: mounted files; AWS: cloud-init
 * write_files; the lab: the synthesized Docker stack's files), so what runs is
 * the same everywhere.
 */
export function renderBackupFiles(plan: BackupPlan, nodeName: string): BackupFile[] {
  assertNoProblems("Backup plan", validateBackupPlan(plan));
  const restore: BackupFile[] = plan.engine === "mariadb" ? [{ path: BACKUP_COMMANDS.restore, content: renderRestoreScript(plan), executable: true }] : [];
  if (nodeName !== plan.sourceNode) return restore;
  return [
    ...restore,
    { path: BACKUP_COMMANDS.backup, content: renderBackupScript(plan), executable: true },
    { path: BACKUP_COMMANDS.scheduler, content: renderBackupSchedulerScript(plan), executable: true },
    ...(plan.binlogArchive ? [{ path: BACKUP_COMMANDS.binlogArchiver, content: renderBinlogArchiverScript(plan), executable: true }] : []),
  ];
}
