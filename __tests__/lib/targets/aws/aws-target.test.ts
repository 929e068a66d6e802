import "cdktf/lib/testing/adapters/jest";
import { randomBytes } from "crypto";
import { Testing, TerraformStack, TerraformVariable } from "cdktf";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { AwsStack } from "../../../../examples/aws-stack";
import { AppArtifact, BACKUP_METRICS_DIR, DeployedHost, LoadBalancerTier, MonitoringTier, MysqlCluster, ServiceSpec, WebAppTier } from "../../../../lib";
import { BACKUP_COMMANDS } from "../../../../templates/mysql/backup-plan";
import { renderBackupFiles } from "../../../../templates/mysql/backup-files";
import { renderablePlan } from "../../../../lib/private/backup-plan-rendering";
import { demoAppBundlePath } from "../../../../lib/private/app-bundle";
import { AwsTarget, AwsTargetProps } from "../../../../lib/targets/aws";
import { cidrSubnet } from "../../../../lib/targets/aws/private/cidr";
import { SESSION_MANAGER_ACTIONS } from "../../../../lib/targets/aws/private/iam";
import { checkPolicy, findSecretsInText } from "../../../../lib/policy";
import { PATHS } from "../../../../templates/paths";
import { findPlainTextSecrets } from "../../../helpers/secrets";
import { annotations, SynthesizedStack } from "../../../helpers/synth";
import { addressOf, asDelivered, instancesByHost, Json, resources, synthAws } from "./aws-helpers";
import { bareService } from "../../../helpers/bare-service";

/** What the target returned for each host of the seed's stack, captured as the tiers add them. */
const deployed: Record<string, DeployedHost> = {};
const addHost = AwsTarget.prototype.addHost;
const spy = jest.spyOn(AwsTarget.prototype, "addHost").mockImplementation(function (this: AwsTarget, scope, spec) {
  const host = addHost.call(this, scope, spec);
  deployed[spec.name] = host;
  return host;
});
/** The example `aws` stack (the seed's topology, with its monitoring host), synthesized once for the whole file. */
const seed = new AwsStack(Testing.app(), "aws");
spy.mockRestore();
const json = Testing.synth(seed);
const parsed = JSON.parse(json) as SynthesizedStack & {
  resource: Record<string, Record<string, Json>>;
  data: Record<string, Record<string, Json>>;
  output: Record<string, { value: unknown }>;
  provider: Record<string, Json[]>;
};
const hosts = instancesByHost(parsed);
const byAddress = (ref: unknown) => {
  const [type, name] = addressOf(ref).split(".");
  return parsed.resource[type][name];
};
const tagName = (r: Json) => (r.tags as Record<string, string>).Name;

describe("AwsTarget on the seed's stack", () => {
  test("one VM per host: a load-balancer pair, two web nodes (Nginx + app), a primary and a replica, the monitoring host", () => {
    expect(Object.keys(hosts).sort()).toEqual(["db-primary", "db-replica-1", "lb-1", "lb-2", "monitoring", "web-1", "web-2"]);
    expect(Object.fromEntries(Object.entries(hosts).map(([h, i]) => [h, i.instance_type]))).toEqual({
      "lb-1": "t3.micro",
      "lb-2": "t3.micro",
      "web-1": "t3.small",
      "web-2": "t3.small",
      "db-primary": "t3.medium",
      "db-replica-1": "t3.medium",
      monitoring: "t3.small",
    });
  });

  test("every instance: IMDSv2 only with hop limit 1, encrypted gp3 root, detailed monitoring, an instance profile, no key pair", () => {
    for (const instance of Object.values(hosts)) {
      expect(instance).toMatchObject({
        metadata_options: { http_endpoint: "enabled", http_tokens: "required", http_put_response_hop_limit: 1 },
        root_block_device: { encrypted: true, volume_type: "gp3", volume_size: 10 },
        monitoring: true,
        iam_instance_profile: expect.stringMatching(/^\$\{aws_iam_instance_profile\..+\.name\}$/),
        user_data_replace_on_change: true,
        ami: expect.stringMatching(/^\$\{data\.aws_ami\./),
        lifecycle: { ignore_changes: ["ami"] },
      });
      expect(instance.key_name).toBeUndefined();
    }
  });

  test("only the load balancers are public: each an Elastic IP on its own network interface, in a public subnet of its own zone", () => {
    const nics = ["lb-1", "lb-2"].map((h) => {
      expect(hosts[h].subnet_id).toBeUndefined();
      return (hosts[h].primary_network_interface as Json).network_interface_id;
    });
    expect(nics.map((n) => tagName(byAddress(byAddress(n).subnet_id)))).toEqual(["haweb-public-1", "haweb-public-2"]);
    const eips = Object.values(resources(parsed, "aws_eip")).filter((e) => e.network_interface);
    expect(eips.map((e) => addressOf(e.network_interface)).sort()).toEqual(nics.map(addressOf).sort());
    for (const [name, instance] of Object.entries(hosts).filter(([n]) => !n.startsWith("lb-"))) {
      expect({ name, public: instance.associate_public_ip_address }).toEqual({ name, public: false });
      expect(tagName(byAddress(instance.subnet_id))).toMatch(/^haweb-private-\d$/);
    }
    for (const subnet of Object.values(resources(parsed, "aws_subnet"))) expect(subnet.map_public_ip_on_launch).toBe(false);
  });

  test("nodes of a tier are spread over the availability zones", () => {
    const zoneOf = (host: string) => tagName(byAddress(hosts[host].subnet_id));
    expect([zoneOf("web-1"), zoneOf("web-2")]).toEqual(["haweb-private-1", "haweb-private-2"]);
    expect([zoneOf("db-primary"), zoneOf("db-replica-1")]).toEqual(["haweb-private-1", "haweb-private-2"]);
  });

  test("a new VPC: public and private subnets in two zones, one NAT gateway, flow logs, the default group emptied", () => {
    expect(json).toHaveResourceWithProperties(FlowLog, { traffic_type: "ALL", log_destination_type: "cloud-watch-logs" });
    expect(Object.keys(resources(parsed, "aws_nat_gateway"))).toHaveLength(1);
    expect(
      Object.values(resources(parsed, "aws_subnet"))
        .map((s) => [tagName(s), s.cidr_block])
        .sort(),
    ).toEqual([
      ["haweb-private-1", "10.40.8.0/24"],
      ["haweb-private-2", "10.40.9.0/24"],
      ["haweb-public-1", "10.40.0.0/24"],
      ["haweb-public-2", "10.40.1.0/24"],
    ]);
    const defaultGroup = Object.values(resources(parsed, "aws_default_security_group"))[0];
    expect(defaultGroup.ingress).toBeUndefined();
    expect(defaultGroup.egress).toBeUndefined();
    expect(parsed.data.aws_availability_zones).toBeDefined();
  });

  test("private hosts boot only once their route to the internet exists (cloud-init installs packages)", () => {
    expect(hosts["web-1"].depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_route\..*private-default-route-1/)]));
    expect(hosts["lb-1"].depends_on).toEqual(
      expect.arrayContaining([expect.stringMatching(/^aws_eip\./), expect.stringMatching(/^aws_route\..*public-default-route/)]),
    );
  });

  test("the newest official Debian 12 image, found by a data source", () => {
    expect(json).toHaveDataSourceWithProperties(DataAwsAmi, {
      most_recent: true,
      owners: ["136693071363"],
      filter: expect.arrayContaining([{ name: "name", values: ["debian-12-amd64-*"] }]),
    });
  });

  test("each database node keeps its data on its own encrypted gp3 volume in its zone (and the monitoring host, see below)", () => {
    const volumes = Object.values(resources(parsed, "aws_ebs_volume"));
    expect(volumes.map(tagName).sort()).toEqual(["haweb-db-primary-data", "haweb-db-replica-1-data", "haweb-monitoring-data"]);
    for (const v of volumes) expect(v).toMatchObject({ encrypted: true, type: "gp3", size: 20 });
    expect(json).toHaveResourceWithProperties(VolumeAttachment, { device_name: "/dev/sdf", stop_instance_before_detaching: true });
    // The volume's zone is its host's subnet's zone.
    const primaryVolume = volumes.find((v) => tagName(v) === "haweb-db-primary-data") as Json;
    expect(primaryVolume.availability_zone).toBe(byAddress(hosts["db-primary"].subnet_id).availability_zone);
  });

  test("hosts reach each other by private DNS names in a Route 53 private zone", () => {
    expect(json).toHaveResourceWithProperties(Route53Zone, { name: "haweb.internal" });
    const records = Object.values(resources(parsed, "aws_route53_record"));
    const hostRecords = records.filter((r) => r.type === "A");
    expect(hostRecords.map((r) => r.name).sort()).toEqual([
      "db-primary.haweb.internal",
      "db-replica-1.haweb.internal",
      "lb-1.haweb.internal",
      "lb-2.haweb.internal",
      "monitoring.haweb.internal",
      "web-1.haweb.internal",
      "web-2.haweb.internal",
    ]);
    for (const r of hostRecords) expect(r).toMatchObject({ ttl: 30, records: [expect.stringMatching(/^\$\{aws_instance\..+\.private_ip\}$/)] });
    // The writer is a name of its own that a failover repoints: a CNAME to the primary today. Terraform creates it
    // but leaves its target alone afterwards: the next deploy after a promotion must not point it back.
    expect(records.filter((r) => r.type !== "A")).toEqual([
      expect.objectContaining({
        name: "db-writer.haweb.internal",
        type: "CNAME",
        ttl: 30,
        records: ["db-primary.haweb.internal"],
        lifecycle: { ignore_changes: ["records"] },
      }),
    ]);
    // The host records follow their instances' addresses.
    for (const r of hostRecords) expect(r.lifecycle).toBeUndefined();
  });

  test("outputs the load balancer's public address and the database's private endpoints", () => {
    // The pair's shared Elastic IP, over HTTPS; and each node's own address.
    expect(parsed.output.url.value).toMatch(/^https:\/\/\$\{aws_eip\.load-balancer_floating-address_\w+\.public_ip\}$/);
    expect(parsed.output["load-balancer-public-ips"].value).toEqual([
      expect.stringMatching(/^\$\{aws_eip\.load-balancer_lb-1-host_elastic-ip_\w+\.public_ip\}$/),
      expect.stringMatching(/^\$\{aws_eip\.load-balancer_lb-2-host_elastic-ip_\w+\.public_ip\}$/),
    ]);
    expect(parsed.output["database-writer"].value).toBe("db-writer.haweb.internal:3306");
    expect(parsed.output["database-endpoints"].value).toEqual(["db-writer.haweb.internal:3306", "db-replica-1.haweb.internal:3306"]);
  });

  test("the aws provider and the random provider (for passwords) come with the target", () => {
    expect(parsed.provider.aws).toEqual([
      expect.objectContaining({ region: "us-east-1", default_tags: [{ tags: { "ha-web:stack": "haweb", "managed-by": "cdktf-ha-web" } }] }),
    ]);
    expect(parsed.provider.random).toBeDefined();
  });

  test("the stack passes the library's policy", () => {
    expect(checkPolicy(seed)).toEqual([]);
  });
});

