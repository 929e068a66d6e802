import "cdktf/lib/testing/adapters/jest";
import { Testing, TerraformStack } from "cdktf";
import { DEFAULT_DOCKER_IMAGES, DockerTarget, DockerTargetProps, LoadBalancerTier, MysqlCluster, WebAppTier } from "../../../../lib";
import { containers, synthDocker } from "../../../helpers/synth";

describe("DockerTarget", () => {
  test("creates the docker and random providers unless told not to", () => {
    const withProviders = synthDocker(() => undefined).parsed as { provider?: Record<string, unknown> };
    expect(Object.keys(withProviders.provider ?? {}).sort()).toEqual(["docker", "random"]);
    const stack = new TerraformStack(Testing.app(), "own-providers");
    new DockerTarget(stack, "docker", { createProviders: false });
    expect(stack.node.findAll().filter((c) => c.constructor.name.endsWith("Provider"))).toEqual([]);
  });

  test("images, name prefix and publish address are overridable", () => {
    const { parsed } = synthDocker(
      (stack, target) => {
        const database = new MysqlCluster(stack, "db", { target, replicas: 0 });
        const webTier = new WebAppTier(stack, "web", { target, database, nodes: 2 });
        new LoadBalancerTier(stack, "lb", { target, webTier });
      },
      { namePrefix: "shop", images: { haproxy: "registry.local/haproxy:2.6.12", mariadb: "mariadb:10.11.9" }, publishAddress: "0.0.0.0" },
    );
    const images = Object.values(parsed.resource.docker_image)
      .map((i) => i.name)
      .sort();
    expect(images).toEqual([
      DEFAULT_DOCKER_IMAGES["nginx-exporter"],
      "mariadb:10.11.9",
      DEFAULT_DOCKER_IMAGES.nginx,
      DEFAULT_DOCKER_IMAGES.node,
      "registry.local/haproxy:2.6.12",
      // The exporters: the Debian image plus their Debian package each.
      expect.stringMatching(/^shop-debian-prometheus-mysqld-exporter:[0-9a-f]{12}$/),
      expect.stringMatching(/^shop-debian-prometheus-nginx-exporter:[0-9a-f]{12}$/),
      // The node exporter beside the backup source, serving its backup metrics.
      expect.stringMatching(/^shop-debian-prometheus-node-exporter:[0-9a-f]{12}$/),
      expect.stringMatching(/^shop-haproxy-iproute2-keepalived:[0-9a-f]{12}$/),
    ]);
    type Built = { name: string; build: { build_args: Record<string, string>; context: string } };
    const builds = Object.values(parsed.resource.docker_image).filter((i) => (i as { build?: unknown }).build) as unknown as Built[];
    expect(builds.find((b) => b.name.startsWith("shop-debian-prometheus-nginx-exporter"))?.build.build_args).toEqual({
      BASE: DEFAULT_DOCKER_IMAGES["nginx-exporter"],
      PACKAGES: "prometheus-nginx-exporter",
    });
    // The load balancers' image is the overridden one plus Debian's keepalived and ip.
    const built = builds.find((b) => b.name.startsWith("shop-haproxy"))!;
    expect(built.build.build_args).toEqual({ BASE: "registry.local/haproxy:2.6.12", PACKAGES: "iproute2 keepalived" });
    expect(built.build.context).toMatch(/^assets\/docker_tools-image-context_/);
    const byName = containers(parsed);
    expect(Object.keys(byName).every((n) => n.startsWith("shop-"))).toBe(true);
    expect(byName["shop-lb-1"].ports?.[0].ip).toBe("0.0.0.0");
    expect(Object.values(parsed.resource.docker_network).map((n) => n.name)).toContain("shop-edge");
  });

  test("every container restarts unless stopped and has a health check", () => {
    const { parsed } = synthDocker((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target });
      new LoadBalancerTier(stack, "lb", { target, webTier: new WebAppTier(stack, "web", { target, database }) });
    });
    for (const c of Object.values(containers(parsed))) {
      expect(c.restart).toBe("unless-stopped");
      expect(c.healthcheck.test[0]).toBe("CMD");
    }
  });

  const attempt = (props: DockerTargetProps) => () => new DockerTarget(new TerraformStack(Testing.app(), "bad"), "docker", props);
  test.each([
    [{ namePrefix: "My Stack" }, /DockerTarget 'bad\/docker'[\s\S]*prop `namePrefix` "My Stack" is not a valid Docker name and DNS label/],
    [{ publishAddress: "localhost" }, /prop `publishAddress` "localhost" is not an IPv4 address/],
    [{ images: { nginx: "Nginx Latest" } }, /prop `images\.nginx` "Nginx Latest" is not an image reference/],
    [{ images: { nginx: "nginx::1" } }, /prop `images\.nginx` "nginx::1" is not an image reference/],
    [{ images: { redis: "redis:7" } as never }, /prop `images` has "redis", which is no software the library runs/],
    [{ publishAddress: "300.0.0.1" }, /prop `publishAddress` "300\.0\.0\.1" is not an IPv4 address/],
    [{ dockerHost: "localhost:2375" }, /prop `dockerHost` "localhost:2375" is not a Docker daemon address/],
    [{ dockerHost: "unix:///var/run/docker.sock", createProviders: false }, /prop `dockerHost` is set with createProviders: false/],
  ])("rejects %j", (props, message) => {
    expect(attempt(props)).toThrow(message);
  });

  test("each published listener takes the next host port from publishPort", () => {
    const { parsed } = synthDocker(
      (stack, target) => {
        const backends = [{ name: "web-1", host: "web-1", port: 80 }];
        new LoadBalancerTier(stack, "a", { target, backends, namePrefix: "a", nodes: 1, https: false });
        new LoadBalancerTier(stack, "b", { target, backends, namePrefix: "b", nodes: 2 });
      },
      { publishPort: 9000 },
    );
    const byName = containers(parsed);
    expect(["haweb-a-1", "haweb-b-1", "haweb-b-2"].map((n) => byName[n].ports?.map((p) => `${p.internal}:${p.external}`))).toEqual([
      ["80:9000"],
      ["80:9001", "443:9002"],
      ["80:9003", "443:9004"],
    ]);
  });

  test("the edge network has a fixed subnet: floating addresses in its lower half, Docker allocates from the upper", () => {
    let a!: LoadBalancerTier;
    let b!: LoadBalancerTier;
    const { parsed } = synthDocker(
      (stack, target) => {
        const backends = [{ name: "web-1", host: "web-1", port: 80 }];
        a = new LoadBalancerTier(stack, "a", { target, backends, namePrefix: "a" });
        b = new LoadBalancerTier(stack, "b", { target, backends, namePrefix: "b", failover: { virtualRouterId: 52 } });
      },
      { edgeSubnet: "192.168.77.0/24" },
    );
    const edge = Object.values(parsed.resource.docker_network).find((n) => (n as { name: string }).name === "haweb-edge");
    expect(edge).toMatchObject({ ipam_config: [{ subnet: "192.168.77.0/24", ip_range: "192.168.77.128/25" }] });
    expect([a.endpoint.host, b.endpoint.host]).toEqual(["192.168.77.10", "192.168.77.20"]);
    expect(b.floatingAddress?.members["b-2"]).toEqual({ address: "192.168.77.22", peerAddresses: ["192.168.77.21"] });
    // VRRP rides on the edge network: no network of its own.
    expect(Object.values(parsed.resource.docker_network).map((n) => (n as { name: string }).name)).not.toContain("haweb-lb-lb");
  });

  test.each([
    [{ edgeSubnet: "10.213.0.0/27" }, /prop `edgeSubnet` "10\.213\.0\.0\/27" is not a network address of a \/26 or larger subnet/],
    [{ edgeSubnet: "10.213.0.5/24" }, /prop `edgeSubnet` "10\.213\.0\.5\/24"/],
    [{ edgeSubnet: "edge" }, /prop `edgeSubnet` "edge"/],
  ])("rejects %j", (props, message) => {
    expect(attempt(props)).toThrow(message);
  });

  test("rejects a publishPort outside 1-65535", () => {
    expect(attempt({ publishPort: 70000 })).toThrow(/prop `publishPort` is 70000; it must be a whole number in 1-65535/);
  });

  test("two stacks of one app on one engine cannot share a namePrefix or a published port", () => {
    const app = Testing.app();
    new DockerTarget(new TerraformStack(app, "blue"), "docker");
    expect(() => new DockerTarget(new TerraformStack(app, "green"), "docker")).toThrow(
      /DockerTarget 'green\/docker' has invalid props:\n- prop `namePrefix` "haweb" is already used by the DockerTarget 'blue\/docker' of this app on the same Docker engine.*Fix: give every stack's DockerTarget its own namePrefix/,
    );
    const backends = [{ name: "web-1", host: "web-1", port: 80 }];
    const blue = new TerraformStack(app, "blue2");
    new LoadBalancerTier(blue, "lb", { target: new DockerTarget(blue, "docker", { namePrefix: "blue" }), backends });
    const green = new TerraformStack(app, "green2");
    expect(() => new LoadBalancerTier(green, "lb", { target: new DockerTarget(green, "docker", { namePrefix: "green" }), backends })).toThrow(
      /prop `publishPort` 8080 \(for lb-1\) is already published by the DockerTarget 'blue2\/docker' of another stack in this app on the same Docker engine/,
    );
  });
});
