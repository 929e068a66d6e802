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
 * is tried; finally the writer. An error from the writer is thrown to the caller.
 */
export async function readWithFallback<N, T>(
  readers: readonly N[],
  writer: N,
  selector: ReaderSelector,
  fn: (node: N) => Promise<T>,
  onReaderError?: (node: N, index: number, err: unknown) => void,
): Promise<FallbackResult<N, T>> {
  for (const i of selector.nextOrder()) {
    const node = readers[i];
    if (node === undefined || !selector.tryAcquire(i)) continue;
    let value: T;
    try {
      value = await fn(node);
    } catch (err) {
      selector.recordFailure(i);
      onReaderError?.(node, i, err);
      continue;
    }
    selector.recordSuccess(i);
    return { value, node, fromWriter: false };
  }
  return { value: await fn(writer), node: writer, fromWriter: true };
}
