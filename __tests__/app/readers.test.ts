import { ReaderSelector, readWithFallback } from "../../app/readers";

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("ReaderSelector rotation", () => {
  test("round-robin start, ring order", () => {
    const s = new ReaderSelector(3);
    expect(s.nextOrder()).toEqual([0, 1, 2]);
    expect(s.nextOrder()).toEqual([1, 2, 0]);
    expect(s.nextOrder()).toEqual([2, 0, 1]);
    expect(s.nextOrder()).toEqual([0, 1, 2]);
  });

  test("no readers", () => {
    expect(new ReaderSelector(0).nextOrder()).toEqual([]);
  });
});

describe("circuit breaker", () => {
  test("failed reader skipped for the cooldown, then one probe at a time", () => {
    const clock = fakeClock();
    const s = new ReaderSelector(2, { clock: clock.now, cooldownMs: 2000 });
    expect(s.tryAcquire(0)).toBe(true);
    s.recordFailure(0);
    expect(s.isSkipped(0)).toBe(true);
    expect(s.tryAcquire(0)).toBe(false);
    clock.advance(1999);
    expect(s.tryAcquire(0)).toBe(false);
    clock.advance(1);
    // half-open: first caller probes, concurrent callers keep skipping
    expect(s.tryAcquire(0)).toBe(true);
    expect(s.tryAcquire(0)).toBe(false);
    expect(s.isSkipped(0)).toBe(true);
    // probe fails: open again for a full cooldown
    s.recordFailure(0);
    expect(s.consecutiveFailures(0)).toBe(2);
    clock.advance(1000);
    expect(s.tryAcquire(0)).toBe(false);
    clock.advance(1000);
    expect(s.tryAcquire(0)).toBe(true);
    // probe succeeds: closed, any number of callers
    s.recordSuccess(0);
    expect(s.isSkipped(0)).toBe(false);
    expect(s.tryAcquire(0)).toBe(true);
    expect(s.tryAcquire(0)).toBe(true);
    expect(s.consecutiveFailures(0)).toBe(0);
    // the other reader was never affected
    expect(s.tryAcquire(1)).toBe(true);
  });

  test("works with a clock starting at 0", () => {
    const s = new ReaderSelector(1, { clock: () => 0, cooldownMs: 0 });
    s.recordFailure(0);
    expect(s.tryAcquire(0)).toBe(false);
  });
});

