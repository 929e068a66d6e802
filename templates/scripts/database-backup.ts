import { BACKUP_METRICS, BackupPlan } from "../mysql/backup-plan";
import { validateBackupPlan } from "../mysql/backup-schedule";
import { PATHS } from "../paths";
import { assertNoProblems } from "../validate";
import { SCRIPT_HEADER, shellQuote } from "./shell";

/**
 * `ha-web-backup full|incremental`: one backup now, streamed compressed into the
 * store, with its manifest, then retention; its result as metrics.
 *
 * MariaDB: `mariadb-backup --backup --stream=xbstream` (physical, hot; an
 * incremental is based on the newest backup's checkpoints, kept in the store
 * beside it), through gzip (in every image: the official mariadb image also
 * has zstd and xz, Debian's lab hosts gzip for sure), into the store.
 * MySQL 8.4: its official tooling without MySQL Enterprise Backup is
 * `mysqldump` (logical, `--single-transaction --source-data=2`, the GTID set in
 * the dump) or the clone plugin (which copies into a live server's data
 * directory, not into a stream or a store): full logical backups only, the
 * binlog archive covers the time in between, and EBS snapshots (the AWS
 * target's DLM policy) are the physical copy.
 *
 * Store layout (a directory or s3://bucket/prefix):
 *   backups/<id>/backup.xbstream.gz (or backup.sql.gz), checkpoints, info, manifest
 *   binlogs/server-<server_id>/<binlog file>
 * A backup is complete when its manifest exists: a directory store writes it
 * into backups/.partial-<id> and renames that directory when complete; S3 gets
 * the manifest last. `<id>` is the UTC start time and the kind, so ids sort by time.
 */

/** File names inside a backup's folder in the store. */
export const BACKUP_STORE_FILES = {
  manifest: "manifest",
  /** mariadb-backup's xtrabackup_checkpoints of the backup: the base of the next incremental. */
  checkpoints: "checkpoints",
  /** mariadb-backup's xtrabackup_info (the binlog position and GTID at the backup). */
  info: "info",
} as const;

/** Where the backup commands keep their lock and state. */
export const BACKUP_RUN_DIR = `${PATHS.runDir}/backup`;

/** Exit codes of the backup commands. */
export const BACKUP_EXIT = { ok: 0, failed: 1, busy: 75, usage: 64 } as const;

/** The metrics file a kind of run writes into plan.metricsDir. */
export function backupMetricsFile(kind: "full" | "incremental" | "binlog"): string {
  return `ha_web_backup_${kind}.prom`;
}

/**
 * The shell every backup command starts with: the plan as variables, the store
 * (directory or S3) behind a few functions, the metrics writer.
 */
