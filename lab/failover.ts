/**
 * The database failover in the lab: the stack's own `ha-web-db-failover` run
 * inside a database container (as an operator would with `docker exec`), then
 * the writer's alias moved to the new primary in the lab's DNS (as `docker
 * network disconnect` / `connect --alias` would on Docker).
 */
import { DATABASE_FAILOVER_SCRIPT_NAME } from "../templates/scripts/database-failover";
import { PATHS } from "../templates/paths";
import { stackOf } from "./probes";
import { Lab } from "./runner";

export const FAILOVER_SCRIPT = `${PATHS.binDir}/${DATABASE_FAILOVER_SCRIPT_NAME}`;

/** Bound on one run of the script (its own waits: catch-up 30 s, connects 3 s each, shutdown 30 s). */
const SCRIPT_TIMEOUT_MS = 120_000;

export interface FailoverRun {
  /** The script's exit status: 0 done, 1 failed, 2 refused, 64 usage. */
  status: number | null;
  output: string;
  ms: number;
}

export interface PromoteResult extends FailoverRun {
  /** The new primary's hostname, when the promotion went through. */
  newPrimary?: string;
  /** The container the writer's alias now belongs to. */
  writerOwner?: string;
}

/** Runs `ha-web-db-failover ARGS` in a running database container of the cluster (preferring `on`). */
export async function runFailoverScript(lab: Lab, args: string[], on?: string, cluster?: string): Promise<FailoverRun> {
  const db = stackOf(lab).database(cluster);
  const candidates = [...(on ? [on] : []), ...db.replicas, db.primary].filter((n, i, all) => all.indexOf(n) === i);
  const runner = candidates.find((n) => lab.isUp(n));
  if (!runner) throw new Error(`no database container of the cluster is running (${candidates.join(", ")})`);
  const started = Date.now();
  const r = await lab.execAsync(runner, ["sh", FAILOVER_SCRIPT, ...args], { timeoutMs: SCRIPT_TIMEOUT_MS });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
}

/**
 * `promote [--candidate NAME]`, then the writer's alias to the new primary. The
 * script fences and stops a reachable old primary itself; the alias moves only
 * when the script says the promotion is done (exit 0).
 */
export async function promote(lab: Lab, candidate?: string, cluster?: string): Promise<PromoteResult> {
  const db = stackOf(lab).database(cluster);
  const run = await runFailoverScript(lab, ["promote", ...(candidate ? ["--candidate", candidate] : [])], candidate, cluster);
  const done = /promote done: (\S+) is the primary/.exec(run.output);
  if (run.status !== 0 || !done) return run;
  const newPrimary = done[1];
  lab.moveAlias(db.writerAddress, newPrimary);
  return { ...run, newPrimary, writerOwner: lab.aliasOwner(db.writerAddress) };
}

/** `rejoin NODE`: NODE (the old primary, restarted) becomes a replica of the current primary, unless it has errant transactions. */
export function rejoin(lab: Lab, node: string, cluster?: string): Promise<FailoverRun> {
  const db = stackOf(lab).database(cluster);
  const owner = lab.aliasOwner(db.writerAddress);
  return runFailoverScript(lab, ["rejoin", node], owner ? lab.container(owner).spec.hostname : undefined, cluster);
}
