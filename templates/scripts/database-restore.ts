import { BackupPlan } from "../mysql/backup-plan";
import { renderReplicaInitSql } from "../mysql/replication-sql";
import { PATHS } from "../paths";
import { DATADIR_MARKER } from "./database";
import { backupCommonShell } from "./database-backup";
import { shellQuote } from "./shell";

/**
 * `ha-web-restore --to "<UTC time>" | --gtid <gtid> | --latest | --seed-replica [--datadir DIR]`,
 * on every database node: restores the store's backups, then replays the
 * archived binlogs, into an empty data directory (never over data: the server
 * that used it must be stopped and the directory moved away first).
 *
 * `--seed-replica` builds a new replica instead of recovering a point in time:
 * the newest backup chain only (no binlog replay), gtid_slave_pos set to the
 * backup's GTID and the replica pointed at the writer's name by GTID (the same
 * CHANGE MASTER as a replica's first start: replication certificate, no
 * password); when the node's start script starts the server, replication
 * starts and it catches up from the writer's binlogs after the backup (the
 * writer keeps them for binlogExpireSeconds(plan), twice the full-backup gap).
 *
 * Steps, each refusing with a message that says what to do:
 * 1. DIR (default PATHS.mysqlDataDir) must be empty or absent and no running
 *    mariadbd/mysqld may have it as its working directory (the server chdirs to
 *    its datadir).
 * 2. The backups: the newest full backup that ended strictly before the target
 *    (`--to`: the backup's last second may hold commits of the target's second;
 *    `--gtid`: whose GTID is at or before the target; `--latest`: the newest),
 *    then its incrementals that also do, each based on the previous one.
 * 3. Every backup file of that chain is checked against its manifest's sha256
 *    before anything is written: a corrupt backup is refused, naming it and
 *    its file.
 * 4. `--to`: a target after the newest archived binlog event is refused (the
 *    archive cannot tell what happened after it; `--latest` restores all of it).
 * 5. Extract (gzip, mbstream), `mariadb-backup --prepare` of the full backup then
 *    of each incremental (`--incremental-dir`), `--copy-back` into DIR, owner mysql.
 * 6. A temporary server on DIR (skip-networking, a private socket, no
 *    replication, no TLS), its binlog state set to the backup's GTID, replays
 *    the archived binlogs (every writer's folder, oldest file first, each from the
 *    server's GTID position on: an event it already has is skipped, so the
 *    overlap between an old and a new writer's binlogs is harmless; a file that
 *    starts after that position is a gap and refused) up to the target
 *    (`mariadb-binlog --stop-datetime`, or `--stop-position=<gtid>`, inclusive),
 *    sets gtid_slave_pos to the recovered position (the node can then replicate
 *    by GTID, MASTER_USE_GTID=slave_pos), and stops.
 * 7. The start script's marker is written, so the node's start script takes DIR
 *    as initialized; it prints the recovered GTID position and the time taken.
 * On any failure after step 1, DIR is emptied again (it was empty).
 *
 * Space: the compressed backups are read in place (directory store; an S3 store
 * downloads the chain and all archived binlogs first), extracted next to DIR
 * (the full backup plus its incrementals, uncompressed), then copied into DIR:
 * about twice the data's size free on DIR's file system.
 *
 * MariaDB only: a mysql plan's backups are mysqldump files (no physical
 * restore); renderBackupFiles gives a mysql node no restore command.
 */

/** Exit codes of ha-web-restore. */
export const RESTORE_EXIT = {
  ok: 0,
  /** A tool failed part-way (see its output); DIR was emptied again. */
  failed: 1,
  /** Bad arguments. */
  usage: 64,
  /** A backup file does not match its manifest's sha256: nothing was written. */
  corrupt: 65,
  /** No backup or archived binlog covers the target (before the oldest backup, after the archive's end, a gap). */
  notCovered: 66,
  /** DIR is not empty, or a running server uses it: nothing was written. */
  datadirInUse: 73,
} as const;

/**
 * The `ha-web-restore` command (BACKUP_COMMANDS.restore) for a mariadb plan;
 * throws for a mysql plan (see above). Usage, steps and exit codes (RESTORE_EXIT):
 * the comment at the top of this file.
 */
