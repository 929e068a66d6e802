import "cdktf/lib/testing/adapters/jest";
import { Testing, TerraformStack } from "cdktf";
import { AppArtifact, DockerTarget, MysqlCluster, WebAppTier, WebAppTierProps } from "../../../lib";
import { PATHS } from "../../../templates/paths";
import { annotations, containers, secretFileOf, synthDocker, uploaded } from "../../helpers/synth";

describe("WebAppTier on Docker", () => {
  let web!: WebAppTier;
  const { parsed } = synthDocker((stack, target) => {
    const database = new MysqlCluster(stack, "db", { target, replicas: 2 });
    web = new WebAppTier(stack, "web", { target, database });
  });
  const byName = containers(parsed);

  test("two web nodes by default, each Nginx in front of its own app server", () => {
    expect(web.backends).toEqual([
      { name: "web-1", host: "web-1", port: 80 },
      { name: "web-2", host: "web-2", port: 80 },
    ]);
    for (const n of [1, 2]) {
      const nginx = uploaded(byName[`haweb-web-${n}`], PATHS.nginxConfig);
      expect(nginx).toMatch(new RegExp(`server web-${n}-app:3000 max_fails=0;\\n\\s+keepalive 16;`));
      expect(byName[`haweb-web-${n}-app`].depends_on).toEqual([expect.stringContaining("db-primary")]);
      expect(byName[`haweb-web-${n}`].depends_on).toEqual([expect.stringContaining(`web-${n}-app`)]);
    }
  });

  test("proxyTimeouts reach every Nginx; a bad one is refused naming the prop", () => {
    const { parsed: p2 } = synthDocker((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target });
      new WebAppTier(stack, "web", { target, database, proxyTimeouts: { appReadMs: 8000, healthMs: 600 } });
    });
    const nginx = uploaded(containers(p2)["haweb-web-1"], PATHS.nginxConfig);
    expect(nginx).toContain("proxy_read_timeout 8000ms;");
    expect(nginx).toContain("proxy_read_timeout 600ms;");
    expect(nginx).toContain("proxy_connect_timeout 2000ms;");
    expect(() =>
      synthDocker((stack, target) => {
        const database = new MysqlCluster(stack, "db", { target });
        new WebAppTier(stack, "web", { target, database, proxyTimeouts: { healthMs: 0 } });
      }),
    ).toThrow(/proxyTimeouts/);
  });

  test("accessLogBufferKb reaches every Nginx (unbuffered by default); a bad one is refused naming the prop", () => {
    expect(uploaded(byName["haweb-web-1"], PATHS.nginxConfig)).toContain("    access_log /dev/stdout;");
    const { parsed: p2 } = synthDocker((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target });
      new WebAppTier(stack, "web", { target, database, accessLogBufferKb: 4 });
    });
    for (const n of [1, 2])
      expect(uploaded(containers(p2)[`haweb-web-${n}`], PATHS.nginxConfig)).toContain("access_log /dev/stdout combined buffer=4k flush=1s;");
    expect(() =>
      synthDocker((stack, target) => {
        const database = new MysqlCluster(stack, "db", { target });
        new WebAppTier(stack, "web", { target, database, accessLogBufferKb: 64 });
      }),
    ).toThrow(/accessLogBufferKb.*64.*use 0 \(every line at once\) or up to 4 \(KiB\)/s);
  });

  test("hands the app the writer, the readers and the password by reference", () => {
    const env = byName["haweb-web-1-app"].env;
    expect(env).toEqual(
      expect.arrayContaining([
        "NODE_NAME=web-1",
        "DB_WRITER_HOST=db-writer",
        "DB_WRITER_PORT=3306",
        "DB_READER_HOSTS=db-replica-1:3306,db-replica-2:3306",
        "DB_NAME=appdb",
        "DB_USER=app",
        "DB_PASSWORD_FILE=/etc/ha-web/secrets/DB_PASSWORD",
      ]),
    );
    // The password is a file the app reads (docker inspect shows its path), whose content Terraform fills in.
    expect(secretFileOf(byName["haweb-web-1-app"], "DB_PASSWORD")).toMatch(/^\$\{random_password\.[^}]+\.result\}$/);
  });

  test("ships the demo app bundle as an asset, runs it as the node user", () => {
    const app = byName["haweb-web-1-app"];
    expect(app.upload).toContainEqual(expect.objectContaining({ file: PATHS.appEntry, source: expect.stringMatching(/^assets\/.+\/server\.js$/) }));
    expect(app.user).toBe("node");
    expect(app.command).toEqual([`${PATHS.binDir}/start-app.sh`]);
  });

  test("Nginx is replaced when its app is (it caches the app's address)", () => {
    expect(byName["haweb-web-1"].labels).toContainEqual({ label: "ha-web.restart-with.web-1-app", value: expect.stringContaining("docker_container.") });
  });

  test("web and app sit on their own internal networks; the monitoring networks reach only their metrics ports", () => {
    const aliases = (name: string) => byName[name].networks_advanced.map((n) => n.name);
    // mon-web: Prometheus to the Nginx exporter beside Nginx; mon-app: to the app's metrics listener.
    expect(aliases("haweb-web-1")).toEqual([
      expect.stringContaining("network-lb-web"),
      expect.stringContaining("network-mon-web"),
      expect.stringContaining("network-web-app"),
    ]);
    expect(aliases("haweb-web-1-app")).toEqual([
      expect.stringContaining("network-web-app"),
      expect.stringContaining("network-mon-app"),
      expect.stringContaining("network-app-db"),
    ]);
  });

  test("an Nginx exporter beside every Nginx, in its network namespace, reading stub_status on loopback", () => {
    const exporter = byName["haweb-web-1-nginx-exporter"];
    expect(exporter.network_mode).toBe("container:${docker_container.web_web-1-container_319E331E.name}");
    expect(exporter.networks_advanced).toBeUndefined();
    expect(exporter.command).toEqual([`${PATHS.binDir}/start-nginx-exporter.sh`]);
    const script = uploaded(exporter, `${PATHS.binDir}/start-nginx-exporter.sh`);
    expect(script).toContain("--nginx.scrape-uri='http://127.0.0.1:8081/stub_status'");
    expect(script).toContain("--web.listen-address=':9113'");
    // A new Nginx container is a new network namespace: the exporter follows it.
    expect(exporter.labels).toContainEqual({ label: "ha-web.restart-with.web-1", value: expect.stringContaining("docker_container.") });
    expect(exporter.labels).toContainEqual({ label: "ha-web.ingress", value: "9113/tcp:monitoring" });
  });

  test("the app serves its metrics on their own port, on every address, for Prometheus only", () => {
    expect(byName["haweb-web-1-app"].env).toEqual(expect.arrayContaining(["METRICS_PORT=9464", "METRICS_BIND_ADDRESS=0.0.0.0"]));
    expect(byName["haweb-web-1-app"].labels).toContainEqual({ label: "ha-web.ingress", value: "3000/tcp:web 9464/tcp:monitoring" });
    expect(web.metricsEndpoints).toEqual([
      { job: "app", role: "app", group: undefined, port: 9464, path: undefined, address: "web-1-app:9464", node: "web-1" },
      { job: "nginx", role: "web", group: undefined, port: 9113, path: undefined, address: "web-1:9113", node: "web-1" },
      { job: "app", role: "app", group: undefined, port: 9464, path: undefined, address: "web-2-app:9464", node: "web-2" },
      { job: "nginx", role: "web", group: undefined, port: 9113, path: undefined, address: "web-2:9113", node: "web-2" },
    ]);
  });

  test("exporterPort: null and app.metricsPort: null turn the web tier's metrics off", () => {
    const quiet = synthDocker((stack, target) => {
      const database = new MysqlCluster(stack, "db", { target, replicas: 0, exporter: false, backup: false });
      const w = new WebAppTier(stack, "web", { target, database, nodes: 1, exporterPort: null, app: { metricsPort: null } });
      expect(w.metricsEndpoints).toEqual([]);
    });
    const names = Object.keys(containers(quiet.parsed));
    expect(names.filter((n) => /exporter/.test(n))).toEqual([]);
    expect(containers(quiet.parsed)["haweb-web-1-app"].env.filter((e) => e.startsWith("METRICS_"))).toEqual([]);
    expect(Object.values(quiet.parsed.resource.docker_network).map((n) => n.name)).not.toContain("haweb-mon-web");
  });

  test("a custom app image replaces the demo app", () => {
    const custom = containers(
      synthDocker((stack, target) => {
        const database = new MysqlCluster(stack, "db", { target });
        new WebAppTier(stack, "web", {
          target,
          database,
          app: { artifact: AppArtifact.fromImage("ghcr.io/acme/shop:1.2"), port: 8000, environment: { FEATURE: "on" } },
        });
      }).parsed,
    );
    const app = custom["haweb-web-1-app"];
    expect(app.entrypoint).toBeUndefined();
    expect(app.upload.map((u) => u.file)).toEqual([`${PATHS.binDir}/healthcheck-http.sh`, `${PATHS.secretsDir}/DB_PASSWORD`]);
    expect(app.healthcheck.test).toEqual(["CMD", "/bin/sh", `${PATHS.binDir}/healthcheck-http.sh`, "8000", "/health"]);
    expect(app.env).toEqual(expect.arrayContaining(["PORT=8000", "FEATURE=on"]));
    expect(uploaded(custom["haweb-web-1"], PATHS.nginxConfig)).toContain("server web-1-app:8000");
  });
});

