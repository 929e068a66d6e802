/**
 * Backups and point-in-time recovery in the lab, with the stack's own commands:
 * `ha-web-backup full|incremental` on the cluster's backup source, and
 * `ha-web-restore` into a fresh data directory on that container's store volume
 * (never a running server's datadir), then a throwaway server on it (no
 * network, a private socket, inside the container's namespaces) that reports
 * the restored GTID position and the row count of every table of the app's
 * database, and is stopped again (or kept, for a look around).
 *
 * Which node is the backup source comes from the stack's facts: the container
 * its textfile exporter serves the backup metrics of (`ha-web.textfile-of` on
 * that sidecar). The store is the named volume the Docker target mounts on it at
 * BACKUP_STORE_PATH (checked against the container's volumes).
 */
import { readFileSync } from "fs";
import { BACKUP_COMMANDS } from "../templates/mysql/backup-plan";
import { PATHS } from "../templates/paths";
import { BACKUP_EXIT } from "../templates/scripts/database-backup";
import { BINLOG_ARCHIVER_DEFAULTS } from "../templates/scripts/database-binlog-archiver";
import { FACT_LABEL_PREFIX } from "./stack";
import { stackOf } from "./probes";
import { Lab } from "./runner";
import { ProcRef, signalRef, sleep } from "./sys";

/**
 * Where the Docker target mounts the backup store on the source node: the same
 * string as DOCKER_BACKUP_STORE_PATH in lib/targets/docker/docker-target.ts (the
 * backup lab test keeps them equal); not imported, so the CLI does not load the
 * construct library.
 */
export const BACKUP_STORE_PATH = "/var/lib/ha-web/backups";

/** Where the lab's restores go: a folder of the store's volume that no backup command reads or prunes. */
export const LAB_RESTORES_DIR = `${BACKUP_STORE_PATH}/lab-restores`;

/** Bounds: a backup of the lab's data takes a few seconds, a restore tens of seconds. */
const BACKUP_TIMEOUT_MS = 180_000;
/** How long runBackup waits for another backup (the scheduler's) to finish. */
const BUSY_WAIT_MS = 120_000;
const RESTORE_TIMEOUT_MS = 300_000;
/** The throwaway server's start: 120 tries, 0.5 s apart. */
const SERVER_START_TRIES = 120;

/** The cluster's backup source: the database server whose backup metrics a textfile exporter serves. */
export function backupSource(lab: Lab, cluster?: string): string {
  const stack = stackOf(lab);
  const db = stack.database(cluster);
  const members = new Set([db.primary, ...db.replicas]);
  const sources = lab
    .requireState()
    .plan.containers.map((c) => c.labels[`${FACT_LABEL_PREFIX}textfile-of`])
    .filter((h): h is string => h !== undefined && members.has(h));
  const unique = [...new Set(sources)];
  if (unique.length !== 1) {
    throw new Error(
      unique.length === 0
        ? `database cluster "${db.cluster}" has no backup source (no container labelled ${FACT_LABEL_PREFIX}textfile-of naming one of its servers): are its backups off?`
        : `database cluster "${db.cluster}" has several backup sources (${unique.join(", ")})`,
    );
  }
  return unique[0];
}

/** The node that runs a restore (default: the backup source), checked to mount the store. */
function restoreNode(lab: Lab, into: string | undefined, cluster?: string): string {
  const source = backupSource(lab, cluster);
  const node = into ? lab.container(into).spec.hostname : source;
  const { spec } = lab.container(node);
  if (!spec.volumes.some((v) => v.containerPath === BACKUP_STORE_PATH)) {
    throw new Error(
      `${node} does not mount the backup store (${BACKUP_STORE_PATH}): on Docker the store is a volume of the backup source ${source} only; restore there (leave out --into)`,
    );
  }
  if (!lab.isUp(node)) throw new Error(`${node} is not running: \`npm run lab -- start ${node}\` first`);
  return node;
}

export interface BackupRun {
  node: string;
  status: number | null;
  output: string;
  ms: number;
  /** The backup's id in the store (its folder under backups/), when it completed. */
  id?: string;
}

/**
 * `ha-web-backup full|incremental` on the cluster's backup source. While another
 * backup runs (the node's scheduler's: an incremental every hour at minute 0 by
 * default) it exits BACKUP_EXIT.busy: tried again every second, for at most
 * BUSY_WAIT_MS.
 */
