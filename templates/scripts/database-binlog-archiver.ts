import { BackupPlan } from "../mysql/backup-plan";
import { replicationClientTlsFlags } from "../mysql/replication-tls";
import { backupCommonShell, BACKUP_RUN_DIR } from "./database-backup";
import { shellQuote } from "./shell";

/**
 * `ha-web-binlog-archiver [SERVER_PID]`: long-running, on the plan's backup
 * source node. It streams the writer's binlogs, byte for byte, into the store
 * (`binlogs/server-<writer's server_id>/<binlog file>`, the layout
 * templates/scripts/database-backup.ts documents), so a restore can replay them
 * to any point in time after a backup.
 *
 * How: the engine's binlog client reads from the writer like a replica
 * (`mariadb-binlog --read-from-remote-server --raw --stop-never`), logging in as
 * the replication user with the cluster's replication client certificate and
 * pinning the server's (the same TLS files and flags as a replica's
 * connection: no password anywhere). It resumes from the last archived file of
 * that writer, fetched again whole (the client truncates it and rewrites it
 * from the start, so a file cut off by a stop is completed), or from the
 * writer's oldest binlog when nothing of that writer is archived yet.
 *
 * Every ARCHIVER_PROBE_SECONDS it asks the writer (by its movable name) for its
 * server_id and its current binlog file and position:
 * - another server_id: the name moved (a promotion); the stream is stopped and
 *   restarted against the new writer, into that server's folder, from its oldest
 *   binlog (which, with log_slave_updates, also holds what it replicated before:
 *   the restore skips GTIDs it already applied, so the overlap is harmless);
 * - the archived copy of that file has reached that position a second later: the
 *   archive is current, and the `binlog` kind's lastSuccess metric is set to the
 *   probe's time (the archive then held everything the writer had);
 * - otherwise (writer unreachable, stream behind or dead) last_run_success is 0
 *   and lastSuccess stays, so the staleness alert fires; a stream that is
 *   behind and has not grown for `stuckProbes` probes in a row is restarted (a
 *   connection to a host that vanished can hang without an error; a catch-up
 *   that grows is left alone).
 * A stream that ends is restarted after a backoff doubling from 1 s to
 * ARCHIVER_BACKOFF_MAX_SECONDS (reset once the archive is current again).
 * Given the server's PID (the start script passes its own, which `exec` hands to
 * the server), it stops with the server, like the scheduler.
 *
 * Recovery point (what a restore can lose): the stream is asynchronous, so a
 * transaction the writer committed but did not yet send (normally well under a
 * second; semi-sync waits for a replica, never for this client) is at risk if
 * the writer's disks are lost at that moment. While the archiver is down (its
 * node or server stopped, the writer unreachable, a restart's backoff) the
 * archive falls behind and everything after its last event exists only on the
 * writer and the replicas until it catches up (lastSuccess shows how far behind);
 * the writer keeps its binlogs for binlogExpireSeconds(plan), so a catch-up has
 * no gap unless the archiver stays down that long (it then logs a GAP: a restore
 * cannot cross it; take a full backup). S3 store (rendered, not run on this
 * machine: no S3 here): the stream is written to a local spool on this node;
 * closed files are uploaded and then removed from the spool, and the open file is
 * uploaded again every ARCHIVER_S3_OPEN_FILE_SECONDS when it grew, so the
 * off-site copy lags by up to that long plus the upload time: losing this node's
 * disk loses at most that much of the archive (the writer still has it).
 */