export function backupCommonShell(plan: BackupPlan): string {
  assertNoProblems("Backup plan", validateBackupPlan(plan));
  const store = plan.store;
  const storeVars =
    store.kind === "directory"
      ? [`STORE_KIND=directory`, `STORE=${shellQuote(store.path)}`]
      : [
          "STORE_KIND=s3",
          `STORE=${shellQuote(`s3://${store.bucket}/${store.prefix}`)}`,
          `AWS_REGION_ARG=${shellQuote(`--region=${store.region}`)}`,
          `SSE_ARGS=${shellQuote(store.kmsKeyId === undefined ? "" : `--sse aws:kms --sse-kms-key-id ${store.kmsKeyId}`)}`,
        ];
  const m = BACKUP_METRICS;
  return [
    // Option lists ($SSE_ARGS, $AWS_REGION_ARG, $base_args) are split into words on purpose;
    // not every command uses every plan variable (SC2034).
    SCRIPT_HEADER.replace("#!/bin/sh\n", "#!/bin/sh\n# shellcheck disable=SC2086,SC2034\n"),
    "# The backup plan (rendered from MysqlCluster's backup props).",
    `ENGINE=${plan.engine}`,
    `CLUSTER=${shellQuote(plan.cluster)}`,
    `CONF=${PATHS.mysqlConfig}`,
    `SOCKET=${PATHS.mysqlSocket}`,
    `METRICS_DIR=${shellQuote(plan.metricsDir)}`,
    `BACKUP_RUN_DIR=${BACKUP_RUN_DIR}`,
    `RETENTION_DAYS=${plan.retentionDays}`,
    ...storeVars,
    "",
    String.raw`# The store: paths relative to its root.
store_cat() {
  if [ "$STORE_KIND" = directory ]; then cat "$STORE/$1"; else aws s3 cp --only-show-errors $AWS_REGION_ARG "$STORE/$1" -; fi
}
store_put() {
  if [ "$STORE_KIND" = directory ]; then cat >"$STORE/$1"; else aws s3 cp --only-show-errors $AWS_REGION_ARG $SSE_ARGS - "$STORE/$1"; fi
}
# Complete backups (those with a manifest), oldest first: ids sort by their UTC start time.
store_list_backups() {
  if [ "$STORE_KIND" = directory ]; then
    for f in "$STORE"/backups/*/manifest; do
      if [ -f "$f" ]; then basename "$(dirname "$f")"; fi
    done
  else
    aws s3 ls --recursive $AWS_REGION_ARG "$STORE/backups/" | awk '$4 ~ /\/manifest$/ { n = split($4, p, "/"); print p[n - 1] }' | sort
  fi
}
store_remove_backup() {
  if [ "$STORE_KIND" = directory ]; then rm -rf "$STORE/backups/$1"; else aws s3 rm --only-show-errors --recursive $AWS_REGION_ARG "$STORE/backups/$1/"; fi
}
# One manifest field of a backup: manifest_field ID KEY
manifest_field() {
  store_cat "backups/$1/manifest" | sed -n "s/^$2=//p" | head -n 1
}

# Metrics (node exporter's textfile collector): written whole to a temporary name, then renamed.
# A run that fails keeps the last success's time and size, and sets last_run_success 0.
write_metrics() {
  kind=$1
  ok=$2
  size=$3
  success_time=$4
  mkdir -p "$METRICS_DIR"
  f="$METRICS_DIR/ha_web_backup_$kind.prom"
  now=$(date -u +%s)
  last_success=$(sed -n 's/^${m.lastSuccess}{[^}]*} //p' "$f" 2>/dev/null | head -n 1)
  last_size=$(sed -n 's/^${m.lastSizeBytes}{[^}]*} //p' "$f" 2>/dev/null | head -n 1)
  if [ "$ok" = 1 ]; then
    last_success=$success_time
    if [ -n "$size" ]; then last_size=$size; fi
  fi
  labels="cluster=\"$CLUSTER\",kind=\"$kind\""
  {
    echo "# HELP ${m.lastRun} Unix time of the last backup run of a kind."
    echo "# TYPE ${m.lastRun} gauge"
    echo "${m.lastRun}{$labels} $now"
    echo "# HELP ${m.lastRunSuccess} 1 when the last backup run of a kind succeeded, 0 when it failed."
    echo "# TYPE ${m.lastRunSuccess} gauge"
    echo "${m.lastRunSuccess}{$labels} $ok"
    if [ -n "$last_success" ]; then
      echo "# HELP ${m.lastSuccess} Unix time of the last successful backup run of a kind (binlog: the archive last had everything the writer had)."
      echo "# TYPE ${m.lastSuccess} gauge"
      echo "${m.lastSuccess}{$labels} $last_success"
    fi
    if [ -n "$last_size" ]; then
      echo "# HELP ${m.lastSizeBytes} Size in bytes of the last successful backup of a kind."
      echo "# TYPE ${m.lastSizeBytes} gauge"
      echo "${m.lastSizeBytes}{$labels} $last_size"
    fi
  } >"$f.tmp.$$"
  mv -f "$f.tmp.$$" "$f"
}

# GTID lists (MariaDB, domain-server-seq): gtid_le A B is true when every domain of A is at or before B's.
gtid_le() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    nb = split(b, bl, ",")
    for (i = 1; i <= nb; i++) { split(bl[i], g, "-"); if (g[1] != "") seq[g[1]] = g[3] + 0 }
    na = split(a, al, ",")
    for (i = 1; i <= na; i++) { split(al[i], g, "-"); if (g[1] == "") continue; if (!(g[1] in seq) || g[3] + 0 > seq[g[1]]) exit 1 }
    exit 0
  }'
}
`,
  ].join("\n");
}

