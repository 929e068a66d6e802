/**
 * End-to-end: the synthesized `local` Docker stack, run for real by the lab
 * (real HAProxy, Nginx, MariaDB and the demo app, one network namespace per
 * container), and the seed's promises checked against it. One bring-up serves
 * all six scenarios, in order; afterAll removes everything it created.
 *
 * Which container is the load balancer, a web node, an app server, the primary or
 * a replica, HAProxy's check timing and stats port, the database engine and the
 * writer's address all come from the stack's own labels (lab/stack.ts).
 *
 * Needs root and the Debian packages of scripts/install-test-deps.sh. In CI
 * (CI=true) a missing prerequisite fails the suite; elsewhere it skips with the
 * reason printed.
 */
import { readdirSync, readFileSync } from "fs";
import * as http from "http";
import * as https from "https";
import { join } from "path";
import { tail } from "../../lab/host";
import { agentFor, assertLoopback, closedLoop, fixedRate, HttpResult, LoadSummary, request } from "../../lab/load";
import { backendServers, entryUrl, haproxyStats, sql, sqlText, stackOf, watchServerStatus } from "../../lab/probes";
import { promote, rejoin } from "../../lab/failover";
import { Lab } from "../../lab/runner";
import { StackFacts } from "../../lab/stack";
import { ProcRef, signalRef, sleep, waitUntil } from "../../lab/sys";
import { describeWhenLabRuns, localStackLab } from "./bring-up";

const describeLab = describeWhenLabRuns("the lab end-to-end tests");