export async function runBackup(lab: Lab, kind: "full" | "incremental", cluster?: string): Promise<BackupRun> {
  const node = backupSource(lab, cluster);
  const started = Date.now();
  let r = await lab.execAsync(node, [BACKUP_COMMANDS.backup, kind], { timeoutMs: BACKUP_TIMEOUT_MS });
  let waited = "";
  while (r.status === BACKUP_EXIT.busy && Date.now() - started < BUSY_WAIT_MS) {
    waited = `${r.stdout}${r.stderr}`;
    await sleep(1000);
    r = await lab.execAsync(node, [BACKUP_COMMANDS.backup, kind], { timeoutMs: BACKUP_TIMEOUT_MS });
  }
  const output = `${waited}${r.stdout}${r.stderr}${r.status === null ? `\n(${r.error})` : ""}`;
  const id = r.status === 0 ? new RegExp(`${kind} backup (\\S+) complete`).exec(output)?.[1] : undefined;
  return { node, status: r.status, output, ms: Date.now() - started, id };
}

/**
 * What to restore to: ha-web-restore's `--to`, `--gtid` or `--latest`; or
 * `--seed-replica`: the newest backup, pointed at the writer by GTID, and the
 * throwaway server then runs as a replica (server_id SEED_SERVER_ID).
 */
export type RestoreTarget = { to: string } | { gtid: string } | { latest: true } | { seedReplica: true };

/**
 * The server_id of a seeded throwaway replica: unlike every node's (1, 2, ...)
 * and the binlog archiver's (BINLOG_ARCHIVER_DEFAULTS.clientServerId), which the
 * writer would otherwise take for the same client and disconnect.
 */
export const SEED_SERVER_ID = BINLOG_ARCHIVER_DEFAULTS.clientServerId + 1;

export interface RestoreResult {
  /** The container it ran in. */
  node: string;
  /** ha-web-restore's exit code (RESTORE_EXIT), or the lab script's 1 when the throwaway server failed. */
  status: number | null;
  /** ha-web-restore's and the lab script's output. */
  output: string;
  /** The restore folder (holding `data`); removed unless kept. */
  dir: string;
  /** ha-web-restore alone, ms. */
  restoreMs?: number;
  /** Everything: restore, throwaway server up, counts, stop. */
  ms: number;
  /** The GTID position ha-web-restore says it recovered to (its last line). */
  restoredGtid?: string;
  /** The throwaway server's @@gtid_slave_pos once it was up (a seeded replica may already have replicated more). */
  gtid?: string;
  /** Row count of every base table of the app's database. */
  rows?: Record<string, number>;
  /** When kept: the running throwaway server's socket (inside the container). */
  socket?: string;
}

function targetArgs(target: RestoreTarget): string[] {
  if ("to" in target) return ["--to", target.to];
  if ("gtid" in target) return ["--gtid", target.gtid];
  if ("seedReplica" in target) return ["--seed-replica"];
  return ["--latest"];
}

/**
 * `ha-web-restore TARGET --datadir <fresh dir>` on the backup source (or `into`),
 * then a throwaway mariadbd on the restored directory (the node's option file,
 * with --skip-networking, a private socket and pid file, read-only, no binlog,
 * no semi-sync, no replication) that reports
 * the GTID position and the row counts of `database`'s tables; it is shut down and
 * the folder removed unless `keep` (then `socket` says where it listens;
 * `stopRestored` ends it). A failed restore leaves nothing (ha-web-restore empties
 * its directory). `seedReplica`: the server starts its replication (server_id
 * SEED_SERVER_ID; it still listens on no port, and connects out to the writer as
 * the node's replicas do, with the container's replication certificate), so it
 * catches up from the writer's binlogs after the backup: keep it to watch that.
 */
