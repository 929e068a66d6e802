import { Testing } from "cdktf";
import { AwsStack } from "../../../../examples/aws-stack";
import { LocalStack } from "../../../../main";
import { HostSpec } from "../../../../lib";
import { AwsTarget } from "../../../../lib/targets/aws";
import { estimatedUserDataSize } from "../../../../lib/targets/aws/private/user-data";
import { escapeTerraformTemplate } from "../../../../lib/private/terraform-escape";
import { USER_DATA_LIMIT_BYTES, userDataSize } from "../../../../lib/targets/aws/private/cloud-init";
import { containers, SynthesizedStack } from "../../../helpers/synth";
import { renderWebStartScript } from "../../../../templates/scripts/web";
import { CloudConfigDoc, cloudInitSchema, hasCloudInit, hasSystemdAnalyze, parseYamlAll, shellSyntax, systemdVerify } from "./cloud-init/tools";
import { asDelivered, instancesByHost } from "./aws-helpers";

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
const hostNames = Object.keys(instances).sort();
const raw = Object.fromEntries(hostNames.map((h) => [h, String(instances[h].user_data)]));
const delivered = Object.fromEntries(hostNames.map((h) => [h, asDelivered(raw[h])]));
const docs = Object.fromEntries(parseYamlAll(hostNames.map((h) => delivered[h])).map((doc, i) => [hostNames[i], doc as CloudConfigDoc]));
const written = (host: string, path: string) => docs[host].write_files.find((f) => f.path === path)?.content;

/** The same declaration on Docker: what the containers get uploaded. */
const docker = containers(JSON.parse(Testing.synth(new LocalStack(Testing.app(), "local"))) as SynthesizedStack);

afterAll(() => {
  const sizes = hostNames.map((h) => `${h} ${userDataSize(delivered[h])} B (limit ${USER_DATA_LIMIT_BYTES})`);
  console.info(`user data sizes, as delivered:\n  ${sizes.join("\n  ")}`);
});

describe("user data of every instance", () => {
  test("one user data per host", () => {
    expect(hostNames).toEqual(["db-primary", "db-replica-1", "lb-1", "web-1", "web-2"]);
    expect(specs.map((s) => s.name).sort()).toEqual(hostNames);
  });

  const schema = hasCloudInit() ? test : test.skip;
  schema.each(["db-primary", "db-replica-1", "lb-1", "web-1", "web-2"])("%s passes `cloud-init schema --config-file`", (host) => {
    expect(cloudInitSchema(delivered[host], host)).toEqual({ status: 0, output: expect.stringContaining("Valid cloud-config") });
  });

  test.each(["db-primary", "db-replica-1", "lb-1", "web-1", "web-2"])(
    "%s is under EC2's 16 KB, as delivered and as estimated with worst-case references",
    (host) => {
      expect(userDataSize(delivered[host])).toBeLessThan(USER_DATA_LIMIT_BYTES);
      // The estimate counts each reference as 64 bytes: an upper bound of what is delivered.
      expect(userDataSize(delivered[host])).toBeLessThanOrEqual(stack.target.userDataSizes[host]);
      expect(stack.target.userDataSizes[host]).toBeLessThan(USER_DATA_LIMIT_BYTES);
    },
  );

  test("every file of every service is written byte for byte", () => {
    let files = 0;
    for (const spec of specs) {
      for (const file of spec.services.flatMap((s) => s.files)) {
        expect({ host: spec.name, path: file.path, content: written(spec.name, file.path) }).toEqual({
          host: spec.name,
          path: file.path,
          content: file.content,
        });
        files++;
      }
    }
    expect(files).toBeGreaterThanOrEqual(15);
  });

  test("the start scripts are byte for byte the ones the Docker target uploads", () => {
    const compared: string[] = [];
    for (const spec of specs) {
      for (const service of spec.services) {
        const container = docker[`haweb-${service.name}`];
        for (const upload of container.upload.filter((u) => u.file.startsWith("/opt/ha-web/bin/"))) {
          let onAws = written(spec.name, upload.file);
          // The replica's script names its primary: an alias on Docker, a private DNS name on AWS. Nothing else differs.
          if (upload.file.endsWith("start-db-replica.sh")) onAws = onAws?.split("db-primary.haweb.internal").join("db-primary");
          // Nginx waits for its app's name on Docker (a container alias); on a VM its app is 127.0.0.1 and
          // there is nothing to wait for: the same renderer, given each target's colocated address.
          if (upload.file.endsWith("start-web.sh")) {
            expect(onAws).toBe(renderWebStartScript({ appHost: "127.0.0.1" }));
            onAws = renderWebStartScript({ appHost: `${service.name}-app` });
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
      ]),
    );
  });

  test("the size estimate counts references at 64 bytes", () => {
    expect(estimatedUserDataSize("a${TfToken[TOKEN.7]}b")).toBe(66);
  });

  test("shell expansions reach the VM as written: Terraform's template syntax is escaped", () => {
    expect(raw["db-primary"]).toContain("IDENTIFIED BY '$${APP_PASSWORD_SQL}'");
    expect(delivered["db-primary"]).toContain("IDENTIFIED BY '${APP_PASSWORD_SQL}'");
    // Every remaining ${...} is a reference Terraform fills in: the volume id, the bucket.
    const references = Object.values(raw).flatMap((u) => [...u.matchAll(/(?<!\$)\$\{([^}]+)\}/g)].map((m) => m[1].replace(/\..*\./, ".*.")));
    expect([...new Set(references)].sort()).toEqual(["aws_ebs_volume.*.id", "aws_s3_bucket.*.bucket"]);
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

  test("the database host formats and mounts its own EBS volume, found by the volume id", () => {
    const prepare = written("db-primary", "/opt/ha-web/bin/prepare-host.sh") ?? "";
    expect(prepare).toContain("VOLUME_ID='vol-0123456789abcdef0'");
    expect(prepare).toContain("MOUNT='/var/lib/mysql'");
    expect(raw["db-primary"]).toMatch(/VOLUME_ID='\$\{aws_ebs_volume\.[^}]+\.id\}'/);
  });

  test("the web hosts download the app bundle; no other host touches S3", () => {
    for (const host of ["web-1", "web-2"])
      expect(written(host, "/opt/ha-web/bin/prepare-host.sh")).toMatch(
        /retry fetch_asset 's3:\/\/haweb-assets-\d+\/assets\/[0-9A-F]+\/server\.js' '\/opt\/ha-web\/app\/server\.js'/,
      );
    for (const host of ["lb-1", "db-primary", "db-replica-1"]) expect(delivered[host]).not.toContain("s3://");
    expect(docs["lb-1"].packages).not.toContain("awscli");
  });

  test("Debian's packages for each role; the distribution's own units masked first", () => {
    expect(docs["lb-1"].packages).toEqual(["curl", "haproxy"]);
    expect(docs["web-1"].packages).toEqual(["awscli", "curl", "nginx", "nodejs"]);
    expect(docs["db-primary"].packages).toEqual(["awscli", "curl", "mariadb-client", "mariadb-server"]);
    expect(docs["db-primary"].bootcmd).toEqual([["systemctl", "mask", "mariadb.service"]]);
    expect(docs["web-1"].users).toEqual(["default", expect.objectContaining({ name: "node", system: true })]);
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