describe("WebAppTier input checks", () => {
  const declare = (props: Partial<WebAppTierProps>) => {
    const stack = new TerraformStack(Testing.app(), "bad");
    const target = new DockerTarget(stack, "docker");
    const database = new MysqlCluster(stack, "db", { target });
    return new WebAppTier(stack, "web", { target, database, ...props });
  };

  test("one node synthesizes, with a single-point-of-failure warning", () => {
    const web = declare({ nodes: 1 });
    expect(annotations(web, "warn")).toEqual([
      expect.stringMatching(/^WebAppTier .bad\/web.: prop `nodes` is 1: the single web node is a single point of failure\. Fix: use nodes: 2 or more\.$/),
    ]);
  });

  test.each([
    [{ nodes: 0 }, /WebAppTier 'bad\/web'[\s\S]*prop `nodes` is 0; a web tier needs a whole number of at least 1 node/],
    [{ nodes: 2.5 }, /prop `nodes` is 2\.5/],
    [{ port: 70000 }, /prop `port` is 70000; it must be a whole number in 1-65535/],
    [{ port: 3000 }, /two listeners on one port \(on a VM, Nginx, the app and the exporter share the host\)\. Fix: give each listener its own port/],
    [
      { exporterPort: 8081 },
      /prop `port` , app\.port, statusPort, exporterPort and app\.metricsPort \(80, 3000, 8081, 8081, 9464\) put two listeners on one port/,
    ],
    [{ app: { metricsPort: 70000 } }, /prop `app\.metricsPort` is 70000; it must be a whole number in 1-65535, or null for no app metrics\. Fix: use 9464/],
    [
      { statusPort: null, exporterPort: 9113 },
      /prop `exporterPort` is set but statusPort is null: the Nginx exporter reads stub_status\. Fix: leave statusPort on, or set exporterPort to null/,
    ],
    [{ app: { port: 0 } }, /prop `app\.port` is 0/],
    [{ namePrefix: "Web Nodes" }, /prop `namePrefix` "Web Nodes" does not make valid DNS labels/],
    [
      { appPathPrefix: "api", app: { artifact: AppArtifact.fromImage("acme/shop:1") } },
      /prop `appPathPrefix`: appPathPrefix "api" must be a path below \/ that starts and ends with \/.*Fix: use a path such as "\/api\/"/,
    ],
    [{ appPathPrefix: "/v1/" }, /prop `appPathPrefix` is "\/v1\/", but the demo app serves \/api\/items\/.*Fix: keep "\/api\/", or run your own app/],
    [{ healthPath: "/healthz" }, /prop `healthPath` is "\/healthz", but the demo app answers only GET \/health/],
    [
      { healthPath: "/nginx-health", app: { artifact: AppArtifact.fromImage("acme/shop:1") } },
      /prop `healthPath`: healthPath "\/nginx-health" is Nginx's own liveness path/,
    ],
    [
      { app: { artifact: AppArtifact.fromBundle(__filename) } },
      /prop `app\.artifact` is the bundle ".*web-app-tier\.test\.ts", which is not a \.js or \.cjs file \(it runs as CommonJS/,
    ],
    [
      { app: { artifact: AppArtifact.fromBundle("/nonexistent/server.js") } },
      /prop `app\.artifact` is the bundle "\/nonexistent\/server\.js", which is not a file on this machine/,
    ],
    [{ app: { artifact: AppArtifact.fromImage("Not An Image") } }, /prop `app\.artifact` is the image "Not An Image", which is not an image reference/],
    [{ app: { environment: { PORT: "9999" } } }, /prop `app\.environment` sets "PORT", which the tier sets itself.*Fix: remove it: set app\.port for PORT/],
    [{ app: { environment: { DB_WRITER_HOST: "elsewhere" } } }, /sets "DB_WRITER_HOST", which the tier sets itself/],
    [{ app: { environment: { DB_PASSWORD: "hunter2" } } }, /sets "DB_PASSWORD", which the tier sets itself/],
    [{ app: { environment: { STRIPE_API_KEY: "sk_live_123" } } }, /sets STRIPE_API_KEY to a literal value: a secret would be written in plain text/],
    [{ app: { environment: { "BAD-NAME": "x" } } }, /has "BAD-NAME", which is not an environment variable name/],
    [{ app: { environment: { MOTD: "two\nlines" } } }, /value of MOTD is not a single-line string/],
    [{ app: { user: "Root User" } }, /prop `app\.user` "Root User" is not a user name or uid/],
    [{ app: { command: [] } }, /prop `app\.command` \[\] is empty/],
    [{ statusPort: 0 }, /prop `statusPort` is 0; it must be a whole number in 1-65535, or null/],
  ])("rejects %j", (props, message) => {
    expect(() => declare(props)).toThrow(message);
  });
});
