/**
 * End-to-end: backups and point-in-time recovery of the synthesized `local`
 * Docker stack, run for real by the lab. The stack's own commands do the work
 * (`ha-web-backup` on the backup source, its binlog archiver streaming the
 * writer's binlogs into the store, `ha-web-restore`); lab/backup.ts runs them
 * where the stack puts them and reads the restored data back from a throwaway
 * server on the backup source's store volume.
 *
 * Needs root and the Debian packages of scripts/install-test-deps.sh. In CI
 * (CI=true) a missing prerequisite fails the suite; elsewhere it skips with the
 * reason printed.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import { join } from "path";
import { DOCKER_BACKUP_STORE_PATH } from "../../lib/targets/docker/docker-target";
import {
  BACKUP_STORE_PATH,
  backupSource,
  FrozenArchiver,
  freezeArchiver,
  restore,
  RestoreResult,
  restoredSql,
  runBackup,
  stopRestored,
} from "../../lab/backup";
import { request } from "../../lab/load";
import { entryUrl, sql, stackOf } from "../../lab/probes";
import { Lab } from "../../lab/runner";
import { procStat, sleep, waitUntil } from "../../lab/sys";
import { BACKUP_STORE_FILES } from "../../templates/scripts/database-backup";
import { BINLOG_ARCHIVER_DEFAULTS } from "../../templates/scripts/database-binlog-archiver";
import { RESTORE_EXIT } from "../../templates/scripts/database-restore";
import { describeWhenLabRuns, localStackLab } from "./bring-up";

const describeLab = describeWhenLabRuns("the lab backup and restore tests");

/** `YYYY-MM-DD HH:MM:SS` in UTC, ha-web-restore's --to format. */
const utc = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