/** The archiver's timing (the script reads the environment variable first, for tests and operators). */
export const BINLOG_ARCHIVER_DEFAULTS = {
  /** Seconds between two probes of the writer (`ARCHIVER_PROBE_SECONDS`). */
  probeSeconds: 10,
  /** Longest wait before restarting a stream that ended (`ARCHIVER_BACKOFF_MAX_SECONDS`). */
  backoffMaxSeconds: 60,
  /** Probes in a row that find the stream behind or the writer silent before the stream is restarted. */
  stuckProbes: 3,
  /** S3 store: how often the open binlog file is uploaded again when it grew (`ARCHIVER_S3_OPEN_FILE_SECONDS`). */
  s3OpenFileSeconds: 300,
  /**
   * The server_id the archiver presents to the writer (its binlog dump
   * connection): the writer drops an older connection with the same id, so it
   * must differ from every node's (1, 2, ...) and there must be one archiver.
   */
  clientServerId: 4294967000,
} as const;

/** Where the S3 store's archiver keeps the files it streams before uploading them. */
export const BINLOG_SPOOL_DIR = `${BACKUP_RUN_DIR}/binlog-spool`;

/**
 * The `ha-web-binlog-archiver [SERVER_PID]` command (BACKUP_COMMANDS.binlogArchiver)
 * for the plan's source node; what it does and its recovery point: the comment
 * at the top of this file.
 */
