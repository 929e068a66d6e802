/**
 * End-to-end: the `local` stack with two database replicas (`databaseReplicas: 2`),
 * run for real by the lab, and a failover where the replicas are not equal:
 * db-replica-2 stops receiving (its IO thread stopped), numbered rows are written
 * through the load balancer (semi-sync AFTER_SYNC: db-replica-1 acknowledges
 * them), the primary is SIGKILLed and `promote` is run without a candidate. It
 * must choose db-replica-1, the more advanced, and repoint db-replica-2 to it by
 * GTID, which then receives everything it missed: no gap in its GTID set.
 *
 * Its own lab: instance `f2`, state in `$TMPDIR/hwl-lab-f2`, published ports at
 * LAB_PORT_OFFSET + 400; it takes turns with the other lab files (take-turns.ts).
 * Needs root and the Debian packages of scripts/install-test-deps.sh (as lab.test.ts).
 */
import { promote, runFailoverScript } from "../../lab/failover";
import { request } from "../../lab/load";
import { entryUrl, sql, sqlText, stackOf } from "../../lab/probes";
import { Lab } from "../../lab/runner";
import { waitUntil } from "../../lab/sys";
import { describeWhenLabRuns, localStackLab } from "./bring-up";

/** Rows written while db-replica-2 receives nothing. */
const ROWS_BEHIND = 40;

const describeLab = describeWhenLabRuns("the lab's two-replica failover test");

