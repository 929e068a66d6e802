/**
 * scripts/refresh-image-pins.mjs, run as a user runs it, on recorded repo-info
 * pages (__tests__/fixtures/repo-info) and a temp copy of images.ts: it changes
 * exactly the digests and nothing else, and refuses what it cannot pin.
 */
import { spawnSync } from "child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

const root = join(__dirname, "..", "..", "..", "..");
const script = join(root, "scripts", "refresh-image-pins.mjs");
const fixtures = join(root, "__tests__", "fixtures", "repo-info");
const fixture = (name: string) => join(fixtures, name);
const CURRENT = ["haproxy-2.6-trixie.md", "nginx-1.30-trixie.md", "node-22-trixie-slim.md", "mariadb-10.11.md", "mysql-8.4.md"].map(fixture);
const OLDER = ["haproxy-2.6-trixie.2026-08-05.md", "nginx-1.30-trixie.2026-08-05.md"].map(fixture);
const DIGEST = /sha256:[a-f0-9]{64}/g;

const original = readFileSync(join(root, "lib", "targets", "docker", "images.ts"), "utf8");
let dir: string;
let images: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "refresh-image-pins-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  images = join(dir, "images.ts");
  copyFileSync(join(root, "lib", "targets", "docker", "images.ts"), images);
});

function refresh(...args: string[]) {
  const r = spawnSync(process.execPath, [script, "--images", images, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, text: readFileSync(images, "utf8") };
}

/** A fixture changed by `edit`, written next to the temp images.ts. */
function edited(name: string, edit: (text: string) => string): string {
  const path = join(dir, `edited-${name}`);
  writeFileSync(path, edit(readFileSync(fixture(name), "utf8")));
  return path;
}

/** The lines of `a` and `b` that differ (same line count expected). */
function changedLines(a: string, b: string): [string, string][] {
  const x = a.split("\n");
  const y = b.split("\n");
  expect(y).toHaveLength(x.length);
  return x.map((line, i): [string, string] => [line, y[i]]).filter(([l, r]) => l !== r);
}

describe("refresh-image-pins.mjs", () => {
  test("the pins in images.ts are the recorded manifest-list digests (--check)", () => {
    const r = refresh("--check", "--from", ...CURRENT);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.stdout).toContain(
      "haproxy:2.6-trixie  sha256:27d5ea8c22a63b2f072974b3d15e34816ee7f19fa68d13e37ec1d69e2a5df8d1 (unchanged)  [2.6.34, Debian trixie]",
    );
    expect(r.stdout).toContain(
      "mariadb:10.11  sha256:7f22313fc130a377a44999965bcb0a08dd5b21e8502824c1b864f792f9bc66ab (unchanged)  [1:10.11.19+maria~ubu2204, Ubuntu jammy]",
    );
    expect(r.stdout).toContain("[8.4.11-1.el9, Oracle Linux 9 slim]");
    expect(r.text).toBe(original);
  });

  test("older pages change exactly their digests, and nothing else of the file", () => {
    const r = refresh("--from", ...OLDER);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const changed = changedLines(original, r.text);
    expect(changed).toHaveLength(2);
    for (const [before, after] of changed) expect(after.replace(DIGEST, "sha256:D")).toBe(before.replace(DIGEST, "sha256:D"));
    expect(changed.map(([, after]) => after.trim())).toEqual([
      '"2.6": "haproxy:2.6-trixie@sha256:b34c52111aa5a55eeef8a40c6410679970333bf7a40ae17756568659a041ea66",',
      '"1.30": "nginx:1.30-trixie@sha256:6d495873f1c83fa45c9f959a916afbbac61d4fc30483f86d202f06cf966ab721",',
    ]);
    expect(r.stdout).toMatch(/haproxy:2\.6-trixie {2}sha256:27d5ea8c\S+ -> sha256:b34c5211\S+ {2}\[2\.6\.32, Debian trixie\]/);
    // And back: the current pages restore the file byte for byte.
    expect(refresh("--from", ...CURRENT).text).toBe(original);
  });

  test("--check reports a difference and writes nothing", () => {
    const r = refresh("--check", "--from", ...OLDER);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("pins differ");
    expect(r.text).toBe(original);
  });

  test("--pin takes a digest found with a registry client", () => {
    const r = refresh("--pin", `mysql:8.4@sha256:${"a".repeat(64)}`);
    expect(r.status).toBe(0);
    expect(changedLines(original, r.text).map(([, after]) => after.trim())).toEqual([`"8.4": "mysql:8.4@sha256:${"a".repeat(64)}",`]);
  });

  test("refuses a page with no manifest-list digest, and writes nothing even for the good pages", () => {
    const noPull = edited("nginx-1.30-trixie.md", (t) => t.replace(/^\$ docker pull nginx@sha256:a2774b17\S+\n/m, ""));
    const r = refresh("--from", ...OLDER, noPull);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${noPull}: no "$ docker pull nginx@sha256:..." line for nginx:1.30-trixie: no manifest-list digest to pin`);
    expect(r.stderr).toContain("left unchanged");
    expect(r.text).toBe(original);
  });

  test("refuses a page whose top digest is one platform's manifest", () => {
    // The tag's section as it would read if the tag pointed at a single manifest.
    const single = edited("haproxy-2.6-trixie.md", (t) =>
      t.replace("-\tManifest MIME: `application/vnd.oci.image.index.v1+json`", "-\tManifest MIME: `application/vnd.docker.distribution.manifest.v2+json`"),
    );
    const r = refresh("--from", single);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("haproxy:2.6-trixie's digest is a application/vnd.docker.distribution.manifest.v2+json, not a manifest list");
    expect(r.text).toBe(original);
  });

  test("refuses a page of a tag images.ts does not pin, and a file that is no repo-info page", () => {
    const otherTag = edited("nginx-1.30-trixie.md", (t) => t.replace("## `nginx:1.30-trixie`", "## `nginx:1.31-trixie`"));
    const r = refresh("--from", otherTag);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("nginx:1.31-trixie is pinned nowhere in the images file");
    expect(refresh("--from", fixture("README.md")).stderr).toContain('no "## `name:tag`" heading');
    expect(readFileSync(images, "utf8")).toBe(original);
  });

  test("without inputs it prints its usage", () => {
    const r = refresh();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: node scripts/refresh-image-pins.mjs --from");
  });
});