export function renderBinlogArchiverScript(plan: BackupPlan): string {
  const common = backupCommonShell(plan);
  const d = BINLOG_ARCHIVER_DEFAULTS;
  const mariadb = plan.engine === "mariadb";
  return [
    common,
    "# The writer, reached by its movable name as the replication user (certificate, no password).",
    `WRITER=${shellQuote(plan.writerHost)}`,
    `WRITER_PORT=${plan.writerPort ?? 3306}`,
    `REPL_USER=${shellQuote(plan.replicationUser ?? "repl")}`,
    `TLS_FLAGS=${shellQuote(replicationClientTlsFlags(plan.engine))}`,
    `CLIENT=${mariadb ? "mariadb" : "mysql"}`,
    `BINLOG_TOOL=${mariadb ? "mariadb-binlog" : "mysqlbinlog"}`,
    `CLIENT_ID_FLAG=${mariadb ? `--stop-never-slave-server-id=${d.clientServerId}` : `--connection-server-id=${d.clientServerId}`}`,
    `PROBE_SECONDS=\${ARCHIVER_PROBE_SECONDS:-${d.probeSeconds}}`,
    `BACKOFF_MAX=\${ARCHIVER_BACKOFF_MAX_SECONDS:-${d.backoffMaxSeconds}}`,
    `STUCK_PROBES=${d.stuckProbes}`,
    `S3_OPEN_FILE_SECONDS=\${ARCHIVER_S3_OPEN_FILE_SECONDS:-${d.s3OpenFileSeconds}}`,
    `SPOOL=${BINLOG_SPOOL_DIR}`,
    String.raw`SERVER_PID=""
if [ $# -ge 1 ]; then SERVER_PID=$1; fi

writer_query() {
  $CLIENT --no-defaults $TLS_FLAGS --host="$WRITER" --port="$WRITER_PORT" --user="$REPL_USER" --connect-timeout=5 -N -B -e "$1"
}
# Where a writer's binlogs are written as they stream in: the store itself (directory) or the spool (S3).
archive_dir() {
  if [ "$STORE_KIND" = directory ]; then echo "$STORE/binlogs/server-$1"; else echo "$SPOOL/server-$1"; fi
}
# The newest archived binlog of a writer (names sort by their number).
last_archived() {
  newest=""
  for f in "$(archive_dir "$1")"/*; do
    if [ -f "$f" ]; then newest=$(basename "$f"); fi
  done
  if [ -z "$newest" ] && [ "$STORE_KIND" = s3 ]; then
    newest=$(aws s3 ls $AWS_REGION_ARG "$STORE/binlogs/server-$1/" 2>/dev/null | awk '{ print $4 }' | sort | tail -n 1)
  fi
  echo "$newest"
}
# The binlog file after NAME (mysql-bin.000041 -> mysql-bin.000042).
next_binlog() {
  echo "$1" | awk -F. '{ n = $NF + 1; w = length($NF); s = $1; for (i = 2; i < NF; i++) s = s "." $i; printf "%s.%0*d\n", s, w, n }'
}

STREAM_PID=""
STREAM_ID=""
CHILD=""
stop() {
  trap '' TERM INT
  if [ -n "$CHILD" ]; then kill "$CHILD" 2>/dev/null || true; fi
  stop_stream
  exit 0
}
trap stop TERM INT
pause() { sleep "$1" & CHILD=$!; wait "$CHILD" || true; CHILD=""; }
stop_stream() {
  if [ -n "$STREAM_PID" ]; then
    kill "$STREAM_PID" 2>/dev/null || true
    wait "$STREAM_PID" 2>/dev/null || true
  fi
  STREAM_PID=""
}

# Starts the stream from the current writer; fails (returns 1) when the writer cannot be asked.
start_stream() {
  if ! info=$(writer_query "SELECT @@server_id; SHOW BINARY LOGS" 2>&1); then
    log "cannot reach the writer $WRITER:$WRITER_PORT as $REPL_USER: $(echo "$info" | tail -n 1)"
    return 1
  fi
  id=$(echo "$info" | head -n 1)
  logs=$(echo "$info" | sed 1d | cut -f 1)
  oldest=$(echo "$logs" | head -n 1)
  if [ -z "$id" ] || [ -z "$oldest" ]; then log "the writer $WRITER has no binlogs (log_bin off?)"; return 1; fi
  dir=$(archive_dir "$id")
  mkdir -p "$dir"
  last=$(last_archived "$id")
  if [ -z "$last" ]; then
    start=$oldest
    log "nothing of server $id archived yet: starting from its oldest binlog, $start"
  elif echo "$logs" | grep -qxF "$last"; then
    start=$last
    log "resuming server $id's archive at $start (fetched again whole)"
  else
    start=$oldest
    if [ "$(next_binlog "$last")" != "$oldest" ]; then
      log "GAP in the binlog archive of server $id: the last archived file is $last, but the writer's oldest binlog is now $oldest; the binlogs in between expired before they were archived, so no restore can cross this gap (take a full backup now)"
    fi
  fi
  if [ "$STORE_KIND" = s3 ] && [ ! -f "$dir/$start" ]; then : >"$dir/$start"; fi
  $BINLOG_TOOL --no-defaults --read-from-remote-server --raw --stop-never $CLIENT_ID_FLAG $TLS_FLAGS \
    --host="$WRITER" --port="$WRITER_PORT" --user="$REPL_USER" --result-file="$dir/" "$start" &
  STREAM_PID=$!
  STREAM_ID=$id
  return 0
}

# S3: upload the closed files (every file but the newest) and drop them from the spool; the open
# one again every S3_OPEN_FILE_SECONDS when it grew. Returns 1 when an upload failed.
UPLOADED_AT=0
UPLOADED_SIZE=""
upload_spool() {
  dir=$(archive_dir "$STREAM_ID")
  newest=$(last_archived "$STREAM_ID")
  rc=0
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    if [ "$name" = "$newest" ]; then continue; fi
    if aws s3 cp --only-show-errors $AWS_REGION_ARG $SSE_ARGS "$f" "$STORE/binlogs/server-$STREAM_ID/$name"; then rm -f "$f"; else log "uploading $name failed (kept in $dir; retried)"; rc=1; fi
  done
  now=$(date -u +%s)
  if [ -n "$newest" ] && [ -f "$dir/$newest" ] && [ $((now - UPLOADED_AT)) -ge "$S3_OPEN_FILE_SECONDS" ]; then
    size=$(stat -c %s "$dir/$newest")
    if [ "$newest:$size" != "$UPLOADED_SIZE" ]; then
      if aws s3 cp --only-show-errors $AWS_REGION_ARG $SSE_ARGS "$dir/$newest" "$STORE/binlogs/server-$STREAM_ID/$newest"; then UPLOADED_SIZE="$newest:$size"; else rc=1; fi
    fi
    UPLOADED_AT=$now
  fi
  return "$rc"
}

archive_size() {
  if [ "$STORE_KIND" = directory ]; then du -sb "$(archive_dir "$STREAM_ID")" | cut -f 1; fi
}

log "archiving the binlogs of $WRITER:$WRITER_PORT into $STORE_KIND $STORE (probe every $PROBE_SECONDS s)"
BACKOFF=1
NOT_CURRENT=0
LAST_PROGRESS=""
while :; do
  if [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then log "the server (PID $SERVER_PID) is gone: stopping"; stop; fi
  if [ -z "$STREAM_PID" ] || ! kill -0 "$STREAM_PID" 2>/dev/null; then
    if [ -n "$STREAM_PID" ]; then
      rc=0
      wait "$STREAM_PID" || rc=$?
      STREAM_PID=""
      log "the binlog stream of server $STREAM_ID ended (exit $rc): restarting in $BACKOFF s"
      write_metrics binlog 0 "" "" || log "could not write the metrics into $METRICS_DIR"
      pause "$BACKOFF"
      BACKOFF=$((BACKOFF * 2))
      if [ "$BACKOFF" -gt "$BACKOFF_MAX" ]; then BACKOFF=$BACKOFF_MAX; fi
      continue
    fi
    if ! start_stream; then
      write_metrics binlog 0 "" "" || log "could not write the metrics into $METRICS_DIR"
      pause "$BACKOFF"
      BACKOFF=$((BACKOFF * 2))
      if [ "$BACKOFF" -gt "$BACKOFF_MAX" ]; then BACKOFF=$BACKOFF_MAX; fi
      continue
    fi
    NOT_CURRENT=0
  fi

  # The probe: the writer's server_id and its position now; current when the copy has it a second later.
  current=0
  probe_time=$(date -u +%s)
  if status=$(writer_query "SELECT @@server_id; SHOW MASTER STATUS" 2>&1); then
    id=$(echo "$status" | head -n 1)
    file=$(echo "$status" | sed -n 2p | cut -f 1)
    pos=$(echo "$status" | sed -n 2p | cut -f 2)
    if [ "$id" != "$STREAM_ID" ]; then
      log "$WRITER is now server $id (was $STREAM_ID): following the new writer"
      stop_stream
      continue
    fi
    pause 1
    copy="$(archive_dir "$STREAM_ID")/$file"
    if [ -f "$copy" ] && [ "$(stat -c %s "$copy")" -ge "$pos" ] && kill -0 "$STREAM_PID" 2>/dev/null; then current=1; fi
  else
    log "probe of $WRITER failed: $(echo "$status" | tail -n 1)"
  fi
  if [ "$STORE_KIND" = s3 ] && ! upload_spool; then current=0; fi
  if [ "$current" = 1 ]; then
    NOT_CURRENT=0
    BACKOFF=1
    write_metrics binlog 1 "$(archive_size)" "$probe_time" || log "could not write the metrics into $METRICS_DIR"
  else
    write_metrics binlog 0 "" "" || log "could not write the metrics into $METRICS_DIR"
    # Behind but growing is a catch-up; behind and still is a stream that hangs.
    newest=$(last_archived "$STREAM_ID")
    progress="$newest $(stat -c %s "$(archive_dir "$STREAM_ID")/$newest" 2>/dev/null || echo 0)"
    if [ "$progress" = "$LAST_PROGRESS" ]; then NOT_CURRENT=$((NOT_CURRENT + 1)); else NOT_CURRENT=0; fi
    LAST_PROGRESS=$progress
    if [ "$NOT_CURRENT" -ge "$STUCK_PROBES" ]; then
      log "the archive of server $STREAM_ID is behind and has not grown for $NOT_CURRENT probes: restarting the stream"
      stop_stream
      NOT_CURRENT=0
      continue
    fi
  fi
  pause "$PROBE_SECONDS"
done
`,
  ].join("\n");
}
