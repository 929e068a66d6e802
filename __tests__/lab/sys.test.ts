/**
 * lab/sys.ts's helpers that need no lab: hasCommand (the prerequisite check's
 * PATH lookup, done in-process) and ipBatch's error (the failing `ip` line).
 */
import { spawnSync } from "child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { hasCommand, ipBatch } from "../../lab/sys";

describe("hasCommand", () => {
  let dir: string;
  const savedPath = process.env.PATH;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "hwt-sys-"));
    writeFileSync(join(dir, "hwt-runnable"), "#!/bin/sh\n");
    chmodSync(join(dir, "hwt-runnable"), 0o755);
    writeFileSync(join(dir, "hwt-not-executable"), "#!/bin/sh\n");
    chmodSync(join(dir, "hwt-not-executable"), 0o644);
    mkdirSync(join(dir, "hwt-a-directory"));
  });

  afterAll(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  test("agrees with `command -v` on programs that exist and one that does not", () => {
    for (const name of ["sh", "ip", "nft", "dnsmasq", "hwt-no-such-program"]) {
      const shell = spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
      expect([name, hasCommand(name)]).toEqual([name, shell]);
    }
    expect(hasCommand("sh")).toBe(true);
    expect(hasCommand("hwt-no-such-program")).toBe(false);
  });

  test("finds an executable file in a PATH directory; not a file without x, not a directory", () => {
    process.env.PATH = `/nonexistent:${dir}`;
    try {
      expect(hasCommand("hwt-runnable")).toBe(true);
      expect(hasCommand("hwt-not-executable")).toBe(false);
      expect(hasCommand("hwt-a-directory")).toBe(false);
      expect(hasCommand("sh")).toBe(false); // not on this PATH
    } finally {
      process.env.PATH = savedPath;
    }
  });

  test("a name with a slash is that file", () => {
    expect(hasCommand(join(dir, "hwt-runnable"))).toBe(true);
    expect(hasCommand(join(dir, "hwt-not-executable"))).toBe(false);
    expect(hasCommand("")).toBe(false);
  });
});

describe("ipBatch", () => {
  test("names the line that failed (the host's namespace is only read: `link show` of a device that does not exist)", () => {
    expect(() => ipBatch(["link show lo", "link show hwt-no-such-device"])).toThrow(/`?ip link show hwt-no-such-device`? exited 1: .*hwt-no-such-device/);
  });

  test("runs every line when all succeed", () => {
    expect(() => ipBatch(["link show lo", "addr show lo"])).not.toThrow();
  });
});
