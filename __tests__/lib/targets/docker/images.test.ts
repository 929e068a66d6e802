/**
 * The default images: maintained tags, pinned by manifest-list digest, one per
 * software and version; what imageForVersion does with a version it has no pin
 * for; and the README's "Versions verified" naming every default.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { Testing, TerraformStack } from "cdktf";
import { DockerTarget, MysqlCluster } from "../../../../lib";
import { DEBIAN_PACKAGED_SOFTWARE, DEFAULT_DOCKER_IMAGES, DOCKER_IMAGES_BY_VERSION, imageForVersion } from "../../../../lib/targets/docker/images";
import { isImageReference } from "../../../../lib/targets/docker/validate-docker-target-props";
import { Software } from "../../../../lib/targets/target";
import { SUPPORTED_ENGINE_VERSIONS } from "../../../../templates/mysql/engine";

const PINNED = /^([a-z0-9]+):([A-Za-z0-9_.-]+)@sha256:[a-f0-9]{64}$/;
const softwares = Object.keys(DEFAULT_DOCKER_IMAGES) as Software[];

describe("DOCKER_IMAGES_BY_VERSION and DEFAULT_DOCKER_IMAGES", () => {
  test("every image is an official name:tag pinned by digest", () => {
    for (const software of softwares) {
      for (const image of Object.values(DOCKER_IMAGES_BY_VERSION[software])) {
        expect(image).toMatch(PINNED);
        expect(isImageReference(image)).toBe(true);
        // The monitoring programs are Debian's packages on the official Debian image.
        expect(PINNED.exec(image)?.[1]).toBe(software in DEBIAN_PACKAGED_SOFTWARE ? "debian" : software);
      }
    }
  });

  test("each version's tag is that version's (and a Debian one where the image has Debian tags)", () => {
    for (const software of softwares) {
      for (const [version, image] of Object.entries(DOCKER_IMAGES_BY_VERSION[software])) {
        const tag = PINNED.exec(image)?.[2] ?? "";
        // The Debian image's version is the Debian release: 13 is trixie.
        if (software in DEBIAN_PACKAGED_SOFTWARE) expect([version, tag]).toEqual(["13", "trixie-slim"]);
        else expect(tag === version || tag.startsWith(`${version}-`)).toBe(true);
      }
    }
    // One Debian base for the images that offer Debian: trixie (haproxy and nginx have no bookworm tag any more).
    for (const software of ["haproxy", "nginx", "node"] as const) expect(DEFAULT_DOCKER_IMAGES[software]).toMatch(/-trixie(-slim)?@/);
  });

  test("the defaults are the maintained lines", () => {
    expect(DEFAULT_DOCKER_IMAGES.haproxy.startsWith("haproxy:2.6-trixie@")).toBe(true);
    expect(DEFAULT_DOCKER_IMAGES.nginx.startsWith("nginx:1.30-trixie@")).toBe(true);
    expect(DEFAULT_DOCKER_IMAGES.node.startsWith("node:22-trixie-slim@")).toBe(true);
    expect(DEFAULT_DOCKER_IMAGES.mariadb.startsWith("mariadb:10.11@")).toBe(true);
    expect(DEFAULT_DOCKER_IMAGES.mysql.startsWith("mysql:8.4@")).toBe(true);
    for (const software of softwares) expect(Object.values(DOCKER_IMAGES_BY_VERSION[software])).toContain(DEFAULT_DOCKER_IMAGES[software]);
  });

  test("every database version MysqlCluster accepts has a pinned image", () => {
    for (const [engine, versions] of Object.entries(SUPPORTED_ENGINE_VERSIONS)) {
      for (const version of versions) expect(imageForVersion(engine as Software, version)).toBe(DOCKER_IMAGES_BY_VERSION[engine as Software][version]);
    }
  });
});

describe("imageForVersion", () => {
  test("no version: the default; a pinned version: its pinned image", () => {
    for (const software of softwares) expect(imageForVersion(software)).toBe(DEFAULT_DOCKER_IMAGES[software]);
    expect(imageForVersion("mariadb", "10.11")).toBe(DOCKER_IMAGES_BY_VERSION.mariadb["10.11"]);
    expect(imageForVersion("mysql", "8.4")).toBe(DOCKER_IMAGES_BY_VERSION.mysql["8.4"]);
  });

  test("a version with no pin is an error naming the pinned versions and the images override", () => {
    expect(() => imageForVersion("mariadb", "11.4")).toThrow(
      /pins no mariadb image for version "11\.4" \(pinned: 10\.11\)\. Use a pinned version, or set DockerTarget's `images\.mariadb` to the image to run, such as "mariadb:11\.4@sha256:<digest>"/,
    );
    expect(() => imageForVersion("node", "toString")).toThrow(/pins no node image for version "toString"/);
  });

  test("a synthesized stack pulls the pinned images, by digest", () => {
    const stack = new TerraformStack(Testing.app(), "pins");
    const target = new DockerTarget(stack, "docker");
    new MysqlCluster(stack, "db", { target, replicas: 0 });
    new MysqlCluster(stack, "legacy", { target, replicas: 0, engine: "mysql", version: "8.4", namePrefix: "legacy" });
    const parsed = JSON.parse(Testing.synth(stack)) as { resource: { docker_image: Record<string, { name: string }> } };
    expect(
      Object.values(parsed.resource.docker_image)
        .map((i) => i.name)
        .sort(),
    ).toEqual([
      DEFAULT_DOCKER_IMAGES["mysqld-exporter"],
      // The exporter's image: the Debian image plus prometheus-mysqld-exporter, built at deploy time.
      expect.stringMatching(/^haweb-debian-prometheus-mysqld-exporter:[0-9a-f]{12}$/),
      // The node exporter beside each backup source, for its backup metrics: the Debian image plus prometheus-node-exporter.
      expect.stringMatching(/^haweb-debian-prometheus-node-exporter:[0-9a-f]{12}$/),
      DEFAULT_DOCKER_IMAGES.mariadb,
      DEFAULT_DOCKER_IMAGES.mysql,
    ]);
  });
});

describe("README, Versions verified", () => {
  const readme = readFileSync(join(__dirname, "..", "..", "..", "..", "README.md"), "utf8");
  const section = readme.split(/^## /m).find((s) => s.startsWith("Versions verified")) ?? "";

  test("names every default image with its digest, and how to refresh the pins", () => {
    for (const image of Object.values(DEFAULT_DOCKER_IMAGES)) expect(section).toContain(image);
    expect(section).toContain("scripts/refresh-image-pins.mjs");
  });
});
