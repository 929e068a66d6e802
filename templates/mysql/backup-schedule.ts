import { BackupPlan } from "./backup-plan";
import { ConfigProblem, isAbsolutePath, isHostName, isPort, isSqlIdentifier } from "../validate";

/**
 * Five-field cron schedules (UTC) for the backup plan: parsing with messages a
 * user can act on, the longest gap between two runs (computed, not guessed: it
 * sets the staleness alerts and how long the writer keeps its binlogs), and the
 * checks a plan must pass before anything is rendered.
 *
 * Accepted, per field: a number, `*`, a list `a,b`, a range `a-b`, a step `*\/n`
 * or `a-b/n`, and lists of those. Nothing else (no names, no `?`, `L`, `W`, `#`,
 * no `@daily`): the scheduler script matches the same fields with shell `case`
 * patterns, and every form it accepts is one we can test.
 *
 * Day matching follows Vixie cron (Debian's cron): when both day fields are
 * restricted (neither starts with `*`), a day matches if either matches; when
 * one starts with `*`, both must match.
 */

export interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

/** The five fields, in order. Day of week 0-7, both 0 and 7 are Sunday. */
export const CRON_FIELDS: readonly CronField[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
];

export interface CronSchedule {
  /** The expression as given (trimmed). */
  readonly expression: string;
  /** Sorted, distinct values each field matches. */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0-6, Sunday = 0 (a 7 in the expression is folded into 0). */
  readonly daysOfWeek: readonly number[];
  /** The day-of-month field starts with `*` (Vixie cron's rule for combining the two day fields). */
  readonly dayOfMonthStar: boolean;
  /** The day-of-week field starts with `*`. */
  readonly dayOfWeekStar: boolean;
}

const ALLOWED_FORM = "a number, *, a list a,b, a range a-b, or a step */n or a-b/n";

function fieldError(expr: string, index: number, text: string, why: string): Error {
  const field = CRON_FIELDS[index];
  return new Error(
    `cron schedule "${expr}": field ${index + 1} (${field.name}) "${text}" ${why}; allowed: ${ALLOWED_FORM}, with values ${field.min}-${field.max}`,
  );
}

