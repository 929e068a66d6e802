/**
 * End-to-end: starts that survive the real world (the issue "Docker target:
 * maintained images, pinned, and starts that survive the real world"), on the
 * synthesized `local` Docker stack run for real by the lab. Its own lab
 * (instance `s`, state in `$TMPDIR/hwl-lab-s`, published ports moved by 100),
 * so it never collides with lab.test.ts; the two take turns (take-turns.ts).
 *
 * This lab runs with `dnsRunningOnly`, as Docker's embedded DNS does: a stopped
 * container's names do not resolve until it starts again. That is what makes
 * the first scenario real: Nginx started before its app finds no name at all.
 *
 *  1. The app starts 10 s after Nginx: Nginx's start script waits for the app's
 *     name (never exits), then Nginx starts and web-1 serves through HAProxy.
 *  2. `docker stop` during a replica's first bootstrap: the script stops at once,
 *     throws the half-made data directory away; the next start initializes
 *     cleanly, becomes healthy and replicates.
 *  3. A replica whose primary comes up 20 s after it: it waits (stays up, inside
 *     its health start period), then bootstraps and replicates.
 *  4. A graceful HAProxy stop under load: the image's stop signal (SIGUSR1, soft
 *     stop); every request HAProxy had accepted is answered, the ones that arrive
 *     after its listener closed are refused (counted); started again, it serves.
 *
 * Needs root and scripts/install-test-deps.sh's packages, like lab.test.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "fs";
import { join } from "path";
import { closedLoop, fixedRate, request, twoPartRequest } from "../../lab/load";
import { backendServers, entryUrl, haproxyStats, lookupFrom, sql, sqlText, stackOf } from "../../lab/probes";
import { Lab, StopResult } from "../../lab/runner";
import { StackFacts } from "../../lab/stack";
import { PATHS } from "../../templates/paths";
import { childPids, sleep, waitUntil } from "../../lab/sys";
import { describeWhenLabRuns, localStackLab } from "./bring-up";

const describeLab = describeWhenLabRuns("the lab start scenarios");

describeLab("the lab: starts that survive the real world", () => {
  // dnsRunningOnly: a stopped container's names stop resolving, as on Docker (scenario 1 needs it).
  const file = localStackLab({
    file: "starts.test.ts",
    what: "lab start scenarios",
    instance: "s",
    portOffset: 100,
    labOptions: { dnsRunningOnly: true },
  });
  const { t } = file;
  let lab: Lab;
  let stack: StackFacts;
  let url: string;
  let lb: string;
  let webNodes: string[];
  let primary: string;
  let replicas: string[];
  let database: string;

  /** A container's log from byte `from` on (the log accumulates across starts). */
  const logSince = (host: string, from: number) => {
    try {
      return readFileSync(lab.logFile(host)).subarray(from).toString("utf8");
    } catch {
      return "";
    }
  };
  const logSize = (host: string) => (existsSync(lab.logFile(host)) ? statSync(lab.logFile(host)).size : 0);
  /** The directory standing in for a database container's data volume (the backup source also mounts the store and its metrics). */
  const volumeDir = (host: string) => {
    const { spec } = lab.container(host);
    const data = spec.volumes.filter((v) => v.containerPath === PATHS.mysqlVolume);
    expect(data).toHaveLength(1);
    return lab.requireState().volumes.find((v) => v.name === data[0].volume)!.dir;
  };
  /** `docker volume rm` + create: the volume is empty again (the runner's directory, recreated as it made it). */
  const wipeVolume = (host: string) => {
    const dir = volumeDir(host);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o755 });
    return dir;
  };
  const cmdline = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
      return "";
    }
  };
  const comm = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      return "?";
    }
  };
  /** A write through the load balancer, retried (bounded) while the app reconnects to the writer. */
  const writeThroughLb = async (name: string, timeoutMs: number) => {
    let last = { status: 0, body: "" };
    let attempts = 0;
    await waitUntil(
      `a write through the load balancer (${name})`,
      async () => {
        attempts++;
        last = await request(`${url}/api/items`, { method: "POST", body: { name }, timeoutMs: 8000 });
        return last.status === 201;
      },
      { timeoutMs, intervalMs: 250 },
    );
    return { id: (JSON.parse(last.body) as { id: number }).id, attempts };
  };
  /** The replica has everything the primary wrote (GTID), replicates with both threads, and has row `id`. */
  const expectReplicating = async (replica: string, id: number) => {
    await waitUntil(`row ${id} on ${replica}`, () => sql(lab, replica, `SELECT COUNT(*) FROM ${database}.items WHERE id = ${id}`)[0]?.[0] === "1", {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const primaryPos = sql(lab, primary, "SELECT @@gtid_binlog_pos")[0][0];
    await waitUntil(`${replica} to reach GTID ${primaryPos}`, () => sql(lab, replica, "SELECT @@gtid_slave_pos")[0]?.[0] === primaryPos, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const status = sqlText(lab, replica, "SHOW SLAVE STATUS\\G");
    expect(status).toMatch(/Slave_IO_Running: Yes/);
    expect(status).toMatch(/Slave_SQL_Running: Yes/);
    expect(status).toMatch(/Using_Gtid: Slave_Pos/);
    return primaryPos;
  };

  beforeAll(() => {
    lab = file.lab;
    url = entryUrl(lab);
    stack = stackOf(lab);
    [lb] = stack.hostnames("load-balancer");
    webNodes = stack.hostnames("web");
    ({ primary, replicas } = stack.database());
    database = stack.app(stack.hostnames("app")[0]).databaseName;
    expect({ lb, webNodes: webNodes.length, primary, replicas: replicas.length }).toEqual({ lb: "lb-1", webNodes: 2, primary: "db-primary", replicas: 1 });
  });

  /*
   * Which variant this is: the strict one. On Docker a stopped container's name does not resolve,
   * so Nginx started before its app finds no name at all, and Nginx 1.22 refuses to start on an
   * upstream it cannot resolve ("host not found in upstream"): that is what the start script's
   * bounded wait is for. This lab runs with dnsRunningOnly, so the app's name is NXDOMAIN while it
   * is stopped (checked below) and the wait is exercised for real. (Without it the lab's DNS would
   * answer for the stopped app, Nginx would start at once and answer 502 until the app is up.)
   */
  test("1. the app starts 10 s after Nginx: Nginx waits for the app's name without exiting, then serves through the load balancer", async () => {
    const started = Date.now();
    const web = webNodes[0];
    const app = stack.appOf(web);
    expect(await lookupFrom(lab, web, app)).toEqual([expect.stringMatching(/^10\.231\./)]);
    const webStop = await lab.stop(web);
    const appStop = await lab.stop(app);
    // The images' stop signals: nginx's SIGQUIT (graceful), node's default SIGTERM; both exit well within their stop timeouts.
    expect({ web: webStop.signal, app: appStop.signal, killed: webStop.killed || appStop.killed }).toEqual({ web: "SIGQUIT", app: "SIGTERM", killed: false });
    // As on Docker, the stopped app's name is gone from the DNS that Nginx asks.
    expect(await lookupFrom(lab, web, app)).toBe("ENOTFOUND");

    const from = logSize(web);
    await lab.startContainer(web);
    const init = lab.container(web).state.init!;
    // 10 s without the app, sampled every 250 ms: the container's PID 1 (the start script) stays up and
    // waits; Nginx has not started (its health check fails); the script has said what it waits for.
    const samples: { up: boolean; comm: string }[] = [];
    const appAt = Date.now() + 10_000;
    for (let i = 0; i < 60 && Date.now() < appAt; i++) {
      samples.push({ up: lab.isUp(web) && lab.container(web).state.init?.pid === init.pid, comm: comm(init.pid) });
      await sleep(Math.min(250, Math.max(0, appAt - Date.now())));
    }
    expect(samples.length).toBeGreaterThanOrEqual(30);
    expect(samples.filter((s) => !s.up)).toEqual([]);
    // PID 1 is the lab's mount script, then chroot, then the start script (sh), and not yet nginx.
    expect(samples.filter((s) => !["sh", "chroot"].includes(s.comm))).toEqual([]);
    expect(samples[samples.length - 1].comm).toBe("sh");
    expect(lab.healthy(web)).toBe(false);
    const waiting = /waiting up to (\d+) s for the app host (\S+) to resolve/.exec(logSince(web, from));
    expect(waiting?.[2]).toBe(app);

    const appStarted = Date.now();
    await lab.startContainer(app);
    await lab.waitHealthy([app, web], 90_000);
    const healthyMs = Date.now() - appStarted;
    // The same process, now Nginx: it resolved the name, checked its config and exec'd nginx, once.
    expect(lab.container(web).state.init?.pid).toBe(init.pid);
    expect(comm(init.pid)).toBe("nginx");
    const log = logSince(web, from);
    expect(log).toMatch(new RegExp(`the app host ${app} resolves`));
    expect(log.match(/starting nginx/g)).toHaveLength(1);
    expect(log).not.toMatch(/did not resolve within/);

    // HAProxy takes web-1 back (after `rise` checks) and it serves /api/items through the load balancer.
    const { interMs, rise } = stack.loadBalancer(lb).check;
    const upMs = await waitUntil(`${web} UP in HAProxy`, async () => (await backendServers(lab, lb))[web]?.status === "UP", {
      timeoutMs: interMs * (rise + 2) + 10_000,
      intervalMs: 100,
    });
    const served = await closedLoop(`${url}/api/items`, { count: 40, concurrency: 2, timeoutMs: 20_000, headers: ["x-web-node"] });
    expect(served.ok).toBe(40);
    expect(served.byHeader["x-web-node"][web]).toBeGreaterThanOrEqual(40 / webNodes.length - 2);
    console.log(
      `1. app 10 s after Nginx: ${web} waited ${samples.length} samples (PID 1 ${init.pid} the start script throughout), app + Nginx healthy ${healthyMs} ms after the app's start, ` +
        `${web} UP in HAProxy ${upMs} ms later; next 40 GETs ${JSON.stringify(served.byHeader["x-web-node"])}; stops: ${web} ${webStop.signal} ${webStop.ms} ms, ${app} ${appStop.signal} ${appStop.ms} ms`,
    );
    t("1 app after nginx", started);
  }, 150_000);

  test("2. a stop during the replica's first bootstrap leaves no half-made data; the next start initializes cleanly and replicates", async () => {
    const started = Date.now();
    const replica = replicas[0];
    const { spec } = lab.container(replica);
    const first = await lab.stop(replica);
    expect(first.killed).toBe(false);
    const dir = wipeVolume(replica);
    /** The start script's private bootstrap server (a child of the container's PID 1, on its bootstrap socket). */
    const bootstrapServer = () => childPids(lab.container(replica).state.init?.pid ?? -1).find((pid) => cmdline(pid).includes("bootstrap.sock"));

    // Twice: stopped as soon as the bootstrap has begun (its log line, its temporary folder there: about
    // when the system tables are created; a TERM then takes effect once that step returns), then while
    // the private bootstrap server runs (it must be killed before its folder is removed).
    const interrupted: { at: string; afterStartMs: number; stop: StopResult; volume: string[] }[] = [];
    for (const at of ["bootstrap begun", "bootstrap server running"] as const) {
      const from = logSize(replica);
      const startedAt = Date.now();
      await lab.startContainer(replica);
      await waitUntil(
        `${replica}: ${at}`,
        () => {
          if (!(/initializing a new data directory/.test(logSince(replica, from)) && existsSync(join(dir, "data.initializing")))) return false;
          return at === "bootstrap begun" || bootstrapServer() !== undefined;
        },
        { timeoutMs: 60_000, intervalMs: 20 },
      );
      const afterStartMs = Date.now() - startedAt;
      const volume = readdirSync(dir);
      const stop = await lab.stop(replica);
      interrupted.push({ at, afterStartMs, stop, volume });
      const log = logSince(replica, from);
      // mariadb's image sets no STOPSIGNAL: SIGTERM. The script traps it (as PID 1, sh would ignore it
      // otherwise and the stop would wait out the stop timeout), stops and throws the folder away.
      expect(stop.signal).toBe("SIGTERM");
      expect(stop.killed).toBe(false);
      expect(stop.ms).toBeLessThan(spec.stopTimeoutSeconds * 1000);
      expect(volume).toEqual(["data.initializing"]);
      expect(log).toMatch(/TERM received while starting: stopping/);
      if (at === "bootstrap server running") expect(log).toMatch(/stopping the bootstrap server/);
      expect(log).toMatch(/removing the unfinished \S*data\.initializing/);
      expect(log).not.toMatch(/data directory initialized/);
      expect(readdirSync(dir)).toEqual([]);
    }

    // The next start: a clean initialization (nothing left over to remove, nothing refused).
    const from = logSize(replica);
    const restarted = Date.now();
    await lab.startContainer(replica);
    await lab.waitHealthy([replica], 120_000);
    const healthyMs = Date.now() - restarted;
    const log = logSince(replica, from);
    expect(log).toMatch(/initializing a new data directory/);
    expect(log).toMatch(/data directory initialized/);
    expect(log).not.toMatch(/left by an initialization|holds data but no|removing/);
    expect(readdirSync(dir).sort()).toEqual(["data"]);
    const { id, attempts } = await writeThroughLb("after-interrupted-bootstrap", 20_000);
    const pos = await expectReplicating(replica, id);
    console.log(
      `2. stop during bootstrap: ${interrupted.map((i) => `${i.at}: stopped ${i.afterStartMs} ms after the start (volume ${JSON.stringify(i.volume)}), ${i.stop.signal}, exited ${i.stop.ms} ms later, volume empty`).join("; ")}; ` +
        `next start healthy after ${healthyMs} ms; row ${id} (write attempts ${attempts}) replicated, GTID ${pos}`,
    );
    t("2 stop during bootstrap", started);
  }, 180_000);

  /**
   * How late the primary comes: 20 s. The replica builds its data directory meanwhile (nothing of it needs the
   * primary), then tries to reach it 0.2 s apart (each attempt fails at once, since with dnsRunningOnly the stopped
   * primary's name does not resolve); the script's own bound is 45 s (DATABASE_SCRIPT_DEFAULTS.primaryWaitSeconds,
   * polled every 0.2 s), beyond the 20 s. It was 60 s,
   * which proved nothing more: the assertions are the same (up throughout, its server not started, healthy within
   * the start period).
   */
  const PRIMARY_LATE_MS = 20_000;

  test("3. a replica whose primary comes up 20 s later waits without failing (its server not started), then replicates", async () => {
    const started = Date.now();
    const replica = replicas[0];
    const { spec } = lab.container(replica);
    const stops = [await lab.stop(replica), await lab.stop(primary)];
    expect(stops.map((s) => s.killed)).toEqual([false, false]);
    wipeVolume(replica);
    expect(await lookupFrom(lab, replica, primary)).toBe("ENOTFOUND");

    const from = logSize(replica);
    const replicaStarted = Date.now();
    await lab.startContainer(replica);
    const init = lab.container(replica).state.init!;
    // PRIMARY_LATE_MS without a primary, sampled every 250 ms: the replica's PID 1 stays up, waiting.
    const primaryAt = replicaStarted + PRIMARY_LATE_MS;
    let samples = 0;
    let down = 0;
    for (let i = 0; i < 150 && Date.now() < primaryAt; i++) {
      samples++;
      if (!(lab.isUp(replica) && lab.container(replica).state.init?.pid === init.pid)) down++;
      await sleep(Math.min(250, Math.max(0, primaryAt - Date.now())));
    }
    expect(down).toBe(0);
    // At least two thirds of the samples a 250 ms step allows: the wait was watched throughout, not once.
    expect(samples).toBeGreaterThanOrEqual(((PRIMARY_LATE_MS / 250) * 2) / 3);
    const waited = logSince(replica, from);
    // Still in its bounded wait (not given up), its server not started (its data directory may be built: that needs no primary).
    expect(waited).not.toMatch(/not reachable|starting mariadbd \(|exited/);

    const primaryStarted = Date.now();
    await lab.startContainer(primary);
    await lab.waitHealthy([primary], 60_000);
    const primaryHealthyMs = Date.now() - primaryStarted;
    await lab.waitHealthy([replica], 90_000);
    const replicaHealthyMs = Date.now() - primaryStarted;
    const sinceReplicaStart = Date.now() - replicaStarted;
    // Never "unhealthy" on Docker: healthy before its health check's start period ran out.
    expect(sinceReplicaStart).toBeLessThan(spec.healthcheck!.startPeriodMs);
    expect(lab.container(replica).state.init?.pid).toBe(init.pid);
    const log = logSince(replica, from);
    expect(log).toMatch(/primary \S+ is up/);
    expect(log).toMatch(/data directory initialized/);
    const { id, attempts } = await writeThroughLb("after-late-primary", 30_000);
    const pos = await expectReplicating(replica, id);
    console.log(
      `3. primary ${PRIMARY_LATE_MS / 1000} s late: replica up throughout (${samples} samples), primary healthy ${primaryHealthyMs} ms after its start, replica healthy ${replicaHealthyMs} ms after the primary's start ` +
        `(${sinceReplicaStart} ms after its own; start period ${spec.healthcheck!.startPeriodMs} ms); row ${id} (write attempts ${attempts}) replicated, GTID ${pos}`,
    );
    t("3 late primary", started);
  }, 150_000);

  test("4. a graceful HAProxy stop under load: every accepted request is answered, later ones are refused; started again, it serves", async () => {
    const started = Date.now();
    const { spec } = lab.container(lb);
    const frontendSessions = async () => Number((await haproxyStats(lab, lb)).find((r) => r.svname === "FRONTEND" && r.pxname !== "stats")?.scur ?? NaN);
    const lbLogFrom = logSize(lb);
    const eventsBefore = lab.forwarderEvents(lb).length;
    const rate = 50;
    const durationMs = 6000;
    let stopOffsetMs = NaN;
    const { summary, during } = await fixedRate(
      `${url}/api/items`,
      {
        rate,
        durationMs,
        timeoutMs: 10_000,
        keepAlive: false,
        path: (i) => `/api/items?probe=${i}`,
      },
      async (elapsed) => {
        await sleep(2000);
        // Requests in flight on purpose: POSTs whose bodies are half sent; HAProxy holds them (its sessions).
        const slow = Array.from({ length: 4 }, (_, i) => twoPartRequest(`${url}/api/items`, { body: { name: `in-flight-${i}` }, timeoutMs: 20_000 }));
        await Promise.all(slow.map((s) => s.headersSent));
        const sessionsMs = await waitUntil("HAProxy to hold the in-flight POSTs", async () => (await frontendSessions()) >= slow.length, {
          timeoutMs: 3000,
          intervalMs: 25,
        });
        stopOffsetMs = elapsed();
        const stopping = lab.stop(lb);
        await sleep(1000);
        // Soft-stopping: still running, because of the POSTs it holds.
        const upWhileSoftStopping = lab.isUp(lb);
        for (const s of slow) s.sendRest();
        const slowResults = await Promise.all(slow.map((s) => s.result));
        const stop = await stopping;
        return { slowResults, stop, upWhileSoftStopping, sessionsMs };
      },
    );
    const { slowResults, stop, upWhileSoftStopping } = during!;
    const events = lab.forwarderEvents(lb).slice(eventsBefore);
    const refused = events.filter((e) => e.kind === "refused");
    const dropped = events.filter((e) => e.kind === "dropped");
    // HAProxy's own log (httplog, one line per answered request): which probes it answered, with what.
    const logged = [...logSince(lb, lbLogFrom).matchAll(/ (\d{3}) \d+ \S+ \S+ (\S{4}) .*"GET \/api\/items\?probe=(\d+) /g)].map((m) => ({
      status: m[1],
      term: m[2],
      probe: Number(m[3]),
    }));
    const report = {
      signal: stop.signal,
      stopMs: stop.ms,
      killed: stop.killed,
      upWhileSoftStopping,
      stopAtMs: Math.round(stopOffsetMs),
      slow: slowResults.map((r) => r.status),
      sent: summary.sent,
      ok: summary.ok,
      failed: summary.errors + summary.non2xx,
      byStatus: summary.byStatus,
      refused: refused.length,
      dropped: dropped.length,
      haproxyLogged: logged.length,
      firstFailureAtMs: summary.failures[0]?.atMs,
    };
    console.log(
      `4. graceful HAProxy stop under ${rate} GET/s (a connection each): ${JSON.stringify(report)}; failures ${JSON.stringify(summary.failures.slice(0, 3))}`,
    );

    // The image's stop signal: HAProxy's soft stop, done long before the stop timeout (and its own hard-stop-after 30 s).
    expect(stop.signal).toBe("SIGUSR1");
    expect(stop.killed).toBe(false);
    expect(stop.ms).toBeLessThan(spec.stopTimeoutSeconds * 1000);
    expect(upWhileSoftStopping).toBe(true);
    // Requests in flight when the stop began: every one answered.
    expect(slowResults.map((r) => r.status)).toEqual(slowResults.map(() => 201));
    // Every GET either got its 200 or was refused at the door (the forwarder could not connect to a
    // closed listener): none that HAProxy had accepted was cut, none answered with an error.
    expect(summary.non2xx).toBe(0);
    expect(dropped).toEqual([]);
    expect(summary.errors).toBe(refused.length);
    expect(summary.ok + refused.length).toBe(summary.sent);
    // HAProxy logged exactly the GETs the clients got a 200 for, each a normal end (no termination flags).
    expect(logged.filter((l) => l.status !== "200" || !/^-{2}/.test(l.term))).toEqual([]);
    expect(logged.length).toBe(summary.ok);
    expect(refused.length).toBeGreaterThan(0);
    expect(summary.ok).toBeGreaterThan(0);

    // Started again, it serves.
    const restarted = Date.now();
    await lab.startContainer(lb);
    await lab.waitHealthy([lb], 60_000);
    const back = await closedLoop(`${url}/api/items`, { count: 20, concurrency: 2, timeoutMs: 20_000, headers: ["x-lb-node"] });
    expect(back.ok).toBe(20);
    expect(back.byHeader["x-lb-node"]).toEqual({ [lb]: 20 });
    console.log(`4. ${lb} started again: healthy after ${Date.now() - restarted} ms, next 20 GETs all 200`);
    t("4 graceful haproxy stop", started);
  }, 120_000);
});
