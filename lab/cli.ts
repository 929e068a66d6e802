/**
 * npm run lab -- <command>
 *
 *   up [--no-synth] [--stack FILE]   synthesize (npm run synth), bring the `local` stack up, wait for health
 *   status                           each node: role, running, healthy, addresses; HAProxy's view of its backends
 *   kill NODE                        SIGKILL the container (its whole process tree); namespace, files and volume stay
 *   stop NODE                        the stop signal (stop_signal, else the image's STOPSIGNAL, else SIGTERM), SIGKILL after stop_timeout
 *   start NODE                       start a killed/stopped container again (same entrypoint and command)
 *   restart NODE                     stop, then start
 *   exec NODE -- CMD...              run a command inside a container
 *   promote [REPLICA]                database failover: the stack's ha-web-db-failover (fences a reachable primary,
 *                                    promotes the most advanced replica, or REPLICA), then the writer's alias moves to it
 *   rejoin NODE                      the old primary, restarted, replicates from the new one (refused on errant GTIDs)
 *   db-status                        ha-web-db-failover status: every database node's role, GTID position, replication
 *   backup [full|incremental]        ha-web-backup on the cluster's backup source (default: full), into its store volume
 *   restore (--to "YYYY-MM-DD HH:MM:SS" | --latest | --gtid G | --seed-replica) [--into NODE] [--keep]
 *                                    ha-web-restore into a fresh directory on the store's volume, then a throwaway server
 *                                    on it (no listener, private socket): GTID position, rows per table, time; stopped and
 *                                    removed unless --keep (then it prints how to query and stop it); --seed-replica: the
 *                                    newest backup, and the throwaway server replicates from the writer by GTID
 *   logs NODE [LINES]                the tail of a container's log
 *   down                             remove everything the state file records
 *
 * Options: --instance ID (default "a"), --state-dir DIR, --port-offset N, --lock-wait SECONDS (default 120);
 * for `up`, --dns-running-only (a stopped container's names stop resolving, as with Docker's DNS; recorded in the state).
 * NODE is a hostname (web-1) or a container name (haweb-web-1).
 *
 * Every command that changes the state file (up, kill, stop, start, restart, promote, rejoin, down) holds
 * the state dir's lock (lab/state.ts lockState) while it reads, changes and rewrites it, and re-reads the
 * state once it holds it: two commands run at once take turns instead of losing each other's changes.
 * `start`/`restart` release it before waiting for health. A lock whose holder died is taken over; a live
 * holder is waited for at most --lock-wait seconds, then the command fails naming the holder.
 * `kill` re-checks the processes before it reports: it fails if the container was not running (its
 * recorded PID is dead or belongs to another process now), if it survived, or if a process the state
 * does not record is still running in its network namespace.
 */
import { spawnSync } from "child_process";
import { join } from "path";
import { repoRoot, tail } from "./host";
import { describeRestore, restore, RestoreTarget, runBackup } from "./backup";
import { promote, rejoin, runFailoverScript } from "./failover";
import { backendServers, entryUrl, holdersOf, stackOf } from "./probes";
import { Lab } from "./runner";
import { lockState, readState, StateLock } from "./state";
import { alive, sh } from "./sys";

/** The commands that change the state file: they run holding its lock. */
const STATE_CHANGING = new Set(["up", "kill", "stop", "start", "restart", "promote", "rejoin", "down"]);

function parse(argv: string[]) {
  const opts: {
    instance?: string;
    stateDir?: string;
    portOffset?: number;
    synth: boolean;
    stack?: string;
    dnsRunningOnly?: boolean;
    lockWaitSeconds?: number;
  } = { synth: true };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    } else if (a === "--instance") opts.instance = argv[++i];
    else if (a === "--state-dir") opts.stateDir = argv[++i];
    else if (a === "--port-offset") opts.portOffset = Number(argv[++i]);
    else if (a === "--stack") opts.stack = argv[++i];
    else if (a === "--no-synth") opts.synth = false;
    else if (a === "--dns-running-only") opts.dnsRunningOnly = true;
    else if (a === "--lock-wait") opts.lockWaitSeconds = Number(argv[++i]);
    else rest.push(a);
  }
  return { opts, rest };
}

async function main(argv: string[]): Promise<number> {
  const { opts, rest } = parse(argv);
  const [command, ...args] = rest;
  const log = (line: string) => console.log(line);
  const lab = new Lab({ instance: opts.instance, stateDir: opts.stateDir, portOffset: opts.portOffset, dnsRunningOnly: opts.dnsRunningOnly, log });
  if (!STATE_CHANGING.has(command)) return run(lab, command, args, opts, () => undefined);
  const lockWait = opts.lockWaitSeconds ?? 120;
  if (!(lockWait >= 0)) throw new Error(`--lock-wait ${opts.lockWaitSeconds}: give a number of seconds >= 0`);
  const lock: StateLock = await lockState(lab.stateDir, rest.join(" "), { timeoutMs: lockWait * 1000 });
  try {
    // What another command wrote while this one waited for the lock.
    lab.state = readState(lab.stateDir);
    return await run(lab, command, args, opts, () => lock.release());
  } finally {
    lock.release();
  }
}

