import { TEST_BACKUP_PLAN } from "../helpers/backup-plan";
/**
 * ha-web-backup-scheduler: the cron fields rendered as shell `case` patterns
 * agree with the TypeScript matcher minute by minute, the script is valid sh,
 * and it stops when the server it was started beside is gone.
 */
import { spawnSync } from "child_process";
import { BackupPlan } from "../../templates/mysql/backup-plan";
import { cronMatches, parseCronSchedule } from "../../templates/mysql/backup-schedule";
import { renderPrimaryStartScript, renderReplicaStartScript } from "../../templates/scripts/database";
import { cronShellFunction, renderBackupSchedulerScript } from "../../templates/scripts/database-backup-scheduler";
import { shellProblems } from "../helpers/shell-lint";

const PLAN: BackupPlan = { ...TEST_BACKUP_PLAN, incrementalSchedule: "15 */2 * * *" };

describe("renderBackupSchedulerScript", () => {
  const script = renderBackupSchedulerScript(PLAN);

  test("valid POSIX sh and shellcheck-clean; runs ha-web-backup", () => {
    expect(shellProblems(script)).toBe("");
    expect(script).toContain("BACKUP=/opt/ha-web/bin/ha-web-backup");
    expect(script).toContain('if full_due "$1" "$2" "$3" "$4" "$5"; then run full');
    expect(renderBackupSchedulerScript({ ...PLAN, incrementalSchedule: undefined })).toContain("incremental_due() { return 1; }");
  });

  test("stops at once when the server's PID is gone", () => {
    const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
    const r = spawnSync("sh", ["-c", script, "ha-web-backup-scheduler", gone], { encoding: "utf8", timeout: 10000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`the server (PID ${gone}) is gone: stopping`);
  });
});

describe("cronShellFunction", () => {
  test.each(["0 3 * * *", "15 */2 * * *", "*/5 * * * *", "0 0 1,15 * 0", "0 0 */2 * 1", "30 22 * 1-6/2 1-5", "0 12 31 * *", "* * * * 7"])(
    "%s: due exactly when cronMatches says so (two years of days)",
    (expr) => {
      const schedule = parseCronSchedule(expr);
      // Every day of two years at the schedule's first time of day and the minute after, plus scattered minutes.
      const start = Date.UTC(2026, 0, 1, 0, 0);
      const first = (schedule.hours[0] * 60 + schedule.minutes[0]) * 60000;
      const minutes: Date[] = [];
      for (let day = 0; day < 731; day++) for (const offset of [0, 60000]) minutes.push(new Date(start + day * 86400000 + first + offset));
      for (let i = 0; i < 1000; i++) minutes.push(new Date(start + ((i * 104729) % (731 * 1440)) * 60000));
      const fields = minutes.map((d) => {
        const p = (n: number) => String(n).padStart(2, "0");
        return `${p(d.getUTCMinutes())} ${p(d.getUTCHours())} ${p(d.getUTCDate())} ${p(d.getUTCMonth() + 1)} ${d.getUTCDay()}`;
      });
      const sh = [
        ...cronShellFunction("due", schedule),
        'while read -r m h d mo w; do if due "$m" "$h" "$d" "$mo" "$w"; then echo 1; else echo 0; fi; done',
      ].join("\n");
      const r = spawnSync("sh", ["-c", sh], { input: `${fields.join("\n")}\n`, encoding: "utf8" });
      expect(r.stderr).toBe("");
      const got = r.stdout.trim().split("\n");
      const want = minutes.map((d) => (cronMatches(schedule, d) ? "1" : "0"));
      expect(got).toEqual(want);
      expect(want).toContain("1");
    },
  );
});

describe("the database start script with a backup plan", () => {
  const common = { engine: "mariadb" as const, database: "appdb", appUser: "app", replicationUser: "repl", replicationCertificateName: "db-replication" };

  test("the source node starts the scheduler with its own PID (the server's after the exec), right before the exec; other nodes do not", () => {
    const source = renderPrimaryStartScript({ ...common, writerHost: "db-writer", backup: { plan: PLAN, nodeName: "db-2" } });
    const lines = source.split("\n");
    const at = lines.indexOf("/opt/ha-web/bin/ha-web-backup-scheduler $$ &");
    expect(at).toBeGreaterThan(lines.indexOf("trap - EXIT TERM INT QUIT"));
    // The binlog archiver (the plan archives binlogs) starts the same way, between the scheduler and the exec.
    expect(lines.slice(at + 1).findIndex((l) => l === "/opt/ha-web/bin/ha-web-binlog-archiver $$ &")).toBe(1);
    expect(lines.slice(at + 1).findIndex((l) => l.startsWith("exec mariadbd"))).toBe(3);
    expect(spawnSync("sh", ["-n"], { input: source, encoding: "utf8" }).stderr).toBe("");
    expect(renderReplicaStartScript({ ...common, primaryHost: "db-1", backup: { plan: PLAN, nodeName: "db-2" } })).toContain("ha-web-backup-scheduler $$ &");
    expect(renderPrimaryStartScript({ ...common, backup: { plan: PLAN, nodeName: "db-1" } })).not.toContain("ha-web-backup-scheduler");
    expect(renderPrimaryStartScript(common)).not.toContain("ha-web-backup-scheduler");
  });
});