/** `ha-web-backup full|incremental`. */
export function renderBackupScript(plan: BackupPlan): string {
  const common = backupCommonShell(plan);
  const mariadb = plan.engine === "mariadb";
  // MariaDB: physical, through mariadb-backup. --slave-info records the primary's position when
  // the source is a replica; the backup's own GTID (gtid_binlog_pos under the backup lock) is in xtrabackup_info.
  const take = mariadb
    ? String.raw`take_backup() {
  base_args=""
  if [ "$KIND" = incremental ]; then base_args="--incremental-basedir=$WORK/base"; fi
  mkdir -p "$WORK/lsn" "$WORK/target"
  rc=0
  mariadb-backup --defaults-file="$CONF" --backup --stream=xbstream --user=root --socket="$SOCKET" \
    --target-dir="$WORK/target" --extra-lsndir="$WORK/lsn" --slave-info $base_args 2>"$WORK/tool.log" || rc=$?
  echo "$rc" >"$WORK/rc.tool"
}
backup_ok() {
  [ "$(cat "$WORK/rc.tool" 2>/dev/null)" = 0 ] && grep -q 'completed OK!' "$WORK/tool.log"
}
FILE=backup.xbstream.gz`
    : String.raw`take_backup() {
  rc=0
  # The GTID set of the dump (SET @@GLOBAL.GTID_PURGED) is copied aside as it streams by.
  mysqldump --defaults-file="$CONF" --user=root --socket="$SOCKET" --single-transaction --source-data=2 --set-gtid-purged=ON \
    --all-databases --routines --events --triggers 2>"$WORK/tool.log" | awk -v out="$WORK/gtid" '!done && /GTID_PURGED/ { print > out; done = 1 } { print }' || rc=$?
  echo "$rc" >"$WORK/rc.tool"
}
backup_ok() {
  [ "$(cat "$WORK/rc.tool" 2>/dev/null)" = 0 ] && [ ! -s "$WORK/tool.log" ]
}
FILE=backup.sql.gz`;
  const gtid = mariadb
    ? String.raw`  # binlog_pos = filename 'mysql-bin.000002', position '342', GTID of the last change '0-1-2'
  binlog_line=$(sed -n 's/^binlog_pos = //p' "$WORK/lsn/xtrabackup_info")
  GTID=$(printf '%s' "$binlog_line" | sed -n "s/.*GTID of the last change '\([^']*\)'.*/\1/p")
  BINLOG_FILE=$(printf '%s' "$binlog_line" | sed -n "s/.*filename '\([^']*\)'.*/\1/p")
  BINLOG_POS=$(printf '%s' "$binlog_line" | sed -n "s/.*position '\([0-9]*\)'.*/\1/p")`
    : String.raw`  GTID=$(sed -n "s/.*GTID_PURGED='\([^']*\)'.*/\1/p" "$WORK/gtid" 2>/dev/null | tr -d '\n ')
  BINLOG_FILE=""
  BINLOG_POS=""`;
  const usage = mariadb ? "full|incremental" : "full";
  return [
    common,
    take,
    String.raw`
usage() { echo "usage: ha-web-backup ${usage}" >&2; exit ${BACKUP_EXIT.usage}; }
[ $# -eq 1 ] || usage
KIND=$1
case "$KIND" in
  full) ;;
  incremental) if [ "$ENGINE" != mariadb ]; then log "$ENGINE has no incremental backups here (mysqldump): take full backups"; exit ${BACKUP_EXIT.usage}; fi ;;
  *) usage ;;
esac

# Never two backups at once: a lock directory (mkdir is atomic) holding the owner's PID.
LOCK="$BACKUP_RUN_DIR/backup.lock"
mkdir -p "$BACKUP_RUN_DIR"
if ! mkdir "$LOCK" 2>/dev/null; then
  owner=$(cat "$LOCK/pid" 2>/dev/null || true)
  if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then log "another backup (PID $owner) is running: not starting a $KIND backup"; exit ${BACKUP_EXIT.busy}; fi
  log "removing the stale lock of PID $owner"
  rm -rf "$LOCK"
  mkdir "$LOCK"
fi
echo $$ >"$LOCK/pid"

# The first incremental on an empty store (a new cluster, before its first scheduled full backup) takes a full
# backup instead: the cluster is covered from the first scheduled run on, and no run fails for want of a base.
if [ "$KIND" = incremental ] && [ -z "$(store_list_backups | tail -n 1)" ]; then
  log "no backup in the store yet: taking a full backup instead of an incremental"
  KIND=full
fi

START_EPOCH=$(date -u +%s)
ID="$(date -u -d "@$START_EPOCH" +%Y%m%dT%H%M%SZ)-$KIND"
WORK=$(mktemp -d "$BACKUP_RUN_DIR/work.XXXXXX")
PARTIAL=""
DONE=0
finish() {
  rc=$?
  trap '' TERM INT
  if [ "$DONE" != 1 ]; then
    log "BACKUP FAILED: $KIND backup $ID did not complete (exit $rc); see the lines above"
    write_metrics "$KIND" 0 "" "" || log "could not write the metrics into $METRICS_DIR"
    if [ -n "$PARTIAL" ]; then rm -rf "$PARTIAL"; fi
    if [ "$rc" = 0 ]; then rc=1; fi
  fi
  rm -rf "$WORK" "$LOCK"
  exit "$rc"
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
fail() { log "BACKUP FAILED: $*"; exit 1; }

BASE=""
FULL_ID=$ID
if [ "$KIND" = incremental ]; then
  BASE=$(store_list_backups | tail -n 1)
  if [ -z "$BASE" ]; then fail "no backup to base an incremental on: take a full backup first (ha-web-backup full)"; fi
  FULL_ID=$(manifest_field "$BASE" full)
  mkdir -p "$WORK/base"
  store_cat "backups/$BASE/checkpoints" >"$WORK/base/xtrabackup_checkpoints" || fail "cannot read the checkpoints of $BASE"
fi

if [ "$STORE_KIND" = directory ]; then
  mkdir -p "$STORE/backups"
  PARTIAL="$STORE/backups/.partial-$ID"
  mkdir "$PARTIAL"
  DEST="backups/.partial-$ID"
else
  DEST="backups/$ID"
fi
log "starting a $KIND backup ($ID)$(if [ -n "$BASE" ]; then echo " on $BASE"; fi)"

# The stream: the tool, gzip, then tee to the store and to two readers (sha256, size).
mkfifo "$WORK/sum.fifo" "$WORK/size.fifo"
sha256sum <"$WORK/sum.fifo" | cut -d ' ' -f 1 >"$WORK/sha256" &
SUM_PID=$!
wc -c <"$WORK/size.fifo" | tr -d ' ' >"$WORK/size" &
SIZE_PID=$!
take_backup | { rc=0; gzip -c || rc=$?; echo "$rc" >"$WORK/rc.gzip"; } | tee "$WORK/sum.fifo" "$WORK/size.fifo" | { rc=0; store_put "$DEST/$FILE" || rc=$?; echo "$rc" >"$WORK/rc.store"; }
wait "$SUM_PID" "$SIZE_PID" || true
if ! backup_ok; then
  tail -n 20 "$WORK/tool.log" >&2 || true
  fail "the backup tool failed (exit $(cat "$WORK/rc.tool" 2>/dev/null || echo '?'))"
fi
[ "$(cat "$WORK/rc.gzip" 2>/dev/null)" = 0 ] || fail "gzip failed"
[ "$(cat "$WORK/rc.store" 2>/dev/null)" = 0 ] || fail "writing $FILE to the store ($STORE_KIND $STORE) failed"
SHA256=$(cat "$WORK/sha256")
SIZE=$(cat "$WORK/size")
if [ -z "$SHA256" ] || [ -z "$SIZE" ]; then fail "could not measure the stream"; fi
END_EPOCH=$(date -u +%s)
`,
    gtid,
    String.raw`
if [ -f "$WORK/lsn/xtrabackup_checkpoints" ]; then store_put "$DEST/checkpoints" <"$WORK/lsn/xtrabackup_checkpoints" || fail "writing the checkpoints failed"; fi
if [ -f "$WORK/lsn/xtrabackup_info" ]; then store_put "$DEST/info" <"$WORK/lsn/xtrabackup_info" || fail "writing the info failed"; fi
{
  echo "id=$ID"
  echo "kind=$KIND"
  echo "engine=$ENGINE"
  echo "cluster=$CLUSTER"
  echo "source=$(uname -n)"
  echo "start=$(date -u -d "@$START_EPOCH" '+%Y-%m-%d %H:%M:%S')"
  echo "start_epoch=$START_EPOCH"
  echo "end=$(date -u -d "@$END_EPOCH" '+%Y-%m-%d %H:%M:%S')"
  echo "end_epoch=$END_EPOCH"
  echo "gtid=$GTID"
  echo "binlog_file=$BINLOG_FILE"
  echo "binlog_pos=$BINLOG_POS"
  echo "base=$BASE"
  echo "full=$FULL_ID"
  echo "file=$FILE"
  echo "size=$SIZE"
  echo "sha256=$SHA256"
} >"$WORK/manifest"
store_put "$DEST/manifest" <"$WORK/manifest" || fail "writing the manifest failed"
if [ -n "$PARTIAL" ]; then
  # One rename: the backup appears complete or not at all.
  mv "$PARTIAL" "$STORE/backups/$ID"
  PARTIAL=""
fi
DONE=1
write_metrics "$KIND" 1 "$SIZE" "$END_EPOCH"
log "$KIND backup $ID complete: $SIZE bytes, GTID $GTID, sha256 $SHA256"

# Retention: keep every backup from the newest full backup that ended before the cutoff on
# (a restore to any time in the window needs it), and the binlogs from that backup's start on.
CUTOFF=$(( $(date -u +%s) - RETENTION_DAYS * 86400 ))
KEEP_FROM=""
for id in $(store_list_backups); do
  if [ "$(manifest_field "$id" kind)" = full ] && [ "$(manifest_field "$id" end_epoch)" -le "$CUTOFF" ]; then KEEP_FROM=$id; fi
done
if [ -n "$KEEP_FROM" ]; then
  for id in $(store_list_backups); do
    if [ "$id" = "$KEEP_FROM" ]; then break; fi
    log "retention: removing backup $id (older than $RETENTION_DAYS days, needed by no kept backup)"
    store_remove_backup "$id"
  done
fi
OLDEST=$(store_list_backups | head -n 1)
if [ -n "$OLDEST" ]; then
  OLDEST_START=$(manifest_field "$OLDEST" start_epoch)
  if [ "$STORE_KIND" = directory ]; then
    # A binlog last written before the oldest kept backup started holds nothing a restore replays; the newest of each server is kept whatever its age.
    for dir in "$STORE"/binlogs/server-*; do
      [ -d "$dir" ] || continue
      newest=""
      for f in "$dir"/*; do newest=$(basename "$f"); done
      for f in "$dir"/*; do
        [ -f "$f" ] || continue
        if [ "$(basename "$f")" != "$newest" ] && [ "$(stat -c %Y "$f")" -lt "$OLDEST_START" ]; then log "retention: removing binlog $f"; rm -f "$f"; fi
      done
    done
    find "$STORE/backups" -maxdepth 1 -name '.partial-*' -mmin +1440 -exec rm -rf '{}' + 2>/dev/null || true
  fi
  # S3: the bucket's lifecycle rule expires archived binlogs by age (MysqlCluster's backup store).
fi
`,
  ].join("\n");
}
