/**
 * DockerTarget's `images` overrides: a reference is parsed and classified
 * (official, Alpine, custom), an Alpine tag is refused while the HTTP probe
 * needs bash, another image gets a warning that says what it must contain, and
 * a value that is no image reference is still refused.
 */
import { Testing, TerraformStack } from "cdktf";
import { DockerTarget, DockerTargetProps } from "../../../../lib";
import {
  checkImageOverride,
  classifyImage,
  customImageContract,
  httpProbeShell,
  parseImageReference,
} from "../../../../lib/targets/docker/validate-docker-target-props";
import { annotations } from "../../../helpers/synth";

const DIGEST = `sha256:${"0".repeat(64)}`;

function target(props: DockerTargetProps) {
  const stack = new TerraformStack(Testing.app(), "overrides");
  new DockerTarget(stack, "docker", props);
  return stack;
}

describe("parseImageReference and classifyImage", () => {
  test.each([
    ["nginx", { registry: undefined, path: "nginx", tag: undefined, digest: undefined }],
    ["docker.io/library/nginx:1.30-trixie", { registry: undefined, path: "nginx", tag: "1.30-trixie", digest: undefined }],
    [`nginx:1.30-trixie@${DIGEST}`, { registry: undefined, path: "nginx", tag: "1.30-trixie", digest: DIGEST }],
    ["registry.local:5000/team/haproxy:2.6", { registry: "registry.local:5000", path: "team/haproxy", tag: "2.6", digest: undefined }],
    ["localhost/node", { registry: "localhost", path: "node", tag: undefined, digest: undefined }],
    ["bitnami/nginx:1.30", { registry: undefined, path: "bitnami/nginx", tag: "1.30", digest: undefined }],
  ])("%s", (reference, parts) => {
    expect(parseImageReference(reference)).toEqual(parts);
  });

  test.each([
    ["nginx", "nginx:1.30-trixie", "official"],
    ["nginx", `docker.io/library/nginx@${DIGEST}`, "official"],
    ["haproxy", "registry.local/haproxy:2.6.12", "official"], // a mirror under the same name
    ["mariadb", "mariadb:10.11.9", "official"],
    ["nginx", "nginx:1.30-alpine", "alpine"],
    ["node", "node:22-alpine3.22", "alpine"],
    ["haproxy", `registry.local/haproxy:2.6-alpine@${DIGEST}`, "alpine"],
    ["nginx", "bitnami/nginx:1.30", "custom"],
    ["node", "myorg/shop-app:3", "custom"],
    ["nginx", "haproxy:2.6-trixie", "custom"],
  ] as const)("%s: %s is %s", (software, reference, kind) => {
    expect(classifyImage(software, reference)).toBe(kind);
  });
});

describe("the custom-image contract", () => {
  test("names the binaries, sh, the probe's needs and the users", () => {
    expect(customImageContract("nginx", "/bin/bash")).toBe(
      "nginx on the PATH; /bin/sh with cat, chmod, chown, date, find, getent, head, kill, ls, mkdir, mkfifo, mv, rm, rmdir, sed, sleep, touch; bash (the HTTP health check runs with /bin/bash); the user nobody and the group nogroup",
    );
    expect(customImageContract("haproxy", "/bin/sh")).toContain("haproxy on the PATH;");
    expect(customImageContract("haproxy", "/bin/sh")).toContain("bash, wget or curl (for the HTTP health check); the user haproxy");
    expect(customImageContract("node", "/bin/sh")).toContain("the user node");
    expect(customImageContract("mariadb", "/bin/bash")).toMatch(
      /^mariadbd, mariadb-install-db, mariadb, mariadb-admin on the PATH; .*; the user and group mysql$/,
    );
    expect(customImageContract("mysql", "/bin/bash")).toMatch(/^mysqld, mysql, mysqladmin on the PATH; /);
    // The databases' health check is their admin tool's ping, not the HTTP probe.
    expect(customImageContract("mysql", "/bin/bash")).not.toContain("bash");
  });
});

