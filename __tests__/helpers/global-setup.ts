import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { isPidAlive } from "../../lab/sys";
import { hostStateOptions, RUN_DIR_PREFIX, takeHostState } from "./host-state";

/**
 * Before the whole jest run (jest.config.js globalSetup): a per-run temp dir,
 * made the tests' TMPDIR (the workers start after this and inherit it), and
 * a snapshot of the host in it, which global-teardown.ts compares with the
 * host after the run and then removes.
 */
export default function globalSetup(): void {
  const hostTmp = tmpdir();
  removeRunDirsOfDeadRuns(hostTmp);
  const runDir = mkdtempSync(join(hostTmp, RUN_DIR_PREFIX));
  const testTmp = join(runDir, "tmp");
  mkdirSync(testTmp);
  const before = takeHostState(hostStateOptions(hostTmp));
  writeFileSync(join(runDir, "host-before.json"), JSON.stringify({ pid: process.pid, hostTmp, previousTmpdir: process.env.TMPDIR ?? null, before }));
  process.env.HA_WEB_TEST_RUN_DIR = runDir;
  process.env.TMPDIR = testTmp;
}

/** A run that was killed never reached its teardown: its directory goes once its jest process is gone. */
function removeRunDirsOfDeadRuns(hostTmp: string) {
  for (const name of readdirSync(hostTmp).filter((n) => n.startsWith(RUN_DIR_PREFIX))) {
    const file = join(hostTmp, name, "host-before.json");
    let pid: unknown;
    try {
      pid = (JSON.parse(readFileSync(file, "utf8")) as { pid?: unknown }).pid;
    } catch {
      continue; // being written by a run starting now, or not ours
    }
    if (typeof pid === "number" && !isPidAlive(pid)) rmSync(join(hostTmp, name), { recursive: true, force: true });
  }
}
