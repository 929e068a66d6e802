import { spawnSync } from "child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  APT_PREFERENCES_PATH,
  CloudConfigHost,
  PREPARE_SCRIPT,
  PREPARE_UNIT,
  renderCloudConfig,
  renderAptHoldBack,
  renderPrepareScript,
  renderServiceUnit,
  renderSsmAgentInstallScript,
  secretFileFor,
  serviceUnitName,
  systemdQuote,
  USER_DATA_LIMIT_BYTES,
  userDataSize,
  validateCloudConfigHost,
} from "../../../../../lib/targets/aws/private/cloud-init";
import { renderAppStartScript } from "../../../../../templates/scripts/app";
import { renderHttpHealthcheckScript } from "../../../../../templates/scripts/healthcheck";
import { renderWebStartScript } from "../../../../../templates/scripts/web";
import { PATHS } from "../../../../../templates/paths";
import { CloudConfigDoc, cloudInitSchema, cloudInitSchemaEach, hasCloudInit, hasSystemdAnalyze, parseYaml, shellSyntax, systemdVerify } from "./tools";

/** A web host as the AWS target describes it: Nginx and its app, a secret, the bundle from S3. */
const webHost: CloudConfigHost = {
  hostName: "web-1",
  fqdn: "web-1.haweb.internal",
  role: "web",
  packages: ["nginx", "nodejs"],
  maskUnits: ["nginx.service"],
  systemUsers: ["node"],
  files: [
    { path: `${PATHS.binDir}/start-app.sh`, content: renderAppStartScript(), executable: true },
    { path: `${PATHS.binDir}/healthcheck-http.sh`, content: renderHttpHealthcheckScript(), executable: true },
    { path: PATHS.nginxConfig, content: "events {}\n" },
    { path: `${PATHS.binDir}/start-web.sh`, content: renderWebStartScript(), executable: true },
    // The same file from the second service: written once.
    { path: `${PATHS.binDir}/healthcheck-http.sh`, content: renderHttpHealthcheckScript(), executable: true },
  ],
  services: [
    {
      name: "web-1-app",
      role: "app",
      command: ["/bin/sh", `${PATHS.binDir}/start-app.sh`],
      environment: { PORT: "3000", DB_READER_HOSTS: "db-replica-1.haweb.internal:3306" },
      secrets: [{ env: "DB_PASSWORD", parameterName: "/haweb/db-app-password" }],
      user: "node",
    },
    { name: "web-1", role: "web", command: ["/bin/sh", `${PATHS.binDir}/start-web.sh`], environment: {}, secrets: [], after: ["web-1-app"] },
  ],
  assets: [{ s3Uri: "s3://haweb-assets-123/assets/ABC/server.js", path: PATHS.appEntry }],
};

const dbHost: CloudConfigHost = {
  hostName: "db-primary",
  role: "database",
  packages: ["mariadb-server", "mariadb-client"],
  maskUnits: ["mariadb.service"],
  systemUsers: [],
  files: [{ path: PATHS.mysqlConfig, content: "[mysqld]\n" }],
  services: [
    {
      name: "db-primary",
      role: "database",
      command: ["/bin/sh", `${PATHS.binDir}/start-db-primary.sh`],
      environment: {},
      secrets: [
        { env: "HAWEB_DB_APP_PASSWORD", parameterName: "/haweb/db-app-password" },
        { env: "HAWEB_DB_REPLICATION_PASSWORD", parameterName: "/haweb/db-replication-password" },
      ],
      dataMount: PATHS.mysqlVolume,
    },
  ],
  assets: [],
  volume: { volumeId: "vol-0123456789abcdef0", mountPath: PATHS.mysqlVolume },
};

const lbHost: CloudConfigHost = {
  hostName: "lb-1",
  role: "load-balancer",
  packages: ["haproxy"],
  maskUnits: ["haproxy.service"],
  systemUsers: [],
  files: [{ path: PATHS.haproxyConfig, content: "global\n" }],
  services: [{ name: "lb-1", role: "load-balancer", command: ["/bin/sh", `${PATHS.binDir}/start-lb.sh`], environment: {}, secrets: [] }],
  assets: [],
  installSsmAgent: false,
};

