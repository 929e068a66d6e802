import "cdktf/lib/testing/adapters/jest";
import { createHash } from "crypto";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Testing, TerraformStack } from "cdktf";
import { DockerTarget, LoadBalancerTier, LoadBalancerTierProps, MysqlCluster, TlsCertificate, WebAppTier } from "../../../lib";
import { PATHS } from "../../../templates/paths";
import { annotations, containers, synthDocker, uploaded } from "../../helpers/synth";

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
    expect(cfg).toContain("check inter 1000ms fastinter 250ms fall 3 rise 2");
  });

  test("strips the debugging headers by default; its facts state the detection bound", () => {
    expect(cfg).toContain("http-response del-header X-Db-Node");
    expect(cfg).not.toContain("set-header X-Lb-Node");
    expect(byName["haweb-lb-1"].labels?.find((l: { label: string }) => l.label === "ha-web.health-check")?.value).toBe(
      "inter=1000 fastinter=250 fall=3 rise=2 timeout=500 bound=3000 path=/health",
    );
  });

  test("a log line per request by default; requestLog: false reaches every node's HAProxy", () => {
    expect(cfg).toContain("    option httplog");
    const { parsed: p2 } = synthDocker((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target });
      const webTier = new WebAppTier(stack, "web", { target, database });
      new LoadBalancerTier(stack, "lb", { target, webTier, requestLog: false });
    });
    for (const n of [1, 2]) {
      const c = uploaded(containers(p2)[`haweb-lb-${n}`], PATHS.haproxyConfig);
      expect(c).toContain("    no log");
      expect(c).not.toContain("option httplog");
    }
  });

  test("threads: HAProxy's one per CPU by default (no nbthread); a number reaches every node's HAProxy", () => {
    expect(cfg).not.toContain("nbthread");
    const { parsed: p2 } = synthDocker((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target });
      const webTier = new WebAppTier(stack, "web", { target, database });
      new LoadBalancerTier(stack, "lb", { target, webTier, threads: 1 });
    });
    for (const n of [1, 2]) expect(uploaded(containers(p2)[`haweb-lb-${n}`], PATHS.haproxyConfig)).toMatch(/^ {4}nbthread 1$/m);
  });

  test("debugHeaders passes them on", () => {
    const { parsed: p2 } = synthDocker((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target });
      const webTier = new WebAppTier(stack, "web", { target, database });
      new LoadBalancerTier(stack, "lb", { target, webTier, debugHeaders: true, nodes: 1 });
    });
    const c = uploaded(containers(p2)["haweb-lb-1"], PATHS.haproxyConfig);
    expect(c).toContain("http-response set-header X-Lb-Node lb-1");
    expect(c).not.toContain("del-header");
  });

  test("only the load balancers publish ports, on 127.0.0.1 by default: HTTP and HTTPS, each node its own", () => {
    const publishing = Object.values(byName).filter((c) => c.ports?.length);
    expect(publishing.map((c) => c.name)).toEqual(["haweb-lb-1", "haweb-lb-2"]);
    expect(byName["haweb-lb-1"].ports).toEqual([
      { internal: 80, external: 8080, ip: "127.0.0.1" },
      { internal: 443, external: 8081, ip: "127.0.0.1" },
    ]);
    expect(byName["haweb-lb-2"].ports).toEqual([
      { internal: 80, external: 8082, ip: "127.0.0.1" },
      { internal: 443, external: 8083, ip: "127.0.0.1" },
    ]);
    expect(lb.endpoints.map((e) => e.url)).toEqual(["https://127.0.0.1:8081", "https://127.0.0.1:8083"]);
  });

  test("a pair by default: keepalived moves a virtual address on the edge network, the endpoint", () => {
    expect(lb.endpoint).toEqual({ host: "10.213.0.10", port: 443, url: "https://10.213.0.10" });
    const k1 = uploaded(byName["haweb-lb-1"], PATHS.keepalivedConfig);
    const k2 = uploaded(byName["haweb-lb-2"], PATHS.keepalivedConfig);
    expect(k1).toContain("    priority 150");
    expect(k2).toContain("    priority 100");
    for (const k of [k1, k2]) {
      expect(k).toContain("    nopreempt");
      expect(k).toContain("        10.213.0.10/24");
      expect(k).toContain(`    script "/bin/sh ${PATHS.binDir}/healthcheck-http.sh 8404 /healthz"`);
    }
    expect(k1).toContain("    unicast_src_ip 10.213.0.11\n    unicast_peer {\n        10.213.0.12\n");
    expect(k2).toContain("    unicast_src_ip 10.213.0.12\n    unicast_peer {\n        10.213.0.11\n");
    const edge = (c: (typeof byName)[string]) => c.networks_advanced.find((n) => n.name.includes("network-edge")) as { ipv4_address?: string };
    expect(edge(byName["haweb-lb-1"]).ipv4_address).toBe("10.213.0.11");
    expect(edge(byName["haweb-lb-2"]).ipv4_address).toBe("10.213.0.12");
    // keepalived needs these two capabilities, nothing more; the image adds keepalived and ip to the official one.
    expect((byName["haweb-lb-1"] as unknown as { capabilities: unknown }).capabilities).toEqual({ add: ["NET_ADMIN", "NET_RAW"] });
    expect(byName["haweb-lb-1"].image).toMatch(/^\$\{docker_image\.docker_image-haproxy-with-iproute2-keepalived_/);
  });

  test("HTTPS with the default self-signed certificate: the key is a reference, never in the JSON", () => {
    expect(cfg).toContain(`bind 0.0.0.0:443 ssl crt ${PATHS.tlsCertificate} alpn h2,http/1.1`);
    expect(cfg).toContain("http-request redirect scheme https code 308 if !{ ssl_fc }");
    const uploads = byName["haweb-lb-1"].upload as { file: string; content?: string; permissions?: string }[];
    expect(uploads.find((u) => u.file === PATHS.tlsKey)).toEqual({
      file: PATHS.tlsKey,
      content: expect.stringMatching(/^\$\{tls_private_key\.[^}]+\.private_key_pem\}$/),
      permissions: "0400",
    });
    expect(uploads.find((u) => u.file === PATHS.tlsCertificate)?.content).toMatch(/^\$\{tls_self_signed_cert\.[^}]+\.cert_pem\}$/);
    // The load balancer's one key (the database cluster has its own two).
    const lbKeys = Object.entries(parsed.resource.tls_private_key as Record<string, unknown>).filter(
      ([key]) => !key.includes("_tls-server-key_") && !key.includes("_tls-replication-key_"),
    );
    expect(lbKeys.map(([, k]) => k)).toEqual([expect.objectContaining({ algorithm: "ECDSA", ecdsa_curve: "P256" })]);
    expect(JSON.stringify(parsed)).not.toMatch(/BEGIN (EC |)PRIVATE KEY/);
    expect(Object.keys((parsed as unknown as { provider: object }).provider)).toContain("tls");
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
        new LoadBalancerTier(stack, "lb", { target, backends: [{ name: "legacy-1", host: "legacy-1", port: 8000 }], nodes: 2, https: false });
      },
      { publishPort: 9000 },
    ).parsed;
    const lbs = containers(parsedBackends);
    expect(uploaded(lbs["haweb-lb-2"], PATHS.haproxyConfig)).toContain("server legacy-1 legacy-1:8000");
    expect(lbs["haweb-lb-2"].ports).toEqual([{ internal: 80, external: 9001, ip: "127.0.0.1" }]);
    expect(parsedBackends.resource.tls_private_key).toBeUndefined();
  });

  test("a single node: no keepalived, the node is the endpoint, and a warning says it is a single point of failure", () => {
    let single!: LoadBalancerTier;
    const { parsed: p, stack } = synthDocker((stack, target) => {
      single = new LoadBalancerTier(stack, "lb", { target, backends: [{ name: "w", host: "w", port: 80 }], nodes: 1 });
    });
    const c = containers(p)["haweb-lb-1"];
    expect(c.upload.map((u) => u.file)).not.toContain(PATHS.keepalivedConfig);
    expect((c as unknown as { capabilities?: unknown }).capabilities).toBeUndefined();
    expect(single.endpoint.url).toBe("https://127.0.0.1:8081");
    expect(annotations(stack, "warn")).toEqual([
      expect.stringMatching(/LoadBalancerTier 'test\/lb': prop `nodes` is 1: the load balancer is a single point of failure/),
    ]);
  });

  test("failover settings: virtual router id, advert interval, which node starts as master", () => {
    const { parsed: p } = synthDocker((stack, target) => {
      new LoadBalancerTier(stack, "lb", {
        target,
        backends: [{ name: "w", host: "w", port: 80 }],
        failover: { virtualRouterId: 77, advertIntervalSeconds: 2, initialMaster: 2 },
      });
    });
    const k1 = uploaded(containers(p)["haweb-lb-1"], PATHS.keepalivedConfig);
    const k2 = uploaded(containers(p)["haweb-lb-2"], PATHS.keepalivedConfig);
    expect(k1).toContain("virtual_router_id 77");
    expect(k1).toContain("advert_int 2");
    expect(k1).toContain("priority 100");
    expect(k2).toContain("priority 150");
  });

  test("a certificate from files (copied by Terraform, replaced when they change), HSTS and redirect off", () => {
    const dir = mkdtempSync(join(tmpdir(), "lb-cert-"));
    let p!: ReturnType<typeof synthDocker>["parsed"];
    try {
      writeFileSync(join(dir, "site.crt"), "certificate");
      writeFileSync(join(dir, "site.key"), "key");
      p = synthDocker((stack, target) => {
        new LoadBalancerTier(stack, "lb", {
          target,
          backends: [{ name: "w", host: "w", port: 80 }],
          certificate: TlsCertificate.fromFiles(join(dir, "site.crt"), join(dir, "site.key")),
          redirectHttpToHttps: false,
          hsts: false,
        });
      }).parsed;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const c = containers(p)["haweb-lb-1"];
    const sha = (text: string) => createHash("sha256").update(text).digest("hex");
    expect(c.upload.filter((u) => u.file.startsWith("/etc/ha-web/tls/"))).toEqual([
      { file: PATHS.tlsCertificate, source: join(dir, "site.crt"), source_hash: sha("certificate"), permissions: "0400" },
      { file: PATHS.tlsKey, source: join(dir, "site.key"), source_hash: sha("key"), permissions: "0400" },
    ]);
    const haproxy = uploaded(c, PATHS.haproxyConfig);
    expect(haproxy).not.toContain("redirect scheme");
    expect(haproxy).not.toContain("Strict-Transport-Security");
    expect(p.resource.tls_private_key).toBeUndefined();
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
    [{ https: false, hsts: { maxAgeSeconds: 60 } }, /prop `hsts` is set while `https` is false/],
    [{ https: false, certificate: TlsCertificate.selfSigned() }, /prop `certificate` is set while `https` is false/],
    [{ certificate: TlsCertificate.fromFiles("/site.crt", "") }, /prop `certificate` is files without a private key\. Fix: pass both/],
    [{ certificate: TlsCertificate.fromValues("", "${var.key}") }, /prop `certificate` is values without a certificate/],
    [
      { certificate: TlsCertificate.fromValues("cert", "-----BEGIN PRIVATE KEY-----") },
      /prop `certificate` is values with a literal private key, which would be written into the synthesized JSON in plain text\. Fix: pass the key as a Terraform reference/,
    ],
    [
      { certificate: TlsCertificate.fromFiles("/nowhere/site.crt", "/nowhere/site.key") },
      /prop `certificate` reads tls-certificate from \/nowhere\/site\.crt, which does not exist/,
    ],
    [
      { certificate: TlsCertificate.fromSsmParameters("/c", "/k") },
      /prop `certificate` is read from an SSM SecureString parameter \(tls-certificate\), which DockerTarget cannot read/,
    ],
    [{ hsts: { maxAgeSeconds: 0 } }, /prop `hsts.maxAgeSeconds` is 0/],
    [{ httpsPort: 80 }, /prop `httpsPort`: tls.httpsPort and httpPort are both 80/],
    [{ failover: { advertIntervalSeconds: 0 } }, /prop `failover.advertIntervalSeconds` is 0; it must be a whole number of seconds from 1 to 255/],
    [{ failover: { advertIntervalSeconds: 256 } }, /prop `failover.advertIntervalSeconds` is 256/],
    [{ failover: { virtualRouterId: 0 } }, /prop `failover.virtualRouterId` is 0; VRRP ids are 1-255/],
    [{ failover: { virtualRouterId: 256 } }, /prop `failover.virtualRouterId` is 256/],
    [{ failover: { initialMaster: 3 } }, /prop `failover.initialMaster` is 3; it must name one of the 2 nodes/],
    [{ nodes: 1, failover: { virtualRouterId: 5 } }, /prop `failover` is set but nodes is 1/],
    [{ requestLog: "off" as unknown as boolean }, /requestLog.*must be true or false/],
    [{ threads: 0 }, /prop `threads`: threads is 0; it must be a whole number from 1 to 64, or unset for one per CPU.*Fix: use a whole number from 1 to 64/],
    [{ threads: 1.5 }, /prop `threads`: threads is 1.5/],
  ])("rejects %j", (props, message) => {
    expect(() => declare(props)).toThrow(message);
  });
});