function parseField(expr: string, index: number, text: string): number[] {
  const { min, max } = CRON_FIELDS[index];
  const values = new Set<number>();
  const at = (item: string) => (item === text ? "" : ` at "${item}"`);
  for (const item of text.split(",")) {
    if (item === "") throw fieldError(expr, index, text, "has an empty list item");
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw fieldError(expr, index, text, `is not understood${at(item)}`);
    const [, base, from, to, stepText] = m;
    let lo: number;
    let hi: number;
    if (base === "*") {
      lo = min;
      hi = max;
    } else {
      lo = Number(from);
      hi = to === undefined ? lo : Number(to);
      if (lo < min || lo > max || hi < min || hi > max) throw fieldError(expr, index, text, `is out of range${at(item)}`);
      if (hi < lo) throw fieldError(expr, index, text, `has a range that runs backwards${at(item)}`);
      if (stepText !== undefined && to === undefined) throw fieldError(expr, index, text, `has a step on a single number${at(item)} (write a range a-b/n)`);
    }
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw fieldError(expr, index, text, `has a step of 0${at(item)}`);
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

/** Days in a month of a leap year: the most a month can have. */
const MAX_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parses a five-field cron expression (UTC). Throws an Error naming the bad
 * field and the allowed form; also refuses a schedule that never runs (for
 * example the 31st of February).
 */
export function parseCronSchedule(expr: string): CronSchedule {
  const expression = expr.trim();
  const fields = expression === "" ? [] : expression.split(/\s+/);
  if (fields.length !== 5) {
    throw new Error(
      `cron schedule "${expr}" has ${fields.length} field(s); it needs 5, separated by spaces: minute hour day-of-month month day-of-week (UTC), each ${ALLOWED_FORM}`,
    );
  }
  const [minutes, hours, daysOfMonth, months, rawDaysOfWeek] = fields.map((text, i) => parseField(expression, i, text));
  const daysOfWeek = [...new Set(rawDaysOfWeek.map((d) => d % 7))].sort((a, b) => a - b);
  const schedule: CronSchedule = {
    expression,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    dayOfMonthStar: fields[2].startsWith("*"),
    dayOfWeekStar: fields[4].startsWith("*"),
  };
  // With a day-of-month restriction only (day of week `*`), some month must have one of those days.
  const dayOfMonthAlone = !schedule.dayOfMonthStar && schedule.dayOfWeekStar;
  if (dayOfMonthAlone && !months.some((m) => daysOfMonth.some((d) => d <= MAX_DAYS_IN_MONTH[m - 1]))) {
    throw new Error(`cron schedule "${expr}" never runs: no month in field 4 (month) has the days in field 3 (day of month)`);
  }
  return schedule;
}

/** Whether the schedule runs in the minute that `date` falls in (UTC). */
export function cronMatches(schedule: CronSchedule, date: Date): boolean {
  return (
    schedule.minutes.includes(date.getUTCMinutes()) &&
    schedule.hours.includes(date.getUTCHours()) &&
    schedule.months.includes(date.getUTCMonth() + 1) &&
    dayMatches(schedule, date.getUTCDate(), date.getUTCDay())
  );
}

function dayMatches(schedule: CronSchedule, dayOfMonth: number, dayOfWeek: number): boolean {
  const dom = schedule.daysOfMonth.includes(dayOfMonth);
  const dow = schedule.daysOfWeek.includes(dayOfWeek);
  return schedule.dayOfMonthStar || schedule.dayOfWeekStar ? dom && dow : dom || dow;
}

/** The Gregorian calendar repeats, weekdays included, every 400 years (146097 days = 20871 weeks). */
const CYCLE_DAYS = 146097;
const DAY_SECONDS = 86400;

/**
 * The longest gap, in seconds, between two consecutive runs of the schedule,
 * over the whole 400-year calendar cycle (leap years and weekdays included):
 * every time of day the schedule runs at is the same on every day it runs, so
 * the gap is the longest of the gaps within a day and the gaps across the days
 * between two matching days. "0 3 * * *" gives 86400; "0 0 29 2 *" about eight
 * years (1900-style century years skip the 29th).
 */
export function cronMaxIntervalSeconds(expr: string): number {
  const known = maxIntervalByExpression.get(expr);
  if (known !== undefined) return known;
  const schedule = parseCronSchedule(expr);
  const times: number[] = [];
  for (const h of schedule.hours) for (const m of schedule.minutes) times.push(h * 3600 + m * 60);
  times.sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i] - times[i - 1]);
  const first = times[0];
  const last = times[times.length - 1];

  // Every day of every month runs (most schedules: "0 3 * * *", "0 * * * *"): the longest gap across
  // days is the night's, from the day's last run to the next day's first; no walk needed.
  const allDaysOfMonth = schedule.daysOfMonth.length === 31;
  const allDaysOfWeek = schedule.daysOfWeek.length === 7;
  const everyDay =
    schedule.months.length === 12 && (schedule.dayOfMonthStar || schedule.dayOfWeekStar ? allDaysOfMonth && allDaysOfWeek : allDaysOfMonth || allDaysOfWeek);
  if (everyDay) {
    longest = Math.max(longest, DAY_SECONDS - last + first);
    maxIntervalByExpression.set(expr, longest);
    return longest;
  }

  // Walk the cycle from 2000-01-01 (a Saturday) with counters, not a Date per day: a synth asks this
  // several times per cluster, and 146097 Dates cost 100-200 ms a call on a loaded machine.
  const inMonths = lookup(schedule.months, 13);
  const inDaysOfMonth = lookup(schedule.daysOfMonth, 32);
  const inDaysOfWeek = lookup(schedule.daysOfWeek, 7);
  const either = !(schedule.dayOfMonthStar || schedule.dayOfWeekStar);
  let year = 2000;
  let month = 1;
  let dayOfMonth = 1;
  let dayOfWeek = 6;
  let firstDay = -1;
  let previousDay = -1;
  for (let day = 0; day < CYCLE_DAYS; day++) {
    const dom = inDaysOfMonth[dayOfMonth];
    const dow = inDaysOfWeek[dayOfWeek];
    if (inMonths[month] && (either ? dom || dow : dom && dow)) {
      if (firstDay < 0) firstDay = day;
      if (previousDay >= 0) longest = Math.max(longest, (day - previousDay) * DAY_SECONDS - last + first);
      previousDay = day;
    }
    dayOfWeek = (dayOfWeek + 1) % 7;
    if (++dayOfMonth > daysInMonth(year, month)) {
      dayOfMonth = 1;
      if (++month > 12) {
        month = 1;
        year++;
      }
    }
  }
  if (firstDay < 0) throw new Error(`cron schedule "${expr}" never runs`);
  // The cycle wraps: from the last matching day of one cycle to the first of the next.
  longest = Math.max(longest, (firstDay + CYCLE_DAYS - previousDay) * DAY_SECONDS - last + first);
  maxIntervalByExpression.set(expr, longest);
  return longest;
}

