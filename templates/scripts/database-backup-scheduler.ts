import { BACKUP_COMMANDS, BackupPlan } from "../mysql/backup-plan";
import { CronSchedule, parseCronSchedule, validateBackupPlan } from "../mysql/backup-schedule";
import { assertNoProblems } from "../validate";
import { SCRIPT_HEADER } from "./shell";

/**
 * `ha-web-backup-scheduler [SERVER_PID]`: runs `ha-web-backup` on the plan's
 * schedules without cron or systemd (a container has neither). It wakes once a
 * minute (sleeping to the next minute, at most 60 s), matches the UTC minute
 * against the schedules rendered as shell `case` patterns, and runs one backup
 * at a time in the foreground (a full backup wins when both are due; a minute
 * is handled once). Given the server's PID, it stops when the server is gone.
 */

/** `case` pattern of one field's values, zero-padded like `date +%M` (day of week: `%w`, 0-6). */
function pattern(values: readonly number[], pad: boolean): string {
  return values.map((v) => (pad ? String(v).padStart(2, "0") : String(v))).join("|");
}

/**
 * Shell function NAME that returns 0 when the schedule is due for
 * `NAME MINUTE HOUR DAY MONTH WEEKDAY` (as `date -u '+%M %H %d %m %w'` prints them).
 */
export function cronShellFunction(name: string, schedule: CronSchedule): string[] {
  // A field that matches every value needs no test (a `*)` case would shadow the `return 1`).
  const test = (arg: string, values: readonly number[], all: number) =>
    values.length === all ? [] : [`  case "${arg}" in ${pattern(values, true)}) ;; *) return 1 ;; esac`];
  const either = !schedule.dayOfMonthStar && !schedule.dayOfWeekStar;
  return [
    `# ${name}: "${schedule.expression}" (UTC)`,
    `${name}() {`,
    ...test("$1", schedule.minutes, 60),
    ...test("$2", schedule.hours, 24),
    ...test("$4", schedule.months, 12),
    `  dom=0; case "$3" in ${pattern(schedule.daysOfMonth, true)}) dom=1 ;; esac`,
    `  dow=0; case "$5" in ${pattern(schedule.daysOfWeek, false)}) dow=1 ;; esac`,
    either
      ? '  [ "$dom" = 1 ] || [ "$dow" = 1 ]  # both day fields restricted: either matches'
      : '  [ "$dom" = 1 ] && [ "$dow" = 1 ]  # a day field starting with *: both must match',
    "}",
  ];
}

export function renderBackupSchedulerScript(plan: BackupPlan): string {
  assertNoProblems("Backup plan", validateBackupPlan(plan));
  const full = parseCronSchedule(plan.fullSchedule);
  const incremental = plan.incrementalSchedule === undefined ? undefined : parseCronSchedule(plan.incrementalSchedule);
  return [
    SCRIPT_HEADER,
    `BACKUP=${BACKUP_COMMANDS.backup}`,
    'SERVER_PID=""',
    "if [ $# -ge 1 ]; then SERVER_PID=$1; fi",
    ...cronShellFunction("full_due", full),
    ...(incremental === undefined ? ["incremental_due() { return 1; }"] : cronShellFunction("incremental_due", incremental)),
    String.raw`CHILD=""
stop() {
  trap '' TERM INT
  if [ -n "$CHILD" ]; then kill "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  exit 0
}
trap stop TERM INT
# A backup runs in the background and is waited for, so a stop signal is handled at once (and stops it).
run() { "$BACKUP" "$1" & CHILD=$!; rc=0; wait "$CHILD" || rc=$?; CHILD=""; if [ "$rc" != 0 ]; then log "$1 backup failed (exit $rc)"; fi; }
pause() { sleep "$1" & CHILD=$!; wait "$CHILD" || true; CHILD=""; }
log "scheduling: full \"${full.expression}\", incremental \"${incremental?.expression ?? "none"}\" (UTC)"
LAST=""
while :; do
  if [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then log "the server (PID $SERVER_PID) is gone: stopping"; exit 0; fi
  # shellcheck disable=SC2046
  set -- $(date -u '+%M %H %d %m %w %Y%m%d%H%M')
  if [ "$6" != "$LAST" ]; then
    LAST=$6
    if full_due "$1" "$2" "$3" "$4" "$5"; then run full
    elif incremental_due "$1" "$2" "$3" "$4" "$5"; then run incremental
    fi
  fi
  seconds=$(date -u +%S | sed 's/^0//')
  pause $((60 - seconds))
done
`,
  ].join("\n");
}
