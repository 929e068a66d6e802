/**
 * The lab CLI's state lock (issue 13, item 9): `state.json` is read, changed and
 * rewritten by every command that changes the lab, so two commands run at once
 * lost each other's changes (after `start web-1 & start web-2`, `kill web-1`
 * reported success and killed nothing). No stack is needed to prove the fix: real
 * processes, started at the same moment, run the real code (lab/state.ts and
 * lab/cli.ts, bundled with esbuild into the test's temp dir) on a temp state dir.
 *
 *  - N processes each add their entry to the state (read, wait, write): with the
 *    lock every entry is there; without it (the same code, lock left out) updates
 *    are lost, which shows the race is real on this machine;
 *  - a lock whose holder is dead (a holder SIGKILLed while holding it, a PID
 *    reused by another process) is taken over; a live holder is waited for, then
 *    the wait fails naming it;
 *  - the CLI: N parallel `kill NODE` on a state whose containers are real
 *    processes: every one killed, every kill recorded; `kill` of a container
 *    whose recorded process is dead fails instead of reporting success.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { lockFileOf, lockState, readState, STATE_VERSION, writeState } from "../../lab/state";
import { alive, procRef, ProcRef, sleep, waitUntil } from "../../lab/sys";

const ROOT = join(__dirname, "..", "..");
const ESBUILD = join(ROOT, "node_modules", ".bin", "esbuild");
const N = 8;

/** Runs `node args...` to its end, bounded. */
function runNode(args: string[], timeoutMs = 30_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe("the lab CLI's state lock", () => {
  let dir: string;
  let stateModule: string;
  let cli: string;
  let worker: string;
  const children: ChildProcess[] = [];

  const emptyState = (stateDir: string, containers: Record<string, unknown> = {}, plan: unknown = { containers: [] }) =>
    writeState(stateDir, {
      version: STATE_VERSION,
      instance: "lk",
      stateDir,
      createdAt: new Date().toISOString(),
      netns: [],
      networks: [],
      volumes: [],
      containers: containers as never,
      plan: plan as never,
      portOffset: 0,
    });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "hwl-state-lock-"));
    stateModule = join(dir, "state.js");
    cli = join(dir, "cli.js");
    for (const [entry, out] of [
      ["lab/state.ts", stateModule],
      ["lab/cli.ts", cli],
    ]) {
      const r = spawnSync(ESBUILD, [entry, "--bundle", "--platform=node", "--log-level=warning", `--outfile=${out}`], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
    // One read-modify-write of the state, as a command does it: read, work for a while, write.
    worker = join(dir, "worker.js");
    writeFileSync(
      worker,
      `const { lockState, readState, writeState } = require(${JSON.stringify(stateModule)});
const [stateDir, name, useLock, goAt] = process.argv.slice(2);
(async () => {
  while (Date.now() < Number(goAt)) await new Promise((r) => setTimeout(r, 2));
  const lock = useLock === "1" ? await lockState(stateDir, "add " + name, { timeoutMs: 20000, intervalMs: 10 }) : undefined;
  try {
    const s = readState(stateDir);
    await new Promise((r) => setTimeout(r, 40));
    s.containers[name] = { name };
    writeState(stateDir, s);
  } finally {
    if (lock) lock.release();
  }
})().catch((e) => { console.error(e.message); process.exit(1); });
`,
    );
  }, 120_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await waitUntil("the test's processes to exit", () => children.every((c) => c.exitCode !== null || c.signalCode !== null), {
      timeoutMs: 5_000,
      intervalMs: 20,
    }).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** N workers started at the same moment on a fresh state dir; the names the state holds afterwards. */
  async function race(name: string, useLock: boolean): Promise<{ kept: string[]; failures: string[] }> {
    const stateDir = join(dir, name);
    emptyState(stateDir);
    const goAt = Date.now() + 1_500;
    const results = await Promise.all(Array.from({ length: N }, (_, i) => runNode([worker, stateDir, `c${i}`, useLock ? "1" : "0", String(goAt)])));
    return { kept: Object.keys(readState(stateDir)!.containers).sort(), failures: results.filter((r) => r.status !== 0).map((r) => r.stderr) };
  }

  test(`${N} parallel read-modify-writes: with the lock none is lost (without it, some are: the race is real)`, async () => {
    const unlocked = await race("unlocked", false);
    const locked = await race("locked", true);
    console.log(`state lock: ${N} parallel read-modify-writes kept ${unlocked.kept.length} entries without the lock, ${locked.kept.length} with it`);
    expect(unlocked.failures).toEqual([]);
    expect(unlocked.kept.length).toBeLessThan(N);
    expect(locked.failures).toEqual([]);
    expect(locked.kept).toEqual(Array.from({ length: N }, (_, i) => `c${i}`).sort());
    expect(() => readFileSync(lockFileOf(join(dir, "locked")))).toThrow(/ENOENT/);
  }, 60_000);

  test("a dead holder's lock is taken over; a live holder is waited for, then the wait fails naming it", async () => {
    const stateDir = join(dir, "stale");
    // A holder SIGKILLed while it holds the lock.
    const holder = spawn(
      process.execPath,
      [
        "-e",
        `require(${JSON.stringify(stateModule)}).lockState(process.argv[1], "up").then(() => { console.log("held"); setTimeout(() => {}, 60000); })`,
        stateDir,
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    children.push(holder);
    await new Promise<void>((resolve) => holder.stdout!.once("data", () => resolve()));
    const held = JSON.parse(readFileSync(lockFileOf(stateDir), "utf8"));
    expect(held).toMatchObject({ pid: holder.pid, command: "up" });

    // Alive: waited for, then a clear error naming the holder.
    const t0 = Date.now();
    await expect(lockState(stateDir, "kill web-1", { timeoutMs: 500 })).rejects.toThrow(
      new RegExp(`locked by pid ${holder.pid} \\(\`up\`, since .*waited 1 s`),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(Date.now() - t0).toBeLessThan(3_000);

    const ref = procRef(holder.pid!) as ProcRef;
    holder.kill("SIGKILL");
    await waitUntil("the holder to die", () => !alive(ref), { timeoutMs: 5_000, intervalMs: 20 });
    const t1 = Date.now();
    const lock = await lockState(stateDir, "kill web-1", { timeoutMs: 2_000 });
    expect(Date.now() - t1).toBeLessThan(1_000);
    expect(JSON.parse(readFileSync(lockFileOf(stateDir), "utf8"))).toMatchObject({ pid: process.pid, command: "kill web-1" });
    lock.release();

    // A PID that now belongs to another process (this one, started later than the recorded start time says).
    writeFileSync(lockFileOf(stateDir), JSON.stringify({ pid: process.pid, start: "1", command: "start web-2", since: "then" }));
    const again = await lockState(stateDir, "status", { timeoutMs: 2_000 });
    again.release();
    expect(() => readFileSync(lockFileOf(stateDir))).toThrow(/ENOENT/);
  }, 60_000);

  test(`the CLI: ${N} parallel \`kill\` commands are all recorded; a kill that kills nothing fails`, async () => {
    const stateDir = join(dir, "cli");
    mkdirSync(stateDir, { recursive: true });
    const sleepers = Array.from({ length: N }, () => {
      const c = spawn("sleep", ["60"], { stdio: "ignore" });
      children.push(c);
      return c;
    });
    await waitUntil("the sleepers to start", () => sleepers.every((c) => !!procRef(c.pid!)), { timeoutMs: 5_000, intervalMs: 20 });
    const containers: Record<string, unknown> = {};
    const plan = { containers: [] as unknown[] };
    sleepers.forEach((c, i) => {
      const name = `lk-web-${i}`;
      const ref = procRef(c.pid!);
      plan.containers.push({ name, hostname: `web-${i}`, networks: [], ports: [], env: [] });
      containers[name] = {
        name,
        hostname: `web-${i}`,
        netns: `hwl-lk-none-${i}`,
        dir: join(stateDir, name),
        addresses: {},
        proc: ref,
        init: ref,
        forwarders: [],
        created: true,
        runAs: { uid: 0, gid: 0 },
      };
    });
    // One container whose recorded process is long gone: what `kill` saw after a lost update.
    const gone = spawnSync("true");
    expect(gone.status).toBe(0);
    plan.containers.push({ name: "lk-ghost", hostname: "ghost", networks: [], ports: [], env: [] });
    containers["lk-ghost"] = {
      name: "lk-ghost",
      hostname: "ghost",
      netns: "hwl-lk-none-g",
      dir: stateDir,
      addresses: {},
      proc: { pid: gone.pid, start: "1" },
      init: { pid: gone.pid, start: "1" },
      forwarders: [],
      created: true,
      runAs: { uid: 0, gid: 0 },
    };
    emptyState(stateDir, containers, plan);

    const kills = await Promise.all(sleepers.map((_, i) => runNode([cli, "kill", `web-${i}`, "--instance", "lk", "--state-dir", stateDir])));
    for (const [i, k] of kills.entries()) {
      expect({ i, status: k.status, stderr: k.stderr }).toEqual({ i, status: 0, stderr: "" });
      expect(k.stdout).toContain(`web-${i} killed`);
    }
    await waitUntil("every sleeper to be reaped", () => sleepers.every((c) => c.signalCode === "SIGKILL"), { timeoutMs: 5_000, intervalMs: 20 });
    const after = readState(stateDir)!;
    const recorded = sleepers.map((_, i) => after.containers[`lk-web-${i}`].stoppedAt).filter(Boolean);
    console.log(`state lock: ${N} parallel CLI kills, ${recorded.length} recorded as stopped`);
    expect(recorded).toHaveLength(N);

    const ghost = await runNode([cli, "kill", "ghost", "--instance", "lk", "--state-dir", stateDir]);
    expect(ghost.status).toBe(1);
    expect(ghost.stderr).toMatch(/ghost is not running according to .*state\.json \(recorded pid \d+\/\d+ is dead or no longer ours\): nothing killed/);
    expect(ghost.stdout).not.toContain("killed (namespace");
    await sleep(0);
  }, 60_000);
});