describeLab("the lab: backups and point-in-time recovery of the local stack", () => {
  const file = localStackLab({ file: "backup.test.ts", what: "lab backups", instance: "bk", portOffset: 600 });
  const { t } = file;
  let lab: Lab;
  let url: string;
  let primary: string;
  let source: string;
  let database: string;
  /** The store's volume on the host (the lab's named volume of the backup source). */
  let storeDir: string;
  /** The backups scenario 1 took. */
  const taken: { full?: string; incremental?: string } = {};

  beforeAll(() => {
    lab = file.lab;
    url = entryUrl(lab);
    const stack = stackOf(lab);
    ({ primary } = stack.database());
    source = backupSource(lab);
    database = stack.app().databaseName;
    // The lab's copy of the Docker target's mount point (not imported by the CLI) is the target's.
    expect(BACKUP_STORE_PATH).toBe(DOCKER_BACKUP_STORE_PATH);
    expect(source).toBe("db-replica-1");
    const volume = lab.container(source).spec.volumes.find((v) => v.containerPath === BACKUP_STORE_PATH)!.volume;
    storeDir = lab.requireState().volumes.find((v) => v.name === volume)!.dir;
  });

  /** What a folder of the store's volume holds (missing: none). */
  const existsOnVolume = (sub: string) => {
    try {
      return readdirSync(join(storeDir, sub));
    } catch {
      return [];
    }
  };

  /** Waits until the archive holds the primary's binlog up to its current position (bounded: 20 s). */
  const archiveCaughtUp = async () => {
    const [[file, position]] = sql(lab, primary, "SHOW MASTER STATUS").map((r) => [r[0], Number(r[1])] as const);
    const serverId = sql(lab, primary, "SELECT @@server_id")[0][0];
    const archived = join(storeDir, "binlogs", `server-${serverId}`, file);
    await waitUntil(
      `the archive's ${file} to reach position ${position}`,
      () => {
        try {
          return statSync(archived).size >= position;
        } catch {
          return false;
        }
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  };

  test("1. point in time: under a numbered write load, a full and an incremental backup, then the table dropped; a restore to T has exactly the rows acknowledged before T", async () => {
    const started = Date.now();
    // The writing clients' own log: every acknowledged id with the times it was sent and answered.
    const acked: { id: number; sent: number; at: number }[] = [];
    const failed: string[] = [];
    let paused = false;
    let stop = false;
    let inFlight = 0;
    let seq = 0;
    const writer = async () => {
      const t0 = Date.now();
      // Bounded: 4,000 writes in all, 90 s.
      while (!stop && seq < 4000 && Date.now() - t0 < 90_000) {
        if (paused) {
          await sleep(10);
          continue;
        }
        const n = ++seq;
        inFlight++;
        const sent = Date.now();
        const w = await request(`${url}/api/items`, { method: "POST", body: { name: `bk-${n}` }, timeoutMs: 8000 });
        const at = Date.now();
        inFlight--;
        if (w.status === 201) acked.push({ id: (JSON.parse(w.body) as { id: number }).id, sent, at });
        else failed.push(`bk-${n}: ${w.status} ${w.error ?? w.body.slice(0, 120)}`);
        await sleep(5);
      }
    };
    const writers = [writer(), writer(), writer()];
    const ackedMore = (n: number, what: string) => {
      const target = acked.length + n;
      return waitUntil(`${n} more acknowledged writes (${what})`, () => acked.length >= target, { timeoutMs: 20_000, intervalMs: 20 });
    };
    let kept: RestoreResult | undefined;
    try {
      await ackedMore(30, "before the full backup");
      const full = await runBackup(lab, "full");
      expect({ status: full.status, output: full.output }).toEqual({ status: 0, output: expect.stringContaining("complete") });
      taken.full = full.id;
      await ackedMore(30, "before the incremental");
      const incremental = await runBackup(lab, "incremental");
      // Based on the full one (or on the node's own hourly incremental, if its minute 0 fell in between).
      expect({ status: incremental.status, output: incremental.output }).toEqual({ status: 0, output: expect.stringContaining(" complete") });
      taken.incremental = incremental.id;
      await ackedMore(30, "after the incremental");

      // T: a whole second with no write near it (binlog times have 1 s resolution): the writers pause, every
      // write in flight is answered, T is at least 1.1 s after the last answer, and they resume 1.1 s after T.
      paused = true;
      await waitUntil("the writes in flight to be answered", () => inFlight === 0, { timeoutMs: 20_000, intervalMs: 5 });
      const lastBefore = Date.now();
      const T = Math.ceil((lastBefore + 1100) / 1000) * 1000;
      await sleep(T + 1150 - Date.now());
      paused = false;
      await ackedMore(30, "after T");
      stop = true;
      await Promise.all(writers);
      expect(failed).toEqual([]);

      // The table dropped on the primary (it replicates to the backup source too).
      sql(lab, primary, `DROP TABLE ${database}.items`);
      await waitUntil(
        `the DROP on ${source}`,
        () => sql(lab, source, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '${database}' AND table_name = 'items'`)[0][0] === "0",
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      await archiveCaughtUp();

      const before = acked.filter((a) => a.at < T);
      const after = acked.filter((a) => a.sent >= T);
      // Nothing straddles T: every write was answered before it or sent after it.
      expect(before.length + after.length).toBe(acked.length);
      expect(Math.max(...before.map((a) => a.at))).toBeLessThanOrEqual(T - 1100);
      expect(Math.min(...after.map((a) => a.sent))).toBeGreaterThanOrEqual(T + 1100);

      kept = await restore(lab, { to: utc(T) }, { keep: true });
      // The chain: the full backup, then incrementals up to and with ours (the scheduler's hourly one may be among them).
      expect({ status: kept.status, output: kept.output }).toEqual({
        status: RESTORE_EXIT.ok,
        output: expect.stringMatching(new RegExp(`backups ${full.id}( \\S+)* ${incremental.id}[ ,:]`)),
      });
      const ids = restoredSql(lab, kept, `SELECT id FROM ${database}.items ORDER BY id`).map((r) => Number(r[0]));
      const [[count, sum, xor]] = restoredSql(lab, kept, `SELECT COUNT(*), COALESCE(SUM(id), 0), BIT_XOR(id) FROM ${database}.items`);
      const expected = before.map((a) => a.id).sort((a, b) => a - b);
      const sumOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
      const xorOf = (xs: number[]) => xs.reduce((s, x) => s ^ x, 0);
      expect({ count: Number(count), sum: Number(sum), xor: Number(xor) }).toEqual({ count: expected.length, sum: sumOf(expected), xor: xorOf(expected) });
      expect(ids).toEqual(expected);
      const afterIds = new Set(after.map((a) => a.id));
      expect(ids.filter((id) => afterIds.has(id))).toEqual([]);
      expect(kept.rows?.items).toBe(expected.length);
      // No replication on a point-in-time restore: the server is where ha-web-restore left it.
      expect(kept.gtid).toBe(kept.restoredGtid);
      console.log(
        `restore to ${utc(T)} UTC: ${expected.length} rows acknowledged before T all restored, none of the ${after.length} after; ` +
          `GTID ${kept.gtid}; ha-web-restore ${kept.restoreMs} ms (full ${full.ms} ms, incremental ${incremental.ms} ms to take), ` +
          `restore + throwaway server up and counted ${kept.ms} ms; ${acked.length} writes acknowledged in all`,
      );
    } finally {
      stop = true;
      await Promise.all(writers);
      if (kept) {
        const stopped = await stopRestored(lab, kept);
        expect(stopped.status).toBe(0);
        // A clean shutdown of a small server: far inside stopRestored's 60 s bound.
        expect(stopped.ms).toBeLessThan(15_000);
      }
    }
    expect(existsOnVolume("lab-restores")).toEqual([]);
    t("1 point in time", started);
  }, 120_000);

  test("2. one corrupt byte in a backup file of the store: the restore refuses with exit 65, naming the backup", async () => {
    const started = Date.now();
    const id = taken.incremental;
    expect(id).toBeDefined();
    const folder = join(storeDir, "backups", id!);
    const data = readdirSync(folder).filter((f) => !(Object.values(BACKUP_STORE_FILES) as string[]).includes(f));
    expect(data.length).toBeGreaterThan(0);
    const target = join(folder, data[0]);
    const original = readFileSync(target);
    const corrupt = Buffer.from(original);
    corrupt[Math.floor(corrupt.length / 2)] ^= 0x01;
    writeFileSync(target, corrupt);
    try {
      const r = await restore(lab, { latest: true });
      expect({ status: r.status, output: r.output }).toEqual({
        status: RESTORE_EXIT.corrupt,
        output: expect.stringContaining(`CORRUPT BACKUP: backup ${id}, file ${data[0]}`),
      });
      expect(r.rows).toBeUndefined();
    } finally {
      writeFileSync(target, original);
    }
    expect(existsOnVolume("lab-restores")).toEqual([]);
    t("2 corrupt backup", started);
  }, 60_000);

  test("3. a new replica seeded from the latest backup after PURGE BINARY LOGS on the primary (its binlogs start after the backup): it catches up by GTID from the writer", async () => {
    const started = Date.now();
    const table = `${database}.seed_check`;
    sql(lab, primary, `CREATE TABLE ${table} (n INT PRIMARY KEY)`);
    sql(lab, primary, `INSERT INTO ${table} (n) SELECT seq FROM ${database}.seq_1_to_50`);
    await waitUntil(`50 rows of ${table} on ${source}`, () => sql(lab, source, `SELECT COUNT(*) FROM ${table}`)[0][0] === "50", {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const full = await runBackup(lab, "full");
    expect({ status: full.status, output: full.output }).toEqual({ status: 0, output: expect.stringContaining("complete") });
    // Nothing is written between the backup and the flush: the files purged hold only what the backup has.
    sql(lab, primary, "FLUSH BINARY LOGS");
    const [[current]] = sql(lab, primary, "SHOW MASTER STATUS");
    // A file a replica or the archiver still reads is kept (with a warning) until they have moved on to the new one: retried.
    await waitUntil(
      `PURGE BINARY LOGS TO '${current}' to leave only ${current}`,
      () => {
        sql(lab, primary, `PURGE BINARY LOGS TO '${current}'`);
        return (
          sql(lab, primary, "SHOW BINARY LOGS")
            .map((r) => r[0])
            .join(" ") === current
        );
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    sql(lab, primary, `INSERT INTO ${table} (n) SELECT seq FROM ${database}.seq_51_to_100`);

    let seeded: RestoreResult | undefined;
    try {
      seeded = await restore(lab, { seedReplica: true }, { keep: true });
      expect({ status: seeded.status, output: seeded.output }).toEqual({
        status: RESTORE_EXIT.ok,
        output: expect.stringContaining(`seeded a replica into ${seeded.dir}/data from backups ${full.id}`),
      });
      const r = seeded;
      const primaryPos = sql(lab, primary, "SELECT @@gtid_binlog_pos")[0][0];
      // The backup's position, before the 50 rows written after the purge: those come from the writer's binlogs.
      expect(seeded.restoredGtid).toBeDefined();
      expect(seeded.restoredGtid).not.toBe(primaryPos);
      const caughtUpMs = await waitUntil(
        `the seeded replica at the primary's GTID ${primaryPos}`,
        () => restoredSql(lab, r, "SELECT @@gtid_slave_pos")[0]?.[0] === primaryPos,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(restoredSql(lab, r, `SELECT COUNT(*), SUM(n) FROM ${table}`)).toEqual([["100", "5050"]]);
      // Vertical, with the field names (restoredSql's batch mode leaves them out).
      const status = lab
        .exec(r.node, ["mariadb", "--no-defaults", `--socket=${r.socket}`, "--user=root", "-e", "SHOW SLAVE STATUS\\G"])
        .stdout.split("\n")
        .map((l) => l.trim())
        .filter((l) => /^(Slave_IO_Running|Slave_SQL_Running|Using_Gtid):/.test(l))
        .sort();
      expect(status).toEqual(["Slave_IO_Running: Yes", "Slave_SQL_Running: Yes", "Using_Gtid: Slave_Pos"]);
      console.log(
        `seeded replica: backup ${full.id} (GTID ${seeded.restoredGtid}) restored in ${seeded.restoreMs} ms; caught up with the primary (${primaryPos}) ${caughtUpMs} ms after its server was up`,
      );
    } finally {
      if (seeded) expect((await stopRestored(lab, seeded)).status).toBe(0);
    }
    expect(existsOnVolume("lab-restores")).toEqual([]);
    t("3 seeded replica", started);
  }, 90_000);

  test("4. the binlog archiver stopped (SIGSTOP) for longer than its probe interval: the binlog lastSuccess metric the textfile exporter serves stops advancing; continued, it advances again", async () => {
    const started = Date.now();
    const probeMs = BINLOG_ARCHIVER_DEFAULTS.probeSeconds * 1000;
    const lastSuccess = async () => {
      const r = await lab.nsHttpGet(source, "http://127.0.0.1:9100/metrics", 3000);
      expect(r.status).toBe(200);
      const m = /^ha_web_backup_last_success_timestamp_seconds\{cluster="[^"]*",kind="binlog"\} (\S+)$/m.exec(r.body);
      if (!m) throw new Error(`no binlog lastSuccess in the textfile exporter's metrics:\n${r.body}`);
      return Number(m[1]) * 1000;
    };
    // Current before: the metric advances while the archiver runs.
    const first = await lastSuccess();
    await waitUntil("the binlog lastSuccess to advance", async () => (await lastSuccess()) > first, { timeoutMs: probeMs * 2 + 5000, intervalMs: 500 });

    let frozen: FrozenArchiver | undefined;
    try {
      frozen = freezeArchiver(lab, source);
      const [archiver] = frozen.stopped;
      const frozenAt = Date.now();
      await waitUntil("the archiver to be stopped", () => procStat(archiver.pid)?.state === "T", { timeoutMs: 2000, intervalMs: 20 });
      const atStop = await lastSuccess();
      // Longer than a probe interval plus a probe's own second: it would have advanced by now.
      const seen = new Set<number>();
      while (Date.now() - frozenAt < probeMs + 4000) {
        seen.add(await lastSuccess());
        await sleep(1000);
      }
      expect([...seen]).toEqual([atStop]);
      console.log(`archiver stopped ${Date.now() - frozenAt} ms: binlog lastSuccess stayed at ${new Date(atStop).toISOString()}`);
    } finally {
      frozen?.thaw();
    }
    const continuedAt = Date.now();
    const resumedMs = await waitUntil("the binlog lastSuccess to advance again", async () => (await lastSuccess()) >= continuedAt - 1000, {
      timeoutMs: probeMs * 3,
      intervalMs: 500,
    });
    console.log(`archiver continued: binlog lastSuccess current again after ${resumedMs} ms`);
    t("4 archiver stopped", started);
  }, 90_000);
});