describe("checkImageOverride", () => {
  test("an official image passes; another image is a warning with the contract", () => {
    expect(checkImageOverride("nginx", `nginx:1.30-trixie@${DIGEST}`, "/bin/bash")).toEqual({});
    const custom = checkImageOverride("nginx", "bitnami/nginx:1.30", "/bin/sh");
    expect(custom.error).toBeUndefined();
    expect(custom.warning?.problem).toBe('"bitnami/nginx:1.30" is not the official nginx image, so cdktf-ha-web cannot know what it contains');
    expect(custom.warning?.fix).toContain("the user nobody and the group nogroup");
  });

  test("an Alpine tag is an error while the probe runs with bash, a warning with the POSIX probe", () => {
    const withBash = checkImageOverride("nginx", "nginx:1.30-alpine", "/bin/bash");
    expect(withBash.error?.problem).toBe('"nginx:1.30-alpine" is Alpine-based: it has no bash, and the HTTP health check runs `/bin/bash healthcheck-http.sh`');
    expect(withBash.error?.fix).toMatch(
      /^use a Debian-based tag such as "nginx:1\.30-trixie" \(or leave images\.nginx unset for the pinned default\), or an image that contains: nginx on the PATH; \/bin\/sh with /,
    );
    const withSh = checkImageOverride("nginx", "nginx:1.30-alpine", "/bin/sh");
    expect(withSh.error).toBeUndefined();
    expect(withSh.warning?.problem).toContain("falling back to busybox wget");
  });

  test("an Alpine tag of the official mariadb or mysql image does not exist", () => {
    for (const shell of ["/bin/bash", "/bin/sh"]) {
      expect(checkImageOverride("mariadb", "mariadb:10.11-alpine", shell).error?.problem).toContain(
        "an Alpine tag, which the official mariadb image does not publish",
      );
      expect(checkImageOverride("mysql", "mysql:8.4-alpine", shell).error?.problem).toContain("the official mysql image does not publish");
    }
  });
});

describe("DockerTarget", () => {
  const bashProbe = /bash$/.test(httpProbeShell());

  test("refuses an Alpine nginx while the health check needs bash (else warns), naming images.nginx and the contract", () => {
    const build = () => target({ images: { nginx: "nginx:1.30-alpine" } });
    if (bashProbe) {
      expect(build).toThrow(
        /DockerTarget 'overrides\/docker' has invalid props:\n- prop `images\.nginx` "nginx:1\.30-alpine" is Alpine-based: it has no bash[\s\S]*Fix: use a Debian-based tag such as "nginx:1\.30-trixie"[\s\S]*the user nobody and the group nogroup\./,
      );
    } else {
      expect(annotations(build(), "warn").join("\n")).toContain('prop `images.nginx` "nginx:1.30-alpine" is Alpine-based (musl, busybox)');
    }
  });

  test("refuses an Alpine mariadb tag, and still refuses a value that is no image reference", () => {
    expect(() => target({ images: { mariadb: "mariadb:10.11-alpine" } })).toThrow(/prop `images\.mariadb` "mariadb:10\.11-alpine" is an Alpine tag/);
    expect(() => target({ images: { nginx: "Nginx Latest" } })).toThrow(
      /prop `images\.nginx` "Nginx Latest" is not an image reference\. Fix: use a reference like "nginx:1\.30-trixie"/,
    );
  });

  test("warns about an image that is not the official one, once, and accepts it", () => {
    const stack = target({ images: { node: "myorg/shop-app:3", haproxy: "registry.local/haproxy:2.6.12" } });
    const warnings = annotations(stack, "warn");
    expect(warnings).toEqual([
      expect.stringMatching(
        /^DockerTarget 'overrides\/docker': prop `images\.node` "myorg\/shop-app:3" is not the official node image, so cdktf-ha-web cannot know what it contains\. Fix: make sure it contains: node on the PATH; .*the user node/,
      ),
    ]);
  });

  test("the defaults and official overrides raise nothing", () => {
    expect(annotations(target({}), "warn")).toEqual([]);
    expect(annotations(target({ images: { mariadb: "mariadb:10.11.9", nginx: `nginx:1.30-trixie@${DIGEST}` } }), "warn")).toEqual([]);
  });
});
