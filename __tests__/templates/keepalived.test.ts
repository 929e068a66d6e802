import { spawnSync } from "child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  expectedTakeoverSeconds,
  KEEPALIVED_INTERFACE_PLACEHOLDER,
  KeepalivedConfig,
  MASTER_MARKER_ADDRESS,
  renderKeepalivedConfig,
  validateKeepalivedConfig,
} from "../../templates/keepalived";
import { hasBinary } from "../helpers/binaries";

const base: KeepalivedConfig = {
  nodeName: "lb-1",
  priority: 150,
  sourceAddress: "10.213.0.11",
  peerAddresses: ["10.213.0.12"],
  virtualAddresses: ["10.213.0.10/24"],
  checkCommand: "/bin/sh /opt/ha-web/bin/healthcheck-http.sh 8404 /healthz",
};

describe("renderKeepalivedConfig", () => {
  const cfg = renderKeepalivedConfig(base);

  test("both nodes start as BACKUP with nopreempt: the old master never takes the address back", () => {
    expect(cfg).toMatch(/^ {4}state BACKUP\n {4}nopreempt$/m);
    expect(cfg).toContain("    priority 150");
    expect(cfg).toContain("    advert_int 1");
    expect(cfg).toContain("    virtual_router_id 51");
  });

  test("VRRP over unicast to the peers only, the virtual address while master", () => {
    expect(cfg).toContain("    unicast_src_ip 10.213.0.11\n    unicast_peer {\n        10.213.0.12\n    }");
    expect(cfg).toContain("    virtual_ipaddress {\n        10.213.0.10/24\n    }");
    expect(cfg).toContain(`    interface ${KEEPALIVED_INTERFACE_PLACEHOLDER}`);
  });

  test("a check on HAProxy itself takes a dead or frozen HAProxy out", () => {
    expect(cfg).toContain('    script "/bin/sh /opt/ha-web/bin/healthcheck-http.sh 8404 /healthz"');
    expect(cfg).toMatch(/track_script \{\n {8}haproxy_alive\n/);
    expect(cfg).toContain("enable_script_security");
  });

  test("on AWS only a marker address on loopback, a notify script moves the Elastic IP", () => {
    const aws = renderKeepalivedConfig({ ...base, virtualAddresses: [MASTER_MARKER_ADDRESS], notifyMasterScript: "/opt/ha-web/bin/move-address.sh" });
    expect(aws).toContain("    virtual_ipaddress {\n        169.254.255.1/32 dev lo\n    }");
    expect(aws).toContain('    notify_master "/opt/ha-web/bin/move-address.sh"');
  });

  test("expected takeover: three adverts plus the backup's skew", () => {
    expect(expectedTakeoverSeconds(1)).toBeCloseTo(3.6, 1);
    expect(expectedTakeoverSeconds(2)).toBeCloseTo(7.2, 1);
  });

  test.each([
    [{ virtualRouterId: 0 }, "virtualRouterId", /from 1 to 255/],
    [{ virtualRouterId: 256 }, "virtualRouterId", /from 1 to 255/],
    [{ advertIntervalSeconds: 0 }, "advertIntervalSeconds", /from 1 to 255/],
    [{ advertIntervalSeconds: 1.5 }, "advertIntervalSeconds", /whole number/],
    [{ priority: 255 }, "priority", /from 1 to 254/],
    [{ peerAddresses: [] }, "peerAddresses", /at least one/],
    [{ peerAddresses: ["10.213.0.11"] }, "peerAddresses", /own address/],
    [{ peerAddresses: ["lb-2"] }, "peerAddresses", /not an IPv4 address/],
    [{ virtualAddresses: ["10.213.0.10"] }, "virtualAddresses", /a\.b\.c\.d\/n/],
    [{ virtualAddresses: [] }, "virtualAddresses", /at least one address/],
    [{ checkCommand: 'sh -c "x"' }, "checkCommand", /double quotes/],
  ])("rejects bad input %#", (override, field, message) => {
    const problems = validateKeepalivedConfig({ ...base, ...override } as KeepalivedConfig);
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.join("; ")).toMatch(message);
    expect(() => renderKeepalivedConfig({ ...base, ...override } as KeepalivedConfig)).toThrow(message);
  });
});

const keepalived = hasBinary("keepalived") ? test : test.skip;
keepalived("keepalived -t accepts the rendered configs once the start script fills in the interface", () => {
  const dir = mkdtempSync(join(tmpdir(), "keepalived-test-"));
  try {
    const configs = {
      docker: renderKeepalivedConfig(base),
      aws: renderKeepalivedConfig({
        ...base,
        virtualAddresses: [MASTER_MARKER_ADDRESS],
        notifyMasterScript: "/bin/true",
        virtualRouterId: 200,
        advertIntervalSeconds: 2,
      }),
    };
    // keepalived -t wants an interface that exists and is not loopback: any of this machine's.
    const iface = readdirSync("/sys/class/net").find((n) => n !== "lo");
    expect(iface).toBeDefined();
    for (const [name, text] of Object.entries(configs)) {
      const file = join(dir, `${name}.conf`);
      writeFileSync(file, text.replace(KEEPALIVED_INTERFACE_PLACEHOLDER, iface!));
      const result = spawnSync("keepalived", ["-t", "-f", file], { encoding: "utf8" });
      expect({ name, status: result.status, out: result.status === 0 ? "" : result.stdout + result.stderr }).toEqual({ name, status: 0, out: "" });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