export async function restore(
  lab: Lab,
  target: RestoreTarget,
  opts: { into?: string; keep?: boolean; cluster?: string; database?: string } = {},
): Promise<RestoreResult> {
  const node = restoreNode(lab, opts.into, opts.cluster);
  const database = opts.database ?? stackOf(lab).app().databaseName;
  const id = `${new Date().toISOString().replace(/[-:.]/g, "").replace(/Z$/, "")}-${process.pid}`;
  const dir = `${LAB_RESTORES_DIR}/${id}`;
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = String.raw`set -u
exec 2>&1
DIR=${q(dir)}
DB=${q(database)}
mkdir -p "$DIR"
cleanup() { rm -rf "$DIR"; }
t0=$(date +%s%N)
rc=0
${BACKUP_COMMANDS.restore} ${targetArgs(target).map(q).join(" ")} --datadir "$DIR/data" || rc=$?
t1=$(date +%s%N)
echo "LAB-RESTORE-MS $(( (t1 - t0) / 1000000 ))"
if [ "$rc" != 0 ]; then cleanup; exit "$rc"; fi
mkdir -p ${PATHS.mysqlRunDir}
RUN=$(mktemp -d ${PATHS.mysqlRunDir}/lab-restore.XXXXXX)
chown mysql:mysql "$RUN"
SOCK="$RUN/mysqld.sock"
mariadbd --defaults-file=${PATHS.mysqlConfig} --datadir="$DIR/data" --user=mysql --skip-networking --socket="$SOCK" --pid-file="$RUN/mysqld.pid" \
  ${"seedReplica" in target ? `--server-id=${SEED_SERVER_ID}` : "--skip-slave-start"} --skip-log-bin --read-only=ON --event-scheduler=OFF \
  --loose-rpl-semi-sync-master-enabled=OFF --loose-rpl-semi-sync-slave-enabled=OFF \
  --log-error="$RUN/server.log" </dev/null >/dev/null 2>&1 &
SERVER=$!
sql() { mariadb --no-defaults --socket="$SOCK" --user=root -N -B -e "$1"; }
i=0
until sql "SELECT 1" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge ${SERVER_START_TRIES} ] || ! kill -0 "$SERVER" 2>/dev/null; then
    tail -n 20 "$RUN/server.log" >&2; echo "the throwaway server on $DIR/data did not come up" >&2
    kill -9 "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$RUN"; cleanup; exit 1
  fi
  sleep 0.5
done
echo "LAB-RESTORE-GTID $(sql 'SELECT @@gtid_slave_pos')"
for t in $(sql "SELECT table_name FROM information_schema.tables WHERE table_schema = '$DB' AND table_type = 'BASE TABLE' ORDER BY table_name"); do
  echo "LAB-RESTORE-ROWS $t $(sql "SELECT COUNT(*) FROM \`$DB\`.\`$t\`")"
done
if [ ${opts.keep ? 1 : 0} = 1 ]; then echo "LAB-RESTORE-SOCKET $SOCK"; exit 0; fi
mariadb-admin --no-defaults --socket="$SOCK" --user=root shutdown >/dev/null 2>&1 || kill "$SERVER"
i=0
while kill -0 "$SERVER" 2>/dev/null && [ "$i" -lt 120 ]; do i=$((i + 1)); sleep 0.5; done
kill -9 "$SERVER" 2>/dev/null
# Reaped here: the container's PID 1 (the node's mariadbd) reaps no orphan.
wait "$SERVER" 2>/dev/null
rm -rf "$RUN"
cleanup
`;
  const started = Date.now();
  const r = await lab.execAsync(node, ["sh", "-c", script], { timeoutMs: RESTORE_TIMEOUT_MS });
  const ms = Date.now() - started;
  const all = `${r.stdout}${r.stderr}`;
  const marker = (name: string) => new RegExp(`^LAB-RESTORE-${name} ?(.*)$`, "gm");
  const first = (name: string) => [...all.matchAll(marker(name))][0]?.[1];
  const rows: Record<string, number> = {};
  for (const m of all.matchAll(marker("ROWS"))) {
    const [table, count] = m[1].split(" ");
    rows[table] = Number(count);
  }
  const restoreMs = first("MS");
  const output = all.replace(/^LAB-RESTORE-.*\n?/gm, "") + (r.status === null ? `\n(${r.error})` : "");
  const ok = r.status === 0;
  return {
    node,
    status: r.status,
    output,
    dir,
    restoreMs: restoreMs === undefined ? undefined : Number(restoreMs),
    ms,
    restoredGtid: /GTID position ([0-9,-]*);/.exec(output)?.[1],
    gtid: ok ? first("GTID") : undefined,
    rows: ok ? rows : undefined,
    socket: ok ? first("SOCKET") : undefined,
  };
}

