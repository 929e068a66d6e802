import { spawnSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { gzipSync } from "zlib";
import { DefaultTokenResolver, StringConcat, Testing, Tokenization } from "cdktf";
import { hasBinary, isRoot } from "../../../helpers/binaries";
import { expectedTakeoverSeconds } from "../../../../templates/keepalived";
import { AwsStack } from "../../../../examples/aws-stack";
import { LocalStack } from "../../../../main";
import { BACKUP_METRICS_DIR, DOCKER_BACKUP_STORE_PATH, HostSpec, MysqlCluster } from "../../../../lib";
import { renderablePlan } from "../../../../lib/private/backup-plan-rendering";
import { renderBackupFiles } from "../../../../templates/mysql/backup-files";
import { BACKUP_COMMANDS, BackupPlan } from "../../../../templates/mysql/backup-plan";
import { AwsTarget } from "../../../../lib/targets/aws";
import { estimatedUserDataSize, INLINE_FILE_LIMIT_BYTES, isInlineFile } from "../../../../lib/targets/aws/private/user-data";
import { renderRoute53MoveCommand } from "../../../../lib/targets/aws/private/route53-move";
import { escapeTerraformTemplate } from "../../../../lib/private/terraform-escape";
import { USER_DATA_LIMIT_BYTES, userDataSize } from "../../../../lib/targets/aws/private/cloud-init";
import { containers, SynthesizedStack } from "../../../helpers/synth";
import { renderWebStartScript } from "../../../../templates/scripts/web";
import {
  CloudConfigDoc,
  cloudInitSchema,
  cloudInitSchemaEach,
  hasCloudInit,
  hasSystemdAnalyze,
  parseYaml,
  parseYamlAll,
  shellSyntax,
  systemdVerify,
} from "./cloud-init/tools";
import { asDelivered, instancesByHost, Json, resources, synthAws } from "./aws-helpers";
import { bareService } from "../../../helpers/bare-service";

/** The host specs the tiers hand to the AWS target, captured as they pass. */
const specs: HostSpec[] = [];
const addHost = AwsTarget.prototype.addHost;
const spy = jest.spyOn(AwsTarget.prototype, "addHost").mockImplementation(function (this: AwsTarget, scope, spec) {
  specs.push(spec);
  return addHost.call(this, scope, spec);
});
const stack = new AwsStack(Testing.app(), "aws");
const parsed = JSON.parse(Testing.synth(stack)) as SynthesizedStack;
spy.mockRestore();

const instances = instancesByHost(parsed);
const hosts = instances;
const hostNames = Object.keys(instances).sort();
const raw = Object.fromEntries(hostNames.map((h) => [h, String(instances[h].user_data)]));
const delivered = Object.fromEntries(hostNames.map((h) => [h, asDelivered(raw[h])]));
const docs = Object.fromEntries(parseYamlAll(hostNames.map((h) => delivered[h])).map((doc, i) => [hostNames[i], doc as CloudConfigDoc]));
const written = (host: string, path: string) => docs[host].write_files.find((f) => f.path === path)?.content;

/** The S3 objects of the stack by key, their content as Terraform uploads it (references filled in, escapes undone). */
const objects = Object.fromEntries(
  Object.values((parsed.resource.aws_s3_object ?? {}) as Record<string, { key: string; content?: string }>).map((o) => [
    o.key,
    o.content === undefined ? undefined : asDelivered(o.content),
  ]),
);
/**
 * A file the host's prepare step fetches from S3 (a service file too big for user data): the object's content,
 * and the mode it is given, read from the prepare script.
 */
function fetched(host: string, path: string): { content: string | undefined; mode: string } | undefined {
  const prepare = written(host, "/opt/ha-web/bin/prepare-host.sh") ?? "";
  const quoted = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^retry fetch_asset 's3://[^/']+/([^']+)' '${quoted}'\nchmod (\\d+) '${quoted}\\.tmp'\nmv '${quoted}\\.tmp' '${quoted}'$`, "m").exec(
    prepare,
  );
  return m ? { content: objects[m[1]], mode: m[2] } : undefined;
}
/** A service file as the host has it once prepared: written by cloud-init, or fetched from S3. */
const onHost = (host: string, path: string) => written(host, path) ?? fetched(host, path)?.content;

/** The backup plan of the stack's cluster. */
function backupPlanOf(scope: typeof stack): BackupPlan {
  const cluster = scope.node.findAll().find((c): c is MysqlCluster => c instanceof MysqlCluster);
  if (!cluster?.backupPlan) throw new Error("the stack has no cluster with backups");
  // Its bucket is a reference: a literal stand-in renders the same files (paths, modes).
  return renderablePlan(cluster.backupPlan).literal;
}

/** The same declaration on Docker: what the containers get uploaded. */
const docker = containers(JSON.parse(Testing.synth(new LocalStack(Testing.app(), "local"))) as SynthesizedStack);

/** What EC2 counts: the gzipped text (Terraform's base64gzip), before base64. */
const gzipped = (text: string) => gzipSync(Buffer.from(text, "utf8")).length;
const HOSTS = ["db-primary", "db-replica-1", "lb-1", "lb-2", "monitoring", "web-1", "web-2"];

afterAll(() => {
  const sizes = hostNames.map((h) => `${h} ${gzipped(delivered[h])} B gzipped, ${userDataSize(delivered[h])} B text (limit ${USER_DATA_LIMIT_BYTES})`);
  console.info(`user data sizes, as delivered:\n  ${sizes.join("\n  ")}`);
});

describe("user data of every instance", () => {
  test("one user data per host", () => {
    expect(hostNames).toEqual(HOSTS);
    expect(specs.map((s) => s.name).sort()).toEqual(hostNames);
  });

  const schema = hasCloudInit() ? test : test.skip;
  /** Every host's user data, and one cloud-init refuses, through one schema validation run (made by the first test that asks). */
  let validated: ReturnType<typeof cloudInitSchemaEach> | undefined;
  const schemaOf = (name: string) => {
    validated ??= cloudInitSchemaEach({ ...delivered, "not-a-list": "#cloud-config\npackages: 5\n" });
    return validated[name];
  };
  schema.each(HOSTS)("%s passes `cloud-init schema --config-file`", (host) => {
    expect(schemaOf(host)).toEqual({ status: 0, output: expect.stringContaining("Valid cloud-config") });
  });
  schema("the same validation run refuses user data that breaks the schema", () => {
    expect(schemaOf("not-a-list")).toEqual({ status: 1, output: expect.stringContaining("packages: 5 is not of type 'array'") });
  });

  test.each(HOSTS)("%s is under EC2's 16 KB gzipped, as delivered and as estimated with worst-case references", (host) => {
    // The instance gets `${base64gzip(local.<text>)}`: EC2 counts the gzipped bytes.
    expect(hosts[host].user_data_base64).toMatch(/^\$\{base64gzip\(local\.[\w-]+\)\}$/);
    expect(gzipped(delivered[host])).toBeLessThan(USER_DATA_LIMIT_BYTES);
    // The estimate counts each reference as 64 hex digits: an upper bound of what is delivered.
    expect(gzipped(delivered[host])).toBeLessThanOrEqual(stack.target.userDataSizes[host]);
    expect(userDataSize(delivered[host])).toBeLessThanOrEqual(stack.target.userDataTextSizes[host]);
    // Room to grow: under 10 KB of the 16 KB. Big files (the app bundle) travel through S3, not user data.
    expect(stack.target.userDataSizes[host]).toBeLessThan(10 * 1024);
  });

  test("every file of every service is written byte for byte: inline, or fetched from S3 with its mode when it is big", () => {
    let files = 0;
    const fromS3: string[] = [];
    for (const spec of specs) {
      for (const file of spec.services.flatMap((s) => s.files)) {
        // A deploy-time reference (the Elastic IP's allocation id, the zone id, the backup bucket's name) arrives filled in: asDelivered's placeholder.
        const expected = file.content.replace(/\$\{TfToken\[[^\]]+\]\}/g, (token) =>
          asDelivered(String(Tokenization.resolve(token, { scope: stack, preparing: false, resolver: new DefaultTokenResolver(new StringConcat()) }))),
        );
        const mode = file.executable ? "0755" : "0644";
        const inline = docs[spec.name].write_files.find((f) => f.path === file.path);
        if (isInlineFile(file)) {
          expect({ host: spec.name, path: file.path, content: inline?.content, mode: inline?.permissions }).toEqual({
            host: spec.name,
            path: file.path,
            content: expected,
            mode,
          });
        } else {
          // Too big for user data: not in it, but an S3 object of exactly that content, fetched to the path with the mode.
          expect(inline).toBeUndefined();
          expect({ host: spec.name, path: file.path, fetched: fetched(spec.name, file.path) }).toEqual({
            host: spec.name,
            path: file.path,
            fetched: { content: expected, mode: mode.slice(1) },
          });
          fromS3.push(`${spec.name}:${file.path}`);
        }
        files++;
      }
    }
    expect(files).toBeGreaterThanOrEqual(15);
    // The failover script (too big) and the backup commands (never inline: they would crowd the source's user data).
    expect(fromS3.sort()).toEqual(
      [
        "db-primary:/opt/ha-web/bin/ha-web-db-failover",
        "db-replica-1:/opt/ha-web/bin/ha-web-db-failover",
        ...["db-primary", "db-replica-1"].flatMap((node) => renderBackupFiles(backupPlanOf(stack), node).map((f) => `${node}:${f.path}`)),
      ].sort(),
    );
    expect(fromS3).toContain(`db-replica-1:${BACKUP_COMMANDS.backup}`);
  });

  test("the failover script moves the writer with the Route 53 snippet, the zone id filled in by Terraform", () => {
    const script = onHost("db-replica-1", "/opt/ha-web/bin/ha-web-db-failover") ?? "";
    // The assignment, single-quoted over several lines.
    const line = /^MOVE_WRITER_COMMAND='(?:[^']|'\\'')*'$/m.exec(script)?.[0] ?? "";
    // What the script's `sh -c "$MOVE_WRITER_COMMAND"` runs, once the shell has read the quoted assignment.
    const command = spawnSync("sh", ["-c", `${line}\nprintf '%s' "$MOVE_WRITER_COMMAND"`], { encoding: "utf8" }).stdout;
    const expected = renderRoute53MoveCommand({ zoneId: "Z1", recordName: "db-writer.haweb.internal" }).replace("zone='Z1'", `zone='${"x".repeat(32)}'`);
    expect(command).toBe(expected);
    expect(shellSyntax(command)).toBe("");
    // In the synthesized object: the private zone's id, a reference.
    const raw = Object.values((parsed.resource.aws_s3_object ?? {}) as Record<string, { content?: string }>).find((o) =>
      o.content?.includes("MOVE_WRITER_COMMAND"),
    );
    expect(raw?.content).toMatch(/zone='\\''\$\{aws_route53_zone\.aws_private-zone_\w+\.zone_id\}'\\''/);
  });

  test("the start scripts are byte for byte the ones the Docker target uploads", () => {
    const compared: string[] = [];
    for (const spec of specs) {
      for (const service of spec.services) {
        const container = docker[`haweb-${service.name}`];
        for (const upload of container.upload.filter((u) => u.file.startsWith("/opt/ha-web/bin/"))) {
          let onAws = onHost(spec.name, upload.file);
          // Both database scripts name the writer (the replica also streams from it): its private DNS name on AWS,
          // its alias on Docker. Nothing else differs.
          if (/start-db-(primary|replica)\.sh$/.test(upload.file)) {
            expect(onAws).toContain("WRITER='db-writer.haweb.internal'");
            onAws = onAws?.split("db-writer.haweb.internal").join("db-writer");
          }
          // Nginx waits for its app's name on Docker (a container alias); on a VM its app is 127.0.0.1 and
          // there is nothing to wait for: the same renderer, given each target's colocated address.
          if (upload.file.endsWith("start-web.sh")) {
            expect(onAws).toBe(renderWebStartScript({ appHost: "127.0.0.1" }));
            onAws = renderWebStartScript({ appHost: `${service.name}-app` });
          }
          // The failover script names the nodes by each target's addresses (private DNS names on AWS, aliases on
          // Docker) and carries each target's move command (the Route 53 snippet on AWS, none on Docker).
          if (upload.file.endsWith("/ha-web-db-failover")) {
            expect(onAws).toContain("NODES='db-primary db-primary.haweb.internal 3306\ndb-replica-1 db-replica-1.haweb.internal 3306'");
            expect(onAws).toMatch(/^MOVE_WRITER_COMMAND='set -eu\n.*aws route53 change-resource-record-sets/ms);
            onAws = onAws
              ?.split(".haweb.internal 3306")
              .join(" 3306")
              .replace(/^MOVE_WRITER_COMMAND='(?:[^']|'\\'')*'$/m, "MOVE_WRITER_COMMAND=''");
          }
          // The backup commands name each target's store (the cluster's S3 bucket and region on AWS, the volume's
          // directory on Docker) and the writer by each target's name for it. Nothing else differs.
          if ((Object.values(BACKUP_COMMANDS) as string[]).includes(upload.file)) {
            if (onAws?.includes("STORE_KIND="))
              expect(onAws).toMatch(
                /^STORE_KIND=s3\nSTORE='s3:\/\/haweb-assets-20250101000000000000000001\/db'\nAWS_REGION_ARG='--region=us-east-1'\nSSE_ARGS=''$/m,
              );
            onAws = onAws
              ?.replace(/^STORE_KIND=s3\nSTORE='[^']*'\nAWS_REGION_ARG='[^']*'\nSSE_ARGS=''$/m, `STORE_KIND=directory\nSTORE='${DOCKER_BACKUP_STORE_PATH}'`)
              .split("db-writer.haweb.internal")
              .join("db-writer");
          }
          // Alertmanager, Prometheus' only client, listens where the target colocates it: loopback on a VM, every address of its container.
          if (upload.file.endsWith("start-alertmanager.sh")) {
            expect(onAws).toContain("--web.listen-address='127.0.0.1:9093'");
            onAws = onAws?.replace("--web.listen-address='127.0.0.1:9093'", "--web.listen-address='0.0.0.0:9093'");
          }
          // As Terraform delivers it: undo `$${` escapes, should the Docker target escape its uploads too.
          const onDocker = upload.content?.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
          expect({ file: upload.file, content: onAws }).toEqual({ file: upload.file, content: onDocker });
          compared.push(`${service.name}:${upload.file}`);
        }
      }
    }
    expect(compared).toEqual(
      expect.arrayContaining([
        "lb-1:/opt/ha-web/bin/start-lb.sh",
        "web-1:/opt/ha-web/bin/start-web.sh",
        "web-1-app:/opt/ha-web/bin/start-app.sh",
        "db-primary:/opt/ha-web/bin/start-db-primary.sh",
        "db-replica-1:/opt/ha-web/bin/start-db-replica.sh",
        "db-primary:/opt/ha-web/bin/ha-web-db-failover",
        "db-replica-1:/opt/ha-web/bin/ha-web-db-failover",
        `db-replica-1:${BACKUP_COMMANDS.backup}`,
        `db-replica-1:${BACKUP_COMMANDS.scheduler}`,
        "monitoring-alertmanager:/opt/ha-web/bin/start-alertmanager.sh",
      ]),
    );
  });

  test("the size estimate counts references at 64 bytes", () => {
    expect(estimatedUserDataSize("a${TfToken[TOKEN.7]}b")).toBe(66);
  });

  test("shell expansions reach the VM as written: Terraform's template syntax is escaped", () => {
    expect(raw["db-primary"]).toContain("PASSWORD('$${APP_PASSWORD_SQL}')");
    expect(delivered["db-primary"]).toContain("PASSWORD('${APP_PASSWORD_SQL}')");
    // Every remaining ${...} is a reference Terraform fills in: the volume id, the bucket.
    const references = Object.values(raw).flatMap((u) => [...u.matchAll(/(?<!\$)\$\{([^}]+)\}/g)].map((m) => m[1].replace(/\..*\./, ".*.")));
    expect([...new Set(references)].sort()).toEqual(["aws_ebs_volume.*.id", "aws_eip.*.allocation_id", "aws_s3_bucket.*.bucket"]);
    expect(() => escapeTerraformTemplate("x=$${TfToken[TOKEN.1]}")).toThrow(/right before a deploy-time reference/);
  });

  test("no secret value and no reference to one: secrets are fetched from SSM at boot", () => {
    for (const host of hostNames) {
      expect(raw[host]).not.toMatch(/random_password|aws_ssm_parameter/);
    }
    expect(written("db-primary", "/opt/ha-web/bin/prepare-host.sh")).toContain(
      "retry fetch_secret '/haweb/db-app-password' '/run/ha-web/secrets/haweb-db-app-password'",
    );
    expect(written("web-1", "/etc/systemd/system/ha-web-web-1-app.service")).toContain("Environment=DB_PASSWORD_FILE=%d/DB_PASSWORD");
  });

  test.each(HOSTS)("%s runs the node exporter: Debian's package without its collectors, our unit as prometheus, once the firewall is up", (host) => {
    const unit = written(host, "/etc/systemd/system/ha-web-node-exporter.service") ?? "";
    expect(unit).toContain("User=prometheus\n");
    // The backup source's (the replica's) also reads the backup metrics the backup commands write.
    const textfile = host === "db-replica-1" ? ` --collector.textfile.directory=${BACKUP_METRICS_DIR}` : "";
    expect(unit).toContain(`ExecStart=/usr/bin/prometheus-node-exporter --web.listen-address=:9100${textfile}\n`);
    expect(unit).toContain("Requires=ha-web-firewall.service\n");
    // It measures the machine even when the prepare step (volume, secrets) fails.
    expect(unit).not.toContain("ha-web-prepare");
    expect(docs[host].runcmd[1]).toEqual(expect.arrayContaining(["ha-web-node-exporter.service"]));
    expect(docs[host].packages).toContain("prometheus-node-exporter");
    expect(docs[host].bootcmd?.[0]).toContain("prometheus-node-exporter.service");
    // Its recommended collectors (ipmitool, smartmontools, nvme-cli and root timers) are pinned away, before apt runs.
    expect(written(host, "/etc/apt/preferences.d/ha-web")).toBe(
      "# Rendered by cdktf-ha-web: packages this host never installs.\n\nPackage: prometheus-node-exporter-collectors\nPin: version *\nPin-Priority: -1\n",
    );
  });

  test("the monitoring host mounts its EBS volume where Prometheus keeps its TSDB; Prometheus and Alertmanager run as root (their scripts drop to prometheus)", () => {
    const prepare = written("monitoring", "/opt/ha-web/bin/prepare-host.sh") ?? "";
    expect(prepare).toContain("VOLUME_ID='vol-0123456789abcdef0'");
    expect(prepare).toContain("MOUNT='/var/lib/ha-web/prometheus'");
    const prometheus = written("monitoring", "/etc/systemd/system/ha-web-monitoring.service") ?? "";
    expect(prometheus).toContain("RequiresMountsFor=/var/lib/ha-web/prometheus\n");
    expect(prometheus).toContain("ExecStartPre=/usr/bin/mountpoint -q /var/lib/ha-web/prometheus\n");
    expect(prometheus).not.toMatch(/^User=/m);
    const alertmanager = written("monitoring", "/etc/systemd/system/ha-web-monitoring-alertmanager.service") ?? "";
    // Alertmanager does not wait for Prometheus: alerting keeps its own lifecycle.
    expect(alertmanager).not.toMatch(/ha-web-monitoring\.service/);
    expect(alertmanager).not.toContain("RequiresMountsFor");
  });

  test("the database host formats and mounts its own EBS volume, found by the volume id", () => {
    const prepare = written("db-primary", "/opt/ha-web/bin/prepare-host.sh") ?? "";
    expect(prepare).toContain("VOLUME_ID='vol-0123456789abcdef0'");
    expect(prepare).toContain("MOUNT='/var/lib/mysql'");
    expect(raw["db-primary"]).toMatch(/VOLUME_ID='\$\{aws_ebs_volume\.[^}]+\.id\}'/);
  });

  test("the web hosts download the app bundle, the database hosts their failover script (executable); no other host touches S3", () => {
    for (const host of ["web-1", "web-2"])
      expect(written(host, "/opt/ha-web/bin/prepare-host.sh")).toMatch(
        /retry fetch_asset 's3:\/\/haweb-assets-\d+\/assets\/[0-9A-F]+\/server\.js' '\/opt\/ha-web\/app\/server\.js'\nchmod 644 /,
      );
    for (const host of ["db-primary", "db-replica-1"]) {
      // One object for both: the same script on every node.
      expect(written(host, "/opt/ha-web/bin/prepare-host.sh")).toMatch(
        /retry fetch_asset 's3:\/\/haweb-assets-\d+\/files\/[0-9a-f]{64}\/ha-web-db-failover' '\/opt\/ha-web\/bin\/ha-web-db-failover'\nchmod 755 /,
      );
    }
    // Each also fetches the backup commands it gets (the backup source: all of them), and the source names its store.
    expect(delivered["db-primary"].match(/s3:\/\//g)).toHaveLength(1 + renderBackupFiles(backupPlanOf(stack), "db-primary").length);
    const backupFiles = renderBackupFiles(backupPlanOf(stack), "db-replica-1");
    for (const file of backupFiles)
      expect(written("db-replica-1", "/opt/ha-web/bin/prepare-host.sh")).toMatch(
        new RegExp(`retry fetch_asset 's3://haweb-assets-\\d+/files/[0-9a-f]{64}/${file.path.split("/").pop()}' '${file.path}'\nchmod 755 `),
      );
    expect(delivered["db-replica-1"].match(/s3:\/\//g)).toHaveLength(1 + backupFiles.length);
    for (const host of ["lb-1", "lb-2", "monitoring"]) expect(delivered[host]).not.toContain("s3://");
    // One object per content: a command every node gets (the restore) is stored once.
    const distinct = new Set([...renderBackupFiles(backupPlanOf(stack), "db-primary"), ...backupFiles].map((f) => f.path));
    expect(Object.keys(objects).filter((k) => k.startsWith("files/"))).toHaveLength(1 + distinct.size);
  });

  test("Debian's packages for each role; the distribution's own units masked first", () => {
    // The load balancers: keepalived and iproute2 for the pair, the AWS CLI for the address move and the TLS files.
    expect(docs["lb-1"].packages).toEqual(["awscli", "curl", "haproxy", "iproute2", "keepalived", "nftables", "prometheus-node-exporter"]);
    expect(docs["web-1"].packages).toEqual(["awscli", "curl", "nftables", "nginx", "nodejs", "prometheus-nginx-exporter", "prometheus-node-exporter"]);
    expect(docs["db-primary"].packages).toEqual([
      "awscli",
      "curl",
      // The backups' tool (MysqlCluster's backups are on by default).
      "mariadb-backup",
      "mariadb-client",
      "mariadb-server",
      "nftables",
      "prometheus-mysqld-exporter",
      "prometheus-node-exporter",
    ]);
    // Nothing to fetch from SSM or S3 on the monitoring host: no AWS CLI.
    expect(docs.monitoring.packages).toEqual(["curl", "nftables", "prometheus", "prometheus-alertmanager", "prometheus-node-exporter"]);
    expect(docs["db-primary"].bootcmd).toEqual([
      ["systemctl", "mask", "mariadb.service", "prometheus-mysqld-exporter.service", "prometheus-node-exporter.service"],
    ]);
    // The start script runs keepalived with our config: Debian's own unit must not.
    expect(docs["lb-1"].bootcmd).toEqual([["systemctl", "mask", "haproxy.service", "keepalived.service", "prometheus-node-exporter.service"]]);
    expect(docs["web-1"].bootcmd).toEqual([["systemctl", "mask", "nginx.service", "prometheus-nginx-exporter.service", "prometheus-node-exporter.service"]]);
    expect(docs.monitoring.bootcmd).toEqual([
      ["systemctl", "mask", "prometheus.service", "prometheus-alertmanager.service", "prometheus-node-exporter.service"],
    ]);
    expect(docs["web-1"].users).toEqual(["default", expect.objectContaining({ name: "node", system: true })]);
    // The monitoring programs run as the user their packages create: cloud-init creates none.
    expect(docs.monitoring.users).toBeUndefined();
    expect(docs["db-primary"].users).toBeUndefined();
  });

  const verify = hasSystemdAnalyze() ? test : test.skip;
  verify("every systemd unit passes `systemd-analyze verify`", () => {
    for (const host of hostNames) {
      const units = Object.fromEntries(
        docs[host].write_files.filter((f) => f.path.startsWith("/etc/systemd/system/")).map((f) => [f.path.split("/").pop() as string, f.content]),
      );
      expect({ host, ...systemdVerify(units) }).toEqual({ host, status: 0, output: "" });
    }
  });

  test("every script in the user data is valid sh", () => {
    for (const host of hostNames) {
      for (const f of docs[host].write_files.filter((w) => w.path.endsWith(".sh")))
        expect({ host, path: f.path, errors: shellSyntax(f.content) }).toEqual({ host, path: f.path, errors: "" });
    }
  });
});

describe("the load-balancer pair on EC2", () => {
  const keepalived = (host: string) => written(host, "/etc/ha-web/keepalived.conf") ?? "";

  test("a stop signals the main process only, with its graceful signal: the pair's script hands the address over, then HAProxy drains", () => {
    const lb = written("lb-1", "/etc/systemd/system/ha-web-lb-1.service") ?? "";
    expect(lb).toContain("KillSignal=SIGUSR1\nKillMode=mixed\n");
    expect(written("web-1", "/etc/systemd/system/ha-web-web-1.service")).toContain("KillSignal=SIGQUIT\nKillMode=mixed\n");
    expect(written("web-1", "/etc/systemd/system/ha-web-web-1-app.service")).toContain("KillSignal=SIGTERM\nKillMode=mixed\n");
    // The preferred master starts VRRP at once, the other 5 s later.
    expect(keepalived("lb-1")).not.toContain("vrrp_startup_delay");
    expect(keepalived("lb-2")).toContain("    vrrp_startup_delay 5\n");
  });

  test("keepalived speaks VRRP by unicast between the members' fixed primary addresses, one per zone's public subnet", () => {
    expect(keepalived("lb-1")).toContain("    unicast_src_ip 10.40.0.224\n    unicast_peer {\n        10.40.1.224\n    }");
    expect(keepalived("lb-2")).toContain("    unicast_src_ip 10.40.1.224\n    unicast_peer {\n        10.40.0.224\n    }");
    // The Elastic IP moves by API: keepalived's own virtual address only marks the master.
    for (const host of ["lb-1", "lb-2"]) {
      expect(keepalived(host)).toContain("        169.254.255.1/32 dev lo\n");
      expect(keepalived(host)).toContain('    notify_master "/opt/ha-web/bin/move-floating-address.sh"');
    }
  });

  test("the notify script moves the shared Elastic IP, found by its allocation id, to this node", () => {
    const script = docs["lb-1"].write_files.find((f) => f.path === "/opt/ha-web/bin/move-floating-address.sh");
    expect(script?.permissions).toBe("0755");
    expect(raw["lb-1"]).toMatch(/ALLOCATION_ID='\$\{aws_eip\.load-balancer_floating-address_\w+\.allocation_id\}'/);
    expect(script?.content).toContain("aws ec2 associate-address --allocation-id");
    expect(shellSyntax(script?.content ?? "")).toBe("");
    expect(expectedTakeoverSeconds(1)).toBeLessThan(4);
  });

  test("the certificate and key are fetched at boot into root-only files before HAProxy starts; nothing secret in user data", () => {
    const prepare = written("lb-1", "/opt/ha-web/bin/prepare-host.sh") ?? "";
    expect(prepare).toContain("retry fetch_ssm_file '/haweb/tls-certificate' '/etc/ha-web/tls/site.pem'");
    expect(prepare).toContain("retry fetch_ssm_file '/haweb/tls-private-key' '/etc/ha-web/tls/site.pem.key'");
    expect(prepare).toContain("chmod 400 '/etc/ha-web/tls/site.pem.key.tmp'");
    expect(prepare.indexOf("umask 077")).toBeLessThan(prepare.indexOf("fetch_ssm_file '/haweb/tls-private-key'"));
    expect(raw["lb-1"]).not.toMatch(/tls_private_key|tls_self_signed_cert|BEGIN (EC )?PRIVATE KEY/);
    const unit = written("lb-1", "/etc/systemd/system/ha-web-lb-1.service") ?? "";
    expect(unit).toContain("ExecStartPre=/bin/systemctl is-active --quiet ha-web-prepare.service");
  });
});

describe("the firewall on every VM", () => {
  const ruleset = (host: string) => written(host, "/etc/ha-web/firewall.nft") ?? "";

  test.each(HOSTS)("%s loads its ruleset before the network and before its services, which require it", (host) => {
    expect(ruleset(host)).toContain("type filter hook input priority filter; policy drop;");
    expect(ruleset(host)).toContain("udp sport 67 udp dport 68 accept");
    const unit = written(host, "/etc/systemd/system/ha-web-firewall.service") ?? "";
    expect(unit).toContain("Before=network-pre.target");
    expect(unit).toContain("ExecStart=/usr/sbin/nft -f /etc/ha-web/firewall.nft");
    for (const f of docs[host].write_files.filter((w) => /\/ha-web-(?!firewall|prepare).*\.service$/.test(w.path))) {
      expect(f.content).toContain("Requires=ha-web-firewall.service");
      expect(f.content).toMatch(/^After=.*ha-web-firewall\.service/m);
    }
    expect(docs[host].runcmd[1]).toEqual(expect.arrayContaining(["ha-web-firewall.service"]));
  });

  test("only the declared flows come in, from the subnets of the peer role, VRRP from the other member only", () => {
    const accepts = (host: string) =>
      ruleset(host)
        .split("\n")
        .filter((l) => / accept comment /.test(l) && !/DHCP/.test(l))
        .map((l) => l.trim().replace(/ comment .*/, ""));
    expect(accepts("lb-1")).toEqual([
      "tcp dport 80 accept",
      "tcp dport 443 accept",
      "ip saddr { 10.40.1.224 } ip protocol 112 accept",
      // Prometheus, from the private subnets the monitoring host lives in.
      "ip saddr { 10.40.8.0/24, 10.40.9.0/24 } tcp dport 8405 accept",
      "ip saddr { 10.40.8.0/24, 10.40.9.0/24 } tcp dport 9100 accept",
    ]);
    expect(accepts("web-1")).toEqual([
      "ip saddr { 10.40.8.0/24, 10.40.9.0/24 } tcp dport 9464 accept",
      "ip saddr { 10.40.0.0/24, 10.40.1.0/24 } tcp dport 80 accept",
      "ip saddr { 10.40.8.0/24, 10.40.9.0/24 } tcp dport 9113 accept",
      "ip saddr { 10.40.8.0/24, 10.40.9.0/24 } tcp dport 9100 accept",
    ]);
    expect(accepts("db-primary")).toEqual([
      "ip saddr { 10.40.8.0/24, 10.40.9.0/24 } tcp dport 3306 accept",
      "ip saddr { 10.40.8.0/24, 10.40.9.0/24 } tcp dport 9104 accept",
      "ip saddr { 10.40.8.0/24, 10.40.9.0/24 } tcp dport 9100 accept",
    ]);
    // Nothing reaches Prometheus' UI or Alertmanager from outside the host: operators forward a port through SSM.
    expect(accepts("monitoring")).toEqual(["ip saddr { 10.40.8.0/24, 10.40.9.0/24 } tcp dport 9100 accept"]);
  });

  const nft = hasBinary("nft") && isRoot() ? test : test.skip;
  nft("`nft -c -f` accepts every host's ruleset", () => {
    const dir = mkdtempSync(join(tmpdir(), "aws-nft-"));
    try {
      for (const host of HOSTS) {
        const file = join(dir, `${host}.nft`);
        writeFileSync(file, ruleset(host));
        const result = spawnSync("nft", ["-c", "-f", file], { encoding: "utf8" });
        expect({ host, status: result.status, stderr: result.stderr }).toEqual({ host, status: 0, stderr: "" });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a service file too big for user data travels through S3", () => {
  // 20 KB that compress badly (random base64), with a shell expansion, a template-like `%{`, and a deploy-time reference.
  const body = randomBytes(15000).toString("base64");
  let zoneRef = "";
  const synth = synthAws((stack, target) => {
    zoneRef = target.zone.zoneId;
    target.addHost(stack, {
      name: "big",
      role: "web",
      services: [
        bareService("big", {
          command: ["/bin/sh", "/opt/ha-web/bin/start-big.sh"],
          files: [
            { path: "/opt/ha-web/bin/start-big.sh", content: "#!/bin/sh\nexec nginx\n", executable: true },
            { path: "/opt/ha-web/bin/big-tool", content: `#!/bin/sh\n# zone ${target.zone.zoneId}\necho "\${HOME}" '%{x}'\n: '${body}'\n`, executable: true },
            { path: "/etc/ha-web/big.conf", content: `# data\n${body}\n` },
          ],
        }),
      ],
    });
  });
  const text = String(instancesByHost(synth.parsed).big.user_data);
  const doc = parseYaml(asDelivered(text)) as CloudConfigDoc;
  const objects = Object.entries(resources(synth.parsed, "aws_s3_object"));
  const prepare = doc.write_files.find((f) => f.path === "/opt/ha-web/bin/prepare-host.sh")?.content ?? "";
  /** The objects' keys, in the order of the files. */
  const keys = ["/big-tool", "/big.conf"].map((end) => objects.map(([, o]) => String(o.key)).find((k) => k.endsWith(end)));

  test("the user data stays small: only the small file is in it", () => {
    expect(Buffer.byteLength(body)).toBeGreaterThan(INLINE_FILE_LIMIT_BYTES);
    expect(doc.write_files.map((f) => f.path)).toContain("/opt/ha-web/bin/start-big.sh");
    expect(doc.write_files.map((f) => f.path)).not.toEqual(expect.arrayContaining(["/opt/ha-web/bin/big-tool"]));
    expect(doc.write_files.map((f) => f.path)).not.toContain("/etc/ha-web/big.conf");
    expect(text).not.toContain(body.slice(0, 100));
    expect(synth.target.userDataSizes.big).toBeLessThan(10 * 1024);
    expect(doc.packages).toContain("awscli");
  });

  test("each big file is an encrypted S3 object of exactly its content, keyed by the content's SHA-256", () => {
    expect(keys).toEqual([expect.stringMatching(/^files\/[0-9a-f]{64}\/big-tool$/), expect.stringMatching(/^files\/[0-9a-f]{64}\/big\.conf$/)]);
    const tool = objects.find(([, o]) => String(o.key).endsWith("/big-tool"))?.[1] as Json;
    const conf = objects.find(([, o]) => String(o.key).endsWith("/big.conf"))?.[1] as Json;
    expect(tool).toMatchObject({ server_side_encryption: "AES256", bucket: expect.stringMatching(/^\$\{aws_s3_bucket\..+\.id\}$/) });
    // Terraform's template syntax escaped; the reference left for Terraform to fill in.
    const zone = /\$\{aws_route53_zone\.[\w-]+\.zone_id\}/.exec(String(tool.content))?.[0] ?? "(none)";
    expect(tool.content).toBe(`#!/bin/sh\n# zone ${zone}\necho "$\${HOME}" '%%{x}'\n: '${body}'\n`);
    expect(asDelivered(String(conf.content))).toBe(`# data\n${body}\n`);
    // The hash is over the text as synthesized (the reference as its expression), stable across cdktf's token numbering.
    const synthesized = `#!/bin/sh\n# zone ${zone}\necho "\${HOME}" '%{x}'\n: '${body}'\n`;
    expect(tool.key).toBe(`files/${createHash("sha256").update(synthesized).digest("hex")}/big-tool`);
    expect(zoneRef).toMatch(/^\$\{TfToken\[/);
  });

  test("the prepare step fetches each to its path with its mode, before the services start; the instance boots after the objects exist", () => {
    for (const [path, mode] of [
      ["/opt/ha-web/bin/big-tool", "755"],
      ["/etc/ha-web/big.conf", "644"],
    ]) {
      const key = objects.map(([, o]) => String(o.key)).find((k) => k.endsWith(`/${path.split("/").pop()}`));
      expect(prepare).toContain(
        `retry fetch_asset 's3://haweb-assets-20250101000000000000000001/${key}' '${path}'\nchmod ${mode} '${path}.tmp'\nmv '${path}.tmp' '${path}'\n`,
      );
    }
    expect(shellSyntax(prepare)).toBe("");
    const unit = doc.write_files.find((f) => f.path === "/etc/systemd/system/ha-web-big.service")?.content ?? "";
    expect(unit).toContain("ExecStartPre=/bin/systemctl is-active --quiet ha-web-prepare.service");
    const instance = Object.values(resources(synth.parsed, "aws_instance"))[0];
    expect(instance.depends_on).toEqual(expect.arrayContaining(objects.map(([name]) => `aws_s3_object.${name}`)));
  });

  test("the host's role may read exactly those objects", () => {
    const policies = Object.values(resources(synth.parsed, "aws_iam_role_policy")).map((p) => JSON.parse(String(p.policy)) as { Statement: Json[] });
    const reads = policies.flatMap((p) => p.Statement).filter((st) => st.Sid === "ReadOwnAssets");
    expect(reads).toEqual([
      {
        Sid: "ReadOwnAssets",
        Effect: "Allow",
        Action: ["s3:GetObject"],
        Resource: keys.map((key) => expect.stringMatching(new RegExp(`^\\$\\{aws_s3_bucket\\.[\\w-]+\\.arn\\}/${String(key).replace(/\./g, "\\.")}$`))),
      },
    ]);
  });

  const schema = hasCloudInit() ? test : test.skip;
  schema("its user data passes `cloud-init schema`", () => {
    expect(cloudInitSchema(asDelivered(text), "big")).toEqual({ status: 0, output: expect.stringContaining("Valid cloud-config") });
  });
});