describe("security groups derived from the tiers' flows", () => {
  const groups = resources(parsed, "aws_security_group");
  const groupName = (ref: unknown) => String(byAddress(ref).name);
  const rule = (r: Json) => `${groupName(r.security_group_id)} ${r.from_port}/${r.ip_protocol} ${r.cidr_ipv4 ?? groupName(r.referenced_security_group_id)}`;

  test("ingress: internet to the load balancer on 80 and 443 only, VRRP between the load balancers, load balancer to web, app to database, database to database, monitoring to every exporter", () => {
    expect(Object.values(resources(parsed, "aws_vpc_security_group_ingress_rule")).map(rule).sort()).toEqual([
      "haweb-app 9464/tcp haweb-mon",
      "haweb-db 3306/tcp haweb-app",
      "haweb-db 3306/tcp haweb-db",
      "haweb-db 9100/tcp haweb-mon",
      "haweb-db 9104/tcp haweb-mon",
      "haweb-lb 443/tcp 0.0.0.0/0",
      "haweb-lb 80/tcp 0.0.0.0/0",
      "haweb-lb 8405/tcp haweb-mon",
      "haweb-lb 9100/tcp haweb-mon",
      "haweb-lb undefined/112 haweb-lb",
      "haweb-mon 9100/tcp haweb-mon",
      "haweb-web 80/tcp haweb-lb",
      "haweb-web 9100/tcp haweb-mon",
      "haweb-web 9113/tcp haweb-mon",
    ]);
  });

  test("egress: each role to its peers' ports; monitoring to every exporter and to the webhook's port; every host 80 and 443 to the internet (packages, AWS APIs); nothing else", () => {
    expect(Object.values(resources(parsed, "aws_vpc_security_group_egress_rule")).map(rule).sort()).toEqual([
      "haweb-app 3306/tcp haweb-db",
      "haweb-db 3306/tcp haweb-db",
      "haweb-egress 443/tcp 0.0.0.0/0",
      "haweb-egress 80/tcp 0.0.0.0/0",
      "haweb-lb 80/tcp haweb-web",
      "haweb-lb undefined/112 haweb-lb",
      "haweb-mon 443/tcp 0.0.0.0/0",
      "haweb-mon 8405/tcp haweb-lb",
      "haweb-mon 9100/tcp haweb-db",
      "haweb-mon 9100/tcp haweb-lb",
      "haweb-mon 9100/tcp haweb-web",
      "haweb-mon 9104/tcp haweb-db",
      "haweb-mon 9113/tcp haweb-web",
      "haweb-mon 9464/tcp haweb-app",
    ]);
  });

  test("Nginx reaches its app over loopback: no rule for a flow within a host; a web host carries the web and app groups", () => {
    expect(Object.values(resources(parsed, "aws_vpc_security_group_ingress_rule")).filter((r) => r.from_port === 3000)).toEqual([]);
    expect(hosts["web-1"].vpc_security_group_ids).toHaveLength(3);
    expect((hosts["web-1"].vpc_security_group_ids as string[]).map(groupName).sort()).toEqual(["haweb-app", "haweb-egress", "haweb-web"]);
  });

  test("every group and rule has a description; the load balancer's group is tagged as such", () => {
    for (const g of Object.values(groups)) expect(g.description).toMatch(/^cdktf-ha-web: /);
    for (const type of ["aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"]) {
      for (const r of Object.values(resources(parsed, type))) expect(String(r.description).length).toBeGreaterThan(5);
    }
    expect(Object.values(groups).find((g) => g.name === "haweb-lb")?.tags).toMatchObject({ "ha-web:role": "load-balancer" });
  });
});

/** The statement that lets a database node move the writer: UPSERTs of that one CNAME, in the private zone only. */
const WRITER_MOVE = {
  Sid: "MoveOwnRecords",
  Effect: "Allow",
  Action: ["route53:ChangeResourceRecordSets"],
  Resource: [expect.stringMatching(/^\$\{aws_route53_zone\.aws_private-zone_\w+\.arn\}$/)],
  Condition: {
    "ForAllValues:StringEquals": {
      "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["db-writer.haweb.internal"],
      "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"],
      "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
    },
  },
};
/** What the CLI's waiter polls: the status of a change. */
const WAIT_FOR_CHANGES = { Sid: "WaitForRecordChanges", Effect: "Allow", Action: ["route53:GetChange"], Resource: ["arn:aws:route53:::change/*"] };

/** The file names of the backup commands the nodes get (renderBackupFiles), once each: what the asset bucket stores. */
function backupCommandNames(cluster: MysqlCluster, nodes: string[]): string[] {
  const plan = renderablePlan(cluster.backupPlan!).literal;
  return [...new Set(nodes.flatMap((node) => renderBackupFiles(plan, node).map((f) => f.path.split("/").pop()!)))].sort();
}

/** The seed stack's database cluster. */
function seedCluster(): MysqlCluster {
  return seed.node.findAll().find((c): c is MysqlCluster => c instanceof MysqlCluster)!;
}

/** The S3 statements of a database role on the seed cluster's backups (prefix `db/`). */
function backupStatements(access: "read" | "write"): Json[] {
  const bucketArn = expect.stringMatching(/^\$\{aws_s3_bucket\.database_backup-store_bucket_\w+\.arn\}$/);
  return [
    { Sid: "ListOwnBackups", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucketArn], Condition: { StringLike: { "s3:prefix": ["db/*", "db/"] } } },
    {
      Sid: access === "write" ? "WriteOwnBackups" : "ReadOwnBackups",
      Effect: "Allow",
      Action: access === "write" ? ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"] : ["s3:GetObject"],
      Resource: [expect.stringMatching(/^\$\{aws_s3_bucket\.database_backup-store_bucket_\w+\.arn\}\/db\/\*$/)],
    },
  ];
}

