/**
 * The lab's end-to-end files take turns. Each brings up a whole stack of its own
 * (its own instance id, state dir and published ports, so two could run side by
 * side without clashing), but their bounds (a node marked down within inter x
 * fall, a row on the replica within 1 s, a bootstrap stopped mid-way) are timings
 * on a shared machine: on one with more than two cores jest runs test files in
 * parallel workers, and a database bootstrapping next door would make them
 * flaky. So a file holds this lock from its beforeAll to its afterAll.
 *
 * The lock is a directory in the run's temp dir (mkdir is atomic) holding the
 * owner's PID; a lock whose owner is gone (a crashed worker), or is this very
 * process (jest running files in band, one after the other), is taken over.
 * The wait is bounded.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { isPidAlive, sleep } from "../../lab/sys";

const LOCK = "hwl-lab-e2e.lock";

function ownerOf(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, "owner"), "utf8"));
  } catch {
    return undefined;
  }
}

/** Waits (at most `timeoutMs`) for the lab's turn; returns the release function and how long it waited. */
export async function takeLabTurn(what: string, timeoutMs: number): Promise<{ release: () => void; waitedMs: number }> {
  const dir = join(tmpdir(), LOCK);
  const started = Date.now();
  let ownerless = 0;
  for (let i = 0; i < Math.ceil(timeoutMs / 250) + 1 && Date.now() - started <= timeoutMs; i++) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, "owner"), String(process.pid));
      const release = () => {
        if (ownerOf(dir) === process.pid) rmSync(dir, { recursive: true, force: true });
      };
      return { release, waitedMs: Date.now() - started };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = ownerOf(dir);
    // No owner file yet: being created right now; after a few tries, a taker that died in between.
    if (owner === undefined ? ++ownerless > 8 : owner === process.pid || !isPidAlive(owner)) {
      rmSync(dir, { recursive: true, force: true });
      ownerless = 0;
      continue;
    }
    await sleep(250);
  }
  throw new Error(`${what}: another lab end-to-end file held ${dir} for more than ${timeoutMs} ms`);
}
