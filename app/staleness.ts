/**
 * Bounded staleness: how far behind each replica is, measured with the app
 * user's own privileges (SELECT/INSERT/UPDATE on its schema, nothing else).
 *
 * Every `intervalMs` each app instance writes its own heartbeat row on the
 * primary (`heartbeats(node, beat)`, beat = its own clock in ms) and reads the
 * same row on every replica. The lag of a replica is the age of the oldest
 * heartbeat the primary acknowledged that the replica has not shown yet:
 *
 *     lag(now) = now - min{ acked beat b : b > beat last seen on the replica }   (0 when none)
 *
 * Only this process's clock is involved (no clock sync between hosts), the
 * estimate never undershoots (it overshoots by at most one interval plus the
 * replication delay of one heartbeat), it keeps growing when a replica stops
 * answering or stops applying, and it falls to 0 when the primary stops
 * acknowledging writes (a replica that has everything the primary acknowledged
 * is not stale: with the primary down, reads keep their replicas).
 *
 * Why not `SHOW SLAVE STATUS` (Seconds_Behind_Master): it needs SLAVE MONITOR /
 * REPLICATION CLIENT, which the app user has not, and it is 0 while the I/O
 * thread is stuck. Comparing GTID positions needs no privilege but says how many
 * transactions behind, not how long.
 */
import type { Db } from "./db";
import type { Clock } from "./readers";

export const HEARTBEAT_WRITE_SQL = "INSERT INTO heartbeats (node, beat) VALUES (?, ?) ON DUPLICATE KEY UPDATE beat = VALUES(beat)";
export const HEARTBEAT_READ_SQL = "SELECT beat FROM heartbeats WHERE node = ?";

/** Replicas more than this far behind are skipped for reads. */
export const DEFAULT_MAX_REPLICA_LAG_MS = 1000;
/** Heartbeat period (one write on the primary and one read per replica). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 250;
/** Acknowledged beats kept (at 250 ms: the last 64 s); older misses count as this old. */
const MAX_ACKED = 256;

export interface LagMonitorOptions {
  /** The app instance's name: its heartbeat row. */
  nodeName: string;
  maxLagMs?: number;
  intervalMs?: number;
  clock?: Clock;
  /** Called on a failed heartbeat write or read (rate-limited by the caller if needed). */
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
  /** Beats the primary acknowledged, ascending. */
  private readonly acked: number[] = [];
  /** Newest beat each replica showed (undefined: never read). */
  private readonly seen: Array<number | undefined>;
  private readonly sampling: boolean[];
  private writing = false;
  private lastBeat = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly opts: LagMonitorOptions,
  ) {
    this.maxLagMs = opts.maxLagMs ?? DEFAULT_MAX_REPLICA_LAG_MS;
    this.intervalMs = opts.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.clock = opts.clock ?? Date.now;
    this.seen = db.readers.map(() => undefined);
    this.sampling = db.readers.map(() => false);
  }

  /** Starts the periodic heartbeat (an unref'd timer: it never keeps the process alive). */
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
   * One round: read every replica's view of this node's heartbeat, then write the
   * next heartbeat on the primary. Each part is skipped while its previous call is
   * still running, so a hung server never piles up queries.
   */
  async tick(): Promise<void> {
    await Promise.all([...this.db.readers.map((_, i) => this.sample(i)), this.beat()]);
  }

  private async sample(i: number): Promise<void> {
    const reader = this.db.readers[i];
    if (reader === undefined || this.sampling[i]) return;
    this.sampling[i] = true;
    try {
      const { rows } = await reader.select(HEARTBEAT_READ_SQL, [this.opts.nodeName]);
      const beat = rows[0] === undefined ? undefined : Number(rows[0].beat);
      if (beat !== undefined && Number.isFinite(beat)) this.seen[i] = Math.max(beat, this.seen[i] ?? 0);
      else if (this.seen[i] === undefined) this.seen[i] = 0; // reachable, nothing replicated yet
    } catch (err) {
      this.opts.onError?.(`heartbeat read on ${reader.name}`, err);
    } finally {
      this.sampling[i] = false;
    }
  }

  private async beat(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    // Strictly increasing, even if the clock stands still or steps back.
    const beat = Math.max(this.clock(), this.lastBeat + 1);
    this.lastBeat = beat;
    try {
      await this.db.writer.insert(HEARTBEAT_WRITE_SQL, [this.opts.nodeName, beat]);
      this.acked.push(beat);
      if (this.acked.length > MAX_ACKED) this.acked.splice(0, this.acked.length - MAX_ACKED);
    } catch (err) {
      this.opts.onError?.("heartbeat write", err);
    } finally {
      this.writing = false;
    }
  }

  /** Estimated lag of replica `i` now (ms), or undefined before its first successful read. */
  lagMs(i: number): number | undefined {
    const seen = this.seen[i];
    if (seen === undefined) return undefined;
    const firstMissing = this.acked.find((b) => b > seen);
    return firstMissing === undefined ? 0 : Math.max(0, this.clock() - firstMissing);
  }

  isStale(i: number): boolean {
    if (this.maxLagMs <= 0) return false;
    const lag = this.lagMs(i);
    return lag !== undefined && lag > this.maxLagMs;
  }
}
