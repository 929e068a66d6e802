/**
 * The web start script with real Nginx, as a container's PID 1 (./pid1.ts) in a
 * NamespaceSandbox: it waits, bounded, for the app's name to resolve instead of
 * failing (and crash-looping), starts Nginx once it does, gives up after the
 * bound with a clear line, and stops at once when stopped while waiting. The
 * name resolves through the sandbox's own /etc/hosts (a file of this test,
 * bind-mounted in the sandbox's private mount namespace, rewritten in place);
 * names it lacks go to DNS, which cannot leave the sandbox's network namespace.
 */
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { renderNginxConfig } from "../../templates/nginx";
import { PATHS } from "../../templates/paths";
import { renderHttpHealthcheckScript } from "../../templates/scripts/healthcheck";
import { renderWebStartScript } from "../../templates/scripts/web";
import { hasBinary, isRoot } from "../helpers/binaries";
import { NamespaceSandbox, waitFor } from "../helpers/namespace-sandbox";
import { Pid1Node, startAsPid1 } from "./pid1";

const real = hasBinary("nginx") && hasBinary("getent") && hasBinary("unshare") && isRoot() ? describe : describe.skip;

real("the web start script waits for the app's name (Nginx, as a container's PID 1)", () => {
  let sandbox: NamespaceSandbox;
  const nodes: Pid1Node[] = [];
  const appHost = "web-1-app";
  const conf = renderNginxConfig({ nodeName: "web-1", app: { host: appHost, port: 3000 }, listenPort: 8080 });
  const hostsOnly = "127.0.0.1 localhost\n";
  let count = 0;

  /** A start whose /etc/hosts is `hostsFile` (on the host, rewritten in place by the test). */
  const start = (waitSeconds: number) => {
    const name = `web-${++count}`;
    const hostsDir = join(sandbox.root, name, "hosts");
    mkdirSync(hostsDir, { recursive: true });
    const hostsFile = join(hostsDir, "hosts");
    writeFileSync(hostsFile, hostsOnly);
    const script = `${PATHS.binDir}/start-web.sh`;
    const node = startAsPid1(sandbox, name, {
      files: {
        [PATHS.nginxConfig]: { content: conf },
        [script]: { content: renderWebStartScript({ appHost, appHostWaitSeconds: waitSeconds }), executable: true },
      },
      mounts: { "/opt/hwt-hosts": hostsDir },
      prelude: "mount --bind /opt/hwt-hosts/hosts /etc/hosts",
      command: ["/bin/sh", script],
      env: {},
    });
    nodes.push(node);
    return { node, hostsFile };
  };
  const probe = (path: string) => sandbox.exec(["/bin/bash", join(sandbox.root, "probe.sh"), "8080", path]).status === 0;
  const waiting = (node: Pid1Node) =>
    waitFor(
      "the wait for the app's name",
      () => {
        if (!node.running()) throw new Error(`the start script exited: ${node.output()}`);
        return node.output().includes(`waiting up to`);
      },
      200,
      50,
    );

  beforeAll(() => {
    sandbox = new NamespaceSandbox("webstart");
    writeFileSync(join(sandbox.root, "probe.sh"), renderHttpHealthcheckScript());
  });

  afterAll(async () => {
    for (const node of nodes) await node.kill();
    await sandbox?.cleanup();
  }, 60000);

  test("starts Nginx once the app's name resolves, without exiting in between", async () => {
    const { node, hostsFile } = start(30);
    await waiting(node);
    expect(node.output()).toContain(`waiting up to 30 s for the app host ${appHost} to resolve`);
    await new Promise((r) => setTimeout(r, 2500)); // a few checks, all failing: still waiting, not crashed
    expect(node.running()).toBe(true);
    expect(node.output()).not.toMatch(/: starting nginx$/m);
    expect(probe("/nginx-health")).toBe(false);

    writeFileSync(hostsFile, `${hostsOnly}127.0.0.1 ${appHost}\n`); // in place: the bind mount sees it
    await waitFor(
      "Nginx to answer",
      () => {
        if (!node.running()) throw new Error(`the start script exited: ${node.output()}`);
        return probe("/nginx-health");
      },
      60,
      250,
    );
    expect(node.output()).toContain(`the app host ${appHost} resolves`);
    expect(node.output()).toMatch(/: starting nginx$/m);
    // Nginx is PID 1 now and handles the stop itself.
    const stop = await node.stop("SIGTERM", 15000);
    expect({ exitedInTime: stop.exitedInTime, code: stop.code }).toEqual({ exitedInTime: true, code: 0 });
  }, 60000);

  test("gives up after the bound with a line that names the host, and never starts Nginx", async () => {
    const { node } = start(2);
    await waitFor("the start script to give up", () => !node.running(), 100, 100); // 10 s for a 2 s bound
    expect(node.child.exitCode).toBe(1);
    expect(node.output()).toContain(`the app host ${appHost} did not resolve within 2 s: not starting nginx`);
    expect(node.output()).not.toMatch(/: starting nginx$/m);
  }, 30000);

  test.each([
    ["SIGTERM", 143, "TERM"],
    // The official nginx image's STOPSIGNAL, which a container with our entrypoint inherits.
    ["SIGQUIT", 131, "QUIT"],
  ] as const)(
    "a stop (%s) while waiting ends the script at once",
    async (signal, code, name) => {
      const { node } = start(30);
      await waiting(node);
      const stop = await node.stop(signal, 10000);
      expect({ exitedInTime: stop.exitedInTime, code: stop.code }).toEqual({ exitedInTime: true, code });
      expect(stop.elapsedMs).toBeLessThan(3000);
      expect(node.output()).toContain(`${name} received while starting: stopping`);
    },
    30000,
  );
});
