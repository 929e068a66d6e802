/**
 * Idempotent POST /api/items (IETF httpapi "The Idempotency-Key HTTP Header
 * Field" draft). The key row is written in the same transaction as the item, on
 * the primary, so whichever web node a retry reaches, and across a failover
 * (the row replicates with the item), the write happens once.
 *
 *  - First request with a key: INSERT the item, INSERT the key row with the
 *    response (status, body, Location) and the request's SHA-256, COMMIT.
 *  - The key's row exists: same hash → the stored response is replayed; another
 *    hash → 422. An expired row is deleted and the request runs as new.
 *  - The key's row is being written by a transaction still open (a concurrent
 *    request with the key, on any node): the INSERT waits for its row lock, at
 *    most the writer's innodb_lock_wait_timeout (1 s). If that transaction
 *    commits, the INSERT fails with a duplicate key and the answer is replayed;
 *    if it rolls back, this request proceeds; if it is still open, 409.
 *  - A request with the same key already running in this process: 409 at once.
 */
import { createHash } from "node:crypto";
import type { DbNode } from "./db";

export const INSERT_KEY_SQL =
  "INSERT INTO idempotency_keys (idem_key, request_hash, status, response, location, expires_at) VALUES (?, ?, ?, ?, ?, NOW(3) + INTERVAL ? SECOND)";
export const SELECT_KEY_SQL = "SELECT request_hash, status, response, location, expires_at < NOW(3) AS expired FROM idempotency_keys WHERE idem_key = ?";
export const DELETE_EXPIRED_KEY_SQL = "DELETE FROM idempotency_keys WHERE idem_key = ? AND expires_at < NOW(3)";
export const SWEEP_EXPIRED_KEYS_SQL = "DELETE FROM idempotency_keys WHERE expires_at < NOW(3) LIMIT 500";

/** How long a key is remembered. */
export const DEFAULT_IDEMPOTENCY_TTL_S = 24 * 3600;
/** At most one sweep of expired keys per this period per app instance. */
export const SWEEP_INTERVAL_MS = 60_000;

/** The response to give for a request. */
export interface StoredResponse {
  status: number;
  body: string;
  location?: string;
  /** The write's GTID position (X-Db-Gtid). */
  gtid?: string;
  serverId: string;
  /** True when this is the replay of an earlier answer. */
  replayed: boolean;
}

export type KeyedOutcome = { kind: "done"; response: StoredResponse } | { kind: "mismatch" } | { kind: "inFlight" };

/** The request's fingerprint: method, path and the exact body bytes. */
export function requestHash(method: string, path: string, body: Buffer): Buffer {
  return createHash("sha256").update(`${method} ${path}\n`).update(body).digest();
}

function errno(err: unknown): { code?: string; errno?: number } {
  return (err ?? {}) as { code?: string; errno?: number };
}

export function isDuplicateKey(err: unknown): boolean {
  const e = errno(err);
  return e.code === "ER_DUP_ENTRY" || e.errno === 1062;
}

/** The key's row is locked by another open transaction (lock wait timeout or deadlock). */
export function isKeyBusy(err: unknown): boolean {
  const e = errno(err);
  return e.code === "ER_LOCK_WAIT_TIMEOUT" || e.errno === 1205 || e.code === "ER_LOCK_DEADLOCK" || e.errno === 1213;
}

export interface IdempotentWriterOptions {
  ttlSeconds?: number;
  clock?: () => number;
  onSweepError?: (err: unknown) => void;
}

/**
 * Runs keyed creations. `create` performs the write inside the transaction and
 * returns the response to store (status, body, Location).
 */
export class IdempotentWriter {
  private readonly inFlight = new Set<string>();
  private readonly ttlSeconds: number;
  private readonly clock: () => number;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly writer: DbNode,
    private readonly opts: IdempotentWriterOptions = {},
  ) {
    this.ttlSeconds = opts.ttlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_S;
    this.clock = opts.clock ?? Date.now;
  }

  async run(key: string, hash: Buffer, create: (tx: import("./db").Tx) => Promise<{ status: number; body: string; location?: string }>): Promise<KeyedOutcome> {
    if (this.inFlight.has(key)) return { kind: "inFlight" };
    this.inFlight.add(key);
    try {
      this.maybeSweep();
      // Twice at most: a second time only when the row found had expired (and was deleted).
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const r = await this.writer.transaction(async (tx) => {
            const resp = await create(tx);
            await tx.query(INSERT_KEY_SQL, [key, hash, resp.status, resp.body, resp.location ?? null, this.ttlSeconds]);
            return resp;
          });
          return { kind: "done", response: { ...r.value, gtid: r.gtid, serverId: r.serverId, replayed: false } };
        } catch (err) {
          if (isKeyBusy(err)) return { kind: "inFlight" };
          if (!isDuplicateKey(err)) throw err;
        }
        const found = await this.writer.select(SELECT_KEY_SQL, [key]);
        const row = found.rows[0];
        if (row === undefined) continue; // deleted between the two statements (expired): run as new
        if (Number(row.expired) === 1) {
          await this.writer.insert(DELETE_EXPIRED_KEY_SQL, [key]);
          continue;
        }
        const stored = Buffer.isBuffer(row.request_hash) ? row.request_hash : Buffer.from(String(row.request_hash), "binary");
        if (!stored.equals(hash)) return { kind: "mismatch" };
        // The row is visible, so the server's position covers the original write.
        const gtid = await this.writer.gtidPosition().catch(() => undefined);
        return {
          kind: "done",
          response: {
            status: Number(row.status),
            body: String(row.response),
            location: row.location === null || row.location === undefined ? undefined : String(row.location),
            gtid,
            serverId: found.serverId,
            replayed: true,
          },
        };
      }
      return { kind: "inFlight" };
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** Deletes expired keys, at most 500 rows, at most once per SWEEP_INTERVAL_MS, in the background. */
  private maybeSweep(): void {
    const now = this.clock();
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    this.writer.insert(SWEEP_EXPIRED_KEYS_SQL).catch((err: unknown) => this.opts.onSweepError?.(err));
  }
}