/** A query on a kept restore's throwaway server: rows of tab-separated fields. */
export function restoredSql(lab: Lab, r: RestoreResult, query: string): string[][] {
  if (!r.socket) throw new Error("the restore was not kept (no socket)");
  const out = lab.exec(r.node, ["mariadb", "--no-defaults", `--socket=${r.socket}`, "--user=root", "-N", "-B", "-e", query], { timeoutMs: 30_000 }).stdout;
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

/**
 * Shuts a kept restore's throwaway server down (bounded: 60 s, then SIGKILL) and
 * removes its folder: exit status 0 once it is gone, and the time it took.
 */
export async function stopRestored(lab: Lab, r: RestoreResult): Promise<{ status: number | null; ms: number }> {
  if (!r.socket) return { status: 0, ms: 0 };
  const run = r.socket.replace(/\/mysqld\.sock$/, "");
  const script = `PID=$(cat ${run}/mysqld.pid 2>/dev/null)
mariadb-admin --no-defaults --socket=${r.socket} --user=root shutdown >/dev/null 2>&1 || { [ -n "$PID" ] && kill "$PID"; }
i=0
# Running, not a zombie: the kept server's parent is gone and the container's PID 1 (the node's mariadbd) reaps no orphan.
running() { [ -n "$PID" ] && [ -e "/proc/$PID" ] && [ "$(sed 's/^.*) //' "/proc/$PID/stat" 2>/dev/null | cut -c1)" != Z ]; }
while running && [ "$i" -lt 120 ]; do i=$((i + 1)); sleep 0.5; done
running && kill -9 "$PID"
rm -rf ${run} ${r.dir}
! running`;
  const started = Date.now();
  const done = await lab.execAsync(r.node, ["sh", "-c", script], { timeoutMs: 70_000 });
  return { status: done.status, ms: Date.now() - started };
}

/** The restore's report, as the CLI prints it. */
export function describeRestore(r: RestoreResult): string {
  const lines = [r.output.trimEnd()];
  if (r.status === 0) {
    lines.push(
      "",
      `restored on ${r.node} into ${r.dir}/data`,
      `GTID position: ${r.gtid || "(empty)"}${r.restoredGtid !== undefined && r.restoredGtid !== r.gtid ? ` (restored to ${r.restoredGtid}, then replicated)` : ""}`,
      `rows: ${
        Object.entries(r.rows ?? {})
          .map(([t, n]) => `${t}=${n}`)
          .join(" ") || "(no tables)"
      }`,
      `ha-web-restore took ${((r.restoreMs ?? 0) / 1000).toFixed(1)} s; with the throwaway server ${(r.ms / 1000).toFixed(1)} s`,
    );
  }
  return lines.join("\n");
}

/** A frozen binlog archiver: the processes stopped (recorded by PID and start time), and how to continue them. */
export interface FrozenArchiver {
  readonly stopped: readonly ProcRef[];
  /** SIGCONT to exactly the recorded processes (a process that ended meanwhile is skipped). */
  thaw(): void;
}

/**
 * Freezes the backup source's binlog archiver (SIGSTOP): the archiver first, so
 * it starts nothing new, then its stream and its sleep. Throws unless exactly
 * one archiver runs there. The caller thaws it in a finally.
 */
export function freezeArchiver(lab: Lab, source: string): FrozenArchiver {
  const cmdline = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      return [];
    }
  };
  const archivers = lab.processes(source).filter((p) => cmdline(p.ref.pid).some((a) => a.endsWith(`/${BACKUP_COMMANDS.binlogArchiver.split("/").pop()}`)));
  if (archivers.length !== 1) throw new Error(`expected one binlog archiver on ${source}, found ${archivers.length}`);
  const [archiver] = archivers;
  const stopped: ProcRef[] = [];
  const thaw = () => {
    for (const ref of stopped) signalRef(ref, "SIGCONT");
  };
  if (!signalRef(archiver.ref, "SIGSTOP")) throw new Error(`the archiver (PID ${archiver.ref.pid}) on ${source} is gone`);
  stopped.push(archiver.ref);
  const all = lab.processes(source);
  const walk = (pid: number) => {
    for (const child of all.filter((x) => x.ppid === pid)) {
      if (signalRef(child.ref, "SIGSTOP")) stopped.push(child.ref);
      walk(child.ref.pid);
    }
  };
  walk(archiver.ref.pid);
  return { stopped, thaw };
}