describe("IAM: one role per host role, nothing broader than it needs", () => {
  const policies = Object.values(resources(parsed, "aws_iam_role_policy"));
  const roleOf = (p: Json) => String(byAddress(p.role).name_prefix);
  const documents = (prefix: string) => policies.filter((p) => roleOf(p) === prefix).map((p) => JSON.parse(String(p.policy)) as { Statement: Json[] });
  const statements = (prefix: string) => documents(prefix).flatMap((d) => d.Statement);

  test("Session Manager's minimum for every role; no managed policy that allows reading every parameter", () => {
    for (const prefix of ["haweb-lb-", "haweb-web-", "haweb-db-", "haweb-db-bk1-", "haweb-mon-"]) {
      expect(statements(prefix)).toContainEqual({ Sid: "SessionManager", Effect: "Allow", Action: SESSION_MANAGER_ACTIONS, Resource: "*" });
    }
    // The only managed policy: Data Lifecycle Manager's own service role, on the snapshot policy's role (not a host's).
    const attachments = Object.values(resources(parsed, "aws_iam_role_policy_attachment"));
    expect(attachments.map((a) => [String(a.policy_arn).replace(/\$\{[^}]+\}/, "PARTITION"), byAddress(a.role).name_prefix])).toEqual([
      ["arn:PARTITION:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole", "haweb-dlm-"],
    ]);
  });

  test("the web role reads the app password and the app bundle; the database role its three passwords, the cluster's TLS pairs, its failover script and moves the writer; the load balancer its stats password, certificate and key; the monitoring role nothing", () => {
    const web = statements("haweb-web-").filter((s) => s.Sid !== "SessionManager");
    expect(web).toEqual([
      { Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [expect.stringContaining("app-password")] },
      { Sid: "ReadOwnAssets", Effect: "Allow", Action: ["s3:GetObject"], Resource: [expect.stringMatching(/\.arn\}\/assets\/[0-9A-F]+\/server\.js$/)] },
    ]);
    const db = statements("haweb-db-").filter((s) => s.Sid !== "SessionManager");
    expect(db).toEqual([
      // The primary may read the cluster's backups (restore), not write them.
      ...backupStatements("read"),
      {
        Sid: "ReadOwnSecrets",
        Effect: "Allow",
        Action: ["ssm:GetParameter"],
        Resource: [
          expect.stringContaining("app-password"),
          expect.stringContaining("exporter-password"),
          expect.stringContaining("failover-password"),
          expect.stringContaining("db-tls-server-pem"),
          expect.stringContaining("db-tls-server-key"),
          expect.stringContaining("db-tls-replication-pem"),
          expect.stringContaining("db-tls-replication-key"),
        ],
      },
      // Two objects, the same on both nodes: the failover script and the restore command (every database node has it).
      {
        Sid: "ReadOwnAssets",
        Effect: "Allow",
        Action: ["s3:GetObject"],
        Resource: [
          expect.stringMatching(/\.arn\}\/files\/[0-9a-f]{64}\/ha-web-db-failover$/),
          expect.stringMatching(/\.arn\}\/files\/[0-9a-f]{64}\/ha-web-restore$/),
        ],
      },
      WRITER_MOVE,
      WAIT_FOR_CHANGES,
    ]);
    expect(statements("haweb-mon-").filter((s) => s.Sid !== "SessionManager")).toEqual([]);
    expect(statements("haweb-lb-").filter((s) => s.Sid === "ReadOwnSecrets")).toEqual([
      {
        Sid: "ReadOwnSecrets",
        Effect: "Allow",
        Action: ["ssm:GetParameter"],
        Resource: [
          expect.stringMatching(/^\$\{aws_ssm_parameter\..*stats-password.*\.arn\}$/),
          expect.stringMatching(/^\$\{aws_ssm_parameter\..*tls-certificate.*\.arn\}$/),
          expect.stringMatching(/^\$\{aws_ssm_parameter\..*tls-private-key.*\.arn\}$/),
        ],
      },
    ]);
    expect(
      statements("haweb-lb-")
        .map((s) => s.Sid)
        .sort(),
    ).toEqual(["MoveFloatingAddress", "ReadOwnSecrets", "SessionManager"]);
  });

  test("a promotion may UPSERT exactly the writer's CNAME in the private zone, and nothing else of Route 53", () => {
    const move = statements("haweb-db-").find((st) => st.Sid === "MoveOwnRecords");
    expect(move).toEqual(WRITER_MOVE);
    const zone = Object.keys(resources(parsed, "aws_route53_zone"))[0];
    expect((move?.Resource as string[] | undefined) ?? []).toEqual([`\${aws_route53_zone.${zone}.arn}`]);
    // No other role touches Route 53.
    for (const prefix of ["haweb-lb-", "haweb-web-", "haweb-mon-"]) expect(JSON.stringify(statements(prefix))).not.toContain("route53");
  });

  test("the load balancers may move the pair's Elastic IP, and only to the two members' interfaces", () => {
    const move = statements("haweb-lb-").filter((st) => st.Sid === "MoveFloatingAddress");
    const arn =
      "arn:${data.aws_partition.aws_partition_\\w+.partition}:ec2:${data.aws_region.aws_region_\\w+.region}:${data.aws_caller_identity.aws_caller-identity_\\w+.account_id}";
    const pattern = (rest: string) => new RegExp(`^${arn.replace(/[.$(){}]/g, (c) => `\\${c}`).replace(/\\\\w\+/g, "\\w+")}:${rest}$`);
    expect(move).toEqual([
      {
        Sid: "MoveFloatingAddress",
        Effect: "Allow",
        Action: ["ec2:AssociateAddress"],
        Resource: [
          expect.stringMatching(pattern("elastic-ip/\\$\\{aws_eip\\.load-balancer_floating-address_\\w+\\.allocation_id\\}")),
          expect.stringMatching(pattern("network-interface/\\$\\{aws_network_interface\\.load-balancer_lb-1-host_network-interface_\\w+\\.id\\}")),
          expect.stringMatching(pattern("network-interface/\\$\\{aws_network_interface\\.load-balancer_lb-2-host_network-interface_\\w+\\.id\\}")),
        ],
      },
    ]);
    // Nothing else of EC2: no Describe*, no wildcard.
    expect(JSON.stringify(statements("haweb-lb-"))).not.toMatch(/ec2:Describe|ec2:\*/);
  });

  test("the pair's members get fixed addresses from a reserved block of their own zone's public subnet; the shared Elastic IP is not attached by Terraform", () => {
    const nics = Object.values(resources(parsed, "aws_network_interface")).map((n) => [
      tagName(byAddress(n.subnet_id)),
      n.private_ip_list,
      n.private_ip_list_enabled,
    ]);
    expect(nics).toEqual([
      ["haweb-public-1", ["10.40.0.224", "10.40.0.225"], true],
      ["haweb-public-2", ["10.40.1.224", "10.40.1.225"], true],
    ]);
    expect(Object.values(resources(parsed, "aws_ec2_subnet_cidr_reservation")).map((r) => [r.cidr_block, r.reservation_type])).toEqual([
      ["10.40.0.224/28", "explicit"],
      ["10.40.1.224/28", "explicit"],
    ]);
    const shared = Object.entries(resources(parsed, "aws_eip")).filter(([k]) => k.includes("floating-address"));
    expect(shared).toHaveLength(1);
    expect(shared[0][1]).toMatchObject({ domain: "vpc", tags: { "ha-web:role": "load-balancer" } });
    expect(shared[0][1].network_interface).toBeUndefined();
    expect(resources(parsed, "aws_eip_association")).toEqual({});
  });

  test("instances assume their role through EC2 only", () => {
    const roles = Object.values(resources(parsed, "aws_iam_role")).filter((r) => String(r.name_prefix).match(/^haweb-(lb|web|db|mon)-$/));
    expect(roles).toHaveLength(4);
    for (const role of roles) {
      expect(JSON.parse(String(role.assume_role_policy))).toEqual({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      });
    }
  });
});

describe("moving a name (the writer) from a host: IAM, validation", () => {
  /** A host of `role` with one service that moves `moves` (and, optionally, holds the movable name). */
  const host = (name: string, role: ServiceSpec["role"], extra: Partial<ServiceSpec> = {}) => ({
    name,
    role,
    services: [bareService(name, { role, ...extra })],
  });
  const statementsOf = (synth: ReturnType<typeof synthAws>, prefix: string) =>
    Object.values(resources(synth.parsed, "aws_iam_role_policy"))
      .filter((p) => String(synth.parsed.resource.aws_iam_role[addressOf(p.role).split(".")[1]].name_prefix) === prefix)
      .flatMap((p) => (JSON.parse(String(p.policy)) as { Statement: Json[] }).Statement);

  test("a host whose service moves a name: its role may UPSERT exactly that CNAME, and wait for the change", () => {
    const synth = synthAws((stack, target) => {
      target.addHost(stack, host("holder", "web", { movableAddresses: ["front"] }));
      target.addHost(stack, host("mover", "app", { movesAddresses: ["front"] }));
    });
    expect(statementsOf(synth, "haweb-app-").filter((st) => String(st.Sid).match(/Record/))).toEqual([
      {
        ...WRITER_MOVE,
        Condition: {
          "ForAllValues:StringEquals": {
            ...WRITER_MOVE.Condition["ForAllValues:StringEquals"],
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["front.haweb.internal"],
          },
        },
      },
      WAIT_FOR_CHANGES,
    ]);
    // The holder moves nothing: its role has no Route 53 permission at all.
    expect(JSON.stringify(statementsOf(synth, "haweb-web-"))).not.toContain("route53");
    // The mover's user data has the AWS CLI, though it fetches nothing.
    expect(String(instancesByHost(synth.parsed).mover.user_data)).toMatch(/packages:\n {2}- awscli\n/);
  });

  test("a database cluster without failover: no failover script, no Route 53 permission for any role", () => {
    let cluster!: MysqlCluster;
    const synth = synthAws((stack, target) => {
      cluster = new MysqlCluster(stack, "database", { target, failover: false });
    });
    const db = statementsOf(synth, "haweb-db-");
    // ReadOwnAssets: the restore command, which every database node has (fetched: backup commands are never inline).
    expect(db.map((st) => st.Sid).sort()).toEqual(["ListOwnBackups", "ReadOwnAssets", "ReadOwnBackups", "ReadOwnSecrets", "SessionManager"]);
    expect(JSON.stringify(synth.parsed.resource.aws_iam_role_policy)).not.toContain("route53");
    // Only the nodes' backup commands (always fetched from S3), no failover script.
    expect(
      Object.values(resources(synth.parsed, "aws_s3_object"))
        .map((o) => String(o.key).split("/").pop())
        .sort(),
    ).toEqual(backupCommandNames(cluster, ["db-primary", "db-replica-1"]));
    // The writer's record is still there, and still left to promotions (by hand, now).
    expect(Object.values(resources(synth.parsed, "aws_route53_record")).filter((r) => r.type === "CNAME")).toEqual([
      expect.objectContaining({ name: "db-writer.haweb.internal", lifecycle: { ignore_changes: ["records"] } }),
    ]);
  });

  test("a name to move that is not a DNS label is refused at synth, naming the construct, the prop and the fix", () => {
    expect(() => synthAws((stack, target) => target.addHost(stack, host("mover", "app", { movesAddresses: ["Front_1"] })))).toThrow(
      /AwsTarget 'test\/aws' has invalid props:\n- prop `movesAddresses` of mover names "Front_1", which is not a DNS label: AwsTarget moves it as the CNAME <name>\.haweb\.internal\. Fix: use the name of a movableAddresses entry: lower-case letters, digits and dashes, at most 63\./,
    );
    const stack = new TerraformStack(Testing.app(), "names");
    const target = new AwsTarget(stack, "aws");
    expect(() => target.moveAddressCommand("db writer")).toThrow(
      /AwsTarget 'names\/aws' has invalid props:\n- prop `movesAddresses` names "db writer", which is not a DNS label/,
    );
    expect(target.moveAddressCommand("db-writer")).toContain("record='db-writer.haweb.internal'");
  });
});

