import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { spawnSync } from "child_process";
import { describeLeftovers, HostStateOptions, inUseByAnotherProcess, leftBehind, searchKeys, suspects, takeHostState } from "./host-state";

describe("the host check of the global teardown", () => {
  const dir = mkdtempSync(join(tmpdir(), "host-state-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const repoRoot = join(__dirname, "..", "..");

  // A stand-in host: a /var with a /var/lib and a /var/cache, a temp dir and the namespaces in a list.
  const host = join(dir, "host");
  const fakeTmp = join(dir, "tmp");
  const netns: string[] = ["existing"];
  mkdirSync(join(host, "var", "lib", "mysql"), { recursive: true });
  mkdirSync(join(host, "var", "cache"), { recursive: true });
  mkdirSync(fakeTmp);
  const options: HostStateOptions = {
    roots: [{ path: join(host, "var"), depth: 4 }],
    exclude: [join(host, "var", "cache")],
    tmpdir: fakeTmp,
    tmpExclude: [/^other-run-/],
    netns: () => [...netns],
  };

  test("an unchanged host reports nothing", () => {
    const before = takeHostState(options);
    expect(before.paths).toContain(join(host, "var", "lib", "mysql"));
    expect(leftBehind(before, takeHostState(options), fakeTmp)).toEqual([]);
  });

  test("a path left deep below a root, a temp dir entry and a namespace are reported, each once", () => {
    const before = takeHostState(options);
    mkdirSync(join(host, "var", "lib", "ha-web", "nginx"), { recursive: true });
    writeFileSync(join(host, "var", "lib", "ha-web", "nginx", "nginx.pid"), "1\n");
    mkdirSync(join(fakeTmp, "cloud-init-AbC123"));
    netns.push("hwt-db-4242");
    const left = leftBehind(before, takeHostState(options), fakeTmp);
    expect(left).toEqual([
      { kind: "path", what: join(host, "var", "lib", "ha-web"), below: 2 },
      { kind: "tmp", what: join(fakeTmp, "cloud-init-AbC123"), below: 0 },
      { kind: "netns", what: "hwt-db-4242", below: 0 },
    ]);
    const message = describeLeftovers(left, repoRoot);
    expect(message).toContain(`${join(host, "var", "lib", "ha-web")} (and 2 new path(s) below it)`);
    expect(message).toContain("network namespace hwt-db-4242");
    expect(message).toMatch(/CI=true npx jest <file>/);
  });

  test("excluded paths, other runs' temp dirs and removals are not reported", () => {
    const before = takeHostState(options);
    writeFileSync(join(host, "var", "cache", "new-cache-file"), "");
    mkdirSync(join(fakeTmp, "other-run-XyZ789"));
    rmSync(join(host, "var", "lib", "mysql"), { recursive: true });
    netns.splice(netns.indexOf("existing"), 1);
    expect(leftBehind(before, takeHostState(options), fakeTmp)).toEqual([]);
  });

  test("deeper than the watched depth is not listed, and symbolic links are not followed", () => {
    mkdirSync(join(host, "var", "a", "b", "c", "d"), { recursive: true });
    symlinkSync(join(host, "var", "lib"), join(host, "var", "link"));
    const paths = takeHostState(options).paths;
    expect(paths).toContain(join(host, "var", "a", "b", "c", "d"));
    expect(paths).toContain(join(host, "var", "link"));
    expect(paths.some((p) => p.startsWith(join(host, "var", "link") + "/"))).toBe(false);
    expect(takeHostState({ ...options, roots: [{ path: join(host, "var"), depth: 3 }] }).paths).not.toContain(join(host, "var", "a", "b", "c", "d"));
  });

  test("a sandbox namespace of another live process is another run's; of this or a dead process, a leftover", () => {
    expect(inUseByAnotherProcess(`hwt-db-${process.ppid}`)).toBe(true);
    expect(inUseByAnotherProcess(`hwt-db-${process.pid}`)).toBe(false);
    const dead = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
    expect(inUseByAnotherProcess(`hwt-db-${dead}`)).toBe(false);
    expect(inUseByAnotherProcess(`lab-${process.ppid}`)).toBe(false);
  });

  test("names the test that probably made a leftover", () => {
    expect(searchKeys({ kind: "tmp", what: "/tmp/cloud-init-AbC123", below: 0 })).toEqual(["cloud-init-", "cloud-"]);
    expect(searchKeys({ kind: "netns", what: "hwt-db-4242", below: 0 })).toEqual(["hwt-db-", "hwt-"]);
    expect(searchKeys({ kind: "path", what: "/var/lib/ha-web/nginx", below: 0 })).toEqual(["/var/lib/ha-web/nginx", "/var/lib/ha-web"]);
    expect(suspects({ kind: "tmp", what: "/tmp/cloud-init-AbC123", below: 0 }, repoRoot)).toEqual(
      expect.arrayContaining([expect.stringMatching(/__tests__\/lib\/targets\/aws\/cloud-init\/cloud-config\.test\.ts \(uses .*tools\.ts\)/)]),
    );
    expect(suspects({ kind: "netns", what: "hwt-db-4242", below: 0 }, repoRoot)).toEqual(
      expect.arrayContaining([expect.stringMatching(/__tests__\/templates\/[a-z-]+\.test\.ts \(uses __tests__\/helpers\/namespace-sandbox\.ts\)/)]),
    );
    expect(suspects({ kind: "path", what: "/var/lib/ha-web/nginx", below: 0 }, repoRoot)).toEqual(
      expect.arrayContaining(["__tests__/templates/nginx.test.ts (PATHS.nginxStateDir)"]),
    );
  });
});