/** cronMaxIntervalSeconds' answers (a pure function of the expression): constructs ask it again for every plan they render. */
const maxIntervalByExpression = new Map<string, number>();

function lookup(values: readonly number[], size: number): boolean[] {
  const table = new Array<boolean>(size).fill(false);
  for (const v of values) table[v] = true;
  return table;
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return MAX_DAYS_IN_MONTH[month - 1];
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/** The largest binlog_expire_logs_seconds MariaDB 10.11 accepts (99 days); MySQL 8.4 accepts more. */
export const MAX_BINLOG_EXPIRE_SECONDS = 8553600;

/** The writer never keeps its binlogs less than this (a day), whatever the schedule. */
export const MIN_BINLOG_EXPIRE_SECONDS = 86400;

/**
 * How long the writer keeps its binlogs (`binlog_expire_logs_seconds`): twice
 * the longest gap between two full backups, at least a day. Twice, so that one
 * failed full backup still leaves the binlogs a replica seeded from the previous
 * one needs to catch up, and the archiver can be down for a whole interval
 * without a gap in the archive. Capped at what MariaDB accepts (99 days;
 * backupPlanProblems reports a schedule that needs more).
 */
export function binlogExpireSeconds(plan: BackupPlan): number {
  const full = cronMaxIntervalSeconds(plan.fullSchedule);
  return Math.min(MAX_BINLOG_EXPIRE_SECONDS, Math.max(MIN_BINLOG_EXPIRE_SECONDS, 2 * full));
}

function humanSeconds(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} day(s)`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hour(s)`;
  if (seconds % 60 === 0) return `${seconds / 60} minute(s)`;
  return `${seconds} s`;
}

/** Characters a name may carry into the rendered shell scripts and the store's paths. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_PREFIX = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const KMS_KEY = /^[A-Za-z0-9:/_-]{1,2048}$/;

/**
 * Every problem with a plan, each with the plan field it concerns (dotted path):
 * constructs map the field to their prop.
 */
