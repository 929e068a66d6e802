import { TEST_BACKUP_PLAN } from "../../helpers/backup-plan";
import { BackupPlan } from "../../../templates/mysql/backup-plan";
import {
  backupPlanProblems,
  binlogExpireSeconds,
  cronMatches,
  cronMaxIntervalSeconds,
  MAX_BINLOG_EXPIRE_SECONDS,
  parseCronSchedule,
  validateBackupPlan,
} from "../../../templates/mysql/backup-schedule";

const DAY = 86400;

/** Walks every minute of a window (UTC) with cronMatches and returns the longest gap between two runs. */
function bruteForceMaxGap(expr: string, from: Date, days: number): number {
  const schedule = parseCronSchedule(expr);
  let previous: number | undefined;
  let longest = 0;
  const minute = new Date(0); // one Date, moved minute by minute: a million allocations cost a third of the walk
  for (let t = from.getTime(); t < from.getTime() + days * DAY * 1000; t += 60000) {
    minute.setTime(t);
    if (!cronMatches(schedule, minute)) continue;
    if (previous !== undefined) longest = Math.max(longest, (t - previous) / 1000);
    previous = t;
  }
  return longest;
}

describe("parseCronSchedule", () => {
  test("numbers, *, lists, ranges and steps", () => {
    const s = parseCronSchedule(" 0,30 */6 1-5 1-12/3 1-5 ");
    expect(s.expression).toBe("0,30 */6 1-5 1-12/3 1-5");
    expect(s.minutes).toEqual([0, 30]);
    expect(s.hours).toEqual([0, 6, 12, 18]);
    expect(s.daysOfMonth).toEqual([1, 2, 3, 4, 5]);
    expect(s.months).toEqual([1, 4, 7, 10]);
    expect(s.daysOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect(s.dayOfMonthStar).toBe(false);
    expect(s.dayOfWeekStar).toBe(false);
  });

  test("day of week 7 is Sunday, like 0; */n on a day field counts as * for the day rule", () => {
    expect(parseCronSchedule("0 0 * * 5-7").daysOfWeek).toEqual([0, 5, 6]);
    const s = parseCronSchedule("0 0 */2 * 1");
    expect(s.dayOfMonthStar).toBe(true);
    expect(s.dayOfWeekStar).toBe(false);
  });

  test.each([
    ["0 3 * *", /has 4 field\(s\); it needs 5/],
    ["", /has 0 field\(s\)/],
    ["0 3 * * * *", /has 6 field\(s\)/],
    ["60 3 * * *", /field 1 \(minute\) "60" is out of range.*values 0-59/],
    ["0 24 * * *", /field 2 \(hour\) "24" is out of range.*values 0-23/],
    ["0 3 0 * *", /field 3 \(day of month\) "0" is out of range.*values 1-31/],
    ["0 3 * 13 *", /field 4 \(month\) "13" is out of range/],
    ["0 3 * * 8", /field 5 \(day of week\) "8" is out of range.*values 0-7/],
    ["0 3 * JAN *", /field 4 \(month\) "JAN" is not understood/],
    ["0 3 * * MON", /field 5 \(day of week\) "MON" is not understood/],
    ["0 3 ? * *", /field 3 \(day of month\) "\?" is not understood/],
    ["0 3 L * *", /field 3 \(day of month\) "L" is not understood/],
    ["@daily", /has 1 field\(s\)/],
    ["0 5-3 * * *", /field 2 \(hour\) "5-3" has a range that runs backwards/],
    ["*/0 * * * *", /field 1 \(minute\) "\*\/0" has a step of 0/],
    ["5/10 * * * *", /field 1 \(minute\) "5\/10" has a step on a single number/],
    ["0,,5 * * * *", /field 1 \(minute\) "0,,5" has an empty list item/],
    ["-1 * * * *", /field 1 \(minute\) "-1" is not understood/],
  ])("refuses %j", (expr, message) => {
    expect(() => parseCronSchedule(expr)).toThrow(message);
    expect(() => parseCronSchedule(expr)).toThrow(/allowed:|needs 5/);
  });

  test("refuses a schedule that never runs", () => {
    expect(() => parseCronSchedule("0 0 30,31 2 *")).toThrow(/never runs/);
    // With a day-of-week restriction too, either day field can match: it runs.
    expect(() => parseCronSchedule("0 0 31 2 1")).not.toThrow();
  });
});

describe("cronMatches", () => {
  test("minute, hour, month and the two day fields (Vixie cron's or/and rule)", () => {
    const at = (iso: string) => new Date(`${iso}Z`);
    const daily = parseCronSchedule("15 3 * * *");
    expect(cronMatches(daily, at("2026-12-05T03:15:00"))).toBe(true);
    expect(cronMatches(daily, at("2026-12-05T03:15:59"))).toBe(true);
    expect(cronMatches(daily, at("2026-12-05T03:16:00"))).toBe(false);
    expect(cronMatches(daily, at("2026-12-05T04:15:00"))).toBe(false);
    // Both restricted: the 1st of the month OR a Monday. 2026-12-07 is a Monday, 2026-12-01 a Tuesday.
    const either = parseCronSchedule("0 0 1 * 1");
    expect(cronMatches(either, at("2026-12-07T00:00:00"))).toBe(true);
    expect(cronMatches(either, at("2026-12-01T00:00:00"))).toBe(true);
    expect(cronMatches(either, at("2026-12-02T00:00:00"))).toBe(false);
    // Day of month starts with *: both must match (odd days that are Mondays).
    const both = parseCronSchedule("0 0 */2 * 1");
    expect(cronMatches(both, at("2026-12-07T00:00:00"))).toBe(true);
    expect(cronMatches(both, at("2026-12-14T00:00:00"))).toBe(false);
    expect(cronMatches(both, at("2026-12-01T00:00:00"))).toBe(false);
  });
});

describe("cronMaxIntervalSeconds", () => {
  test.each([
    ["0 3 * * *", DAY],
    ["0 * * * *", 3600],
    ["*/5 * * * *", 300],
    ["0 */6 * * *", 6 * 3600],
    ["30 1,13 * * *", 12 * 3600],
    ["0 1,2 * * *", 23 * 3600],
    ["0 3 * * 0", 7 * DAY],
    ["0 0 * * 1-5", 3 * DAY],
    ["0 0 1 * *", 31 * DAY],
    ["0 0 31 * *", 61 * DAY],
    ["0 0 1 1 *", 366 * DAY],
    // 29 February: 2096 to 2104 (2100 is no leap year): eight years of 365 days and the 29th of 2104.
    ["0 0 29 2 *", (8 * 365 + 1) * DAY],
  ])("%s: %d s", (expr, seconds) => {
    expect(cronMaxIntervalSeconds(expr)).toBe(seconds);
  });

  // The every-day shortcut in each form: both fields *, a full day of month or of week beside a restricted one, */1.
  test.each([
    "0 3 * * *",
    "0 3 1-31 * 1",
    "0 3 1 * 0-7",
    "0 3 */1 * *",
    "15 */7 * * *",
    "0 0 1,15 * 0",
    "0 0 */2 * 1",
    "0 22 * * 1-5",
    "45 23 31 * *",
    "0 0 1-7 * 1",
  ])("%s: the same as walking two years minute by minute", (expr) => {
    expect(cronMaxIntervalSeconds(expr)).toBe(bruteForceMaxGap(expr, new Date("2026-01-01T00:00:00Z"), 731));
  });

  test("throws on a schedule that does not parse", () => {
    expect(() => cronMaxIntervalSeconds("0 3 * *")).toThrow(/needs 5/);
  });
});

const PLAN: BackupPlan = { ...TEST_BACKUP_PLAN, metricsDir: "/var/lib/node-exporter/textfile" };

describe("backupPlanProblems", () => {
  test("the default-shaped plan has none (directory and s3 stores)", () => {
    expect(backupPlanProblems(PLAN)).toEqual([]);
    expect(
      backupPlanProblems({
        ...PLAN,
        store: { kind: "s3", bucket: "demo-backups", prefix: "demo/db", region: "eu-west-1", kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/abcd-1234" },
      }),
    ).toEqual([]);
    expect(backupPlanProblems({ ...PLAN, engine: "mysql", incrementalSchedule: undefined })).toEqual([]);
  });

  test("retention shorter than the longest gap between full backups", () => {
    const problems = validateBackupPlan({ ...PLAN, fullSchedule: "0 3 * * 0", retentionDays: 6 });
    expect(problems.map((p) => p.field)).toEqual(["retentionDays"]);
    expect(problems[0].message).toMatch(
      /retentionDays \(6\) is shorter than the longest gap between full backups \(7 day\(s\), fullSchedule "0 3 \* \* 0"\).*keep at least 7 day/,
    );
    expect(backupPlanProblems({ ...PLAN, fullSchedule: "0 3 * * 0", retentionDays: 7 })).toEqual([]);
  });

  test("incrementals less often than full backups", () => {
    const problems = validateBackupPlan({ ...PLAN, fullSchedule: "0 3 * * *", incrementalSchedule: "0 3 * * 0", retentionDays: 8 });
    expect(problems.map((p) => p.field)).toEqual(["incrementalSchedule"]);
    expect(problems[0].message).toMatch(/runs less often \(up to 7 day\(s\) apart\) than fullSchedule "0 3 \* \* \*" \(up to 1 day\(s\) apart\)/);
  });

  test("schedules that do not parse name the schedule and the field", () => {
    const problems = validateBackupPlan({ ...PLAN, fullSchedule: "0 25 * * *", incrementalSchedule: "every hour" });
    expect(problems.map((p) => p.field)).toEqual(["fullSchedule", "incrementalSchedule"]);
    expect(problems[0].message).toMatch(/^fullSchedule: cron schedule "0 25 \* \* \*": field 2 \(hour\) "25" is out of range/);
    expect(problems[1].message).toMatch(/^incrementalSchedule: cron schedule "every hour" has 2 field/);
  });

  test("mysql has no incrementals; retention must be whole days; names and paths reach shell scripts safely", () => {
    const problems = validateBackupPlan({
      ...PLAN,
      engine: "mysql",
      retentionDays: 1.5,
      cluster: "demo; rm -rf /",
      sourceNode: "db 2",
      writerHost: "",
      writerPort: 0,
      replicationUser: "repl'",
      metricsDir: "relative/dir",
      store: { kind: "directory", path: "/var/../etc" },
    });
    expect(problems.map((p) => p.field)).toEqual([
      "incrementalSchedule",
      "retentionDays",
      "cluster",
      "sourceNode",
      "writerHost",
      "writerPort",
      "replicationUser",
      "metricsDir",
      "store.path",
    ]);
    expect(problems[0].message).toMatch(/mysqldump, which has no incremental backups/);
    const s3 = validateBackupPlan({ ...PLAN, store: { kind: "s3", bucket: "Bad_Bucket", prefix: "/demo/", region: "europe", kmsKeyId: "key id" } });
    expect(s3.map((p) => p.field)).toEqual(["store.bucket", "store.prefix", "store.region", "store.kmsKeyId"]);
  });

  test("a full interval MariaDB's binlog expiry cannot cover", () => {
    const problems = validateBackupPlan({ ...PLAN, fullSchedule: "0 3 1 1,7 *", incrementalSchedule: undefined, retentionDays: 400 });
    expect(problems.map((p) => p.field)).toEqual(["fullSchedule"]);
    expect(problems[0].message).toMatch(/more than MariaDB's 99-day binlog_expire_logs_seconds limit/);
  });
});

describe("binlogExpireSeconds", () => {
  test("twice the longest gap between full backups, at least a day, at most MariaDB's limit", () => {
    expect(binlogExpireSeconds(PLAN)).toBe(2 * DAY);
    expect(binlogExpireSeconds({ ...PLAN, fullSchedule: "0 3 * * 0" })).toBe(14 * DAY);
    expect(binlogExpireSeconds({ ...PLAN, fullSchedule: "0 */4 * * *" })).toBe(DAY);
    expect(binlogExpireSeconds({ ...PLAN, fullSchedule: "0 3 1 1 *" })).toBe(MAX_BINLOG_EXPIRE_SECONDS);
  });
});
