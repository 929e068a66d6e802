import { spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { isRoot } from "./binaries";
import { NamespaceSandbox, outputOf } from "./namespace-sandbox";
import { listNetworkNamespaces } from "./host-state";

const root = isRoot() ? describe : describe.skip;
root("NamespaceSandbox leaves nothing on the host", () => {
  const dir = mkdtempSync(join(tmpdir(), "sandbox-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a constructor that fails after adding its namespace deletes it and its temp dir", () => {
    // An `ip` that fails every `ip -n NS ...`, the step after `ip netns add`.
    const realIp = spawnSync("sh", ["-c", "command -v ip"], { encoding: "utf8" }).stdout.trim();
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "ip"), `#!/bin/sh\nif [ "$1" = "-n" ]; then echo "ip: injected failure" >&2; exit 1; fi\nexec ${realIp} "$@"\n`);
    chmodSync(join(bin, "ip"), 0o755);
    const label = `ctorfail${process.pid}`;
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      expect(() => new NamespaceSandbox(label)).toThrow(/link set lo up failed: ip: injected failure/);
    } finally {
      process.env.PATH = path;
    }
    expect(listNetworkNamespaces()).not.toContain(`hwt-${label}-${process.pid}`);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith(`hwt-${label}-`))).toEqual([]);
  });

  test("files and mounts are at their real paths inside; on the host not even the mount points appear", async () => {
    const sandbox = new NamespaceSandbox("probe");
    try {
      // Paths that do not exist on the host, below /etc, /opt, /var and /run.
      const tag = `hwt-probe-${process.pid}`;
      const paths = { file: `/etc/${tag}/probe.txt`, mount: `/opt/${tag}/data`, written: `/var/lib/${tag}/written`, run: `/run/${tag}` };
      for (const p of [`/etc/${tag}`, `/opt/${tag}`, `/var/lib/${tag}`, paths.run]) expect(existsSync(p)).toBe(false);
      const shared = join(sandbox.root, "shared");
      const child = sandbox.start("probe", {
        files: { [paths.file]: { content: "from the test\n" } },
        mounts: { [paths.mount]: shared },
        command: [
          "/bin/sh",
          "-c",
          `cat ${paths.file} && echo inside >${paths.mount}/out && mkdir -p $(dirname ${paths.written}) ${paths.run} && touch ${paths.written} && ls ${paths.written}`,
        ],
        env: {},
      });
      const status = await new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      expect({ status, output: outputOf(child) }).toEqual({ status: 0, output: `from the test\n${paths.written}\n` });
      // The bind mount is the host directory: what the process wrote is there.
      expect(readFileSync(join(shared, "out"), "utf8")).toBe("inside\n");
      for (const p of [`/etc/${tag}`, `/opt/${tag}`, `/var/lib/${tag}`, paths.run]) expect({ p, exists: existsSync(p) }).toEqual({ p, exists: false });
    } finally {
      await sandbox.cleanup();
    }
    expect(existsSync(sandbox.root)).toBe(false);
    expect(listNetworkNamespaces()).not.toContain(sandbox.netns);
  });
});