describeLab("the lab: the synthesized local Docker stack, run for real", () => {
  const file = localStackLab({ file: "lab.test.ts", what: "lab", instance: "t", portOffset: 0 });
  const { t } = file;
  let lab: Lab;
  let stack: StackFacts;
  let url: string;
  let lb: string;
  let webNodes: string[];
  let apps: string[];
  let primary: string;
  let replicas: string[];
  /** The name the apps write to: the primary's movable address (ha-web.addresses). */
  let writerAddress: string;
  let database: string;

  beforeAll(() => {
    lab = file.lab;
    url = entryUrl(lab);
    stack = stackOf(lab);
    [lb] = stack.hostnames("load-balancer");
    webNodes = stack.hostnames("web");
    apps = stack.hostnames("app");
    ({ primary, replicas, writerAddress } = stack.database());
    database = stack.app(apps[0]).databaseName;
    expect({ lb, webNodes: webNodes.length, apps: apps.length, primary, replicas: replicas.length }).toEqual({
      lb: "lb-1",
      webNodes: 2,
      apps: 2,
      primary: "db-primary",
      replicas: 1,
    });
    // Every app writes to the writer's movable address, which is an alias of the primary on each of its networks.
    expect(apps.map((a) => stack.app(a).writerHost)).toEqual(apps.map(() => writerAddress));
    expect(lab.container(primary).spec.networks.map((n) => n.aliases.includes(writerAddress))).toEqual(lab.container(primary).spec.networks.map(() => true));
  });

  const backendDelta = (before: Record<string, Record<string, string>>, after: Record<string, Record<string, string>>, field: string) =>
    Object.fromEntries(Object.keys(after).map((k) => [k, Number(after[k][field]) - Number(before[k]?.[field] ?? 0)]));
  const frontend = async () => (await haproxyStats(lab, lb)).find((r) => r.svname === "FRONTEND" && r.pxname !== "stats")!;
  const backend = async () => (await haproxyStats(lab, lb)).find((r) => r.svname === "BACKEND")!;

  test("1. round-robin: 1,000 GETs through the load balancer, each web node serves its equal share within 2 %", async () => {
    const started = Date.now();
    const before = await backendServers(lab, lb);
    const s = await closedLoop(`${url}/api/items`, { count: 1000, concurrency: 8, timeoutMs: 60_000, headers: ["x-web-node", "x-lb-node"] });
    const after = await backendServers(lab, lb);
    expect(s.sent).toBe(1000);
    expect(s.ok).toBe(1000);
    expect(s.byHeader["x-lb-node"]).toEqual({ [lb]: 1000 });
    const served = s.byHeader["x-web-node"];
    expect(Object.keys(served).sort()).toEqual([...webNodes].sort());
    for (const node of webNodes) expect(Math.abs(served[node] / 1000 - 1 / webNodes.length)).toBeLessThanOrEqual(0.02);
    // HAProxy agrees: its per-server session counters moved by the same amounts.
    expect(backendDelta(before, after, "stot")).toEqual(served);
    t("1 round-robin", started);
  }, 90_000);

  test("2. read/write split: writes land on the primary, reads come from a replica, a written row reaches every replica within 1 s", async () => {
    const started = Date.now();
    const primaryId = sql(lab, primary, "SELECT @@server_id")[0][0];
    const replicaIds = replicas.map((r) => sql(lab, r, "SELECT @@server_id")[0][0]);
    // Semi-sync (on by default): the primary waits for its replicas' acknowledgements; a replica waits for nobody.
    const semiSync = (node: string) => Object.fromEntries(sql(lab, node, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'").map(([k, v]) => [k, v]));
    const acknowledgedBefore = Number(semiSync(primary).Rpl_semi_sync_master_yes_tx);
    expect(semiSync(primary)).toMatchObject({ Rpl_semi_sync_master_status: "ON", Rpl_semi_sync_master_clients: String(replicas.length) });
    for (const replica of replicas) expect(semiSync(replica)).toMatchObject({ Rpl_semi_sync_master_status: "OFF", Rpl_semi_sync_slave_status: "ON" });
    const ids: number[] = [];
    const lags: number[] = [];
    for (let i = 0; i < 10; i++) {
      const name = `rw-split-${Date.now()}-${i}`;
      const w = await request(`${url}/api/items`, { method: "POST", body: { name } });
      const written = Date.now();
      expect(w.status).toBe(201);
      expect(w.headers["x-db-role"]).toBe("primary");
      // The app names the host it was configured with: the writer's address, which is the primary (its server id).
      expect(w.headers["x-db-node"]).toBe(writerAddress);
      expect(w.headers["x-db-server-id"]).toBe(primaryId);
      const id = (JSON.parse(w.body) as { id: number }).id;
      ids.push(id);
      expect(sql(lab, primary, `SELECT name FROM ${database}.items WHERE id = ${id}`)).toEqual([[name]]);
      for (const replica of replicas) {
        const ms = await waitUntil(
          `row ${id} on ${replica}`,
          () => sql(lab, replica, `SELECT COUNT(*) FROM ${database}.items WHERE id = ${id}`)[0][0] === "1",
          { timeoutMs: 1000, intervalMs: 10 },
        );
        lags.push(Math.max(ms, Date.now() - written));
      }
    }
    expect(Math.max(...lags)).toBeLessThanOrEqual(1000);
    // Every one of the 10 writes was acknowledged by a replica before the client heard of it, none without.
    expect(Number(semiSync(primary).Rpl_semi_sync_master_yes_tx) - acknowledgedBefore).toBeGreaterThanOrEqual(10);
    expect(semiSync(primary).Rpl_semi_sync_master_no_tx).toBe("0");
    // Reads through the load balancer are served by a replica, visibly in the headers.
    for (let i = 0; i < 10; i++) {
      const r = await request(`${url}/api/items/${ids[i]}`);
      expect(r.status).toBe(200);
      expect(r.headers["x-db-role"]).toBe("replica");
      expect(replicas).toContain(r.headers["x-db-node"]);
      expect(replicaIds).toContain(r.headers["x-db-server-id"]);
      expect(webNodes).toContain(r.headers["x-web-node"]);
    }
    // read-your-writes on demand: consistency=strong goes to the primary.
    const strong = await request(`${url}/api/items/${ids[0]}?consistency=strong`);
    expect(strong.headers["x-db-role"]).toBe("primary");
    // Replicas are read-only for the application.
    expect(sql(lab, replicas[0], "SELECT @@read_only")[0][0]).toBe("1");
    console.log(`replication visibility per row (ms, incl. exec overhead): max ${Math.max(...lags)}, all ${lags.join(",")}`);
    t("2 read/write split", started);
  }, 60_000);

  /** Fixed-rate GETs while `node` is killed; then restart it and see it back in rotation. */
  async function webNodeFailure(kill: string, webNode: string) {
    const { interMs, fall, rise } = stack.loadBalancer(lb).check;
    const fe0 = await frontend();
    const be0 = await backend();
    let killedAt = 0;
    let downAfterMs = NaN;
    const { summary, during } = await fixedRate(
      `${url}/api/items`,
      { rate: 80, durationMs: interMs * fall + 4000, timeoutMs: 10_000, headers: ["x-web-node"] },
      async (elapsed) => {
        const watch = watchServerStatus(lab, lb, webNode, "DOWN", interMs * fall + 8000);
        await watch.ready;
        await sleep(1000);
        killedAt = elapsed();
        const killed = Date.now();
        await lab.kill(kill);
        downAfterMs = (await watch.seenAt) - killed;
        return downAfterMs;
      },
    );
    const fe1 = await frontend();
    const be1 = await backend();
    const reconcile = {
      clientFailures: summary.errors + summary.non2xx,
      haproxy5xxToClients: Number(fe1.hrsp_5xx) - Number(fe0.hrsp_5xx),
      retries: Number(be1.wretr) - Number(be0.wretr),
      redispatches: Number(be1.wredis) - Number(be0.wredis),
    };
    console.log(
      `kill ${kill} at ${Math.round(killedAt)} ms: ${summary.sent} GETs at 80/s, ${summary.ok} ok, failures ${JSON.stringify(summary.failures.slice(0, 5))}; ` +
        `${webNode} DOWN after ${during} ms (inter ${interMs} ms x fall ${fall} = ${interMs * fall} ms); HAProxy ${JSON.stringify(reconcile)}; served ${JSON.stringify(summary.byHeader["x-web-node"])}`,
    );
    expect(summary.sent).toBeGreaterThan(0.9 * 80 * ((interMs * fall + 4000) / 1000));
    expect(summary.errors).toBe(0);
    expect(summary.non2xx).toBe(0);
    expect(reconcile.haproxy5xxToClients).toBe(0);
    // Marked down within inter x fall (plus the 25 ms polling step of the watcher).
    expect(downAfterMs).toBeLessThanOrEqual(interMs * fall + 100);

    // Back: start it again, healthy, UP in HAProxy after `rise` checks, serving its share.
    const up = watchServerStatus(lab, lb, webNode, "UP", interMs * (rise + 2) + 10_000);
    await up.ready;
    const restarted = Date.now();
    await lab.startContainer(kill);
    await lab.waitHealthy([kill], 60_000);
    const upAfterMs = (await up.seenAt) - restarted;
    // Back after `rise` good checks: at most (rise + 1) x inter after the start, plus the start itself.
    expect(upAfterMs).toBeLessThanOrEqual(interMs * (rise + 1) + 2000);
    const back = await closedLoop(`${url}/api/items`, { count: 40, concurrency: 2, timeoutMs: 20_000, headers: ["x-web-node"] });
    expect(back.ok).toBe(40);
    expect(back.byHeader["x-web-node"][webNode]).toBeGreaterThanOrEqual(40 / webNodes.length - 2);
    console.log(`${kill} restarted: UP in HAProxy after ${upAfterMs} ms; next 40 GETs ${JSON.stringify(back.byHeader["x-web-node"])}`);
    return { summary, downAfterMs, upAfterMs };
  }

  test("3a. web node failure (Nginx killed) under steady load: zero failed GETs, marked down within inter x fall, back in rotation after restart", async () => {
    const started = Date.now();
    await webNodeFailure(webNodes[0], webNodes[0]);
    t("3a nginx kill", started);
  }, 90_000);

  test("3b. web node failure (its app server killed) under steady load: zero failed GETs, marked down within inter x fall, back after restart", async () => {
    const started = Date.now();
    await webNodeFailure(stack.appOf(webNodes[0]), webNodes[0]);
    t("3b app kill", started);
  }, 90_000);

  test("4. replica failure under load: reads fall back to the primary with zero failures; restarted, it catches up by GTID and serves reads again", async () => {
    const started = Date.now();
    const replica = replicas[0];
    const written: number[] = [];
    let n = 0;
    const { summary } = await fixedRate(`${url}/api/items`, { rate: 60, durationMs: 6000, timeoutMs: 10_000, headers: ["x-db-role"] }, async () => {
      await sleep(1000);
      await lab.kill(replica);
      // Writes keep going to the primary while the replica is down.
      for (let i = 0; i < 5; i++) {
        const w = await request(`${url}/api/items`, { method: "POST", body: { name: `during-replica-outage-${++n}` } });
        expect(w.status).toBe(201);
        written.push((JSON.parse(w.body) as { id: number }).id);
      }
    });
    console.log(
      `replica killed: ${summary.sent} GETs at 60/s, ${summary.ok} ok, served by ${JSON.stringify(summary.byHeader["x-db-role"])}, failures ${JSON.stringify(summary.failures.slice(0, 5))}`,
    );
    expect(summary.errors + summary.non2xx).toBe(0);
    expect(summary.byHeader["x-db-role"].primary).toBeGreaterThan(0);

    const restarted = Date.now();
    await lab.startContainer(replica);
    await lab.waitHealthy([replica], 120_000);
    const primaryPos = sql(lab, primary, "SELECT @@gtid_binlog_pos")[0][0];
    const caughtUpMs = await waitUntil(`${replica} to reach GTID ${primaryPos}`, () => sql(lab, replica, "SELECT @@gtid_slave_pos")[0]?.[0] === primaryPos, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const status = sqlText(lab, replica, "SHOW SLAVE STATUS\\G");
    expect(status).toMatch(/Slave_IO_Running: Yes/);
    expect(status).toMatch(/Slave_SQL_Running: Yes/);
    expect(status).toMatch(/Using_Gtid: Slave_Pos/);
    expect(sql(lab, replica, `SELECT COUNT(*) FROM ${database}.items WHERE id IN (${written.join(",")})`)[0][0]).toBe(String(written.length));
    // The app's circuit breaker closes again: reads come from the replica.
    const backMs = await waitUntil("reads served by the replica again", async () => (await request(`${url}/api/items`)).headers["x-db-role"] === "replica", {
      timeoutMs: 15_000,
      intervalMs: 250,
    });
    console.log(
      `replica restarted: healthy + caught up to ${primaryPos} ${Date.now() - restarted - backMs} ms after start, serving reads again after ${backMs} ms more (caught up ${caughtUpMs} ms after healthy)`,
    );
    t("4 replica failure", started);
  }, 120_000);

  test("5. durability: the primary's container is killed mid-write and restarted; reads go on meanwhile; every committed row is still there and replication resumes", async () => {
    const started = Date.now();
    const committed: number[] = [];
    let seq = 0;
    let failedWrites = 0;
    let stop = false;
    // Writes in a bounded loop (at most 400, at most 20 s), until the primary has been killed.
    const writer = (async () => {
      const t0 = Date.now();
      for (let i = 0; i < 400 && !stop && Date.now() - t0 < 20_000; i++) {
        const w = await request(`${url}/api/items`, { method: "POST", body: { name: `durable-${++seq}` }, timeoutMs: 8000 });
        if (w.status === 201) committed.push((JSON.parse(w.body) as { id: number }).id);
        else failedWrites++;
        await sleep(10);
      }
    })();
    await waitUntil("some committed writes", () => committed.length >= 30, { timeoutMs: 15_000, intervalMs: 20 });
    await lab.kill(primary); // SIGKILL: a crash, not a clean shutdown
    await sleep(300);
    stop = true;
    await writer;
    // While the primary is down: reads keep working from the replica, writes are refused
    // with 503, and the load balancer keeps every web node in rotation (a database outage
    // is not a web node failure).
    // None may fail. (Once, about one run in three, one did: a read arriving while another probed the
    // replica's half-open breaker skipped the replica and went to the dead primary; see app/readers.ts.)
    const duringOutage = await closedLoop(`${url}/api/items`, {
      count: 40,
      concurrency: 2,
      timeoutMs: 20_000,
      headers: ["x-db-role", "x-web-node", "x-lb-node"],
    });
    if (duringOutage.failures.length > 0) {
      // Evidence for the open finding: what each app logged about reads (warnings and errors) around the outage.
      for (const app of apps) {
        const lines = tail(lab.logFile(app), 400)
          .split("\n")
          .filter((l) => /"level":"(warn|error)"/.test(l) && !/"method":"POST"/.test(l));
        console.log(`finding 1 evidence, ${app}:\n${lines.slice(-15).join("\n")}`);
      }
      for (const web of webNodes) console.log(`finding 1 evidence, ${web}:\n${tail(lab.logFile(web), 15)}`);
      console.log(`finding 1 evidence, failed reads: ${JSON.stringify(duringOutage.failures)}`);
    }
    expect(duringOutage.failures).toEqual([]);
    expect(duringOutage.byHeader["x-db-role"].replica).toBe(duringOutage.ok);
    for (let i = 0; i < 12; i++) {
      const refused = await request(`${url}/api/items`, { method: "POST", body: { name: "while-down" }, timeoutMs: 8000 });
      expect(refused.status).toBe(503);
    }
    const inRotation = (await haproxyStats(lab, lb)).filter((r) => r.pxname === "web_nodes" && webNodes.includes(r.svname));
    expect(inRotation.map((r) => r.status)).toEqual(webNodes.map(() => "UP"));
    const restarted = Date.now();
    await lab.startContainer(primary);
    await lab.waitHealthy([primary], 120_000);
    const healthyMs = Date.now() - restarted;
    const rows = sql(lab, primary, `SELECT id FROM ${database}.items WHERE id IN (${committed.join(",")})`).map((r) => Number(r[0]));
    expect(rows.sort((a, b) => a - b)).toEqual([...committed].sort((a, b) => a - b));

    // Replication resumes: a new write through the load balancer reaches every replica.
    let fresh: { status: number; body: string } = { status: 0, body: "" };
    let appRetries = 0;
    await waitUntil(
      "a write through the load balancer after the primary restart",
      async () => {
        fresh = await request(`${url}/api/items`, { method: "POST", body: { name: "after-primary-restart" } });
        if (fresh.status !== 201) appRetries++;
        return fresh.status === 201;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    const freshId = (JSON.parse(fresh.body) as { id: number }).id;
    for (const replica of replicas) {
      await waitUntil(`row ${freshId} on ${replica}`, () => sql(lab, replica, `SELECT COUNT(*) FROM ${database}.items WHERE id = ${freshId}`)[0][0] === "1", {
        timeoutMs: 15_000,
        intervalMs: 100,
      });
      const status = sqlText(lab, replica, "SHOW SLAVE STATUS\\G");
      expect(status).toMatch(/Slave_IO_Running: Yes/);
      expect(status).toMatch(/Slave_SQL_Running: Yes/);
      expect(sql(lab, replica, "SELECT @@gtid_slave_pos")[0][0]).toBe(sql(lab, primary, "SELECT @@gtid_binlog_pos")[0][0]);
    }
    console.log(
      `primary crash: reads while it was down ${duringOutage.ok}/40 ok ${JSON.stringify(duringOutage.failures)}; ${committed.length} committed rows all present, ${failedWrites} writes refused while it was down; healthy ${healthyMs} ms after start; first write after restart needed ${appRetries} retries`,
    );
    t("5 durability", started);
  }, 120_000);

  test("6. failover: the primary is SIGKILLed under a numbered write load and `promote` is run at once: every acknowledged write is on the new primary, writes resume through the same writer name, no read fails; the old primary rejoins, and refuses to with an errant transaction", async () => {
    const started = Date.now();
    const [candidate] = replicas;
    // Writes, each numbered; "acknowledged" is a 201 with the row's id. Bounded: at most 3,000 writes, 60 s.
    const acked: { seq: number; id: number; sent: number; at: number }[] = [];
    const refusedAt: number[] = [];
    let seq = 0;
    let stopWrites = false;
    const writes = (async () => {
      const t0 = Date.now();
      while (!stopWrites && seq < 3000 && Date.now() - t0 < 60_000) {
        const n = ++seq;
        const sent = Date.now();
        const w = await request(`${url}/api/items`, { method: "POST", body: { name: `failover-${n}` }, timeoutMs: 8000 });
        if (w.status === 201) acked.push({ seq: n, id: (JSON.parse(w.body) as { id: number }).id, sent, at: Date.now() });
        else refusedAt.push(Date.now());
        await sleep(5);
      }
    })();
    // Reads all along, bounded the same way: none may fail (the replica is up throughout).
    const reads = { ok: 0, failed: [] as string[] };
    let stopReads = false;
    const reader = (async () => {
      const t0 = Date.now();
      for (let i = 0; i < 3000 && !stopReads && Date.now() - t0 < 60_000; i++) {
        const r = await request(`${url}/api/items`, { timeoutMs: 8000 });
        if (r.status === 200) reads.ok++;
        else reads.failed.push(`${r.status} ${r.error ?? r.body.slice(0, 120)}`);
        await sleep(5);
      }
    })();
    try {
      await waitUntil("30 acknowledged writes", () => acked.length >= 30, { timeoutMs: 20_000, intervalMs: 20 });
      const killedAt = Date.now();
      await lab.kill(primary);
      // Writes sent from here on cannot have been answered by the old primary (one in flight at the kill may still be).
      const deadAt = Date.now();
      const promoted = await promote(lab);
      expect({ status: promoted.status, newPrimary: promoted.newPrimary }).toEqual({ status: 0, newPrimary: candidate });
      expect(promoted.output).toContain(`${primary}, the only unreachable node, was the primary`);
      await waitUntil("20 acknowledged writes after the promotion", () => acked.filter((a) => a.sent >= deadAt).length >= 20, {
        timeoutMs: 30_000,
        intervalMs: 50,
      });
      stopWrites = true;
      stopReads = true;
      await Promise.all([writes, reader]);
      // From the kill to the first write acknowledged by the new primary (sent after the old one was dead).
      const firstWriteMs = Math.min(...acked.filter((a) => a.sent >= deadAt).map((a) => a.at)) - killedAt;

      // Every acknowledged write is on the new primary.
      const ids = acked.map((a) => a.id);
      const present = new Set(sql(lab, candidate, `SELECT id FROM ${database}.items WHERE id IN (${ids.join(",")})`).map((r) => Number(r[0])));
      const lost = acked.filter((a) => !present.has(a.id));
      expect(lost).toEqual([]);
      expect(reads.failed).toEqual([]);
      expect(sql(lab, candidate, "SELECT @@read_only")[0][0]).toBe("0");
      expect(lab.aliasOwner(writerAddress)).toBe(lab.container(candidate).spec.name);
      console.log(
        `failover: ${acked.length} acknowledged writes, all ${present.size} on ${candidate}; ${refusedAt.length} writes refused during the switch; ` +
          `kill to first acknowledged write ${firstWriteMs} ms (promote itself ${promoted.ms} ms); reads ${reads.ok} ok, ${reads.failed.length} failed`,
      );

      // The old primary comes back read-only (the writer's name points elsewhere), then rejoins and catches up.
      await lab.startContainer(primary);
      await lab.waitHealthy([primary], 120_000);
      expect(tail(lab.logFile(primary), 40)).toContain("(replica; configured as primary)");
      expect(sql(lab, primary, "SELECT @@read_only")[0][0]).toBe("1");
      const rejoined = await rejoin(lab, primary);
      expect({ status: rejoined.status, output: rejoined.output }).toEqual({
        status: 0,
        output: expect.stringContaining(`rejoin done: ${primary} replicates from ${candidate}`),
      });
      const fresh = await request(`${url}/api/items`, { method: "POST", body: { name: "after-rejoin" }, timeoutMs: 8000 });
      expect(fresh.status).toBe(201);
      const freshId = (JSON.parse(fresh.body) as { id: number }).id;
      await waitUntil(
        `row ${freshId} on the rejoined ${primary}`,
        () => sql(lab, primary, `SELECT COUNT(*) FROM ${database}.items WHERE id = ${freshId}`)[0][0] === "1",
        {
          timeoutMs: 15_000,
          intervalMs: 100,
        },
      );
      expect(sql(lab, primary, `SELECT COUNT(*) FROM ${database}.items WHERE id IN (${ids.join(",")})`)[0][0]).toBe(String(ids.length));

      // A transaction only the old primary has (root passes read_only, as a stray write would): the rejoin refuses, naming it.
      sql(lab, primary, `INSERT INTO ${database}.items (name) VALUES ('errant')`);
      const errant = sql(lab, primary, "SELECT @@gtid_binlog_pos")[0][0];
      const refused = await rejoin(lab, primary);
      expect(refused.status).toBe(2);
      expect(refused.output).toContain(
        `${primary} has transactions the primary ${candidate} lacks (errant GTIDs): ${errant.split(",").find((g) => g.includes("-1-"))}`,
      );
    } finally {
      stopWrites = true;
      stopReads = true;
      await Promise.all([writes, reader]);
    }
    t("6 failover", started);
  }, 240_000);

  test("7. no password and no TLS key in clear on any database volume (binlogs, relay logs, master.info, tables, logs), after all of the above", () => {
    const started = Date.now();
    const passwords = Object.entries(lab.state!.plan.secrets).filter(([, value]) => value.length >= 16);
    expect(passwords.length).toBeGreaterThanOrEqual(3); // app, exporter, failover (and more); replication has none
    // The cluster's private keys, as the primary receives them: their base64 body, which any copy would contain.
    const keys = lab
      .container(primary)
      .spec.uploads.filter((u) => u.file.endsWith(".key"))
      .map((u) => [u.file, (u.content ?? "").split("\n").slice(1, 2).join("")] as [string, string]);
    expect(keys.map(([file, body]) => [file, body.length > 40])).toEqual([
      ["/etc/ha-web/mysql-tls/server.key", true],
      ["/etc/ha-web/mysql-tls/replication.key", true],
    ]);
    const secrets = [...passwords, ...keys];
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
    // Every volume of the database containers: their data, the backup store (the archived binlogs) and the metrics.
    const databaseVolumes = lab.state!.volumes.filter((v) => /db-/.test(v.name));
    expect(databaseVolumes.filter((v) => !/-(backups|textfile)$/.test(v.name)).length).toBe(1 + replicas.length);
    expect(databaseVolumes.filter((v) => /-backups$/.test(v.name)).length).toBe(1);
    const found: string[] = [];
    let files = 0;
    let binlogs = 0;
    let masterInfos = 0;
    let archived = 0;
    for (const volume of databaseVolumes) {
      for (const file of walk(volume.dir)) {
        files++;
        if (/(mysql-bin|relay-bin)\.\d+$/.test(file)) binlogs++;
        if (/\/binlogs\/server-\d+\/[^/]+\.\d+$/.test(file)) archived++;
        if (file.endsWith("/data/master.info")) masterInfos++;
        const content = readFileSync(file);
        for (const [key, value] of secrets) if (content.includes(value)) found.push(`${volume.name}:${file.slice(volume.dir.length)} ${key}`);
      }
    }
    expect(binlogs).toBeGreaterThanOrEqual(4); // binlogs on every node, relay logs on the replicas: searched, not missed
    expect(masterInfos).toBeGreaterThanOrEqual(replicas.length); // every replica's (and the rejoined old primary's)
    expect(archived).toBeGreaterThanOrEqual(1); // the backup source's binlog archive: searched too
    expect(found).toEqual([]);
    console.log(
      `no secret in clear: ${files} files (${binlogs} binlogs and relay logs, ${archived} of them archived, ${masterInfos} master.info) on ${databaseVolumes.length} volumes searched for ${passwords.length} passwords and ${keys.length} private keys`,
    );
    t("7 no password on disk", started);
  }, 60_000);

  // ---- Issue 13 (the demo app): scenarios 8-11. They run after 6 and 7, on the topology 6 left. ----

  /** One request through the published loopback port with any headers and a raw body. */
  const rawRequest = (
    target: string,
    opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number; agent?: http.Agent } = {},
  ): Promise<HttpResult> => {
    const u = assertLoopback(target);
    const started = Date.now();
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: Omit<HttpResult, "ms">) => {
        if (settled) return;
        settled = true;
        resolve({ ...r, ms: Date.now() - started });
      };
      const body = typeof opts.body === "string" ? Buffer.from(opts.body) : opts.body;
      const req = (u.protocol === "https:" ? https : http).request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          method: opts.method ?? "GET",
          agent: opts.agent ?? false,
          rejectUnauthorized: false,
          timeout: opts.timeoutMs ?? 5000,
          headers: { ...(body ? { "content-length": String(body.length) } : {}), ...opts.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", (e) => done({ status: 0, headers: {}, body: "", error: e.message }));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (e) => done({ status: 0, headers: {}, body: "", error: e.message }));
      if (body) req.write(body);
      req.end();
    });
  };
  const postJson = (body: unknown, headers: Record<string, string> = {}, timeoutMs = 5000, agent?: http.Agent) =>
    rawRequest(`${url}/api/items`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      timeoutMs,
      agent,
    });
  /** SQL without blocking the event loop (the load of the same test keeps running). */
  const sqlAsync = async (node: string, query: string, timeoutMs = 10_000): Promise<string[][]> => {
    const { client } = stack.dialect(node);
    const r = await lab.execAsync(node, [client, "--user=root", "--batch", "--skip-column-names", "-e", query], { timeoutMs });
    if (r.status !== 0) throw new Error(`${client} on ${node}: ${r.stderr}`);
    return r.stdout
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => l.split("\t"));
  };
  /** The database container the writer's address belongs to now (6 moved it). */
  const currentPrimary = () => lab.container(lab.aliasOwner(writerAddress)!).spec.hostname;

  test("8. fail back (setup for 10 and 11): the replica promoted in 6 is killed, the old primary is promoted again and the killed one rejoins as its replica, so the apps' configured reader is a replica again", async () => {
    const started = Date.now();
    const [reader] = replicas; // what DB_READER_HOSTS names
    expect(stack.app(apps[0]).readerHosts).toEqual([reader]);
    expect(currentPrimary()).toBe(reader);
    // 6 left an errant transaction on the old primary: it is the most advanced node, so it is the candidate.
    await lab.kill(reader);
    const promoted = await promote(lab);
    expect({ status: promoted.status, newPrimary: promoted.newPrimary, output: promoted.status === 0 ? "" : promoted.output }).toEqual({
      status: 0,
      newPrimary: primary,
      output: "",
    });
    await lab.startContainer(reader);
    await lab.waitHealthy([reader], 90_000);
    const rejoined = await rejoin(lab, reader);
    expect({ status: rejoined.status, output: rejoined.status === 0 ? "" : rejoined.output }).toEqual({ status: 0, output: "" });
    expect(currentPrimary()).toBe(primary);
    const w = await postJson({ name: "after-fail-back" });
    expect(w.status).toBe(201);
    const id = (JSON.parse(w.body) as { id: number }).id;
    await waitUntil(`row ${id} on ${reader}`, () => sql(lab, reader, `SELECT COUNT(*) FROM ${database}.items WHERE id = ${id}`)[0][0] === "1", {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const back = await waitUntil("reads served by the replica again", async () => (await request(`${url}/api/items`)).headers["x-db-role"] === "replica", {
      timeoutMs: 15_000,
      intervalMs: 250,
    });
    console.log(
      `fail back: ${primary} primary again, ${reader} its replica; promote ${promoted.ms} ms, rejoin ${rejoined.ms} ms, reads from the replica after ${back} ms`,
    );
    t("8 fail back", started);
  }, 150_000);

  test("9. POST input through the load balancer: 415 for a non-JSON content type, 400 for U+0085 and for invalid UTF-8; nothing written", async () => {
    const started = Date.now();
    const before = sql(lab, currentPrimary(), `SELECT COUNT(*) FROM ${database}.items`)[0][0];
    const form = await rawRequest(`${url}/api/items`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "name=x" });
    expect(form.status).toBe(415);
    expect(form.headers["accept-post"]).toBe("application/json");
    const nel = await rawRequest(`${url}/api/items`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.from('{"name":"a\u0085b"}', "utf8"),
    });
    expect(nel.status).toBe(400);
    expect(JSON.parse(nel.body)).toEqual({ error: "name must not contain control characters" });
    const badUtf8 = await rawRequest(`${url}/api/items`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    });
    expect(badUtf8.status).toBe(400);
    expect(JSON.parse(badUtf8.body)).toEqual({ error: "request body is not valid UTF-8" });
    const badKey = await postJson({ name: "x" }, { "idempotency-key": "k".repeat(256) });
    expect(badKey.status).toBe(400);
    expect(sql(lab, currentPrimary(), `SELECT COUNT(*) FROM ${database}.items`)[0][0]).toBe(before);
    console.log(`input through the LB: form ${form.status}, U+0085 ${nel.status}, invalid UTF-8 ${badUtf8.status}, 256-char key ${badKey.status}`);
    t("9 input", started);
  }, 30_000);

  test("10. idempotent writes: keyed POSTs with one client retry each while an app and then the primary are frozen (SIGSTOP): 0 duplicates, every acknowledged write present exactly once", async () => {
    const started = Date.now();
    const run = `idem-${Date.now()}`;
    const db = currentPrimary();
    const frozenApp = apps[0];
    const acked = new Map<string, number>(); // key (= name) -> id
    const stats = { keys: 0, firstFailed: 0, retried: 0, replayed: 0, conflicts: 0, lost: 0, attempts: 0 };
    let seq = 0;
    let stop = false;
    /** The processes frozen right now (thawed in the finally blocks whatever fails). */
    const frozen: ProcRef[] = [];
    const attempt = async (key: string) => {
      stats.attempts++;
      return postJson({ name: key }, { "idempotency-key": key }, 4000);
    };
    // 12 clients; each write: one attempt, and one retry with the same key after any error or 4 s timeout. Bounded: 25 s, 20,000 keys.
    const clients = Array.from({ length: 12 }, async () => {
      const t0 = Date.now();
      while (!stop && Date.now() - t0 < 25_000 && seq < 20_000) {
        const key = `${run}-${++seq}`;
        stats.keys++;
        let r = await attempt(key);
        if (r.status !== 201) {
          stats.firstFailed++;
          await sleep(100);
          stats.retried++;
          r = await attempt(key);
          if (r.headers["idempotent-replayed"] === "true") stats.replayed++;
          if (r.status === 409) stats.conflicts++;
        }
        if (r.status === 201) acked.set(key, (JSON.parse(r.body) as { id: number }).id);
        else stats.lost++;
      }
    });
    const faults = (async () => {
      /** Freezes every process of `node` (Lab.signalContainer) and returns a thaw that reaches exactly those. */
      const freeze = (node: string) => {
        const procs = lab.signalContainer(node, "SIGSTOP");
        frozen.push(...procs.map((p) => p.ref));
        expect(procs.length).toBeGreaterThan(0);
        return () => {
          for (const p of procs) signalRef(p.ref, "SIGCONT");
          frozen.length = 0;
        };
      };
      try {
        await sleep(3000);
        const thawApp = freeze(frozenApp);
        await sleep(8000);
        thawApp();
        await sleep(3000);
        const thawDb = freeze(db);
        // Longer than the app's 5 s writer statement timeout: the app answers 503 for writes the primary may still commit.
        await sleep(7000);
        thawDb();
      } finally {
        for (const f of frozen) signalRef(f, "SIGCONT");
      }
    })();
    try {
      await faults;
      await Promise.all(clients);
    } finally {
      stop = true;
      for (const f of frozen) signalRef(f, "SIGCONT");
      await Promise.all(clients);
    }
    // Requests still held by the resumed app or server finish (the writer's 5 s statement timeout bounds them).
    await sleep(6000);
    const rows = await sqlAsync(db, `SELECT name, COUNT(*), MIN(id) FROM ${database}.items WHERE name LIKE '${run}-%' GROUP BY name`);
    const count = new Map(rows.map(([name, n, id]) => [name, { n: Number(n), id: Number(id) }]));
    const duplicates = rows.filter(([, n]) => Number(n) > 1);
    const missing = [...acked.keys()].filter((k) => count.get(k)?.n !== 1);
    const wrongId = [...acked].filter(([k, id]) => count.get(k) !== undefined && count.get(k)!.id !== id);
    const keyRows = (await sqlAsync(db, `SELECT COUNT(*) FROM ${database}.idempotency_keys WHERE idem_key LIKE '${run}-%'`))[0][0];
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `idempotent writes: ${stats.keys} keys, ${stats.attempts} attempts in ${seconds.toFixed(1)} s (${Math.round(stats.attempts / 25)} POST/s); ` +
        `${acked.size} acknowledged, ${stats.firstFailed} first attempts failed, ${stats.retried} retried (${stats.replayed} replayed, ${stats.conflicts} 409), ` +
        `${stats.lost} not acknowledged after the retry; rows ${rows.length} (${keyRows} keys), duplicates ${duplicates.length}, acknowledged but missing ${missing.length}`,
    );
    expect(duplicates).toEqual([]);
    expect(missing).toEqual([]);
    expect(wrongId).toEqual([]);
    expect(stats.firstFailed).toBeGreaterThan(0); // the faults did hit the load
    expect(acked.size).toBeGreaterThan(100);
    expect(Number(keyRows)).toBe(rows.length); // every row was written with its key, in one transaction
    t("10 idempotent writes", started);
  }, 90_000);

  test("11. bounded staleness and read-your-writes under write load: every read with X-Db-Min-Gtid sees its write; plain reads never come from the replica while it lags beyond 1 s", async () => {
    const started = Date.now();
    const [reader] = replicas;
    expect(currentPrimary()).toBe(primary);
    const limitMs = 1000; // APP_MAX_REPLICA_LAG_MS default
    const ryw = { ok: 0, fromReplica: 0, fromPrimary: 0, failed: [] as string[], maxMs: 0 };
    const plain = { ok: 0, failed: 0, byRole: {} as Record<string, number>, fromLaggingReplica: [] as string[] };
    const writes = { acked: 0, failed: 0 };
    let stop = false;
    /** When the replica's SQL thread was stopped and restarted (ms since epoch). */
    let stoppedAt = Number.POSITIVE_INFINITY;
    let restartedAt = Number.POSITIVE_INFINITY;
    // Keep-alive connections through the load balancer: the highest write rate the lab reaches here.
    const agent = agentFor(url, { keepAlive: true, maxSockets: 64 });
    // Writers: every 4th write is read back at once with its GTID. Bounded: 20 s.
    const writer = async (w: number) => {
      const t0 = Date.now();
      for (let i = 0; !stop && Date.now() - t0 < 20_000 && i < 20_000; i++) {
        const r = await postJson({ name: `ryw-${w}-${i}` }, {}, 5000, agent);
        if (r.status !== 201) {
          writes.failed++;
          continue;
        }
        writes.acked++;
        const gtid = String(r.headers["x-db-gtid"] ?? "");
        if (i % 4 !== 0) continue; // every 4th write is read back
        const back = await rawRequest(`${url}${r.headers.location}`, { headers: { "x-db-min-gtid": gtid }, timeoutMs: 5000, agent });
        ryw.maxMs = Math.max(ryw.maxMs, back.ms);
        if (back.status === 200 && (JSON.parse(back.body) as { item: { name: string } }).item.name === `ryw-${w}-${i}`) {
          ryw.ok++;
          if (back.headers["x-db-role"] === "replica") ryw.fromReplica++;
          else ryw.fromPrimary++;
        } else ryw.failed.push(`${back.status} ${back.body.slice(0, 80)}`);
      }
    };
    // Plain readers: which server answered, and when.
    const readerLoop = async () => {
      const t0 = Date.now();
      for (let i = 0; !stop && Date.now() - t0 < 20_000 && i < 20_000; i++) {
        const sent = Date.now();
        const r = await rawRequest(`${url}/api/items`, { timeoutMs: 5000, agent });
        if (r.status !== 200) {
          plain.failed++;
          continue;
        }
        plain.ok++;
        const role = String(r.headers["x-db-role"]);
        plain.byRole[role] = (plain.byRole[role] ?? 0) + 1;
        // The replica has been behind for more than the limit plus the sampling slack (one 250 ms interval + a sample):
        // it must not have answered.
        if (role === "replica" && sent > stoppedAt + limitMs + 600 && sent < restartedAt)
          plain.fromLaggingReplica.push(`${sent - stoppedAt} ms after the stop`);
        await sleep(5);
      }
    };
    const load = [...Array.from({ length: 24 }, (_, w) => writer(w)), ...Array.from({ length: 2 }, () => readerLoop())];
    try {
      await sleep(4000);
      await sqlAsync(reader, "STOP SLAVE SQL_THREAD");
      stoppedAt = Date.now();
      await sleep(8000);
      restartedAt = Date.now();
      await sqlAsync(reader, "START SLAVE SQL_THREAD");
      await Promise.all(load);
    } finally {
      stop = true;
      if (restartedAt === Number.POSITIVE_INFINITY) await sqlAsync(reader, "START SLAVE SQL_THREAD").catch(() => undefined);
      await Promise.all(load);
      agent.destroy();
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `read-your-writes and staleness: ${writes.acked} writes acknowledged in ${seconds.toFixed(1)} s (${Math.round(writes.acked / 20)}/s), ${writes.failed} failed; ` +
        `${ryw.ok} reads with X-Db-Min-Gtid saw their write (${ryw.fromReplica} from the replica, ${ryw.fromPrimary} from the primary, slowest ${Math.round(ryw.maxMs)} ms), ${ryw.failed.length} did not ${JSON.stringify(ryw.failed.slice(0, 3))}; ` +
        `plain reads ${plain.ok} ok ${JSON.stringify(plain.byRole)}, ${plain.failed} failed, from the lagging replica ${plain.fromLaggingReplica.length}`,
    );
    expect(ryw.failed).toEqual([]);
    expect(ryw.ok).toBeGreaterThan(50);
    expect(ryw.fromPrimary).toBeGreaterThan(0); // the stopped replica could not serve them
    expect(plain.fromLaggingReplica).toEqual([]);
    expect(plain.byRole.replica).toBeGreaterThan(0); // before the stop and after the restart
    expect(plain.byRole.primary).toBeGreaterThan(0); // while it lagged
    expect(plain.failed).toBe(0);
    expect(writes.failed).toBe(0);
    // the replica catches up (the backlog is whatever the 24 writers wrote in 8 s: 3,700 rows at 462 writes/s on a loaded
    // machine, which once took it longer than the 15 s below) and then serves plain reads again
    const primaryPos = (await sqlAsync(primary, "SELECT @@gtid_binlog_pos"))[0][0];
    const caughtUpMs = await waitUntil(
      `${reader} to reach GTID ${primaryPos}`,
      async () => (await sqlAsync(reader, "SELECT @@gtid_slave_pos"))[0]?.[0] === primaryPos,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await waitUntil("reads from the replica again", async () => (await request(`${url}/api/items`)).headers["x-db-role"] === "replica", {
      timeoutMs: 15_000,
      intervalMs: 250,
    });
    console.log(`11. ${reader} caught up with ${primaryPos} ${caughtUpMs} ms after the load`);
    t("11 staleness and read-your-writes", started);
  }, 150_000);
});

export type { LoadSummary };
