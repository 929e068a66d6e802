import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { FirewallConfig, renderFirewallRuleset, validateFirewallConfig } from "../../templates/nftables";
import { hasBinary, isRoot } from "../helpers/binaries";

const lb: FirewallConfig = {
  hostName: "lb-1",
  dhcpClient: true,
  rules: [
    { protocol: "tcp", port: 80, sources: "any", comment: "clients to the HTTP listener" },
    { protocol: "tcp", port: 443, sources: "any", comment: "clients to the HTTPS listener" },
    { protocol: "vrrp", sources: ["10.0.1.12"], comment: "VRRP adverts from the other load balancer" },
  ],
};
const db: FirewallConfig = {
  hostName: "db-primary",
  rules: [{ protocol: "tcp", port: 3306, sources: ["10.0.2.0/24", "10.0.3.0/24"], comment: "app servers and replicas to MySQL" }],
};

describe("renderFirewallRuleset", () => {
  const text = renderFirewallRuleset(lb);

  test("drops every input but loopback, replies and the declared flows", () => {
    expect(text).toContain("type filter hook input priority filter; policy drop;");
    expect(text).toContain('iif "lo" accept');
    expect(text).toContain("ct state established,related accept");
    expect(text).toContain('tcp dport 80 accept comment "clients to the HTTP listener"');
    expect(text).toContain("ip saddr { 10.0.1.12 } ip protocol 112 accept");
    expect(renderFirewallRuleset(db)).toContain("ip saddr { 10.0.2.0/24, 10.0.3.0/24 } tcp dport 3306 accept");
    expect(renderFirewallRuleset(db)).not.toContain("dport 80");
  });

  test("replaces its own table in one transaction and never routes", () => {
    expect(text).toMatch(/^table inet ha_web\ndelete table inet ha_web\ntable inet ha_web \{$/m);
    expect(text).toContain("type filter hook forward priority filter; policy drop;");
  });

  test("DHCP offers only where the host asks for them", () => {
    expect(text).toContain("udp sport 67 udp dport 68 accept");
    expect(renderFirewallRuleset(db)).not.toContain("dport 68");
  });

  test.each([
    [{ rules: [{ protocol: "tcp", port: 0, sources: "any", comment: "x" }] }, "rules[0].port", /outside 1-65535/],
    [{ rules: [{ protocol: "vrrp", port: 112, sources: "any", comment: "x" }] }, "rules[0].port", /no port/],
    [{ rules: [{ protocol: "tcp", port: 80, sources: [], comment: "x" }] }, "rules[0].sources", /allows no source/],
    [{ rules: [{ protocol: "tcp", port: 80, sources: ["web-1"], comment: "x" }] }, "rules[0].sources", /not an IPv4/],
    [{ rules: [{ protocol: "tcp", port: 80, sources: "any", comment: 'say "hi"' }] }, "rules[0].comment", /double quotes/],
    [{ hostName: "LB_1" }, "hostName", /DNS label/],
  ])("rejects bad input %#", (override, field, message) => {
    const config = { ...lb, ...override } as FirewallConfig;
    const problems = validateFirewallConfig(config);
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.join("; ")).toMatch(message);
  });
});

const nft = hasBinary("nft") && isRoot() ? test : test.skip;
nft("nft -c accepts every rendered ruleset", () => {
  const dir = mkdtempSync(join(tmpdir(), "nft-test-"));
  try {
    for (const config of [lb, db, { hostName: "empty", rules: [] }]) {
      const file = join(dir, `${config.hostName}.nft`);
      writeFileSync(file, renderFirewallRuleset(config));
      // -c: parse and check against the kernel without committing anything.
      const result = spawnSync("nft", ["-c", "-f", file], { encoding: "utf8" });
      expect({ host: config.hostName, status: result.status, stderr: result.stderr }).toEqual({ host: config.hostName, status: 0, stderr: "" });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
