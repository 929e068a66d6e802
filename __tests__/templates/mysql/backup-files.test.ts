import { TEST_BACKUP_PLAN } from "../../helpers/backup-plan";
import { renderBackupFiles } from "../../../templates/mysql/backup-files";
import { BACKUP_COMMANDS, BackupPlan } from "../../../templates/mysql/backup-plan";

const PLAN: BackupPlan = { ...TEST_BACKUP_PLAN, incrementalSchedule: "15 * * * *" };

describe("renderBackupFiles", () => {
  test("the source node gets the backup command, its scheduler and the binlog archiver, all executable", () => {
    const files = renderBackupFiles(PLAN, "db-2");
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining([BACKUP_COMMANDS.backup, BACKUP_COMMANDS.scheduler, BACKUP_COMMANDS.binlogArchiver]));
    for (const file of files) {
      expect(file.executable).toBe(true);
      expect(file.content.startsWith("#!/bin/sh")).toBe(true);
    }
  });

  test("another node gets no backup-taking files", () => {
    const paths = renderBackupFiles(PLAN, "db-1").map((f) => f.path);
    expect(paths).not.toContain(BACKUP_COMMANDS.backup);
    expect(paths).not.toContain(BACKUP_COMMANDS.scheduler);
    expect(paths).not.toContain(BACKUP_COMMANDS.binlogArchiver);
  });

  test("a bad plan is refused with what to fix", () => {
    expect(() => renderBackupFiles({ ...PLAN, retentionDays: 0 }, "db-2")).toThrow(/retention/i);
  });
});
