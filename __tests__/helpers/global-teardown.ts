import { existsSync, readdirSync, readFileSync, rmSync } from "fs";
import { join, resolve } from "path";
import { describeLeftovers, HostState, hostStateOptions, leftBehind, Leftover, takeHostState } from "./host-state";

/**
 * After the whole jest run (jest.config.js globalTeardown): fails the run when
 * the tests left anything behind, on the host (paths below /etc, /opt, /var,
 * /run, temp dir entries, network namespaces) or in the run's own temp dir.
 * The run's temp dir is removed either way; what is on the host is left for
 * the developer to look at.
 */
export default function globalTeardown(): void {
  const runDir = process.env.HA_WEB_TEST_RUN_DIR;
  if (!runDir) throw new Error("global-teardown: HA_WEB_TEST_RUN_DIR is not set (did global-setup.ts run?)");
  delete process.env.HA_WEB_TEST_RUN_DIR;
  const testTmp = join(runDir, "tmp");
  let leftovers: Leftover[];
  let inRunTmp: Leftover[];
  try {
    const saved = JSON.parse(readFileSync(join(runDir, "host-before.json"), "utf8")) as { hostTmp: string; previousTmpdir: string | null; before: HostState };
    if (saved.previousTmpdir === null) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved.previousTmpdir;
    inRunTmp = leftBehind({ paths: [], tmp: [], netns: [] }, { paths: [], tmp: existsSync(testTmp) ? readdirSync(testTmp).sort() : [], netns: [] }, testTmp);
    leftovers = [...leftBehind(saved.before, takeHostState(hostStateOptions(saved.hostTmp)), saved.hostTmp), ...inRunTmp];
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
  if (leftovers.length > 0) {
    const note =
      inRunTmp.length > 0
        ? `\n(The tests' TMPDIR was ${testTmp}, removed now; what a test leaves there is a leak all the same: outside jest it lands in the real temp dir.)`
        : "";
    throw new Error(describeLeftovers(leftovers, resolve(__dirname, "..", "..")) + note);
  }
}