export function validateBackupPlan(plan: BackupPlan): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));

  let full: number | undefined;
  try {
    full = cronMaxIntervalSeconds(plan.fullSchedule);
  } catch (e) {
    add("fullSchedule", `fullSchedule: ${(e as Error).message}`);
  }
  let incremental: number | undefined;
  if (plan.incrementalSchedule !== undefined) {
    if (plan.engine === "mysql") {
      add(
        "incrementalSchedule",
        `incrementalSchedule is set, but the mysql engine backs up with mysqldump, which has no incremental backups; leave incrementalSchedule unset (the binlog archive covers the time between full backups)`,
      );
    }
    try {
      incremental = cronMaxIntervalSeconds(plan.incrementalSchedule);
    } catch (e) {
      add("incrementalSchedule", `incrementalSchedule: ${(e as Error).message}`);
    }
  }
  if (!Number.isInteger(plan.retentionDays) || plan.retentionDays < 1 || plan.retentionDays > 3650) {
    add("retentionDays", `retentionDays is ${plan.retentionDays}; it must be a whole number of days from 1 to 3650`);
  } else if (full !== undefined && plan.retentionDays * 86400 < full) {
    add(
      "retentionDays",
      `retentionDays (${plan.retentionDays}) is shorter than the longest gap between full backups (${humanSeconds(full)}, fullSchedule "${plan.fullSchedule}"): there would be times with no full backup kept; keep at least ${Math.ceil(full / 86400)} day(s) or take full backups more often`,
    );
  }
  if (full !== undefined && incremental !== undefined && incremental > full) {
    add(
      "incrementalSchedule",
      `incrementalSchedule "${plan.incrementalSchedule}" runs less often (up to ${humanSeconds(incremental)} apart) than fullSchedule "${plan.fullSchedule}" (up to ${humanSeconds(full)} apart): incrementals would add nothing; run them more often than full backups, or leave incrementalSchedule unset`,
    );
  }
  if (full !== undefined && 2 * full > MAX_BINLOG_EXPIRE_SECONDS && plan.engine === "mariadb") {
    add(
      "fullSchedule",
      `fullSchedule "${plan.fullSchedule}" leaves up to ${humanSeconds(full)} between full backups; the writer would have to keep binlogs for twice that, more than MariaDB's 99-day binlog_expire_logs_seconds limit; take a full backup at least every 49 days`,
    );
  }
  if (!SAFE_NAME.test(plan.cluster))
    add("cluster", `cluster "${plan.cluster}" must be letters, digits, ".", "_" or "-" (it names metrics and the store's layout)`);
  if (!isHostName(plan.sourceNode)) add("sourceNode", `sourceNode "${plan.sourceNode}" is not a host name`);
  if (!isHostName(plan.writerHost)) add("writerHost", `writerHost "${plan.writerHost}" is not a host name`);
  if (plan.writerPort !== undefined && !isPort(plan.writerPort)) add("writerPort", `writerPort ${plan.writerPort} is outside 1-65535`);
  if (plan.replicationUser !== undefined && !isSqlIdentifier(plan.replicationUser))
    add("replicationUser", `replicationUser "${plan.replicationUser}" must be a plain SQL identifier (letters, digits, "_"; at most 32 characters)`);
  if (!isAbsolutePath(plan.metricsDir) || plan.metricsDir === "/")
    add("metricsDir", `metricsDir "${plan.metricsDir}" must be an absolute path (letters, digits, "_", ".", "-", "/"), not "/"`);
  const store = plan.store;
  if (store.kind === "directory") {
    if (!isAbsolutePath(store.path) || store.path === "/")
      add("store.path", `store.path "${store.path}" must be an absolute directory path (letters, digits, "_", ".", "-", "/"), not "/"`);
  } else if (store.kind === "s3") {
    if (!S3_BUCKET.test(store.bucket))
      add("store.bucket", `store.bucket "${store.bucket}" is not an S3 bucket name (3-63 lower-case letters, digits, "." and "-")`);
    if (!S3_PREFIX.test(store.prefix))
      add("store.prefix", `store.prefix "${store.prefix}" must be a key prefix without a leading or trailing "/" (letters, digits, "_", ".", "-", "/")`);
    if (!AWS_REGION.test(store.region)) add("store.region", `store.region "${store.region}" is not an AWS region name (for example eu-west-1)`);
    if (store.kmsKeyId !== undefined && !KMS_KEY.test(store.kmsKeyId)) add("store.kmsKeyId", `store.kmsKeyId "${store.kmsKeyId}" is not a KMS key id or ARN`);
  } else {
    add("store.kind", `store.kind "${(store as { kind: string }).kind}" must be "directory" or "s3"`);
  }
  return problems;
}

/** The plan's problems as messages (empty: the plan renders). See validateBackupPlan for the fields. */
export function backupPlanProblems(plan: BackupPlan): string[] {
  return validateBackupPlan(plan).map((p) => p.message);
}