describeLab("the lab: failover with two replicas, one of them behind", () => {
  const file = localStackLab({
    file: "failover-two-replicas.test.ts",
    what: "lab two-replica failover",
    instance: "f2",
    portOffset: 400,
    stackOptions: { databaseReplicas: 2 },
  });
  const { t } = file;
  let lab: Lab;
  let url: string;
  let primary: string;
  let replicas: string[];
  let writerAddress: string;
  let database: string;

  beforeAll(() => {
    lab = file.lab;
    url = entryUrl(lab);
    const stack = stackOf(lab);
    ({ primary, replicas, writerAddress } = stack.database());
    database = stack.app(stack.hostnames("app")[0]).databaseName;
  });

  const one = (node: string, query: string) => sql(lab, node, query)[0]?.[0] ?? "";
  const slaveField = (node: string, field: string) => new RegExp(`^\\s*${field}: (.*)$`, "m").exec(sqlText(lab, node, "SHOW SLAVE STATUS\\G"))?.[1] ?? "";
  const positions = (node: string) => ({
    slave: one(node, "SELECT @@gtid_slave_pos"),
    current: one(node, "SELECT @@gtid_current_pos"),
    binlog: one(node, "SELECT @@gtid_binlog_pos"),
    received: slaveField(node, "Gtid_IO_Pos"),
  });
  const checksum = (node: string) => sql(lab, node, `SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS('#', id, name))) FROM ${database}.items`)[0];
  const semiSync = (node: string) => Object.fromEntries(sql(lab, node, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'").map(([k, v]) => [k, v]));
  const has = (node: string, ids: number[]) => Number(one(node, `SELECT COUNT(*) FROM ${database}.items WHERE id IN (${ids.join(",")})`));

  /** A write through the load balancer; retried (bounded) while the app's pool still holds a connection to the dead primary. */
  async function writeThroughLb(name: string): Promise<{ id: number; retries: number }> {
    let last = { status: 0, body: "" };
    let retries = 0;
    await waitUntil(
      `a 201 for the write "${name}" through the load balancer`,
      async () => {
        last = await request(`${url}/api/items`, { method: "POST", body: { name }, timeoutMs: 8000 });
        if (last.status !== 201) retries++;
        return last.status === 201;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    return { id: (JSON.parse(last.body) as { id: number }).id, retries };
  }

  test("promote chooses the more advanced of two replicas; the other replicates from it afterwards with no gap in its GTID set", async () => {
    const started = Date.now();
    // 1. A primary and two replicas, both replicating and semi-sync, all three known to the failover script.
    expect({ primary, replicas }).toEqual({ primary: "db-primary", replicas: ["db-replica-1", "db-replica-2"] });
    const [ahead, behind] = replicas;
    await waitUntil("both replicas acknowledging semi-sync", () => semiSync(primary).Rpl_semi_sync_master_clients === "2", {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const status = await runFailoverScript(lab, ["status"]);
    expect(status.status).toBe(0);
    expect(
      status.output
        .trim()
        .split("\n")
        .map((l) => [l.split(" ")[0], l.split(" ")[2]]),
    ).toEqual([
      [primary, "reachable"],
      [ahead, "reachable"],
      [behind, "reachable"],
    ]);
    const baseline = await writeThroughLb("baseline");
    for (const replica of replicas) {
      await waitUntil(`the baseline row on ${replica}`, () => has(replica, [baseline.id]) === 1, { timeoutMs: 10_000, intervalMs: 100 });
    }

    // 2. db-replica-2 stops receiving; numbered rows through the load balancer, each acknowledged by db-replica-1.
    sql(lab, behind, "STOP SLAVE IO_THREAD");
    await waitUntil(`${behind}'s IO thread stopped`, () => slaveField(behind, "Slave_IO_Running") === "No", { timeoutMs: 10_000, intervalMs: 100 });
    const behindAt = positions(behind);
    const noTxBefore = Number(semiSync(primary).Rpl_semi_sync_master_no_tx);
    const ids: number[] = [];
    for (let i = 1; i <= ROWS_BEHIND; i++) {
      const w = await request(`${url}/api/items`, { method: "POST", body: { name: `two-replicas-${i}` }, timeoutMs: 8000 });
      expect(w.status).toBe(201);
      ids.push((JSON.parse(w.body) as { id: number }).id);
    }
    // Every one acknowledged by a semi-sync replica (none fell back to async), and that can only be db-replica-1.
    expect(Number(semiSync(primary).Rpl_semi_sync_master_no_tx)).toBe(noTxBefore);
    await waitUntil(`${ahead} to apply the ${ROWS_BEHIND} rows`, () => has(ahead, ids) === ids.length, { timeoutMs: 10_000, intervalMs: 100 });
    expect(has(behind, ids)).toBe(0);
    expect(positions(behind)).toEqual(behindAt);

    // 3. The primary dies; promote, with no candidate named.
    const before = { [ahead]: positions(ahead), [behind]: positions(behind) };
    await lab.kill(primary);
    const promoted = await promote(lab);
    expect({ status: promoted.status, newPrimary: promoted.newPrimary }).toEqual({ status: 0, newPrimary: ahead });
    // Why: both applied all they had received; db-replica-1 received more (its position includes the other's).
    expect(promoted.output).toContain(`${primary}, the only unreachable node, was the primary`);
    expect(promoted.output).toContain(`${ahead} applied all it received (${before[ahead].received})`);
    expect(promoted.output).toContain(`${behind} applied all it received (${before[behind].received})`);
    expect(promoted.output).not.toContain("REFUSED");
    expect(promoted.output).toContain(`promoting ${ahead}`);
    const repointed = new RegExp(`${behind} now replicates from ${ahead} \\(([^:]+):(\\d+)\\)`).exec(promoted.output);
    expect(repointed).not.toBeNull();

    // 4. db-replica-2 follows db-replica-1 by GTID; promote's START SLAVE restarted the IO thread stopped above.
    expect(lab.aliasOwner(writerAddress)).toBe(lab.container(ahead).spec.name);
    expect(one(ahead, "SELECT @@read_only")).toBe("0");
    expect(slaveField(behind, "Master_Host")).toBe(repointed![1]);
    expect(slaveField(behind, "Master_Port")).toBe(repointed![2]);
    expect(slaveField(behind, "Using_Gtid")).toBe("Slave_Pos");
    await waitUntil(
      `${behind}: both replication threads running`,
      () => slaveField(behind, "Slave_IO_Running") === "Yes" && slaveField(behind, "Slave_SQL_Running") === "Yes",
      {
        timeoutMs: 15_000,
        intervalMs: 100,
      },
    );
    const caughtUpMs = await waitUntil(`${behind} to have all ${ROWS_BEHIND} rows`, () => has(behind, ids) === ids.length, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const after = await writeThroughLb("after-promote");
    expect(has(ahead, [after.id])).toBe(1);
    await waitUntil(`the row written after the promotion on ${behind}`, () => has(behind, [after.id]) === 1, { timeoutMs: 10_000, intervalMs: 100 });
    // No gap: db-replica-2 stands where the new primary's binlog ends, and holds the same rows.
    const primaryPos = one(ahead, "SELECT @@gtid_binlog_pos");
    const end = positions(behind);
    expect({ slave: end.slave, current: end.current, binlog: end.binlog }).toEqual({ slave: primaryPos, current: primaryPos, binlog: primaryPos });
    expect(checksum(behind)).toEqual(checksum(ahead));
    // Per (domain, server), the last GTID each logged: the old primary's last acknowledged one and the new primary's.
    expect(one(behind, "SELECT @@gtid_binlog_state")).toBe(one(ahead, "SELECT @@gtid_binlog_state"));
    // And it is a semi-sync replica of the new primary.
    await waitUntil(`${behind} acknowledging semi-sync to ${ahead}`, () => semiSync(ahead).Rpl_semi_sync_master_clients === "1", {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    expect(semiSync(behind).Rpl_semi_sync_slave_status).toBe("ON");

    console.log(
      `two-replica failover: ${ROWS_BEHIND} rows written while ${behind}'s IO thread was stopped, all acknowledged; before promote ${ahead} ${JSON.stringify(before[ahead])}, ` +
        `${behind} ${JSON.stringify(before[behind])}; promote ${promoted.ms} ms chose ${promoted.newPrimary}; ${behind} had every row ${caughtUpMs} ms after its threads ran; ` +
        `first write after promote needed ${after.retries} retries; end: ${ahead} gtid_binlog_pos=${primaryPos}, ${behind} ${JSON.stringify(end)}; ` +
        `binlog_state ${ahead}=${one(ahead, "SELECT @@gtid_binlog_state")} ${behind}=${one(behind, "SELECT @@gtid_binlog_state")}; items (count, checksum) ${checksum(ahead).join("/")}`,
    );
    console.log(`promote output:\n${promoted.output}`);
    t("two-replica failover", started);
  }, 240_000);
});