describe("readWithFallback", () => {
  type N = { name: string; down: boolean };
  const mk = (...names: string[]) => names.map((name) => ({ name, down: false }));

  function setup(readerNames: string[]) {
    const clock = fakeClock();
    const readers = mk(...readerNames);
    const writer: N = { name: "primary", down: false };
    const selector = new ReaderSelector(readers.length, { clock: clock.now, cooldownMs: 2000 });
    const tried: string[] = [];
    const fn = async (n: N) => {
      tried.push(n.name);
      if (n.down) throw Object.assign(new Error(`connect ECONNREFUSED ${n.name}`), { code: "ECONNREFUSED" });
      return `rows from ${n.name}`;
    };
    const run = async () => {
      tried.length = 0;
      const r = await readWithFallback(readers, writer, selector, fn);
      return { served: r.node.name, fromWriter: r.fromWriter, tried: [...tried], value: r.value };
    };
    return { clock, readers, writer, run };
  }

  test("rotates across healthy replicas", async () => {
    const { run } = setup(["r1", "r2", "r3"]);
    const served = [];
    for (let i = 0; i < 6; i++) served.push((await run()).served);
    expect(served).toEqual(["r1", "r2", "r3", "r1", "r2", "r3"]);
  });

  test("no replicas -> writer", async () => {
    const { run } = setup([]);
    expect(await run()).toEqual({ served: "primary", fromWriter: true, tried: ["primary"], value: "rows from primary" });
  });

  test("failed replica -> next replica; then skipped until the cooldown expires", async () => {
    const { run, readers, clock } = setup(["r1", "r2", "r3"]);
    readers[0].down = true;
    expect(await run()).toMatchObject({ served: "r2", tried: ["r1", "r2"], fromWriter: false });
    // r1 is open now: not tried at all, no added latency
    expect((await run()).tried).toEqual(["r2"]);
    expect((await run()).tried).toEqual(["r3"]);
    expect((await run()).tried).toEqual(["r2"]); // cursor on r1, skipped
    clock.advance(2000);
    expect((await run()).tried).toEqual(["r2"]);
    expect((await run()).tried).toEqual(["r3"]);
    // cooldown over and the cursor is on r1: probed again (still down), then r2 serves
    expect((await run()).tried).toEqual(["r1", "r2"]);
    readers[0].down = false;
    clock.advance(2000);
    const served: string[] = [];
    for (let i = 0; i < 3; i++) served.push((await run()).served);
    expect(served).toEqual(["r2", "r3", "r1"]);
    expect((await run()).tried).toEqual(["r2"]);
  });

  test("all replicas down -> writer, then replicas skipped while open", async () => {
    const { run, readers, clock } = setup(["r1", "r2"]);
    for (const r of readers) r.down = true;
    expect(await run()).toMatchObject({ served: "primary", fromWriter: true, tried: ["r1", "r2", "primary"] });
    expect((await run()).tried).toEqual(["primary"]);
    clock.advance(2001);
    expect((await run()).tried).toEqual(["r1", "r2", "primary"]);
  });

  test("writer down: a replica skipped because another request probes it (half-open) is tried after all", async () => {
    const clock = fakeClock();
    const readers = [{ name: "r1" }];
    const selector = new ReaderSelector(1, { clock: clock.now, cooldownMs: 2000 });
    selector.recordFailure(0);
    clock.advance(2000); // half-open: one probe may go
    const tried: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fn = async (n: { name: string }) => {
      tried.push(n.name);
      if (n.name === "w") throw Object.assign(new Error("connect ECONNREFUSED w"), { code: "ECONNREFUSED" });
      if (tried.filter((t) => t === "r1").length === 1) await gate;
      return n.name;
    };
    const probe = readWithFallback(readers, { name: "w" }, selector, fn); // the probe (held)
    // Concurrent with the probe: r1 is skipped, the writer is down, so r1 is tried after all instead of failing.
    const concurrent = await readWithFallback(readers, { name: "w" }, selector, fn);
    expect(concurrent).toEqual({ value: "r1", node: readers[0], fromWriter: false });
    release();
    expect((await probe).node.name).toBe("r1");
    expect(tried).toEqual(["r1", "w", "r1"]);

    // Still cooling down (failed just now) and the writer down: not retried, the request fails fast.
    selector.recordFailure(0);
    tried.length = 0;
    await expect(readWithFallback(readers, { name: "w" }, selector, fn)).rejects.toThrow("ECONNREFUSED w");
    expect(tried).toEqual(["w"]);
  });

  test("writer and probed replicas all down: the writer's error is thrown", async () => {
    const clock = fakeClock();
    const readers = [{ name: "r1" }];
    const selector = new ReaderSelector(1, { clock: clock.now, cooldownMs: 2000 });
    selector.recordFailure(0);
    clock.advance(2000);
    expect(selector.tryAcquire(0)).toBe(true); // another request's probe, in flight
    const tried: string[] = [];
    const down = async (n: { name: string }) => {
      tried.push(n.name);
      throw new Error(`connect ECONNREFUSED ${n.name}`);
    };
    await expect(readWithFallback(readers, { name: "w" }, selector, down)).rejects.toThrow("ECONNREFUSED w");
    expect(tried).toEqual(["w", "r1"]);
  });

  test("writer error propagates", async () => {
    const { run, readers, writer } = setup(["r1"]);
    readers[0].down = true;
    writer.down = true;
    await expect(run()).rejects.toThrow("ECONNREFUSED primary");
  });

  test("reader errors are reported", async () => {
    const clock = fakeClock();
    const readers = [{ name: "r1" }];
    const selector = new ReaderSelector(1, { clock: clock.now });
    const onErr = jest.fn();
    const r = await readWithFallback(
      readers,
      { name: "w" },
      selector,
      async (n) => {
        if (n.name === "r1") throw new Error("boom");
        return 1;
      },
      onErr,
    );
    expect(r).toEqual({ value: 1, node: { name: "w" }, fromWriter: true });
    expect(onErr).toHaveBeenCalledWith(readers[0], 0, expect.objectContaining({ message: "boom" }));
  });

  test("concurrent requests during half-open send only one probe", async () => {
    const clock = fakeClock();
    const readers = [{ name: "r1" }, { name: "r2" }];
    const selector = new ReaderSelector(2, { clock: clock.now, cooldownMs: 2000 });
    selector.recordFailure(0);
    clock.advance(2000);
    const tried: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fn = async (n: { name: string }) => {
      tried.push(n.name);
      if (n.name === "r1") await gate;
      return n.name;
    };
    const a = readWithFallback(readers, { name: "w" }, selector, fn); // probes r1 (hangs)
    const b = readWithFallback(readers, { name: "w" }, selector, fn); // starts at r2
    const c = readWithFallback(readers, { name: "w" }, selector, fn); // starts at r1: skipped (probe in flight) -> r2
    expect((await b).node.name).toBe("r2");
    expect((await c).node.name).toBe("r2");
    release();
    expect((await a).node.name).toBe("r1");
    expect(tried.filter((t) => t === "r1")).toHaveLength(1);
    expect(selector.isSkipped(0)).toBe(false);
  });
});