async function run(lab: Lab, command: string, args: string[], opts: ReturnType<typeof parse>["opts"], unlock: () => void): Promise<number> {
  const log = (line: string) => console.log(line);
  const root = repoRoot();
  switch (command) {
    case "up": {
      if (lab.state && lab.isRunning()) throw new Error(`a lab is already running (state ${lab.stateFile}): run \`npm run lab -- down\` first`);
      let stack = opts.stack ?? join(root, "cdktf.out", "stacks", "local", "cdk.tf.json");
      if (opts.synth && !opts.stack) {
        log("synthesizing: npm run synth");
        const r = spawnSync("npm", ["run", "--silent", "synth"], { cwd: root, stdio: "inherit", timeout: 300_000 });
        if (r.status !== 0) throw new Error("npm run synth failed");
      }
      stack = join(stack);
      log(`bringing up ${stack}`);
      const t0 = Date.now();
      await lab.up(stack).catch((e: Error) => {
        throw new Error(lab.state ? `${e.message}\n\nThe partial lab is recorded in ${lab.stateFile}: \`npm run lab -- down\` removes it.` : e.message);
      });
      log(`\nlab up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      await printStatus(lab);
      const entry = entryUrl(lab);
      log(`\nentry: ${entry}   try: curl -ksi ${entry}/api/items   (the stack's certificate is self-signed: -k)`);
      return 0;
    }
    case "status":
      if (!lab.state) {
        log(`no lab (no ${lab.stateFile})`);
        return 1;
      }
      await printStatus(lab);
      return 0;
    case "kill":
    case "stop":
    case "start":
    case "restart": {
      const node = args[0];
      if (!node) throw new Error(`usage: npm run lab -- ${command} NODE`);
      if (command === "kill") {
        const problem = await killChecked(lab, node);
        if (problem) {
          console.error(`lab: kill ${node}: ${problem}`);
          return 1;
        }
      }
      if (command === "stop") {
        const r = await lab.stop(node);
        log(`${node}: ${r.signal}, exited after ${(r.ms / 1000).toFixed(1)} s${r.killed ? " (stop timeout ran out: SIGKILLed)" : ""}`);
      }
      if (command === "restart") await lab.restart(node);
      if (command === "start") await lab.startContainer(node);
      if (command === "start" || command === "restart") {
        // Started and recorded: the health wait only reads, and must not hold up another command.
        unlock();
        const ms = await lab.waitHealthy([node], 180_000);
        log(`${node} started, healthy after ${(ms / 1000).toFixed(1)} s`);
      } else log(`${node} ${command === "kill" ? "killed" : "stopped"} (namespace, files and volume kept: \`npm run lab -- start ${node}\`)`);
      return 0;
    }
    case "promote": {
      const r = await promote(lab, args[0]);
      process.stdout.write(r.output);
      if (r.newPrimary) log(`\nwriter alias moved to ${r.writerOwner}; promote took ${(r.ms / 1000).toFixed(1)} s`);
      return r.status ?? 1;
    }
    case "rejoin":
    case "db-status": {
      if (command === "rejoin" && !args[0]) throw new Error("usage: npm run lab -- rejoin NODE");
      const r = command === "rejoin" ? await rejoin(lab, args[0]) : await runFailoverScript(lab, ["status"]);
      process.stdout.write(r.output);
      return r.status ?? 1;
    }
    case "backup": {
      const kind = args[0] ?? "full";
      if (kind !== "full" && kind !== "incremental") throw new Error("usage: npm run lab -- backup [full|incremental]");
      const r = await runBackup(lab, kind);
      process.stdout.write(r.output);
      if (r.id) log(`\n${kind} backup ${r.id} on ${r.node} took ${(r.ms / 1000).toFixed(1)} s`);
      return r.status ?? 1;
    }
    case "restore": {
      const usage = 'usage: npm run lab -- restore (--to "YYYY-MM-DD HH:MM:SS" | --latest | --gtid G | --seed-replica) [--into NODE] [--keep]';
      let target: RestoreTarget | undefined;
      let into: string | undefined;
      let keep = false;
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const value = () => {
          const v = args[++i];
          if (v === undefined) throw new Error(`${a} needs a value\n${usage}`);
          return v;
        };
        if (a === "--to") target = { to: value() };
        else if (a === "--gtid") target = { gtid: value() };
        else if (a === "--latest") target = { latest: true };
        else if (a === "--seed-replica") target = { seedReplica: true };
        else if (a === "--into") into = value();
        else if (a === "--keep") keep = true;
        else throw new Error(`unknown argument ${a}\n${usage}`);
      }
      if (!target) throw new Error(usage);
      const r = await restore(lab, target, { into, keep });
      log(describeRestore(r));
      if (r.socket) {
        log(`\nkept running: npm run lab -- exec ${r.node} -- mariadb --no-defaults --socket=${r.socket} --user=root`);
        log(
          `stop it: npm run lab -- exec ${r.node} -- sh -c 'mariadb-admin --no-defaults --socket=${r.socket} --user=root shutdown && rm -rf ${r.dir} ${r.socket.replace(/\/mysqld\.sock$/, "")}'`,
        );
      }
      return r.status ?? 1;
    }
    case "exec": {
      const node = args[0];
      const cmd = args.slice(args.indexOf("--") + 1);
      if (!node || args.indexOf("--") < 0 || cmd.length === 0) throw new Error("usage: npm run lab -- exec NODE -- CMD...");
      const r = lab.exec(node, cmd, { check: false, timeoutMs: 60_000 });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.status ?? 1;
    }
    case "logs": {
      const { spec } = lab.container(args[0] ?? "");
      log(tail(lab.logFile(spec.hostname), Number(args[1] ?? 50)));
      return 0;
    }
    case "down": {
      const removed = await lab.down();
      log(removed.length > 0 ? `removed:\n  ${removed.join("\n  ")}` : "nothing to remove");
      return 0;
    }
    default:
      console.error(
        "usage: npm run lab -- up|status|kill NODE|stop NODE|start NODE|restart NODE|exec NODE -- CMD|logs NODE|promote [REPLICA]|rejoin NODE|db-status|backup [full|incremental]|restore (--to TIME|--latest|--gtid G|--seed-replica) [--into NODE] [--keep]|down [--instance ID] [--port-offset N] [--no-synth] [--stack FILE] [--dns-running-only]",
      );
      return 2;
  }
}

/**
 * `kill NODE`, re-checked: the reason it did not kill the container, or undefined.
 * Before: the recorded process must be alive and still ours (same PID and start
 * time). After: it must be gone, and nothing the state does not record (its DNS
 * server and port forwarders are recorded) may be left in its network namespace,
 * which is what a lost state update looks like.
 */
async function killChecked(lab: Lab, node: string): Promise<string | undefined> {
  const { spec, state: cs } = lab.container(node);
  const strays = () => {
    if (spec.networkOf !== undefined) return [];
    const recorded = new Set([cs.dns?.pid, ...cs.forwarders.map((f) => f.pid)]);
    return sh("ip", ["netns", "pids", cs.netns], { check: false })
      .stdout.split("\n")
      .filter(Boolean)
      .map(Number)
      .filter((pid) => !recorded.has(pid));
  };
  if (!lab.isUp(spec.name)) {
    const pids = [cs.init?.pid, cs.proc?.pid].filter((p) => p !== undefined).join("/");
    const left = strays();
    return `${spec.hostname} is not running according to ${lab.stateFile} (recorded pid ${pids || "none"} is dead or no longer ours): nothing killed${
      left.length > 0 ? `; processes the state does not record run in its namespace ${cs.netns}: ${left.join(" ")} (\`npm run lab -- down\` removes them)` : ""
    }`;
  }
  await lab.kill(spec.name);
  if (alive(cs.init) || alive(cs.proc)) return `${spec.hostname} is still alive (pid ${cs.init?.pid}/${cs.proc?.pid})`;
  const left = strays();
  if (left.length > 0) return `${spec.hostname} was killed, but processes the state does not record still run in its namespace ${cs.netns}: ${left.join(" ")}`;
  return undefined;
}

/** The runner's view of every container, its role from the stack's labels, and HAProxy's view of its backends. */
async function printStatus(lab: Lab) {
  const stack = stackOf(lab);
  const roles = stack.roles();
  const rows = lab.status();
  const table = rows.map((r) => [
    r.hostname,
    roles[r.name],
    r.running ? (r.healthy ? "healthy" : "running") : "stopped",
    Object.values(r.addresses).join(" "),
    r.ports.join(" "),
  ]);
  const head = ["node", "role", "state", "addresses", "published"];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  console.log(
    [head, ...table]
      .map((r) =>
        r
          .map((v, i) => v.padEnd(widths[i]))
          .join("  ")
          .trimEnd(),
      )
      .join("\n"),
  );
  const runningLbs = stack.hostnames("load-balancer").filter((lb) => rows.find((r) => r.hostname === lb)?.running);
  const floating = [...new Set(stack.hostnames("load-balancer").map((lb) => stack.loadBalancer(lb).floatingAddress))].filter((a): a is string => !!a);
  for (const address of floating) {
    const holders = holdersOf(lab, address);
    console.log(`\nshared address ${address}: held by ${holders.join(", ") || "nobody"} (reach it from a namespace on its network, not from the host)`);
  }
  for (const lb of runningLbs) {
    try {
      const servers = Object.values(await backendServers(lab, lb));
      console.log(`\n${lb} backends: ${servers.map((s) => `${s.svname}=${s.status} (${s.stot} req)`).join(", ")}`);
    } catch (e) {
      console.log(`\n${lb}: stats unavailable (${(e as Error).message})`);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`lab: ${e.message}`);
    process.exit(1);
  },
);