describe("secrets and the app bundle", () => {
  test("passwords are generated at deploy time and stored only as SecureString parameters", () => {
    expect(Object.values(resources(parsed, "random_password"))).toEqual([
      expect.objectContaining({ length: 32, special: false }),
      expect.objectContaining({ length: 32, special: false }),
      expect.objectContaining({ length: 32, special: false }),
      expect.objectContaining({ length: 32, special: false }),
    ]);
    const parameters = Object.values(resources(parsed, "aws_ssm_parameter"));
    expect(parameters.map((p) => p.name).sort()).toEqual([
      "/haweb/db-app-password",
      "/haweb/db-exporter-password",
      "/haweb/db-failover-password",
      "/haweb/db-tls-replication.key",
      "/haweb/db-tls-replication.pem",
      "/haweb/db-tls-server.key",
      "/haweb/db-tls-server.pem",
      "/haweb/lb-stats-password",
      "/haweb/tls-certificate",
      "/haweb/tls-private-key",
    ]);
    const value = (name: string) => parameters.find((p) => p.name === name)?.value;
    for (const p of parameters) expect(p).toMatchObject({ type: "SecureString" });
    expect(value("/haweb/db-app-password")).toMatch(/^\$\{random_password\..+\.result\}$/);
    // The self-signed pair from the tls provider: the key never leaves Terraform's state but for this parameter.
    expect(value("/haweb/tls-certificate")).toMatch(/^\$\{tls_self_signed_cert\..+\.cert_pem\}$/);
    // The database cluster's pairs the same way (replication logs in with a certificate, never a password).
    expect(value("/haweb/db-tls-replication.key")).toMatch(/^\$\{tls_private_key\.[^.]+\.private_key_pem\}$/);
    expect(value("/haweb/tls-private-key")).toMatch(/^\$\{tls_private_key\..+\.private_key_pem\}$/);
    expect(json).toHaveResourceWithProperties(SsmParameter, { type: "SecureString" });
  });

  test("no secret appears in plain text anywhere, and no instance references one", () => {
    // User data names secret files (DB_PASSWORD_FILE=...), which the generic scan cannot tell from values: the policy's scan reads it.
    const withoutUserData = { ...JSON.parse(json), locals: {} };
    expect(findPlainTextSecrets(withoutUserData)).toEqual([]);
    for (const instance of Object.values(hosts)) {
      expect(JSON.stringify(instance)).not.toMatch(/random_password|aws_ssm_parameter\.[^"]*\.value/);
      expect(findSecretsInText(asDelivered(String(instance.user_data)))).toEqual([]);
    }
  });

  test("the bundle goes through a private, encrypted, TLS-only bucket", () => {
    expect(json).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    const policy = JSON.parse(String(Object.values(resources(parsed, "aws_s3_bucket_policy"))[0].policy));
    expect(policy.Statement[0]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    const encryption = Object.values(resources(parsed, "aws_s3_bucket_server_side_encryption_configuration"))[0];
    expect(encryption.rule).toEqual([{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }]);
    const objects = Object.values(resources(parsed, "aws_s3_object"));
    const bundle = objects.find((o) => o.source !== undefined) as Json;
    expect(bundle.key).toMatch(/^assets\/[0-9A-F]+\/server\.js$/);
    expect(bundle.source).toMatch(/^assets\/.+\/server\.js$/);
    // And the database nodes' failover script (20 KB, too big for user data) and the backup source's backup
    // commands (never inline): text, keyed by its SHA-256.
    expect(
      objects
        .filter((o) => o !== bundle)
        .map((o) => String(o.key).replace(/[0-9a-f]{64}/, "SHA256"))
        .sort(),
    ).toEqual([...backupCommandNames(seedCluster(), ["db-primary", "db-replica-1"]), "ha-web-db-failover"].map((name) => `files/SHA256/${name}`).sort());
    for (const o of objects) expect(o.server_side_encryption).toBe("AES256");
    // Each database instance boots once the object exists; the web instances once the bundle does.
    const dependsOn = (host: string) => (hosts[host].depends_on as string[]).filter((d) => d.startsWith("aws_s3_object."));
    expect(dependsOn("db-primary")).toEqual([
      expect.stringMatching(/^aws_s3_object\.aws_assets_file-[0-9a-f]{16}-ha-web-db-failover_\w+$/),
      expect.stringMatching(/^aws_s3_object\.aws_assets_file-[0-9a-f]{16}-ha-web-restore_\w+$/),
    ]);
    expect(dependsOn("web-1")).toEqual([expect.stringMatching(/^aws_s3_object\.aws_assets_object-1_\w+$/)]);
    expect(dependsOn("lb-1")).toEqual([]);
  });

  test("whole-stack snapshot", () => {
    // The bundle's hash changes with every app change; the snapshot is about the stack.
    const stable = json.replace(/\b[0-9A-F]{32}\b/g, "<hash>");
    expect(stable).toMatchSnapshot();
  });
});

describe("monitoring on EC2: the monitoring host, the node exporter on every VM, the scrape flows", () => {
  const groupName = (ref: unknown) => String(byAddress(ref).name);
  const ingress = Object.values(resources(parsed, "aws_vpc_security_group_ingress_rule"));
  const egress = Object.values(resources(parsed, "aws_vpc_security_group_egress_rule"));
  /** The groups of a host: on the instance, or on the network interface of a load balancer. */
  const groupsOf = (host: string) => {
    const nic = (hosts[host].primary_network_interface as Json | undefined)?.network_interface_id;
    return ((nic ? byAddress(nic).security_groups : hosts[host].vpc_security_group_ids) as string[]).map(groupName).sort();
  };
  /** The ports Prometheus scrapes on other hosts: HAProxy, node, MySQL and Nginx exporters, the app. */
  const SCRAPED_PORTS = [8405, 9100, 9104, 9113, 9464];

  test("the monitoring host: a t3.small in a private subnet, no public address, the monitoring and egress groups, its own instance role", () => {
    const mon = hosts.monitoring;
    expect(mon).toMatchObject({
      instance_type: "t3.small",
      associate_public_ip_address: false,
      monitoring: true,
      tags: { "ha-web:role": "monitoring", "ha-web:host": "monitoring" },
    });
    expect(mon.primary_network_interface).toBeUndefined();
    expect(tagName(byAddress(mon.subnet_id))).toMatch(/^haweb-private-\d$/);
    expect(groupsOf("monitoring")).toEqual(["haweb-egress", "haweb-mon"]);
    expect(byAddress(byAddress(mon.iam_instance_profile).role).name_prefix).toBe("haweb-mon-");
    // No Elastic IP is the monitoring host's.
    expect(JSON.stringify(resources(parsed, "aws_eip"))).not.toMatch(/monitoring/);
  });

  test("Prometheus' UI is for operators: nothing published, no rule opens 9090, prometheusUrl is the private name (SSM port forwarding)", () => {
    expect(deployed.monitoring.published).toBeUndefined();
    expect(parsed.output["prometheus-url"].value).toBe("http://monitoring.haweb.internal:9090");
    expect(ingress.filter((r) => r.from_port === 9090)).toEqual([]);
    // The monitoring group takes in only scrapes of its node exporter: Prometheus' alerts reach Alertmanager over loopback, with no rule.
    expect(ingress.filter((r) => groupName(r.security_group_id) === "haweb-mon").map((r) => [r.from_port, groupName(r.referenced_security_group_id)])).toEqual([
      [9100, "haweb-mon"],
    ]);
  });

  test("Prometheus' samples live on the host's own encrypted gp3 EBS volume in its zone, attached as /dev/sdf", () => {
    const [key, volume] = Object.entries(resources(parsed, "aws_ebs_volume")).find(([, v]) => tagName(v) === "haweb-monitoring-data") ?? [];
    expect(volume).toMatchObject({ encrypted: true, type: "gp3", size: 20, tags: { "ha-web:role": "monitoring", "ha-web:host": "monitoring" } });
    expect(volume?.availability_zone).toBe(byAddress(hosts.monitoring.subnet_id).availability_zone);
    const attachment = Object.values(resources(parsed, "aws_volume_attachment")).find((a) => addressOf(a.volume_id) === `aws_ebs_volume.${key}`);
    expect(attachment).toMatchObject({ device_name: "/dev/sdf", stop_instance_before_detaching: true });
    expect(addressOf(attachment?.instance_id)).toMatch(/^aws_instance\.monitoring_monitoring-host_instance_/);
    // The prepare step mounts it where Prometheus keeps its TSDB, found by the volume id; Prometheus waits for the mount.
    const userData = String(hosts.monitoring.user_data);
    expect(userData).toContain(`VOLUME_ID='\${aws_ebs_volume.${key}.id}'`);
    expect(userData).toContain(`MOUNT='${PATHS.prometheusVolume}'`);
    expect(userData).toContain(`RequiresMountsFor=${PATHS.prometheusVolume}\n`);
  });

  test("MonitoringTier's storageSizeGb sizes its volume; AwsTarget's dataVolumeSizeGb stays the databases'", () => {
    const { parsed: sized } = synthAws(
      (stack, target) => {
        const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
        new MonitoringTier(stack, "monitoring", { target, monitor: [database], receiver: { webhookUrl: "https://hooks.example.com/a" }, storageSizeGb: 100 });
      },
      { dataVolumeSizeGb: 50 },
    );
    const sizes = Object.values(resources(sized, "aws_ebs_volume")).map((v) => [tagName(v), v.size]);
    expect(sizes.sort()).toEqual([
      ["haweb-db-primary-data", 50],
      ["haweb-monitoring-data", 100],
    ]);
  });

  test("the node exporter's port 9100 is open on every VM's role group, from the monitoring group only", () => {
    const node = ingress.filter((r) => r.from_port === 9100);
    expect(node.map((r) => [groupName(r.security_group_id), r.to_port, r.ip_protocol, groupName(r.referenced_security_group_id), r.cidr_ipv4])).toEqual(
      expect.arrayContaining([
        ["haweb-lb", 9100, "tcp", "haweb-mon", undefined],
        ["haweb-web", 9100, "tcp", "haweb-mon", undefined],
        ["haweb-db", 9100, "tcp", "haweb-mon", undefined],
        ["haweb-mon", 9100, "tcp", "haweb-mon", undefined],
      ]),
    );
    expect(node).toHaveLength(4);
    // Every instance carries a group that takes 9100 from the monitoring group.
    const open = new Set(node.map((r) => groupName(r.security_group_id)));
    for (const host of Object.keys(hosts)) expect({ host, open: groupsOf(host).some((g) => open.has(g)) }).toEqual({ host, open: true });
  });

  test("every exporter port (node, HAProxy, Nginx, MySQL, the app) is open from the monitoring group only, never from a CIDR", () => {
    const scraped = ingress.filter((r) => SCRAPED_PORTS.includes(Number(r.from_port)));
    expect(new Set(scraped.map((r) => r.from_port))).toEqual(new Set(SCRAPED_PORTS));
    for (const r of scraped) {
      expect({ port: r.from_port, to: r.to_port, cidr: r.cidr_ipv4, from: groupName(r.referenced_security_group_id) }).toEqual({
        port: r.from_port,
        to: r.from_port,
        cidr: undefined,
        from: "haweb-mon",
      });
    }
    // ... and Prometheus may reach each of them, on that port, by group.
    const out = egress.filter((r) => groupName(r.security_group_id) === "haweb-mon" && r.referenced_security_group_id);
    expect(out.map((r) => `${r.from_port}->${groupName(r.referenced_security_group_id)}`).sort()).toEqual(
      scraped
        .filter((r) => groupName(r.security_group_id) !== "haweb-mon")
        .map((r) => `${r.from_port}->${groupName(r.security_group_id)}`)
        .sort(),
    );
  });

  test("Alertmanager reaches the internet on the webhook's port only (443 for the example's https URL): no other egress to a CIDR but the shared mirrors/APIs group's", () => {
    const open = egress.filter((r) => r.cidr_ipv4 !== undefined || r.cidr_ipv6 !== undefined);
    expect(open.map((r) => [groupName(r.security_group_id), r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4]).sort()).toEqual([
      ["haweb-egress", "tcp", 443, 443, "0.0.0.0/0"],
      ["haweb-egress", "tcp", 80, 80, "0.0.0.0/0"],
      ["haweb-mon", "tcp", 443, 443, "0.0.0.0/0"],
    ]);
    expect(open.find((r) => groupName(r.security_group_id) === "haweb-mon")?.description).toBe("Alertmanager notifies the receiver");
  });

  test("every host reports its metrics endpoints at its private name: its services' ports, and the node exporter under its own role", () => {
    const node = (host: string, role: string, group?: string) => ({
      job: "node",
      role,
      ...(group ? { group } : {}),
      port: 9100,
      address: `${host}.haweb.internal:9100`,
      node: host,
    });
    expect(Object.keys(deployed).sort()).toEqual(Object.keys(hosts).sort());
    expect(deployed["lb-1"].metrics).toEqual([
      { job: "haproxy", role: "load-balancer", port: 8405, address: "lb-1.haweb.internal:8405", node: "lb-1" },
      node("lb-1", "load-balancer"),
    ]);
    expect(deployed["web-2"].metrics).toEqual([
      { job: "app", role: "app", port: 9464, address: "web-2.haweb.internal:9464", node: "web-2" },
      { job: "nginx", role: "web", port: 9113, address: "web-2.haweb.internal:9113", node: "web-2" },
      node("web-2", "web"),
    ]);
    expect(deployed["db-replica-1"].metrics).toEqual([
      { job: "mysql", role: "database", group: "db", port: 9104, address: "db-replica-1.haweb.internal:9104", node: "db-replica-1" },
      node("db-replica-1", "database", "db"),
    ]);
    expect(deployed.monitoring.metrics).toEqual([node("monitoring", "monitoring")]);
    expect(seed.target.hostExporters).toEqual([{ job: "node", port: 9100 }]);
  });

  test("Prometheus scrapes every VM's node exporter: the others at their private names, its own on loopback", () => {
    const config = String(hosts.monitoring.user_data);
    for (const host of Object.keys(hosts).filter((h) => h !== "monitoring")) expect(config).toContain(`${host}.haweb.internal:9100`);
    expect(config).toContain("127.0.0.1:9100");
    expect(config).not.toContain("monitoring.haweb.internal:9100");
  });
});

describe("AwsTarget props", () => {
  const declareSeed = (stack: TerraformStack, target: AwsTarget) => {
    const database = new MysqlCluster(stack, "database", { target, replicas: 1 });
    const webTier = new WebAppTier(stack, "web", { target, database, nodes: 2 });
    new LoadBalancerTier(stack, "lb", { target, webTier });
  };
  /** The seed with a single load balancer (what an existing VPC can take: a pair needs subnets AwsTarget plans). */
  const declareSeedSingleLb = (stack: TerraformStack, target: AwsTarget) => {
    const database = new MysqlCluster(stack, "database", { target, replicas: 1 });
    const webTier = new WebAppTier(stack, "web", { target, database, nodes: 2 });
    new LoadBalancerTier(stack, "lb", { target, webTier, nodes: 1 });
  };

  test("three zones with a NAT gateway each: every private subnet routes through its own zone's gateway", () => {
    const { json: j, parsed: p } = synthAws(declareSeed, { availabilityZones: 3, natGateways: 3 });
    expect(Object.keys(resources(p, "aws_nat_gateway"))).toHaveLength(3);
    expect(Object.keys(resources(p, "aws_subnet"))).toHaveLength(6);
    const natOf = Object.values(resources(p, "aws_route"))
      .filter((r) => r.nat_gateway_id)
      .map((r) => addressOf(r.nat_gateway_id));
    expect(new Set(natOf).size).toBe(3);
    expect(j).toHaveResourceWithProperties(NatGateway, { tags: { Name: "haweb-nat-3" } });
  });

  test("an existing VPC: no network resources, hosts in the given subnets, zones looked up", () => {
    const { parsed: p, target } = synthAws(declareSeedSingleLb, {
      existingVpc: { vpcId: "vpc-0abc", publicSubnetIds: ["subnet-pub-a", "subnet-pub-b"], privateSubnetIds: ["subnet-priv-a", "subnet-priv-b"] },
    });
    for (const type of ["aws_vpc", "aws_subnet", "aws_nat_gateway", "aws_flow_log", "aws_internet_gateway"]) expect(p.resource[type]).toBeUndefined();
    const instances = instancesByHost(p);
    expect([instances["web-1"].subnet_id, instances["web-2"].subnet_id]).toEqual(["subnet-priv-a", "subnet-priv-b"]);
    expect(Object.keys(p.data?.aws_subnet ?? {})).toHaveLength(4);
    expect(target.network.vpcId).toBe("vpc-0abc");
    expect(Object.values(resources(p, "aws_security_group")).every((g) => g.vpc_id === "vpc-0abc")).toBe(true);
  });

  test("opt-in SSH: one rule from the given CIDR, a key pair; none by default", () => {
    const { json: j, parsed: p } = synthAws(declareSeed, { sshCidr: "203.0.113.0/24", keyName: "ops" });
    expect(j).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, { from_port: 22, to_port: 22, cidr_ipv4: "203.0.113.0/24" });
    for (const instance of Object.values(instancesByHost(p))) expect(instance.key_name).toBe("ops");
    expect(Object.values(resources(parsed, "aws_vpc_security_group_ingress_rule")).some((r) => r.from_port === 22)).toBe(false);
  });

  test("instance types, an AMI, root size, data volume type and a KMS key are overridable", () => {
    const kms = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    const { json: j, parsed: p } = synthAws(declareSeed, {
      instanceTypes: { web: "m6i.large", database: "r6i.large" },
      amiId: "ami-0123456789abcdef0",
      rootVolumeSizeGb: 20,
      dataVolumeType: "gp2",
      kmsKeyArn: kms,
      replaceOnNewAmi: true,
    });
    const instances = instancesByHost(p);
    expect(instances["web-1"]).toMatchObject({
      instance_type: "m6i.large",
      ami: "ami-0123456789abcdef0",
      root_block_device: { volume_size: 20, kms_key_id: kms },
    });
    expect(instances["web-1"].lifecycle).toBeUndefined();
    expect(instances["db-primary"].instance_type).toBe("r6i.large");
    expect(p.data?.aws_ami).toBeUndefined();
    expect(j).toHaveResourceWithProperties(EbsVolume, { type: "gp2", kms_key_id: kms, encrypted: true });
    expect(j).toHaveResourceWithProperties(SsmParameter, { key_id: kms });
    const db = Object.values(resources(p, "aws_iam_role_policy"))
      .map((x) => String(x.policy))
      .find((x) => x.includes("DecryptOwnSecrets"));
    expect(JSON.parse(db ?? "{}").Statement).toContainEqual({
      Sid: "DecryptOwnSecrets",
      Effect: "Allow",
      Action: ["kms:Decrypt"],
      Resource: [kms],
      Condition: { StringLike: { "kms:ViaService": "ssm.*.amazonaws.com" } },
    });
  });

  test("ssmManagedInstanceCore swaps the Session Manager minimum for the managed policy; installSsmAgent: false skips the agent", () => {
    const { parsed: p } = synthAws(declareSeed, { ssmManagedInstanceCore: true, installSsmAgent: false });
    // The host roles' (the backup source's own among them); the snapshot policy's DLM role is no host's.
    const attachments = Object.values(resources(p, "aws_iam_role_policy_attachment")).filter((a) => !String(a.policy_arn).includes("DataLifecycleManager"));
    expect(attachments).toHaveLength(4);
    for (const a of attachments) expect(a.policy_arn).toBe("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
    expect(Object.values(resources(p, "aws_iam_role_policy")).filter((x) => x.name === "session-manager")).toEqual([]);
    for (const instance of Object.values(instancesByHost(p))) expect(String(instance.user_data)).not.toContain("install-ssm-agent");
  });

  test("an existing VPC with one subnet of each kind synthesizes, with a warning that a tier shares one zone", () => {
    const { stack } = synthAws(declareSeedSingleLb, { existingVpc: { vpcId: "vpc-0abc", publicSubnetIds: ["subnet-pub"], privateSubnetIds: ["subnet-priv"] } });
    expect(annotations(stack, "warn")).toContainEqual(expect.stringContaining("existingVpc has fewer than two public or private subnets"));
  });

  test("createProviders: false leaves the providers to the stack", () => {
    const { parsed: p } = synthAws(() => undefined, { createProviders: false });
    expect(p.provider).toBeUndefined();
  });

  test("a password passed as a sensitive variable is copied into a SecureString parameter", () => {
    const { parsed: p } = synthAws((stack, target) => {
      const variable = new TerraformVariable(stack, "db_app_password", { type: "string", sensitive: true });
      new MysqlCluster(stack, "db", { target, replicas: 0, appPassword: { name: "app", value: variable.stringValue } });
    });
    expect(
      Object.values(resources(p, "aws_ssm_parameter"))
        .map((x) => [x.name, x.value])
        .sort(),
    ).toEqual([
      ["/haweb/app", "${var.db_app_password}"],
      ["/haweb/db-exporter-password", expect.stringMatching(/^\$\{random_password\./)],
      ["/haweb/db-tls-replication.key", expect.stringMatching(/^\$\{tls_private_key\./)],
      ["/haweb/db-tls-replication.pem", expect.stringMatching(/^\$\{tls_self_signed_cert\./)],
      ["/haweb/db-tls-server.key", expect.stringMatching(/^\$\{tls_private_key\./)],
      ["/haweb/db-tls-server.pem", expect.stringMatching(/^\$\{tls_self_signed_cert\./)],
    ]);
  });

  test("MySQL needs a package Debian does not have: refused with the fix, accepted with packages.mysql", () => {
    expect(() => synthAws((stack, target) => new MysqlCluster(stack, "db", { target, engine: "mysql" }))).toThrow(
      /MysqlCluster 'test\/db' has invalid props:\n- prop `version` is "8\.4": db-primary needs mysql 8\.4, which Debian 12 does not package. Fix: use engine "mariadb" \(Debian's MySQL server\), or give AwsTarget's packages\.mysql a package/,
    );
    const { parsed: p } = synthAws((stack, target) => new MysqlCluster(stack, "db", { target, engine: "mysql", replicas: 0 }), {
      packages: { mysql: ["mysql-server"] },
    });
    expect(String(instancesByHost(p)["db-primary"].user_data)).toContain("  - mysql-server\n");
  });

  test("an app image cannot run on EC2: refused with the fix", () => {
    expect(() =>
      synthAws((stack, target) => {
        const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
        new WebAppTier(stack, "web", { target, database, app: { artifact: AppArtifact.fromImage("registry.local/shop:1") } });
      }),
    ).toThrow(
      /WebAppTier 'test\/web' has invalid props:\n- prop `app.artifact` is the image "registry.local\/shop:1", but AwsTarget runs bundle artifacts only \(service web-1-app\)\. Fix: ship your app as a bundle \(AppArtifact.fromBundle\) on AwsTarget\.$/,
    );
  });

  test("user data over EC2's 16 KB is refused at synth time, with the fix", () => {
    // User data is gzipped: only content that does not compress (random bytes) is too big. Each file is small enough
    // to be inline (a bigger one would travel through S3): together they are too much.
    const big = Array.from({ length: 6 }, (_, i) => ({ path: `/etc/ha-web/big-${i}.conf`, content: randomBytes(3000).toString("base64") }));
    expect(() =>
      synthAws((stack, target) =>
        target.addHost(stack, {
          name: "big",
          role: "web",
          services: [bareService("big", { files: big })],
        }),
      ),
    ).toThrow(/prop `host big` has \d+ bytes of user data \(gzipped\), over EC2's limit of 16384. Fix: ship big files as assets \(S3\)/);
  });

  test("a load-balancer group needs a zone per node, and a VPC AwsTarget plans: refused at synth with the fix", () => {
    // A new VPC has at least two zones (availabilityZones is checked first); three nodes need three.
    expect(() =>
      synthAws((stack, target) => {
        const database = new MysqlCluster(stack, "database", { target, replicas: 0 });
        new LoadBalancerTier(stack, "lb", { target, webTier: new WebAppTier(stack, "web", { target, database }), nodes: 3 });
      }),
    ).toThrow(
      /LoadBalancerTier 'test\/lb' has invalid props:\n- prop `nodes` is 3: each node of a pair needs an availability zone of its own, and AwsTarget 'test\/aws' has 2\. Fix: give AwsTarget availabilityZones: 3 or more, or set nodes to 1\./,
    );
    expect(() =>
      synthAws(declareSeed, { existingVpc: { vpcId: "vpc-0abc", publicSubnetIds: ["subnet-a", "subnet-b"], privateSubnetIds: ["subnet-c", "subnet-d"] } }),
    ).toThrow(/prop `nodes` is 2, a pair sharing an Elastic IP: its nodes need fixed addresses.*Fix: set nodes to 1 on an existing VPC/);
  });

  test("a host name used twice is refused", () => {
    const stack = new TerraformStack(Testing.app(), "order");
    const target = new AwsTarget(stack, "aws");
    const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
    new WebAppTier(stack, "web", { target, database, nodes: 1 });
    expect(() => new WebAppTier(stack, "web2", { target, database, nodes: 1 })).toThrow(/prop `host name` "web-1" is used by two hosts/);
  });

  const attempt = (props: AwsTargetProps) => () => new AwsTarget(new TerraformStack(Testing.app(), "bad"), "aws", props);
  test.each<[AwsTargetProps, RegExp]>([
    [
      { namePrefix: "My Stack" },
      /AwsTarget 'bad\/aws' has invalid props:\n- prop `namePrefix` "My Stack" is not a DNS label of at most 20 characters. Fix: use lower-case/,
    ],
    [{ region: "europe" }, /prop `region` "europe" is not an AWS region/],
    [{ availabilityZones: 1 }, /prop `availabilityZones` is 1; it must be a whole number from 2 to 6/],
    [{ natGateways: 0 }, /prop `natGateways` is 0; it must be a whole number from 1 to availabilityZones \(2\)/],
    [{ natGateways: 3 }, /prop `natGateways` is 3/],
    [{ vpcCidr: "10.0.0.0/8" }, /prop `vpcCidr` "10.0.0.0\/8" is not an IPv4 CIDR block from \/16 to \/20/],
    [{ flowLogRetentionDays: 10 }, /prop `flowLogRetentionDays` is 10, which CloudWatch Logs does not accept/],
    [{ privateZoneName: "internal" }, /prop `privateZoneName` "internal" is not a domain name/],
    [{ instanceTypes: { web: "large" } }, /prop `instanceTypes.web` "large" is not an instance type/],
    [{ amiId: "debian" }, /prop `amiId` "debian" is not an AMI id/],
    [{ rootVolumeSizeGb: 4 }, /prop `rootVolumeSizeGb` is 4. Fix: use a whole number of GiB from 8/],
    [{ sshCidr: "0.0.0.0/0" }, /prop `sshCidr` "0.0.0.0\/0" opens SSH to \(nearly\) the whole internet. Fix: use your network's range, or Session Manager/],
    [{ sshCidr: "office" }, /prop `sshCidr` "office" is not an IPv4 CIDR block/],
    [{ kmsKeyArn: "my-key" }, /prop `kmsKeyArn` "my-key" is not a KMS key ARN/],
    [
      { existingVpc: { vpcId: "vpc-1", publicSubnetIds: [], privateSubnetIds: ["subnet-1"] } },
      /prop `existingVpc.publicSubnetIds` is empty: the load balancers need a public subnet/,
    ],
    [{ packages: { nginx: ["nginx latest"] } }, /prop `packages.nginx` "nginx latest" is not a Debian package name/],
    [{ packages: { redis: ["redis"] } as never }, /prop `packages` has "redis", which is no software the library runs/],
    [{ vpcCidr: "10.40.1.0/16" }, /prop `vpcCidr` "10.40.1.0\/16" has host bits set/],
    [{ dataVolumeType: "io1" as never }, /prop `dataVolumeType` "io1" is not supported \(io1 and io2 need provisioned IOPS/],
    [{ kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:alias/db" }, /an alias ARN cannot be used in the instance roles' IAM grants/],
    [{ instanceTypes: { cache: "t3.small" } as never }, /prop `instanceTypes` has "cache", which is no host role/],
    [{ tags: { "aws:owner": "me" } }, /prop `tags` key "aws:owner" is empty, longer than 128 characters or starts with "aws:"/],
  ])("rejects %j", (props, message) => {
    expect(attempt(props)).toThrow(message);
  });

  const warningsOf = (props: AwsTargetProps) => annotations(new AwsTarget(new TerraformStack(Testing.app(), "warn"), "aws", props), "warn");
  test.each<[AwsTargetProps, RegExp]>([
    [
      { existingVpc: { vpcId: "vpc-1", publicSubnetIds: ["s-1", "s-2"], privateSubnetIds: ["s-3", "s-4"] }, natGateways: 2 },
      /prop `natGateways` has no effect with existingVpc/,
    ],
    [{ instanceTypes: { app: "t3.large" } }, /prop `instanceTypes.app` has no effect: the app server runs on its web node's VM/],
    [{ instanceTypes: { web: "t4g.small" } }, /prop `instanceTypes.web` "t4g.small" looks like an arm64 type, but architecture is x86_64/],
    [{ architecture: "arm64" }, /prop `instanceTypes.database` "t3.medium" looks like an x86_64 type, but architecture is arm64/],
    [{ vpcCidr: "100.64.0.0/16" }, /prop `vpcCidr` "100.64.0.0\/16" is not a private \(RFC 1918\) range/],
    [{ createProviders: false, region: "eu-west-1" }, /prop `region` has no effect with createProviders: false/],
    [{ keyName: "ops" }, /prop `keyName` has no effect without sshCidr/],
    [{ amiId: "ami-0123456789abcdef0", replaceOnNewAmi: true }, /prop `replaceOnNewAmi` has no effect with amiId/],
  ])("warns about %j, which AWS would silently ignore or reject at boot", (props, message) => {
    expect(warningsOf(props)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  test("tier props that do nothing on EC2 are warned about, under the tier's name", () => {
    let web!: WebAppTier;
    let lb!: LoadBalancerTier;
    synthAws((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
      web = new WebAppTier(stack, "web", {
        target,
        database,
        app: { artifact: AppArtifact.fromBundle(demoAppBundlePath()), command: ["/usr/bin/node", "/opt/ha-web/app/server.js"], healthCheck: ["/bin/true"] },
      });
      lb = new LoadBalancerTier(stack, "lb", { target, webTier: web });
    });
    expect(annotations(web, "warn")).toContainEqual(
      expect.stringMatching(/^WebAppTier 'test\/web': prop `app.healthCheck` has no effect on AwsTarget: it runs no health checks/),
    );
    expect(annotations(lb, "warn")).toEqual([]);
  });

  test("an app that cannot bind its port on a VM is refused: a non-root user below 1024", () => {
    expect(() =>
      synthAws((stack, target) => {
        const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
        new WebAppTier(stack, "web", { target, database, port: 8080, app: { port: 80 } });
      }),
    ).toThrow(
      /WebAppTier 'test\/web' has invalid props:\n- prop `user` is "node", but web-1-app listens on port 80: on a VM only root may bind ports below 1024. Fix: listen on a port of 1024 or above \(app.port\)/,
    );
  });

  test("a numeric app user is refused on a VM (cloud-init creates named users)", () => {
    expect(() =>
      synthAws((stack, target) => {
        const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
        new WebAppTier(stack, "web", { target, database, app: { user: "1000" } });
      }),
    ).toThrow(/WebAppTier 'test\/web' has invalid props:\n- prop `app.user` is "1000": a VM runs web-1-app as a named user that cloud-init creates/);
  });

  test("two stacks of one app cannot share a namePrefix (SSM parameters and names would collide)", () => {
    const app = Testing.app();
    new AwsTarget(new TerraformStack(app, "blue"), "aws");
    expect(() => new AwsTarget(new TerraformStack(app, "green"), "aws")).toThrow(
      /AwsTarget 'green\/aws' has invalid props:\n- prop `namePrefix` "haweb" is already used by the AwsTarget 'blue\/aws' of this app in us-east-1.*Fix: give every stack's AwsTarget its own namePrefix/,
    );
    expect(() => new AwsTarget(new TerraformStack(app, "other"), "aws", { namePrefix: "other" })).not.toThrow();
  });

  test("each database cluster gets its own security group: an app reaches only the cluster it was given", () => {
    const { parsed } = synthAws((stack, target) => {
      const shop = new MysqlCluster(stack, "shop-db", { target, replicas: 0 });
      new MysqlCluster(stack, "stats-db", { target, replicas: 0, namePrefix: "stats" });
      new WebAppTier(stack, "web", { target, database: shop, nodes: 1 });
    });
    const groups = Object.values(resources(parsed, "aws_security_group"))
      .map((g) => g.name)
      .sort();
    expect(groups).toEqual(expect.arrayContaining(["haweb-db", "haweb-stats-db"]));
    const egress = Object.keys(resources(parsed, "aws_vpc_security_group_egress_rule"));
    expect(egress.some((key) => key.includes("app-out-3306-to-db_"))).toBe(true);
    expect(egress.some((key) => key.includes("app-out-3306-to-stats-db"))).toBe(false);
  });

  test("a monitoring host with an email receiver: egress to the SMTP port only; instanceTypes.monitoring and dataVolumeSizeGb size it; the policy passes", () => {
    const { stack, parsed: p } = synthAws(
      (s, target) => {
        const database = new MysqlCluster(s, "database", { target, replicas: 1 });
        const web = new WebAppTier(s, "web", { target, database, nodes: 2 });
        const lb = new LoadBalancerTier(s, "lb", { target, webTier: web });
        new MonitoringTier(s, "monitoring", {
          target,
          monitor: [database, web, lb],
          receiver: { email: { to: "ops@example.com", from: "alerts@example.com", smarthost: "smtp.example.com:587" } },
        });
      },
      { instanceTypes: { monitoring: "t3.medium" }, dataVolumeSizeGb: 50 },
    );
    const egressRules = Object.values(resources(p, "aws_vpc_security_group_egress_rule"));
    const groupOf = (r: Json) => {
      const [type, name] = addressOf(r.security_group_id).split(".");
      return String(p.resource[type][name].name);
    };
    expect(egressRules.filter((r) => r.cidr_ipv4 && groupOf(r) === "haweb-mon").map((r) => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4])).toEqual([
      ["tcp", 587, 587, "0.0.0.0/0"],
    ]);
    const instances = instancesByHost(p);
    expect(instances.monitoring.instance_type).toBe("t3.medium");
    const volumes = Object.values(resources(p, "aws_ebs_volume"));
    expect(volumes.map((v) => [tagName(v), v.size, v.encrypted])).toContainEqual(["haweb-monitoring-data", 50, true]);
    expect(checkPolicy(stack)).toEqual([]);
  });

  test("without a monitoring tier every VM still runs the node exporter, open to the monitoring group only (empty until a monitoring host joins it)", () => {
    const { parsed: p } = synthAws(declareSeed);
    const groupOf = (ref: unknown) => {
      const [type, name] = addressOf(ref).split(".");
      return String(p.resource[type][name].name);
    };
    const node = Object.values(resources(p, "aws_vpc_security_group_ingress_rule")).filter((r) => r.from_port === 9100);
    expect(node.map((r) => `${groupOf(r.security_group_id)} from ${groupOf(r.referenced_security_group_id)}`).sort()).toEqual([
      "haweb-db from haweb-mon",
      "haweb-lb from haweb-mon",
      "haweb-web from haweb-mon",
    ]);
    for (const [host, instance] of Object.entries(instancesByHost(p))) {
      // The backup source's also reads the backup metrics directory.
      const textfile = host === "db-replica-1" ? ` --collector.textfile.directory=${BACKUP_METRICS_DIR}` : "";
      expect({
        host,
        unit: String(instance.user_data).includes(`ExecStart=/usr/bin/prometheus-node-exporter --web.listen-address=:9100${textfile}\n`),
      }).toEqual({
        host,
        unit: true,
      });
    }
  });

  /** A bare service for addHost, on a role of the caller's choice. */
  const bare = bareService;

  test.each<[string, ServiceSpec, RegExp]>([
    [
      "a service named like the node exporter's unit",
      bare("node-exporter"),
      /prop `service name` "node-exporter" is the name of the node exporter's unit, which AwsTarget runs on every VM\. Fix: give the service/,
    ],
    [
      "a listener on the node exporter's port",
      bare("metrics", { ingress: [{ port: 9100, from: "monitoring", description: "mine" }] }),
      /prop `ingress` makes metrics listen on 9100, where AwsTarget runs the node exporter on every VM\. Fix: use a port other than 9100/,
    ],
    [
      "egress to the internet without a port",
      bare("notifier", { egress: [{ port: 0, protocol: "vrrp", to: "internet", description: "anything" }] }),
      /prop `egress` of notifier to the internet is vrrp\/0: AwsTarget opens egress to the internet on one TCP or UDP port only, never all traffic/,
    ],
  ])("refuses %s at synth, with the fix", (_, service, message) => {
    expect(() => synthAws((stack, target) => target.addHost(stack, { name: "h", role: "web", services: [service] }))).toThrow(message);
  });

  test("an app listening on the node exporter's port is refused under the tier's prop", () => {
    expect(() =>
      synthAws((stack, target) => {
        const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
        new WebAppTier(stack, "web", { target, database, app: { port: 9100 } });
      }),
    ).toThrow(/WebAppTier 'test\/web' has invalid props:\n- prop `app\.port` makes web-1-app listen on 9100, where AwsTarget runs the node exporter/);
  });

  test("reports every bad prop at once", () => {
    expect(attempt({ namePrefix: "X", availabilityZones: 9 })).toThrow(/namePrefix[\s\S]*availabilityZones/);
  });

  test("subnet math matches Terraform's cidrsubnet", () => {
    expect(cidrSubnet("10.40.0.0/16", 8, 9)).toBe("10.40.9.0/24");
    expect(cidrSubnet("172.16.16.0/20", 4, 15)).toBe("172.16.31.0/24");
    expect(() => cidrSubnet("10.0.0.0/16", 8, 256)).toThrow(/has no subnet 256/);
  });

  test("every node's start scripts and configs are installed where the tiers put them", () => {
    const userData = String(hosts["db-replica-1"].user_data);
    expect(userData).toContain(`  - path: ${PATHS.binDir}/start-db-replica.sh\n`);
    expect(userData).toContain(`  - path: ${PATHS.mysqlConfig}\n`);
    expect(json).toHaveResourceWithProperties(Instance, { tags: expect.objectContaining({ "ha-web:role": "database" }) });
  });
});

describe("backups on AWS: a bucket per cluster, snapshots, the source host's own role", () => {
  let cluster!: MysqlCluster;
  const synth = synthAws((stack, target) => {
    cluster = new MysqlCluster(stack, "database", { target, replicas: 2 });
  });
  const { parsed: p } = synth;
  /** The backup store's one resource of a type (the asset bucket's are not). */
  const one = (type: string, parsedStack: SynthesizedStack = p) => {
    const all = Object.entries(resources(parsedStack, type))
      .filter(([key]) => key.includes("backup-store"))
      .map(([, r]) => r);
    expect(all).toHaveLength(1);
    return all[0];
  };
  const ref = (r: unknown) => {
    const [type, name] = addressOf(r).split(".");
    return p.resource[type][name];
  };
  const userData = instancesByHost(p);
  /** A backup command as stored in S3 (the hosts fetch them). */
  const commandOf = (stackJson: SynthesizedStack, name: string) =>
    String(Object.values(resources(stackJson, "aws_s3_object")).find((o) => String(o.key).endsWith(`/${name}`))?.content);

  test("the plan names the bucket (filled in by Terraform), the cluster's prefix and the region; the store is off-site", () => {
    expect(cluster.backupOffSite).toBe(true);
    expect(cluster.backupPlan?.store).toMatchObject({ kind: "s3", prefix: "db", region: "us-east-1" });
    const script = commandOf(p, "ha-web-backup");
    expect(script).toMatch(/STORE='s3:\/\/\$\{aws_s3_bucket\.database_backup-store_bucket_\w+\.bucket\}\/db'/);
    expect(script).toContain("AWS_REGION_ARG='--region=us-east-1'");
    // The source (the last replica) starts the scheduler; the others do not.
    expect(String(userData["db-replica-2"].user_data)).toContain(`${BACKUP_COMMANDS.scheduler} $$ &`);
    expect(String(userData["db-primary"].user_data)).not.toContain(`${BACKUP_COMMANDS.scheduler} $$ &`);
  });

  test("the bucket: public access blocked, owner enforced, versioned, SSE-S3, TLS only, expired after retention + the full-backup gap + a day; kept on destroy", () => {
    const bucket = one("aws_s3_bucket");
    expect(bucket).toMatchObject({ bucket_prefix: "haweb-db-bk-", force_destroy: false });
    expect(one("aws_s3_bucket_public_access_block")).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(one("aws_s3_bucket_versioning")).toMatchObject({ versioning_configuration: { status: "Enabled" } });
    expect(one("aws_s3_bucket_server_side_encryption_configuration")).toMatchObject({
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    });
    expect(one("aws_s3_bucket_ownership_controls")).toMatchObject({ rule: { object_ownership: "BucketOwnerEnforced" } });
    const policy = JSON.parse(String(one("aws_s3_bucket_policy").policy)) as { Statement: Json[] };
    expect(policy.Statement).toEqual([
      expect.objectContaining({ Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    ]);
    expect(one("aws_s3_bucket_lifecycle_configuration")).toMatchObject({
      rule: [
        {
          status: "Enabled",
          filter: [{ prefix: "db/" }],
          expiration: [{ days: 9 }],
          noncurrent_version_expiration: [{ noncurrent_days: 9 }],
          abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }],
        },
      ],
    });
    expect(resources(p, "aws_s3_bucket_object_lock_configuration")).toEqual({});
  });

  test("the source host gets a role of its own that may write under the prefix; the other database hosts may read (restore)", () => {
    const roleOf = (host: string) => {
      const profile = Object.values(resources(p, "aws_iam_instance_profile")).find(
        (pr) =>
          `\${aws_iam_instance_profile.${Object.keys(resources(p, "aws_iam_instance_profile")).find((k) => resources(p, "aws_iam_instance_profile")[k] === pr)}.name}` ===
          userData[host].iam_instance_profile,
      )!;
      return String(ref(profile.role).name_prefix);
    };
    expect(roleOf("db-replica-2")).toBe("haweb-db-bk1-");
    expect(roleOf("db-primary")).toBe("haweb-db-");
    expect(roleOf("db-replica-1")).toBe("haweb-db-");
    const statementsOf = (prefix: string) =>
      Object.values(resources(p, "aws_iam_role_policy"))
        .filter((pol) => ref(pol.role).name_prefix === prefix)
        .flatMap((pol) => (JSON.parse(String(pol.policy)) as { Statement: Json[] }).Statement);
    const s3 = (prefix: string) => statementsOf(prefix).filter((st) => /Backups$/.test(String(st.Sid)));
    expect(s3("haweb-db-bk1-")).toEqual(backupStatements("write"));
    expect(s3("haweb-db-")).toEqual(backupStatements("read"));
    // Delete markers only: no role may remove a version.
    expect(JSON.stringify(p.resource.aws_iam_role_policy)).not.toContain("DeleteObjectVersion");
    // The source's own role still reads its secrets and moves the writer, like the others.
    expect(statementsOf("haweb-db-bk1-").map((st) => st.Sid)).toEqual(expect.arrayContaining(["ReadOwnSecrets", "MoveOwnRecords", "SessionManager"]));
  });

  test("daily EBS snapshots of the cluster's data volumes (by tag), kept retentionDays, by a DLM role", () => {
    const dlm = one("aws_dlm_lifecycle_policy");
    expect(dlm).toMatchObject({
      state: "ENABLED",
      policy_details: {
        resource_types: ["VOLUME"],
        target_tags: { "ha-web:backup": "haweb-db" },
        schedule: [{ name: "daily", create_rule: { interval: 24, interval_unit: "HOURS", times: ["03:00"] }, retain_rule: { count: 7 }, copy_tags: true }],
      },
    });
    const role = ref(dlm.execution_role_arn);
    expect(JSON.parse(String(role.assume_role_policy))).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    const volumes = Object.values(resources(p, "aws_ebs_volume"));
    expect(volumes.map((v) => (v.tags as Record<string, string>)["ha-web:backup"])).toEqual(["haweb-db", "haweb-db", "haweb-db"]);
  });

  test("every database host installs mariadb-backup and the AWS CLI; the source's node exporter reads the metrics directory", () => {
    for (const host of ["db-primary", "db-replica-1", "db-replica-2"]) {
      const text = String(userData[host].user_data);
      expect(text).toMatch(/packages:\n(?: {2}- .*\n)*? {2}- awscli\n/);
      expect(text).toContain("  - mariadb-backup\n");
      expect(text.includes(`--collector.textfile.directory=${BACKUP_METRICS_DIR}`)).toBe(host === "db-replica-2");
    }
  });

  test("backupKmsKeyArn: SSE-KMS with a bucket key, the scripts pass the key, the roles may use it through S3 only", () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const kms = synthAws((stack, target) => new MysqlCluster(stack, "database", { target, replicas: 1 }), { backupKmsKeyArn: key }).parsed;
    expect(one("aws_s3_bucket_server_side_encryption_configuration", kms)).toMatchObject({
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: key }, bucket_key_enabled: true }],
    });
    expect(commandOf(kms, "ha-web-backup")).toContain(`SSE_ARGS='--sse aws:kms --sse-kms-key-id ${key}'`);
    const kmsStatements = Object.values(resources(kms, "aws_iam_role_policy"))
      .flatMap((pol) => (JSON.parse(String(pol.policy)) as { Statement: Json[] }).Statement)
      .filter((st) => st.Sid === "UseBackupKeyThroughS3");
    expect(kmsStatements.map((st) => st.Action)).toEqual([["kms:Decrypt"], ["kms:Decrypt", "kms:GenerateDataKey"]]);
    for (const st of kmsStatements) expect(st).toMatchObject({ Resource: [key], Condition: { StringLike: { "kms:ViaService": "s3.*.amazonaws.com" } } });
  });

  test("createProviders: false: the region is the stack provider's, read at deploy time like the bucket's name", () => {
    const own = synthAws(
      (stack, target) => {
        new AwsProvider(stack, "own-aws", { region: "eu-west-1" });
        new MysqlCluster(stack, "database", { target, replicas: 1 });
      },
      { createProviders: false },
    ).parsed;
    expect(commandOf(own, "ha-web-backup")).toMatch(/^AWS_REGION_ARG='--region=\$\{data\.aws_region\.\w+\.region\}'$/m);
    expect(commandOf(own, "ha-web-backup")).not.toContain("deploy-time");
  });

  test("backupObjectLock: Object Lock on the new bucket with a default retention (GOVERNANCE unless given)", () => {
    const locked = synthAws((stack, target) => new MysqlCluster(stack, "database", { target, replicas: 1 }), { backupObjectLock: { days: 7 } }).parsed;
    expect(one("aws_s3_bucket", locked)).toMatchObject({ object_lock_enabled: true });
    expect(one("aws_s3_bucket_object_lock_configuration", locked)).toMatchObject({
      rule: { default_retention: { mode: "GOVERNANCE", days: 7 } },
    });
  });

  test.each([
    [
      { backupKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:alias/backups" },
      /prop `backupKmsKeyArn` "arn:aws:kms:us-east-1:123456789012:alias\/backups" is not a KMS key ARN/,
    ],
    [{ backupObjectLock: { days: 0 } }, /prop `backupObjectLock\.days` is 0; it must be a whole number of days from 1 to 36500/],
    [{ backupObjectLock: { days: 7, mode: "LEGAL" as never } }, /prop `backupObjectLock\.mode` is "LEGAL"\. Fix: use "GOVERNANCE"/],
  ])("bad backup props of AwsTarget are refused: %j", (props, message) => {
    expect(() => synthAws(() => undefined, props)).toThrow(message);
  });
});
