/**
 * Read routing: round-robin across replicas, a per-replica circuit breaker, and
 * fallback replica -> next replica -> writer. Pure logic with an injectable clock.
 */

export type Clock = () => number;

/** How long a failed replica is skipped before it is tried again. */
export const DEFAULT_READER_COOLDOWN_MS = 2000;

interface BreakerState {
  /** Skip the reader while clock() < openUntil. 0 = closed (healthy). */
  openUntil: number;
  /** Cooldown elapsed and one request is currently probing the reader. */
  probing: boolean;
  consecutiveFailures: number;
}

export interface ReaderSelectorOptions {
  clock?: Clock;
  cooldownMs?: number;
}

/**
 * Tracks which replica a request should start with and which replicas are
 * temporarily skipped. Breaker states:
 *  - closed: tried normally;
 *  - open (failed less than cooldownMs ago): skipped;
 *  - half-open (cooldown elapsed): exactly one request may probe it at a time,
 *    concurrent requests keep skipping it until the probe reports back.
 */
export class ReaderSelector {
  private cursor = 0;
  private readonly states: BreakerState[];
  private readonly clock: Clock;
  private readonly cooldownMs: number;

  constructor(
    readonly count: number,
    opts: ReaderSelectorOptions = {},
  ) {
    this.clock = opts.clock ?? Date.now;
    this.cooldownMs = opts.cooldownMs ?? DEFAULT_READER_COOLDOWN_MS;
    this.states = Array.from({ length: count }, () => ({ openUntil: 0, probing: false, consecutiveFailures: 0 }));
  }

  /**
   * Reader indices for one request in round-robin order: a different starting
   * reader per call, then the others in ring order. Does not look at breakers;
   * call tryAcquire(i) right before actually trying reader i.
   */
  nextOrder(): number[] {
    const n = this.count;
    if (n === 0) return [];
    const start = this.cursor % n;
    this.cursor = (start + 1) % n;
    return Array.from({ length: n }, (_, k) => (start + k) % n);
  }

  /** True if reader i may be tried now (claims the probe slot of a half-open breaker). */
  tryAcquire(i: number): boolean {
    const s = this.states[i];
    if (s === undefined) return false;
    if (s.openUntil === 0) return true;
    if (this.clock() < s.openUntil || s.probing) return false;
    s.probing = true;
    return true;
  }

  recordSuccess(i: number): void {
    const s = this.states[i];
    if (s === undefined) return;
    s.openUntil = 0;
    s.probing = false;
    s.consecutiveFailures = 0;
  }

  recordFailure(i: number): void {
    const s = this.states[i];
    if (s === undefined) return;
    // Never let openUntil be 0 (= closed) even with a clock starting at 0.
    s.openUntil = Math.max(1, this.clock() + this.cooldownMs);
    s.probing = false;
    s.consecutiveFailures++;
  }

  /** True while reader i failed less than the cooldown ago (open, not yet half-open). */
  isCoolingDown(i: number): boolean {
    const s = this.states[i];
    return s !== undefined && s.openUntil !== 0 && this.clock() < s.openUntil;
  }

  /** True while reader i is skipped (open, or half-open with a probe in flight). */
  isSkipped(i: number): boolean {
    const s = this.states[i];
    if (s === undefined) return true;
    return s.openUntil !== 0 && (this.clock() < s.openUntil || s.probing);
  }

  consecutiveFailures(i: number): number {
    return this.states[i]?.consecutiveFailures ?? 0;
  }
}

export interface FallbackResult<N, T> {
  value: T;
  node: N;
  /** True when the value came from the writer. */
  fromWriter: boolean;
}

/**
 * Runs `fn` against replicas in the selector's order, skipping replicas whose
 * breaker is open; a replica that throws is recorded as failed and the next one
 * is tried; then the writer. When the writer fails too, the replicas skipped only
 * because another request was probing them (half-open) are tried after all,
 * before the writer's error is thrown: their cooldown is over, and a read a
 * replica could serve must not become an error. (Found in the lab: with the
 * primary down, a read arriving while another probed the half-open replica
 * skipped it, went to the dead writer and got a 503 although the replica was
 * up.) Replicas still cooling down (failed less than the cooldown ago) stay
 * skipped: with everything down, requests keep failing fast.
 *
 * `isStale(i)` (bounded staleness) skips a replica known to lag beyond the
 * limit; such a replica is never used, not even when the writer fails: a 503
 * rather than an answer older than the limit.
 */
export async function readWithFallback<N, T>(
  readers: readonly N[],
  writer: N,
  selector: ReaderSelector,
  fn: (node: N) => Promise<T>,
  onReaderError?: (node: N, index: number, err: unknown) => void,
  isStale?: (index: number) => boolean,
): Promise<FallbackResult<N, T>> {
  const skipped: number[] = [];
  const attempt = async (i: number): Promise<{ value: T } | undefined> => {
    try {
      const value = await fn(readers[i]);
      selector.recordSuccess(i);
      return { value };
    } catch (err) {
      selector.recordFailure(i);
      onReaderError?.(readers[i], i, err);
      return undefined;
    }
  };
  for (const i of selector.nextOrder()) {
    if (readers[i] === undefined || isStale?.(i)) continue;
    if (!selector.tryAcquire(i)) {
      if (!selector.isCoolingDown(i)) skipped.push(i);
      continue;
    }
    const got = await attempt(i);
    if (got) return { value: got.value, node: readers[i], fromWriter: false };
  }
  try {
    return { value: await fn(writer), node: writer, fromWriter: true };
  } catch (writerError) {
    for (const i of skipped) {
      const got = await attempt(i);
      if (got) return { value: got.value, node: readers[i], fromWriter: false };
    }
    throw writerError;
  }
}

/**
 * Read-your-writes: `fn(node, true)` on the first usable replica (breaker closed
 * or probing, not stale) makes that replica wait, bounded, for the client's
 * write. A replica that had not applied it in time (`isNotYet(err)`) is not a
 * failure (its breaker stays as it was) and the read goes straight to the
 * writer, so the whole read waits at most once. A replica that fails is recorded
 * and the next one is tried. `isClientError(err)` errors are thrown at once.
 * The writer, which has every write it acknowledged, is read with `fn(writer,
 * false)`; if it fails the read fails: no replica that may lack the write answers.
 */
export async function readAfterWrite<N, T>(
  readers: readonly N[],
  writer: N,
  selector: ReaderSelector,
  fn: (node: N, wait: boolean) => Promise<T>,
  checks: {
    isNotYet: (err: unknown) => boolean;
    isClientError?: (err: unknown) => boolean;
    isStale?: (index: number) => boolean;
    onReaderError?: (node: N, index: number, err: unknown) => void;
  },
): Promise<FallbackResult<N, T>> {
  for (const i of selector.nextOrder()) {
    if (readers[i] === undefined || checks.isStale?.(i)) continue;
    if (!selector.tryAcquire(i)) continue;
    try {
      const value = await fn(readers[i], true);
      selector.recordSuccess(i);
      return { value, node: readers[i], fromWriter: false };
    } catch (err) {
      if (checks.isNotYet(err)) {
        selector.recordSuccess(i);
        break;
      }
      if (checks.isClientError?.(err)) {
        selector.recordSuccess(i);
        throw err;
      }
      selector.recordFailure(i);
      checks.onReaderError?.(readers[i], i, err);
    }
  }
  return { value: await fn(writer, false), node: writer, fromWriter: true };
}