const rendered = { web: renderCloudConfig(webHost), db: renderCloudConfig(dbHost), lb: renderCloudConfig(lbHost) };
const docs = { web: parseYaml(rendered.web) as CloudConfigDoc, db: parseYaml(rendered.db) as CloudConfigDoc, lb: parseYaml(rendered.lb) as CloudConfigDoc };
const file = (doc: CloudConfigDoc, path: string) => doc.write_files.find((f) => f.path === path);

describe("renderCloudConfig", () => {
  const schema = hasCloudInit() ? test : test.skip;
  /** The three hosts' user data through one schema validation run (made by the first test that asks). */
  let validated: ReturnType<typeof cloudInitSchemaEach> | undefined;
  schema.each(Object.keys(rendered) as (keyof typeof rendered)[])("the %s host's user data passes `cloud-init schema`", (host) => {
    validated ??= cloudInitSchemaEach(rendered);
    expect(validated[host]).toEqual({ status: 0, output: expect.stringContaining("Valid cloud-config") });
  });

  test("starts with #cloud-config and stays far below EC2's 16 KB", () => {
    for (const text of Object.values(rendered)) {
      expect(text.startsWith("#cloud-config\n")).toBe(true);
      expect(userDataSize(text)).toBeLessThan(USER_DATA_LIMIT_BYTES);
    }
  });

  test("masks the distribution's units in bootcmd, before any package is installed", () => {
    expect(docs.web.bootcmd).toEqual([["systemctl", "mask", "nginx.service"]]);
    expect(docs.db.bootcmd).toEqual([["systemctl", "mask", "mariadb.service"]]);
  });

  test("installs the packages, plus awscli only where secrets or assets are fetched", () => {
    expect(docs.web.package_update).toBe(true);
    expect(docs.web.packages).toEqual(["awscli", "curl", "nginx", "nodejs"]);
    expect(docs.lb.packages).toEqual(["curl", "haproxy"]);
  });

  test("writes every service file byte for byte, once per path, executables 0755", () => {
    expect(file(docs.web, `${PATHS.binDir}/start-web.sh`)).toEqual({
      path: `${PATHS.binDir}/start-web.sh`,
      content: renderWebStartScript(),
      permissions: "0755",
      owner: "root:root",
    });
    expect(file(docs.web, PATHS.nginxConfig)?.permissions).toBe("0644");
    expect(docs.web.write_files.filter((f) => f.path.endsWith("healthcheck-http.sh"))).toHaveLength(1);
  });

  test("creates the unprivileged service users (keeping the image's default user)", () => {
    expect(docs.web.users).toEqual(["default", expect.objectContaining({ name: "node", system: true })]);
    expect(docs.lb.users).toBeUndefined();
  });

  test("one unit per service; every unit requires the prepare unit; enabled without blocking cloud-init", () => {
    const units = [PREPARE_UNIT, serviceUnitName("web-1-app"), serviceUnitName("web-1")];
    expect(docs.web.runcmd).toContainEqual(["systemctl", "enable", "--now", "--no-block", ...units]);
    for (const name of units.slice(1)) {
      const unit = file(docs.web, `/etc/systemd/system/${name}`)?.content ?? "";
      expect(unit).toMatch(/^Wants=.*ha-web-prepare\.service/m);
      expect(unit).toMatch(/^ExecStartPre=\/bin\/systemctl is-active --quiet ha-web-prepare\.service$/m);
      expect(unit).not.toMatch(/^Requires=/m);
      expect(unit).toMatch(/^Restart=always$/m);
    }
    // Nginx starts after its app on the same host.
    expect(file(docs.web, "/etc/systemd/system/ha-web-web-1.service")?.content).toMatch(
      /^After=network-online\.target ha-web-prepare\.service ha-web-web-1-app\.service$/m,
    );
  });

  test("a host with nothing to prepare has no prepare unit", () => {
    expect(file(docs.lb, `/etc/systemd/system/${PREPARE_UNIT}`)).toBeUndefined();
    expect(file(docs.lb, "/etc/systemd/system/ha-web-lb-1.service")?.content).not.toMatch(/ha-web-prepare/);
    expect(docs.lb.runcmd).toEqual([
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "--no-block", "ha-web-lb-1.service"],
    ]);
  });

  test("secrets reach the services as systemd credentials, read through NAME_FILE; values never appear", () => {
    const app = file(docs.web, "/etc/systemd/system/ha-web-web-1-app.service")?.content ?? "";
    expect(app).toContain(`LoadCredential=DB_PASSWORD:${secretFileFor("/haweb/db-app-password")}`);
    expect(app).toContain("Environment=DB_PASSWORD_FILE=%d/DB_PASSWORD");
    expect(app).toContain("User=node");
    expect(secretFileFor("/haweb/db-app-password")).toBe("/run/ha-web/secrets/haweb-db-app-password");
  });

  test("the database waits for its data volume and never starts on the root volume", () => {
    const unit = file(docs.db, "/etc/systemd/system/ha-web-db-primary.service")?.content ?? "";
    expect(unit).toContain("RequiresMountsFor=/var/lib/mysql");
    expect(unit).toContain("ExecStartPre=/usr/bin/mountpoint -q /var/lib/mysql");
    expect(unit).toContain("TimeoutStopSec=60");
    const prepare = file(docs.db, PREPARE_SCRIPT)?.content ?? "";
    expect(prepare).toContain("VOLUME_ID='vol-0123456789abcdef0'");
    expect(prepare).toContain('blkid -p "$disk"');
  });

  const verify = hasSystemdAnalyze() ? test : test.skip;
  verify("every unit passes `systemd-analyze verify`", () => {
    const units: Record<string, string> = {};
    for (const doc of Object.values(docs)) {
      for (const f of doc.write_files.filter((w) => w.path.startsWith("/etc/systemd/system/"))) units[f.path.split("/").pop() as string] = f.content;
    }
    expect(Object.keys(units).length).toBeGreaterThanOrEqual(5);
    expect(systemdVerify(units)).toEqual({ status: 0, output: "" });
  });

  test("every script it writes is valid sh", () => {
    for (const doc of Object.values(docs)) {
      for (const f of doc.write_files.filter((w) => w.path.endsWith(".sh")))
        expect({ path: f.path, errors: shellSyntax(f.content) }).toEqual({ path: f.path, errors: "" });
    }
  });

  test("held-back packages are pinned away (priority -1) in a file cloud-init writes before apt runs; a service may start without the prepare step", () => {
    const host: CloudConfigHost = {
      ...dbHost,
      packages: [...dbHost.packages, "prometheus-node-exporter"],
      heldBackPackages: ["prometheus-node-exporter-collectors"],
      services: [
        ...dbHost.services,
        {
          name: "node-exporter",
          role: "machine metrics",
          command: ["/usr/bin/prometheus-node-exporter", "--web.listen-address=:9100"],
          environment: {},
          secrets: [],
          user: "prometheus",
          requiresPrepare: false,
        },
      ],
    };
    const text = renderCloudConfig(host);
    const doc = parseYaml(text) as CloudConfigDoc;
    expect(file(doc, APT_PREFERENCES_PATH)).toEqual({
      path: "/etc/apt/preferences.d/ha-web",
      permissions: "0644",
      owner: "root:root",
      content: renderAptHoldBack(["prometheus-node-exporter-collectors"]),
    });
    expect(renderAptHoldBack(["a-b"])).toContain("\nPackage: a-b\nPin: version *\nPin-Priority: -1\n");
    const exporter = file(doc, "/etc/systemd/system/ha-web-node-exporter.service")?.content ?? "";
    expect(exporter).not.toContain("ha-web-prepare");
    expect(exporter).toContain("User=prometheus");
    // The others still wait for it.
    expect(file(doc, "/etc/systemd/system/ha-web-db-primary.service")?.content).toContain(
      "ExecStartPre=/bin/systemctl is-active --quiet ha-web-prepare.service",
    );
    if (hasCloudInit()) expect(cloudInitSchema(text, "held-back")).toEqual({ status: 0, output: expect.stringContaining("Valid cloud-config") });
    // Without held-back packages, no pin file.
    expect(file(docs.db, APT_PREFERENCES_PATH)).toBeUndefined();
  });

  test("the SSM agent is installed after the services are enabled, unless turned off", () => {
    expect(docs.web.runcmd[docs.web.runcmd.length - 1]).toEqual(["sh", `${PATHS.binDir}/install-ssm-agent.sh`]);
    expect(renderSsmAgentInstallScript()).toContain("https://s3.$region.amazonaws.com/amazon-ssm-$region/latest/$arch/amazon-ssm-agent.deb");
    expect(rendered.lb).not.toContain("install-ssm-agent");
  });

  test.each([
    [{ ...lbHost, files: [...lbHost.files, { path: PATHS.haproxyConfig, content: "other\n" }] }, /two different files at \/etc\/ha-web\/haproxy.cfg/],
    [{ ...lbHost, services: [{ ...lbHost.services[0], after: ["web-9"] }] }, /lb-1 starts after web-9, which is not on this host/],
    [{ ...lbHost, services: [{ ...lbHost.services[0], dataMount: "/data" }] }, /keeps data at \/data, but the host mounts no volume there/],
    [{ ...lbHost, packages: ["Bad Name"] }, /"Bad Name" is not a Debian package name/],
    [{ ...lbHost, files: [{ path: "relative.cfg", content: "" }] }, /file path "relative.cfg" must be absolute/],
    [{ ...lbHost, heldBackPackages: ["haproxy"] }, /haproxy is both installed and held back/],
    [{ ...lbHost, heldBackPackages: ["Bad Pin"] }, /"Bad Pin" is not a Debian package name/],
    [{ ...lbHost, services: [lbHost.services[0], lbHost.services[0]] }, /two services have the same name/],
    [
      { ...lbHost, assets: [{ s3Uri: "s3://b/files/x/haproxy.cfg", path: PATHS.haproxyConfig }] },
      /haproxy.cfg is both a file written by cloud-init and an asset/,
    ],
    [
      {
        ...lbHost,
        assets: [
          { s3Uri: "s3://b/files/x/tool", path: "/opt/ha-web/bin/tool" },
          { s3Uri: "s3://b/files/y/tool", path: "/opt/ha-web/bin/tool" },
        ],
      },
      /two assets at \/opt\/ha-web\/bin\/tool/,
    ],
  ])("rejects an inconsistent host (%#)", (host, message) => {
    expect(validateCloudConfigHost(host).join("; ")).toMatch(message);
    expect(() => renderCloudConfig(host)).toThrow(message);
  });
});

