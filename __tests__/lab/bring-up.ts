/**
 * What every end-to-end lab file does first: synthesize the `local` stack
 * exactly as `cdktf synth` writes it (cdk.tf.json plus its assets) into a temp
 * outdir, and bring it up in a lab of its own. One place, so the files cannot
 * drift apart in how they prepare the stack they test.
 */
import { App } from "cdktf";
import { existsSync, mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { checkPrereqs, prereqMessage } from "../../lab/prereqs";
import { Lab, LabOptions } from "../../lab/runner";
import type { SeedStackOptions } from "../../examples/seed-stack";

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
 * Synthesizes the `local` example stack (with `stackOptions`: declareSeedStack's,
 * e.g. the monitoring tier's receiver and timings), then `lab.up` on it; refuses to
 * run over another live run of the same instance.
 */
export async function bringUpLocalStack(
  options: LabOptions & { instance: string; stateDir: string },
  onOutdir: (outdir: string) => void,
  stackOptions: SeedStackOptions = {},
): Promise<Lab> {
  if (!existsSync(join(__dirname, "..", "..", "dist", "app", "server.js"))) {
    throw new Error("dist/app/server.js is missing: run `npm run build` first (npm test does)");
  }
  const outdir = mkdtempSync(join(tmpdir(), "hwl-synth-"));
  // Registered before anything can fail, so afterAll removes it whatever happens next.
  onOutdir(outdir);
  // Loaded lazily: only when the lab can run at all.
  const { LocalStack } = require("../../main") as typeof import("../../main");
  const app = new App({ outdir });
  new LocalStack(app, "local", stackOptions);
  app.synth();

  const lab = new Lab(options);
  if (lab.state && lab.isRunning() && !lab.isStale()) {
    throw new Error(
      `another run of instance "${options.instance}" is active (state ${lab.stateFile}); if it is a leftover, remove it with \`npm run lab -- down --instance ${options.instance} --state-dir ${options.stateDir}\``,
    );
  }
  try {
    await lab.up(join(outdir, "stacks", "local", "cdk.tf.json"), { owner: process.pid, healthTimeoutMs: 150_000 });
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
