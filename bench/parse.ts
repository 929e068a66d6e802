/**
 * Parsers of the bench's tools' output (wrk, h2load's per-request log, openssl
 * s_time, /proc/<pid>/stat): pure functions, unit-tested in
 * __tests__/bench/parse.test.ts against the tools' real output.
 */

export interface WrkResult {
  target: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
}

/** "812.00us", "5.10ms", "1.02s" -> milliseconds (NaN if not a wrk duration). */
export function parseWrkDuration(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) return NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as "us" | "ms" | "s" | "m"];
}

/** wrk --latency's report. */
export function parseWrk(target: string, out: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  if (!requests) throw new Error(`not a wrk report: ${out.slice(0, 200)}`);
  return {
    target,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: parseWrkDuration(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ""),
    p99Ms: parseWrkDuration(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ""),
    requests: Number(requests[1]),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: socket
      ? socket
          .slice(1)
          .map(Number)
          .reduce((a, b) => a + b, 0)
      : 0,
  };
}

export interface RequestLog {
  /** Latency of every answered request, milliseconds, ascending. */
  latenciesMs: number[];
  byStatus: Record<string, number>;
  /** Seconds between the first and the last request's start. */
  spanS: number;
}

/** h2load --log-file: one line per request, `<start, us since the epoch>\t<status>\t<duration, us>` (status -1: failed). */
export function parseH2loadLog(text: string): RequestLog {
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  let first = Infinity;
  let last = -Infinity;
  for (const line of text.split("\n")) {
    const m = /^(\d+)\t(-?\d+)\t(\d+)$/.exec(line.trim());
    if (!m) continue;
    const start = Number(m[1]);
    first = Math.min(first, start);
    last = Math.max(last, start);
    byStatus[m[2]] = (byStatus[m[2]] ?? 0) + 1;
    if (m[2] !== "-1") latencies.push(Number(m[3]) / 1000);
  }
  latencies.sort((a, b) => a - b);
  return { latenciesMs: latencies, byStatus, spanS: latencies.length > 0 ? (last - first) / 1e6 : 0 };
}

/** Several h2load logs (one per connection) as one: latencies merged and sorted, statuses summed, the widest span. */
export function mergeRequestLogs(logs: RequestLog[]): RequestLog {
  const byStatus: Record<string, number> = {};
  for (const l of logs) for (const [status, n] of Object.entries(l.byStatus)) byStatus[status] = (byStatus[status] ?? 0) + n;
  const latenciesMs = logs.flatMap((l) => l.latenciesMs).sort((a, b) => a - b);
  return { latenciesMs, byStatus, spanS: Math.max(0, ...logs.map((l) => l.spanS)) };
}

/** `openssl s_time`'s "N connections in X.XXs; ..." line (its first, the user-time one): the connection count. */
export function parseSTimeConnections(out: string): number {
  const m = /^(\d+) connections in [\d.]+s;/m.exec(out);
  if (!m) throw new Error(`not an openssl s_time report: ${out.slice(0, 200)}`);
  return Number(m[1]);
}

/** utime and stime (clock ticks) of /proc/<pid>/stat's text; the command name may hold spaces and parentheses. */
export function parseProcCpu(stat: string): { user: number; system: number } {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): utime and stime are fields 14 and 15.
  const user = Number(rest[11]);
  const system = Number(rest[12]);
  if (rest.length < 13 || !Number.isInteger(user) || !Number.isInteger(system)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 120)}`);
  return { user, system };
}

/** utime + stime (clock ticks) of /proc/<pid>/stat's text. */
export function parseProcCpuTicks(stat: string): number {
  const { user, system } = parseProcCpu(stat);
  return user + system;
}

/** p-th percentile (nearest rank) of ascending values; NaN when empty. */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
