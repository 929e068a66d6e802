/**
 * What every end-to-end lab file does first: synthesize the `local` stack
 * exactly as `cdktf synth` writes it (cdk.tf.json plus its assets; once per
 * configuration and jest run), take its turn, and bring the stack up in a lab
 * of its own; and last: take it down and check nothing is left. One place
 * (localStackLab), so the files cannot drift apart in how they prepare and
 * remove the stack they test.
 */
import { createHash } from "crypto";
import { App } from "cdktf";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { listNetns } from "../../lab/host";
import { checkPrereqs, prereqMessage } from "../../lab/prereqs";
import { Lab, LabOptions } from "../../lab/runner";
import type { SeedStackOptions } from "../../examples/seed-stack";
import { takeLabTurn } from "./take-turns";

/**
 * The Debian packages of the local stack's built images (build_args.PACKAGES): keepalived
 * and ip for the load-balancer pair, and the monitoring tier's programs.
 */
export const LOCAL_STACK_PACKAGES = [
  "iproute2",
  "keepalived",
  "prometheus",
  "prometheus-alertmanager",
  "prometheus-nginx-exporter",
  "prometheus-mysqld-exporter",
] as const;

/**
 * `describe` when this machine can run the local stack in the lab (the servers
 * the images stand for, the packages its built images add, plus the packages and
 * problems a file adds); else `describe.skip` with a warning naming `what` —
 * never in CI, where a missing prerequisite fails the run.
 */
export function describeWhenLabRuns(what: string, extra: { packages?: string[]; problems?: readonly string[] } = {}): jest.Describe {
  const r = checkPrereqs(["haproxy:2.6", "nginx:1.22", "mariadb:10.11", "node:20-bookworm-slim", "debian:trixie-slim"], {
    packages: [...LOCAL_STACK_PACKAGES, ...(extra.packages ?? [])],
  });
  const problems = [...(r.ok ? [] : [prereqMessage(r)]), ...(extra.problems ?? [])];
  if (problems.length === 0) return describe;
  const unavailable = problems.join("\n");
  if (process.env.CI && process.env.CI !== "false") throw new Error(`CI must run the lab end-to-end tests, never skip them:\n${unavailable}`);
  console.warn(`\n*** SKIPPING ${what} (CI is not set) ***\n${unavailable}\n`);
  return describe.skip;
}

/**
 * The `local` example stack synthesized with `stackOptions` (declareSeedStack's),
 * exactly as `cdktf synth` writes it (cdk.tf.json plus its assets): the path of
 * its cdk.tf.json. Synthesized once per configuration and jest run: kept in the
 * run's own directory (`$HA_WEB_TEST_RUN_DIR/lab-synth/<hash of the options>`,
 * written aside and renamed into place, so two workers never see half of one),
 * which the global teardown removes with the run. Nothing in it is per lab: the
 * lab reads it, and generates its secrets and TLS material into its own state
 * dir. Outside a jest run (no run dir) it is synthesized into a temp dir handed
 * to `onOutdir`, for the caller to remove.
 */
export function synthLocalStack(stackOptions: SeedStackOptions = {}, onOutdir?: (outdir: string) => void): string {
  const stackFile = (outdir: string) => join(outdir, "stacks", "local", "cdk.tf.json");
  const synth = (outdir: string) => {
    // Loaded lazily: only when a file needs the stack.
    const { LocalStack } = require("../../main") as typeof import("../../main");
    const app = new App({ outdir });
    new LocalStack(app, "local", stackOptions);
    app.synth();
  };
  const runDir = process.env.HA_WEB_TEST_RUN_DIR;
  if (!runDir || !existsSync(runDir)) {
    const outdir = mkdtempSync(join(tmpdir(), "hwl-synth-"));
    // Registered before anything can fail, so the caller removes it whatever happens next.
    onOutdir?.(outdir);
    synth(outdir);
    return stackFile(outdir);
  }
  const key = createHash("sha256").update(JSON.stringify(stackOptions)).digest("hex").slice(0, 16);
  const cached = join(runDir, "lab-synth", key);
  if (existsSync(stackFile(cached))) return stackFile(cached);
  mkdirSync(join(runDir, "lab-synth"), { recursive: true });
  const aside = mkdtempSync(`${cached}.${process.pid}-`);
  try {
    synth(aside);
    renameSync(aside, cached);
  } catch (error) {
    rmSync(aside, { recursive: true, force: true });
    // Another worker renamed its copy into place first: the same configuration, so the same stack.
    if (!existsSync(stackFile(cached))) throw error;
  }
  return stackFile(cached);
}

/**
 * Synthesizes the `local` example stack (with `stackOptions`: declareSeedStack's,
 * e.g. the monitoring tier's receiver and timings; synthLocalStack: once per
 * configuration), then `lab.up` on it; refuses to run over another live run of
 * the same instance.
 */
