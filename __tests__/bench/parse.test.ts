import { readFileSync } from "fs";
import { join } from "path";
import {
  mergeRequestLogs,
  parseH2loadLog,
  parseProcCpu,
  parseProcCpuTicks,
  parseSTimeConnections,
  parseWrk,
  parseWrkDuration,
  percentileOf,
} from "../../bench/parse";

// Real output of the tools the bench runs (wrk 4.1, h2load 1.52, OpenSSL 3.0 s_time), captured against
// throwaway servers on 127.0.0.1; wrk-errors.txt's server answered 500 to every other request and cut every third.
const fixture = (name: string) => readFileSync(join(__dirname, "..", "fixtures", "bench", name), "utf8");

describe("parseWrk", () => {
  test("reads requests, rate and the latency distribution's p50 and p99 in milliseconds", () => {
    const r = parseWrk("x", fixture("wrk.txt"));
    expect(r).toEqual({ target: "x", rps: 2215.98, p50Ms: 0.492, p99Ms: 92.63, requests: 2295, non2xx: 0, socketErrors: 0 });
  });

  test("counts non-2xx answers and every kind of socket error", () => {
    const r = parseWrk("x", fixture("wrk-errors.txt"));
    expect(r.non2xx).toBe(621);
    expect(r.socketErrors).toBe(620);
    expect(r.requests).toBe(1241);
  });

  test("refuses what is not a wrk report (a failed run must not read as 0 requests)", () => {
    expect(() => parseWrk("x", "unable to connect to 10.0.0.1:80 Connection refused")).toThrow(/not a wrk report/);
  });

  test("durations: us, ms, s; anything else is NaN", () => {
    expect(parseWrkDuration("812.00us")).toBeCloseTo(0.812);
    expect(parseWrkDuration("5.10ms")).toBe(5.1);
    expect(parseWrkDuration("1.02s")).toBe(1020);
    expect(parseWrkDuration("5.10")).toBeNaN();
  });
});

describe("mergeRequestLogs", () => {
  test("one log per connection: latencies merged in order, statuses summed, the longest span", () => {
    const a = parseH2loadLog("1000000\t200\t3000\n3000000\t200\t1000\n");
    const b = parseH2loadLog("1500000\t200\t2000\n1600000\t-1\t9000\n1700000\t503\t500\n");
    expect(mergeRequestLogs([a, b])).toEqual({ latenciesMs: [0.5, 1, 2, 3], byStatus: { "200": 3, "-1": 1, "503": 1 }, spanS: 2 });
    expect(mergeRequestLogs([])).toEqual({ latenciesMs: [], byStatus: {}, spanS: 0 });
  });
});

describe("parseH2loadLog", () => {
  test("one latency per answered request, ascending, in ms; statuses counted", () => {
    const text = fixture("h2load.log");
    const lines = text.trim().split("\n");
    const r = parseH2loadLog(text);
    expect(r.latenciesMs).toHaveLength(lines.length);
    expect(r.byStatus).toEqual({ "200": lines.length });
    expect([...r.latenciesMs].sort((a, b) => a - b)).toEqual(r.latenciesMs);
    expect(r.latenciesMs).toContain(2.451);
    expect(r.spanS).toBeGreaterThan(0);
  });

  test("a failed request (status -1) is counted but has no latency", () => {
    const r = parseH2loadLog("1000000\t200\t1500\n2000000\t-1\t9000\n");
    expect(r.byStatus).toEqual({ "200": 1, "-1": 1 });
    expect(r.latenciesMs).toEqual([1.5]);
  });
});

test("parseSTimeConnections reads the connection count and refuses other text", () => {
  expect(parseSTimeConnections(fixture("s_time-new.txt"))).toBe(131);
  expect(() => parseSTimeConnections("connect: Connection refused")).toThrow(/not an openssl s_time report/);
});

test("parseProcCpuTicks: utime + stime of a real /proc/<pid>/stat, also with a command name holding ') '", () => {
  const own = readFileSync("/proc/self/stat", "utf8");
  const fields = own.slice(own.lastIndexOf(")") + 2).split(" ");
  expect(parseProcCpuTicks(own)).toBe(Number(fields[11]) + Number(fields[12]));
  expect(parseProcCpu(own)).toEqual({ user: Number(fields[11]), system: Number(fields[12]) });
  const tricky = own.replace(/\(.*\)/, "(a) b (c)");
  expect(parseProcCpuTicks(tricky)).toBe(parseProcCpuTicks(own));
  expect(() => parseProcCpuTicks("garbage")).toThrow(/not a \/proc/);
});

test("percentileOf: nearest rank", () => {
  expect(percentileOf([1, 2, 3, 4], 50)).toBe(2);
  expect(percentileOf([1, 2, 3, 4], 99)).toBe(4);
  expect(percentileOf([], 50)).toBeNaN();
});