describe("systemd units", () => {
  test("quotes words for Exec and Environment lines", () => {
    expect(systemdQuote("/opt/ha-web/bin/start.sh")).toBe("/opt/ha-web/bin/start.sh");
    expect(systemdQuote("a b")).toBe('"a b"');
    expect(systemdQuote('50% of "$HOME"\\')).toBe('"50%% of \\"$$HOME\\"\\\\"');
    expect(systemdQuote("$HOME", false)).toBe('"$HOME"');
  });

  test("plain settings become Environment= lines, quoted when needed", () => {
    const unit = renderServiceUnit({
      serviceName: "app",
      description: "app",
      command: ["/usr/bin/node", "server.js"],
      environment: { GREETING: "hello world", PORT: "3000" },
      secrets: [],
    });
    expect(unit).toContain('Environment="GREETING=hello world"');
    expect(unit).toContain("Environment=PORT=3000");
    expect(unit).toContain("ExecStart=/usr/bin/node server.js");
  });

  test.each([
    [{ command: ["sh", "x.sh"] }, /must start with an absolute path/],
    [{ environment: { "BAD-NAME": "x" } }, /"BAD-NAME" is not valid/],
    [{ environment: { A: "x\ny" } }, /A contains a line break/],
    [{ environment: { S: "x" }, secrets: [{ env: "S", sourcePath: "/run/s" }] }, /S is both a plain setting and a secret/],
    [{ user: "Root User" }, /user "Root User" is not a valid user name/],
  ])("rejects %j", (override, message) => {
    expect(() => renderServiceUnit({ serviceName: "svc", description: "svc", command: ["/bin/true"], environment: {}, secrets: [], ...override })).toThrow(
      message,
    );
  });
});