export async function bringUpLocalStack(
  options: LabOptions & { instance: string; stateDir: string },
  onOutdir: (outdir: string) => void,
  stackOptions: SeedStackOptions = {},
): Promise<Lab> {
  if (!existsSync(join(__dirname, "..", "..", "dist", "app", "server.js"))) {
    throw new Error("dist/app/server.js is missing: run `npm run build` first (npm test does)");
  }
  const stackFile = synthLocalStack(stackOptions, onOutdir);

  const lab = new Lab(options);
  if (lab.state && lab.isRunning() && !lab.isStale()) {
    throw new Error(
      `another run of instance "${options.instance}" is active (state ${lab.stateFile}); if it is a leftover, remove it with \`npm run lab -- down --instance ${options.instance} --state-dir ${options.stateDir}\``,
    );
  }
  try {
    await lab.up(stackFile, { owner: process.pid, healthTimeoutMs: 150_000 });
  } catch (error) {
    // The caller never gets this lab to take down: remove what the failed bring-up created (the state records it).
    if (lab.state?.owner?.pid === process.pid) await lab.down().catch(() => undefined);
    throw error;
  }
  return lab;
}

/** Takes the lab down, removes the synth outdir and gives up the file's turn (take-turns), whatever failed before. */
export async function tearDown(lab: Lab | undefined, outdir: string | undefined, releaseTurn?: () => void): Promise<void> {
  try {
    if (lab) await lab.down();
  } finally {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
    releaseTurn?.();
  }
}

/** What localStackLab gives a lab file: its lab once beforeAll has brought it up, and its timings. */
export interface LocalStackLab {
  /** The running lab (set by the beforeAll localStackLab registers). */
  readonly lab: Lab;
  /** Named durations (ms), printed by the afterAll. */
  readonly timings: Record<string, number>;
  /** Records `Date.now() - started` as timings[name]. */
  t(name: string, started: number): void;
}

/**
 * The bring-up every end-to-end lab file does, in one place: registers (in the
 * calling describe) a beforeAll that waits for the file's turn (take-turns.ts),
 * brings up the `local` stack in a lab of its own (instance `instance`, state in
 * `$TMPDIR/hwl-lab-<instance>`, published ports at LAB_PORT_OFFSET +
 * `portOffset`) and then runs `afterUp`; and an afterAll that runs
 * `beforeDown`, takes the lab down and gives up the turn whatever failed,
 * prints the timings and checks that nothing of the lab is left (no
 * namespace, no state dir).
 */
export function localStackLab(opts: {
  /** The test file, for the messages (e.g. "lab.test.ts"). */
  file: string;
  /** What the printed timings are of (e.g. "lab start scenarios"). */
  what: string;
  instance: string;
  /** Added to LAB_PORT_OFFSET: each file its own published ports. */
  portOffset: number;
  /** How long to wait for the other lab files. @default 420_000 */
  turnWaitMs?: number;
  /** More LabOptions (dnsRunningOnly). */
  labOptions?: Pick<LabOptions, "dnsRunningOnly">;
  /** declareSeedStack's options for the synthesized stack. @default {} */
  stackOptions?: SeedStackOptions;
  /** Runs after `up` (attached clients, receivers), inside the bring-up's timing. */
  afterUp?: (lab: Lab) => Promise<void> | void;
  /** Runs before `down`, if the lab came up (detach clients); a failure here does not stop the teardown. */
  beforeDown?: (lab: Lab) => Promise<void> | void;
}): LocalStackLab {
  const stateDir = join(tmpdir(), `hwl-lab-${opts.instance}`);
  const turnWaitMs = opts.turnWaitMs ?? 420_000;
  let lab: Lab | undefined;
  let outdir: string | undefined;
  let releaseTurn: (() => void) | undefined;
  const timings: Record<string, number> = {};
  const t = (name: string, started: number) => {
    timings[name] = Date.now() - started;
  };
  beforeAll(async () => {
    const turn = await takeLabTurn(opts.file, turnWaitMs);
    releaseTurn = turn.release;
    timings["waited for the other lab files"] = turn.waitedMs;
    const started = Date.now();
    lab = await bringUpLocalStack(
      {
        instance: opts.instance,
        stateDir,
        portOffset: Number(process.env.LAB_PORT_OFFSET ?? 0) + opts.portOffset,
        log: () => undefined,
        ...opts.labOptions,
      },
      (dir) => {
        outdir = dir;
      },
      opts.stackOptions,
    );
    t("bring-up (synth + up + healthy)", started);
    if (opts.afterUp) {
      const afterUpStarted = Date.now();
      await opts.afterUp(lab);
      t("after bring-up", afterUpStarted);
    }
  }, turnWaitMs + 240_000);
  afterAll(async () => {
    const started = Date.now();
    try {
      if (lab?.state && opts.beforeDown) await opts.beforeDown(lab);
    } finally {
      await tearDown(lab, outdir, releaseTurn);
    }
    t("teardown", started);
    console.log(`${opts.what}, timings (ms): ${JSON.stringify(timings)}`);
    expect(listNetns().filter((n) => n.startsWith(`hwl-${opts.instance}-`))).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
  }, 60_000);
  return {
    get lab() {
      if (!lab) throw new Error(`${opts.file}: the lab is not up (its beforeAll failed or has not run)`);
      return lab;
    },
    timings,
    t,
  };
}