export function renderRestoreScript(plan: BackupPlan): string {
  if (plan.engine !== "mariadb") {
    throw new Error(`ha-web-restore restores mariadb-backup backups; engine "${plan.engine}" backs up with mysqldump, which it does not restore`);
  }
  const common = backupCommonShell(plan);
  const e = RESTORE_EXIT;
  const seedSql = renderReplicaInitSql({
    engine: "mariadb",
    primaryHost: plan.writerHost,
    primaryPort: plan.writerPort ?? 3306,
    replicationUser: plan.replicationUser ?? "repl",
  }).trimEnd();
  return [
    common,
    `DEFAULT_DATADIR=${PATHS.mysqlDataDir}`,
    `RUNDIR=${PATHS.mysqlRunDir}`,
    `MARKER_NAME=${DATADIR_MARKER}`,
    `BINLOG_ARCHIVE=${plan.binlogArchive ? 1 : 0}`,
    `WRITER_NAME=${shellQuote(`${plan.writerHost}:${plan.writerPort ?? 3306}`)}`,
    String.raw`# mariadb-binlog reads and prints times in the local time zone: UTC, like the targets.
TZ=UTC
export TZ

usage() {
  if [ $# -gt 0 ]; then log "$*"; fi
  echo 'usage: ha-web-restore --to "YYYY-MM-DD HH:MM:SS" (UTC) | --gtid DOMAIN-SERVER-SEQ[,...] | --latest | --seed-replica [--datadir DIR]' >&2
  exit ${e.usage}
}
MODE=""
TARGET=""
DATADIR=$DEFAULT_DATADIR
while [ $# -gt 0 ]; do
  case "$1" in
    --to) [ $# -ge 2 ] || usage "--to needs a time"; MODE="time"; TARGET=$2; shift 2 ;;
    --gtid) [ $# -ge 2 ] || usage "--gtid needs a GTID position"; MODE="gtid"; TARGET=$2; shift 2 ;;
    --latest) MODE=latest; shift ;;
    --seed-replica) MODE=seed; shift ;;
    --datadir) [ $# -ge 2 ] || usage "--datadir needs a directory"; DATADIR=$2; shift 2 ;;
    *) usage "unknown argument: $1" ;;
  esac
done
[ -n "$MODE" ] || usage "say what to restore to: --to, --gtid, --latest or --seed-replica"
case "$DATADIR" in /*) ;; *) usage "--datadir must be an absolute path" ;; esac
DATADIR=$(echo "$DATADIR" | sed 's#/*$##')
[ -n "$DATADIR" ] || usage "--datadir cannot be /"
if [ "$MODE" = time ]; then
  if ! echo "$TARGET" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' || ! TARGET_EPOCH=$(date -u -d "$TARGET" +%s 2>/dev/null); then
    usage "--to \"$TARGET\" is not a UTC time like \"2024-05-01 13:45:00\""
  fi
fi
if [ "$MODE" = gtid ] && ! echo "$TARGET" | grep -qE '^[0-9]+-[0-9]+-[0-9]+(,[0-9]+-[0-9]+-[0-9]+)*$'; then
  usage "--gtid \"$TARGET\" is not a GTID position like 0-1-1234 (domain-server-sequence, comma-separated per domain)"
fi
if [ "$MODE" != latest ] && [ "$MODE" != seed ] && [ "$BINLOG_ARCHIVE" != 1 ]; then
  usage "this cluster does not archive binlogs (binlogArchive is off): only --latest (the newest backup) can be restored"
fi
[ -f "$CONF" ] || { log "$CONF is missing: run the restore on a database node (its option file sets the server's layout)"; exit ${e.failed}; }
START_EPOCH=$(date -u +%s)

# 1. The data directory: empty or absent, and no running server's.
if [ -d "$DATADIR" ]; then
  # A server's working directory is its datadir; compared by device and inode, which a bind mount
  # or another container's view of the same directory shares.
  me=$(stat -L -c %d:%i "$DATADIR")
  for p in /proc/[0-9]*; do
    case "$(cat "$p/comm" 2>/dev/null)" in
      mariadbd|mysqld)
        if [ "$(stat -L -c %d:%i "$p/cwd" 2>/dev/null)" = "$me" ]; then
          log "REFUSED: a running server (PID $(basename "$p")) uses $DATADIR: stop it, move its data away, and restore into the empty directory"
          exit ${e.datadirInUse}
        fi ;;
    esac
  done
  if [ -n "$(ls -A "$DATADIR")" ]; then
    log "REFUSED: $DATADIR is not empty: a restore never writes over data; move it away (or give --datadir an empty directory)"
    exit ${e.datadirInUse}
  fi
elif [ -e "$DATADIR" ]; then
  log "REFUSED: $DATADIR exists and is not a directory"
  exit ${e.datadirInUse}
fi
PARENT=$(dirname "$DATADIR")
mkdir -p "$PARENT"
WORK=$(mktemp -d "$PARENT/.ha-web-restore.XXXXXX")
CREATED_DATADIR=0
WROTE=0
SERVER=""
SOCKDIR=""
DONE=0
finish() {
  rc=$?
  trap '' TERM INT
  if [ -n "$SERVER" ]; then kill -KILL "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ "$DONE" != 1 ]; then
    if [ "$rc" = 0 ]; then rc=${e.failed}; fi
    if [ "$WROTE" = 1 ]; then
      log "emptying $DATADIR again (it was empty): nothing half-restored is left"
      find "$DATADIR" -mindepth 1 -delete 2>/dev/null || true
      if [ "$CREATED_DATADIR" = 1 ]; then rmdir "$DATADIR" 2>/dev/null || true; fi
    fi
    log "RESTORE FAILED (exit $rc)"
  fi
  rm -rf "$WORK"
  if [ -n "$SOCKDIR" ]; then rm -rf "$SOCKDIR"; fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
fail() { code=$1; shift; log "$*"; exit "$code"; }

# GTID positions: gtid_max_le A B is true when, in every domain of A, A's highest sequence number is at most B's.
gtid_max_le() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    nb = split(b, bl, ",")
    for (i = 1; i <= nb; i++) { split(bl[i], g, "-"); if (g[1] != "" && (!(g[1] in sb) || g[3] + 0 > sb[g[1]])) sb[g[1]] = g[3] + 0 }
    na = split(a, al, ",")
    for (i = 1; i <= na; i++) { split(al[i], g, "-"); if (g[1] == "") continue; if (!(g[1] in sb) || g[3] + 0 > sb[g[1]]) exit 1 }
    exit 0
  }'
}

# 2. The backups: the manifests, copied once.
mkdir -p "$WORK/m"
BACKUPS=$(store_list_backups)
[ -n "$BACKUPS" ] || fail ${e.notCovered} "the store ($STORE_KIND $STORE) holds no complete backup"
for id in $BACKUPS; do store_cat "backups/$id/manifest" >"$WORK/m/$id" || fail ${e.failed} "cannot read the manifest of $id"; done
mf() { sed -n "s/^$2=//p" "$WORK/m/$1" | head -n 1; }
covers() {
  case "$MODE" in
    time) [ "$(mf "$1" end_epoch)" -lt "$TARGET_EPOCH" ] ;;
    gtid) gtid_max_le "$(mf "$1" gtid)" "$TARGET" ;;
    latest | seed) true ;;
  esac
}
FULL=""
for id in $BACKUPS; do
  if [ "$(mf "$id" kind)" = full ] && covers "$id"; then FULL=$id; fi
done
if [ -z "$FULL" ]; then
  oldest=""
  for id in $BACKUPS; do if [ "$(mf "$id" kind)" = full ]; then oldest=$id; break; fi; done
  fail ${e.notCovered} "NOT COVERED: the target ($MODE $TARGET) is before the oldest full backup ($oldest, ended $(mf "$oldest" end) UTC, GTID $(mf "$oldest" gtid)): nothing older is kept"
fi
CHAIN=$FULL
LAST=$FULL
after=0
for id in $BACKUPS; do
  if [ "$id" = "$FULL" ]; then after=1; continue; fi
  [ "$after" = 1 ] || continue
  if [ "$(mf "$id" kind)" = incremental ] && [ "$(mf "$id" full)" = "$FULL" ] && [ "$(mf "$id" base)" = "$LAST" ] && covers "$id"; then
    CHAIN="$CHAIN $id"
    LAST=$id
  fi
done
BASE_GTID=$(mf "$LAST" gtid)
BASE_START=$(mf "$LAST" start_epoch)
log "restoring $MODE $TARGET from: $CHAIN (GTID $BASE_GTID)"

# 3. Every file of the chain against its manifest, before anything is written.
for id in $CHAIN; do
  file=$(mf "$id" file)
  if [ "$STORE_KIND" = directory ]; then
    src="$STORE/backups/$id/$file"
  else
    mkdir -p "$WORK/dl/$id"
    src="$WORK/dl/$id/$file"
    store_cat "backups/$id/$file" >"$src" || fail ${e.failed} "cannot download $file of backup $id"
  fi
  [ -f "$src" ] || fail ${e.corrupt} "CORRUPT BACKUP: backup $id has no $file; restore refused"
  sum=$(sha256sum "$src" | cut -d ' ' -f 1)
  if [ "$sum" != "$(mf "$id" sha256)" ]; then
    fail ${e.corrupt} "CORRUPT BACKUP: backup $id, file $file: sha256 $sum, its manifest says $(mf "$id" sha256); restore refused (restore to a time before it, or to another store's copy)"
  fi
  echo "$src" >"$WORK/src.$id"
done
log "checked the sha256 of every backup file"

# 4. The archived binlogs: every file with the time of its first event (bytes 4-7: the header's timestamp).
BINLOGS=""
# (A seeded replica takes what follows the backup from the writer itself.)
if [ "$BINLOG_ARCHIVE" = 1 ] && [ "$MODE" != seed ]; then
  if [ "$STORE_KIND" = directory ]; then
    BINLOGS="$STORE/binlogs"
  else
    BINLOGS="$WORK/binlogs"
    aws s3 sync --only-show-errors $AWS_REGION_ARG "$STORE/binlogs/" "$BINLOGS/" || fail ${e.failed} "cannot download the archived binlogs"
  fi
fi
# "first-event-time folder file", one line per archived file.
binlog_index() {
  for d in "$BINLOGS"/server-*; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      [ -f "$f" ] || continue
      ts=$(od -An -tu4 -j4 -N4 "$f" | tr -d ' ')
      if [ -n "$ts" ]; then echo "$ts $(basename "$d") $(basename "$f")"; fi
    done
  done
}
# The time of a binlog file's last event (as mariadb-binlog prints it: #YYMMDD H:MM:SS).
last_event_epoch() {
  stamp=$(mariadb-binlog --no-defaults "$1" 2>/dev/null | awk '/^#[0-9][0-9][0-9][0-9][0-9][0-9] +[0-9]+:[0-9][0-9]:[0-9][0-9] server id/ { s = "20" substr($1, 2, 2) "-" substr($1, 4, 2) "-" substr($1, 6, 2) " " $2 } END { print s }')
  if [ -n "$stamp" ]; then date -u -d "$stamp" +%s; fi
}
if [ -n "$BINLOGS" ]; then binlog_index >"$WORK/binlogs.all"; else : >"$WORK/binlogs.all"; fi
if [ "$MODE" = time ]; then
  NEWEST=""
  cut -d ' ' -f 2 "$WORK/binlogs.all" | sort -u >"$WORK/folders"
  while read -r folder; do
    f=$(awk -v d="$folder" '$2 == d { print $3 }' "$WORK/binlogs.all" | sort | tail -n 1)
    t=$(last_event_epoch "$BINLOGS/$folder/$f")
    if [ -n "$t" ] && { [ -z "$NEWEST" ] || [ "$t" -gt "$NEWEST" ]; }; then NEWEST=$t; fi
  done <"$WORK/folders"
  if [ -z "$NEWEST" ] || [ "$TARGET_EPOCH" -gt "$NEWEST" ]; then
    fail ${e.notCovered} "NOT COVERED: $TARGET UTC is after the newest archived binlog event ($(if [ -n "$NEWEST" ]; then date -u -d "@$NEWEST" '+%Y-%m-%d %H:%M:%S'; else echo none; fi) UTC): the archive cannot tell what happened later; restore to a time up to then, or --latest"
  fi
fi
# The files to replay, oldest first: a file whose successor (same writer) began before the backup
# started holds nothing newer than the backup and is left out.
awk -v start="$BASE_START" '
  { ts[NR] = $1; dir[NR] = $2; name[NR] = $3 }
  END { for (i = 1; i <= NR; i++) { skip = 0; for (j = 1; j <= NR; j++) if (dir[j] == dir[i] && name[j] > name[i] && ts[j] < start) skip = 1; if (!skip) print ts[i], dir[i], name[i] } }
' "$WORK/binlogs.all" | sort -k1,1n -k2,2 -k3,3 >"$WORK/binlogs.replay"

# 5. Extract, prepare (the full backup, then each incremental on it), copy back.
i=0
for id in $CHAIN; do
  mkdir -p "$WORK/b$i"
  gzip -dc "$(cat "$WORK/src.$id")" | mbstream -x -C "$WORK/b$i" || fail ${e.failed} "cannot extract backup $id"
  i=$((i + 1))
done
mariadb-backup --prepare --target-dir="$WORK/b0" >"$WORK/prepare.log" 2>&1 || { tail -n 20 "$WORK/prepare.log" >&2; fail ${e.failed} "mariadb-backup --prepare of $FULL failed"; }
i=0
for id in $CHAIN; do
  if [ "$i" -gt 0 ]; then
    mariadb-backup --prepare --target-dir="$WORK/b0" --incremental-dir="$WORK/b$i" >"$WORK/prepare.log" 2>&1 || { tail -n 20 "$WORK/prepare.log" >&2; fail ${e.failed} "mariadb-backup --prepare of incremental $id failed"; }
  fi
  i=$((i + 1))
done
if [ ! -d "$DATADIR" ]; then mkdir "$DATADIR"; CREATED_DATADIR=1; fi
WROTE=1
mariadb-backup --defaults-file="$CONF" --copy-back --target-dir="$WORK/b0" --datadir="$DATADIR" >"$WORK/copy.log" 2>&1 || { tail -n 20 "$WORK/copy.log" >&2; fail ${e.failed} "mariadb-backup --copy-back failed"; }
rm -rf "$WORK"/b[0-9]*
chown -R mysql:mysql "$DATADIR"
chmod 750 "$DATADIR"
log "backups restored into $DATADIR"

# 6. Replay through a private server: no network, its own socket, no replication, no TLS. No fsync per
# transaction: a crash here fails the restore (DIR is emptied, or has no marker), and the clean shutdown
# below writes everything out before the marker says the directory is complete.
mkdir -p "$RUNDIR"
SOCKDIR=$(mktemp -d "$RUNDIR/restore.XXXXXX")
chown mysql:mysql "$SOCKDIR"
SOCK="$SOCKDIR/mysqld.sock"
mariadbd --defaults-file="$CONF" --datadir="$DATADIR" --user=mysql --skip-networking --socket="$SOCK" --pid-file="$SOCKDIR/mysqld.pid" \
  --skip-slave-start --skip-ssl --read-only=OFF --loose-rpl-semi-sync-master-enabled=OFF --loose-rpl-semi-sync-slave-enabled=OFF \
  --event-scheduler=OFF --max-allowed-packet=1G --sync-binlog=0 --innodb-flush-log-at-trx-commit=2 --log-error="$SOCKDIR/server.log" &
SERVER=$!
sql() { mariadb --no-defaults --socket="$SOCK" --user=root -N -B -e "$1"; }
i=0
until sql "SELECT 1" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 240 ] || ! kill -0 "$SERVER" 2>/dev/null; then tail -n 20 "$SOCKDIR/server.log" >&2 || true; fail ${e.failed} "the temporary server on $DATADIR did not come up"; fi
  sleep 0.5
done
if [ -n "$BASE_GTID" ]; then sql "RESET MASTER; SET GLOBAL gtid_binlog_state = '$BASE_GTID';" || fail ${e.failed} "cannot set the binlog state to the backup's GTID $BASE_GTID"; fi
case "$MODE" in
  time) STOP="--stop-datetime=$TARGET" ;;
  gtid) STOP="--stop-position=$TARGET" ;;
  latest | seed) STOP="" ;;
esac
REPLAYED=0
while read -r ts folder name; do
  f="$BINLOGS/$folder/$name"
  pos=$(sql "SELECT @@gtid_binlog_pos")
  # The GTID state the file starts from (its Gtid_list event, the second event): sed stops reading there.
  initial=$(mariadb-binlog --no-defaults "$f" 2>/dev/null | sed -n '/Gtid list \[/{s/.*Gtid list \[\([^]]*\)\].*/\1/p;q;}')
  if [ -n "$initial" ] && ! gtid_max_le "$initial" "$pos"; then
    fail ${e.notCovered} "NOT COVERED: the binlog archive has a gap: $folder/$name starts at GTID state $initial, but the restore reached only $pos (the binlogs in between were never archived); restore to a time before it"
  fi
  # The options as words of their own (a time holds a space).
  set -- --no-defaults --skip-gtid-strict-mode
  if [ -n "$pos" ]; then set -- "$@" "--start-position=$pos"; fi
  if [ -n "$STOP" ]; then set -- "$@" "$STOP"; fi
  { rc=0; mariadb-binlog "$@" "$f" 2>"$WORK/binlog.err" || rc=$?; echo "$rc" >"$WORK/rc.binlog"; } |
    mariadb --no-defaults --binary-mode --max-allowed-packet=1G --socket="$SOCK" --user=root || fail ${e.failed} "replaying $folder/$name failed"
  if [ "$(cat "$WORK/rc.binlog")" != 0 ]; then
    newest=$(awk -v d="$folder" '$2 == d { print $3 }' "$WORK/binlogs.all" | sort | tail -n 1)
    if [ "$name" != "$newest" ]; then cat "$WORK/binlog.err" >&2; fail ${e.failed} "mariadb-binlog could not read $folder/$name"; fi
    # The newest file of a writer may end in the event the archiver was receiving.
    log "warning: $folder/$name ends in an incomplete event (the archive's open file): replayed up to it ($(tail -n 1 "$WORK/binlog.err"))"
  fi
  REPLAYED=$((REPLAYED + 1))
done <"$WORK/binlogs.replay"
POS=$(sql "SELECT @@gtid_binlog_pos")
if [ "$MODE" = gtid ] && ! gtid_max_le "$TARGET" "$POS"; then
  fail ${e.notCovered} "NOT COVERED: the archive ends at GTID $POS, before $TARGET"
fi
if [ -n "$POS" ]; then sql "SET GLOBAL gtid_slave_pos = '$POS';"; fi
if [ "$MODE" = seed ]; then
  # Pointed at the writer by GTID from the backup's position; replication starts with the node's server.
  mariadb --no-defaults --socket="$SOCK" --user=root <<'SQL' || fail ${e.failed} "cannot point the seeded replica at the writer"
${seedSql}
SQL
fi
mariadb-admin --no-defaults --socket="$SOCK" --user=root shutdown || fail ${e.failed} "cannot stop the temporary server"
wait "$SERVER" || true
SERVER=""

# 7. The start script's marker: the node takes this directory as initialized.
touch "$DATADIR/$MARKER_NAME"
chown mysql:mysql "$DATADIR/$MARKER_NAME"
DONE=1
END_EPOCH=$(date -u +%s)
if [ "$MODE" = seed ]; then
  echo "seeded a replica into $DATADIR from backups $CHAIN: GTID position $POS; it replicates from $WRITER_NAME by GTID once its server starts; took $((END_EPOCH - START_EPOCH)) s"
else
  echo "restored $MODE $TARGET into $DATADIR: backups $CHAIN, $REPLAYED binlog file(s) replayed; GTID position $POS; took $((END_EPOCH - START_EPOCH)) s"
fi
`,
  ].join("\n");
}
