/**
 * The stats page's login, on the real HAProxy run by the load balancer's start
 * script in a NamespaceSandbox (its own network namespace: requests go to its
 * loopback from inside). The password reaches HAProxy as the targets deliver
 * secrets (`$NAME_FILE`), and is never in the rendered config.
 */
import { renderHaproxyConfig } from "../../templates/haproxy";
import { PATHS } from "../../templates/paths";
import { renderLoadBalancerStartScript } from "../../templates/scripts/load-balancer";
import { SECRET_ENV } from "../../templates/scripts/shell";
import { hasBinary, isRoot } from "../helpers/binaries";
import { NamespaceSandbox, waitFor } from "../helpers/namespace-sandbox";

const real = hasBinary("haproxy") && hasBinary("curl") && hasBinary("unshare") && isRoot() ? describe : describe.skip;

const PASSWORD = "s3cretStatsPassw0rd";
const SECRET_FILE = `${PATHS.secretsDir}/${SECRET_ENV.statsPassword}`;

real("HAProxy's stats page behind a login (the start script and the real HAProxy)", () => {
  let sandbox: NamespaceSandbox;
  const config = renderHaproxyConfig({
    nodeName: "lb-1",
    httpPort: 8080,
    servers: [{ name: "web-1", host: "192.0.2.50", port: 80 }],
    statsAuth: { user: "admin", passwordEnv: SECRET_ENV.statsPassword },
  });
  const script = `${PATHS.binDir}/start-lb.sh`;
  const start = (env: Record<string, string>, secretFile: boolean) =>
    sandbox.start(`lb-${Object.keys(env).length}-${secretFile}`, {
      files: {
        [PATHS.haproxyConfig]: { content: config },
        [script]: { content: renderLoadBalancerStartScript({ secretEnvironment: [SECRET_ENV.statsPassword] }), executable: true },
        ...(secretFile ? { [SECRET_FILE]: { content: PASSWORD } } : {}),
      },
      mounts: {},
      command: ["/bin/sh", script],
      env,
    });
  const status = (path: string, user?: string) => {
    const r = sandbox.exec([
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--max-time",
      "3",
      ...(user ? ["-u", user] : []),
      `http://127.0.0.1:8404${path}`,
    ]);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    sandbox = new NamespaceSandbox("lbstats");
    const lb = start({ [`${SECRET_ENV.statsPassword}_FILE`]: SECRET_FILE }, true);
    await waitFor(
      "HAProxy's stats listener",
      () => {
        if (lb.exitCode !== null) throw new Error(`the start script exited: ${(lb as unknown as { output: () => string }).output()}`);
        return status("/healthz") === "200";
      },
      60,
      250,
    );
  }, 30000);

  afterAll(async () => {
    await sandbox?.cleanup();
  }, 30000);

  test("the rendered config names the variable, never the password", () => {
    expect(config).toContain(`stats auth "admin:\${${SECRET_ENV.statsPassword}}"`);
    expect(config).not.toContain(PASSWORD);
  });

  test("/stats asks for the login and refuses a wrong password; the right one opens it", () => {
    expect({ none: status("/stats"), wrong: status("/stats", "admin:wrong"), right: status("/stats", `admin:${PASSWORD}`) }).toEqual({
      none: "401",
      wrong: "401",
      right: "200",
    });
  });

  test("the node's own checks and the metrics stay open on loopback", () => {
    expect({ healthz: status("/healthz"), metrics: status("/metrics") }).toEqual({ healthz: "200", metrics: "200" });
  });

  test("a start without the password fails loudly instead of serving an open page", async () => {
    const lb = start({}, false);
    await waitFor("the start script to exit", () => lb.exitCode !== null, 40, 250);
    expect(lb.exitCode).toBe(64);
    expect((lb as unknown as { output: () => string }).output()).toContain(`secret ${SECRET_ENV.statsPassword} is not set`);
  });
});
