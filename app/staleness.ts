/**
 * Bounded staleness: how far behind each replica is, measured with the app
 * user's own privileges (none beyond its schema) and without writing anything.
 *
 * Every `intervalMs` the app reads the primary's `@@global.gtid_current_pos`
 * and notes when it read it (its own clock), and reads each replica's
 * `@@global.gtid_current_pos` (any user may read these variables). A replica
 * whose position covers a primary sample (every replication domain at least as
 * far) has every transaction that sample saw. Its lag is estimated as
 *
 *     lag(now) = now - (time of the newest primary sample it covers)       when an older-than-newest sample is uncovered
 *              = 0                                                        when it covers the newest sample
 *
 * The missing transaction committed after that covered sample, so the estimate
 * never undershoots; it overshoots by at most one interval. Only this
 * process's clock is involved (no clock sync between hosts); the estimate keeps
 * growing while a replica stops answering or stops applying, and it stays 0
 * while nothing is written (nothing to miss) or the primary is down (a replica
 * that has all the primary showed is not stale: reads keep their replicas).
 *
 * Why not `SHOW SLAVE STATUS` (Seconds_Behind_Master): it needs SLAVE MONITOR /
 * REPLICATION CLIENT, which the app user has not, and it reads 0 while the I/O
 * thread is stuck. Why not a heartbeat row written by the app: it adds writes
 * (and GTIDs) to the cluster forever. On MySQL (no gtid_current_pos) the
 * samples fail and no replica is ever skipped for lag: use X-Db-Min-Gtid there.
 */
import type { Db } from "./db";
import type { Clock } from "./readers";

export const POSITION_SQL = "SELECT @@global.gtid_current_pos AS pos";

/** Replicas more than this far behind are skipped for reads. */
export const DEFAULT_MAX_REPLICA_LAG_MS = 1000;
/** Sampling period (one read on the primary and one per replica). */
export const DEFAULT_LAG_SAMPLE_INTERVAL_MS = 250;
/** Primary samples kept (at 250 ms: the last 64 s); a replica behind all of them counts as that old. */
const MAX_SAMPLES = 256;

/** A MariaDB GTID list ("0-1-42,1-2-7") as the highest sequence number per domain. */
export function parseGtidPosition(text: string): Map<string, bigint> | undefined {
  const out = new Map<string, bigint>();
  const t = text.replace(/\s+/g, "");
  if (t === "") return out;
  for (const g of t.split(",")) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(g);
    if (!m) return undefined;
    const seq = BigInt(m[3]);
    if ((out.get(m[1]) ?? -1n) < seq) out.set(m[1], seq);
  }
  return out;
}

/** True when `replica` has applied everything `primary` shows (per domain). */
export function covers(replica: ReadonlyMap<string, bigint>, primary: ReadonlyMap<string, bigint>): boolean {
  for (const [domain, seq] of primary) if ((replica.get(domain) ?? -1n) < seq) return false;
  return true;
}

export interface LagMonitorOptions {
  maxLagMs?: number;
  intervalMs?: number;
  clock?: Clock;
  /** Called on a failed sample (rate-limit it if needed). */
  onError?: (what: string, err: unknown) => void;
}

/** What the read path needs from a lag monitor. */
export interface StalenessCheck {
  /** True when replica `i` is known to be more than the limit behind. */
  isStale(i: number): boolean;
}

export class ReplicaLagMonitor implements StalenessCheck {
  readonly maxLagMs: number;
  readonly intervalMs: number;
  private readonly clock: Clock;
  /** Primary positions, oldest first, each with the time its read started. */
  private readonly samples: Array<{ at: number; pos: Map<string, bigint> }> = [];
  /** Each replica's newest position (undefined: never read). */
  private readonly seen: Array<Map<string, bigint> | undefined>;
  private readonly busy: boolean[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    opts: LagMonitorOptions = {},
  ) {
    this.maxLagMs = opts.maxLagMs ?? DEFAULT_MAX_REPLICA_LAG_MS;
    this.intervalMs = opts.intervalMs ?? DEFAULT_LAG_SAMPLE_INTERVAL_MS;
    this.clock = opts.clock ?? Date.now;
    this.onError = opts.onError;
    this.seen = db.readers.map(() => undefined);
    // index 0..n-1: replicas, n: the primary
    this.busy = [...db.readers.map(() => false), false];
  }

  private readonly onError: LagMonitorOptions["onError"];

  /** Starts sampling (an unref'd timer: it never keeps the process alive). Nothing to do without replicas or a limit. */
  start(): void {
    if (this.timer !== undefined || this.db.readers.length === 0 || this.maxLagMs <= 0) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One round: the replicas' positions, then the primary's (a replica read
   * before the primary sample can only look further behind, never ahead). A
   * server whose previous read is still running is skipped: a hung server never
   * piles up queries.
   */
  async tick(): Promise<void> {
    await Promise.all(this.db.readers.map((_, i) => this.sampleReplica(i)));
    await this.samplePrimary();
  }

  private async read(i: number, node: import("./db").DbNode): Promise<Map<string, bigint> | undefined> {
    if (this.busy[i]) return undefined;
    this.busy[i] = true;
    try {
      const { rows } = await node.select(POSITION_SQL);
      const pos = parseGtidPosition(String(rows[0]?.pos ?? ""));
      if (pos === undefined) throw new Error(`unexpected GTID position ${JSON.stringify(rows[0]?.pos)}`);
      return pos;
    } catch (err) {
      this.onError?.(`GTID position of ${node.name}`, err);
      return undefined;
    } finally {
      this.busy[i] = false;
    }
  }

  private async sampleReplica(i: number): Promise<void> {
    const reader = this.db.readers[i];
    if (reader === undefined) return;
    const pos = await this.read(i, reader);
    if (pos !== undefined) this.seen[i] = pos;
  }

  private async samplePrimary(): Promise<void> {
    const at = this.clock();
    const pos = await this.read(this.db.readers.length, this.db.writer);
    if (pos === undefined) return;
    this.samples.push({ at, pos });
    if (this.samples.length > MAX_SAMPLES) this.samples.splice(0, this.samples.length - MAX_SAMPLES);
  }

  /** Estimated lag of replica `i` now (ms), or undefined before its first successful read. */
  lagMs(i: number): number | undefined {
    const seen = this.seen[i];
    if (seen === undefined) return undefined;
    const n = this.samples.length;
    if (n === 0 || covers(seen, this.samples[n - 1].pos)) return 0;
    // The newest sample it covers; the first one missing committed after it.
    for (let k = n - 2; k >= 0; k--) {
      if (covers(seen, this.samples[k].pos)) return Math.max(0, this.clock() - this.samples[k].at);
    }
    return Math.max(0, this.clock() - this.samples[0].at);
  }

  isStale(i: number): boolean {
    if (this.maxLagMs <= 0) return false;
    const lag = this.lagMs(i);
    return lag !== undefined && lag > this.maxLagMs;
  }
}