describe("the prepare script, run with stand-ins for aws and the metadata service", () => {
  const dir = mkdtempSync(join(tmpdir(), "prepare-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, "bin");
  const secrets = join(dir, "secrets");
  mkdirSync(bin);
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  // IMDSv2: a token first, then the region.
  stub("curl", 'case "$*" in *api/token*) echo token ;; *placement/region*) echo eu-west-1 ;; *) exit 22 ;; esac');
  stub(
    "aws",
    [
      'echo "$AWS_DEFAULT_REGION $*" >>"$(dirname "$0")/../aws.log"',
      'case "$1 $2" in',
      '  "ssm get-parameter") echo "value-of-$4" ;;',
      '  "s3 cp") echo bundle >"$5" ;;',
      "esac",
    ].join("\n"),
  );
  const script = renderPrepareScript({
    hostName: "web-1",
    secretsDir: secrets,
    secrets: [{ parameterName: "/haweb/db-app-password", file: join(secrets, "app") }],
    assets: [
      { s3Uri: "s3://bucket/assets/ABC/server.js", path: join(dir, "app", "server.js") },
      // A service file too big for user data, executable.
      { s3Uri: "s3://bucket/files/abc/ha-web-db-failover", path: join(dir, "bin", "ha-web-db-failover"), executable: true },
    ],
  });
  const result = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });

  test("exits 0 and logs each step", () => {
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.stringContaining("host web-1 prepared") });
  });

  test("calls AWS in the instance's region, with decryption", () => {
    expect(readFileSync(join(dir, "aws.log"), "utf8")).toBe(
      [
        "eu-west-1 ssm get-parameter --name /haweb/db-app-password --with-decryption --query Parameter.Value --output text",
        `eu-west-1 s3 cp --only-show-errors s3://bucket/assets/ABC/server.js ${join(dir, "app", "server.js")}.tmp`,
        `eu-west-1 s3 cp --only-show-errors s3://bucket/files/abc/ha-web-db-failover ${join(dir, "bin", "ha-web-db-failover")}.tmp`,
        "",
      ].join("\n"),
    );
  });

  test("writes each secret root-only, in a root-only directory", () => {
    expect(readFileSync(join(secrets, "app"), "utf8")).toBe("value-of-/haweb/db-app-password\n");
    expect(statSync(join(secrets, "app")).mode & 0o777).toBe(0o600);
    expect(statSync(secrets).mode & 0o777).toBe(0o700);
  });

  test("puts each asset in place, world-readable; an executable one executable, both root's", () => {
    expect(readFileSync(join(dir, "app", "server.js"), "utf8")).toBe("bundle\n");
    expect(statSync(join(dir, "app", "server.js")).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, "bin", "ha-web-db-failover")).mode & 0o777).toBe(0o755);
    if (process.getuid?.() === 0) expect(statSync(join(dir, "bin", "ha-web-db-failover")).uid).toBe(0);
  });

  test("exits non-zero (so the units that require it do not start) when a secret cannot be fetched", () => {
    stub("aws", "exit 255");
    const failing = renderPrepareScript({
      hostName: "web-1",
      secretsDir: secrets,
      secrets: [{ parameterName: "/x", file: join(secrets, "x") }],
      assets: [],
      retryAttempts: 1,
    });
    const r = spawnSync("sh", ["-c", failing], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("giving up: fetch_secret /x");
  });
});
