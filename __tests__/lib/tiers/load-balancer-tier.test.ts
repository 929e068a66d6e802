import "cdktf/lib/testing/adapters/jest";
import { Testing, TerraformStack } from "cdktf";
import { DockerTarget, LoadBalancerTier, LoadBalancerTierProps, MysqlCluster, WebAppTier } from "../../../lib";
import { PATHS } from "../../../templates/paths";
import { containers, synthDocker, uploaded } from "../../helpers/synth";

describe("LoadBalancerTier on Docker", () => {
  let lb!: LoadBalancerTier;
  const { parsed } = synthDocker((stack, target) => {
    const database = new MysqlCluster(stack, "db", { target });
    const webTier = new WebAppTier(stack, "web", { target, database, nodes: 3 });
    lb = new LoadBalancerTier(stack, "lb", { target, webTier, healthCheck: { intervalMs: 1000 } });
  });
  const byName = containers(parsed);
  const cfg = uploaded(byName["haweb-lb-1"], PATHS.haproxyConfig);

  test("balances round-robin over every web node of the tier", () => {
    expect(cfg).toContain("balance roundrobin");
    for (const n of [1, 2, 3]) expect(cfg).toContain(`server web-${n} web-${n}:80 `);
    expect(cfg).toContain("check inter 1000ms fall 3 rise 2");
  });

  test("is the only container publishing a port, on 127.0.0.1 by default", () => {
    const publishing = Object.values(byName).filter((c) => c.ports?.length);
    expect(publishing.map((c) => c.name)).toEqual(["haweb-lb-1"]);
    expect(byName["haweb-lb-1"].ports).toEqual([{ internal: 80, external: 8080, ip: "127.0.0.1" }]);
    expect(lb.endpoint).toEqual({ host: "127.0.0.1", port: 8080, url: "http://127.0.0.1:8080" });
  });

  test("starts after the web nodes; health-checked on its stats listener", () => {
    expect(byName["haweb-lb-1"].depends_on).toHaveLength(3);
    expect(byName["haweb-lb-1"].healthcheck.test).toEqual(["CMD", "/bin/sh", `${PATHS.binDir}/healthcheck-http.sh`, "8404", "/healthz"]);
  });

  test("a web tier plus explicit backends: waits for the tier only, allows every backend port", () => {
    let mixed!: LoadBalancerTier;
    const { parsed: parsedMixed } = synthDocker((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
      const webTier = new WebAppTier(stack, "web", { target, database });
      mixed = new LoadBalancerTier(stack, "lb", { target, webTier, backends: [{ name: "legacy-1", host: "legacy.example.internal", port: 8000 }] });
    });
    const lbContainer = containers(parsedMixed)["haweb-lb-1"];
    expect(lbContainer.depends_on).toHaveLength(2);
    expect(uploaded(lbContainer, PATHS.haproxyConfig)).toContain("server legacy-1 legacy.example.internal:8000");
    expect(mixed.backends.map((b) => b.port)).toEqual([80, 80, 8000]);
  });

  test("explicit backends work without a web tier", () => {
    const parsedBackends = synthDocker(
      (stack, target) => {
        new LoadBalancerTier(stack, "lb", { target, backends: [{ name: "legacy-1", host: "legacy-1", port: 8000 }], nodes: 2 });
      },
      { publishPort: 9000 },
    ).parsed;
    const lbs = containers(parsedBackends);
    expect(uploaded(lbs["haweb-lb-2"], PATHS.haproxyConfig)).toContain("server legacy-1 legacy-1:8000");
    expect(lbs["haweb-lb-2"].ports).toEqual([{ internal: 80, external: 9001, ip: "127.0.0.1" }]);
  });
});

describe("LoadBalancerTier input checks", () => {
  const declare = (props: Partial<LoadBalancerTierProps>, withWeb = true) => {
    const stack = new TerraformStack(Testing.app(), "bad");
    const target = new DockerTarget(stack, "docker");
    const webTier = withWeb ? new WebAppTier(stack, "web", { target, database: new MysqlCluster(stack, "db", { target }) }) : undefined;
    return new LoadBalancerTier(stack, "lb", { target, webTier, ...props });
  };

  test("an empty backend set", () => {
    expect(() => declare({}, false)).toThrow(
      /LoadBalancerTier 'bad\/lb'[\s\S]*prop `webTier` and `backends` give no web node to balance over \(an empty backend set\)\. Fix: pass a WebAppTier/,
    );
    expect(() => declare({ backends: [] }, false)).toThrow(/empty backend set/);
  });

  test.each([
    [{ port: 0 }, /prop `port` is 0; it must be a whole number in 1-65535/],
    [{ port: 65536 }, /prop `port` is 65536/],
    [{ statsPort: 80 }, /prop `statsPort` equals port \(80\): two listeners on one port/],
    [{ nodes: 0 }, /prop `nodes` is 0/],
    [{ namePrefix: "-lb" }, /prop `namePrefix` "-lb" does not make valid DNS labels/],
    [{ algorithm: "fastest" as never }, /algorithm "fastest" is not one of roundrobin/],
    [{ backends: [{ name: "web_9", host: "x", port: 80 }] }, /server name "web_9" is not a DNS label/],
  ])("rejects %j", (props, message) => {
    expect(() => declare(props)).toThrow(message);
  });
});
