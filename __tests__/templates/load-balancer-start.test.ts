/**
 * The load balancer's start script on a node of a pair, with the real HAProxy
 * and keepalived, as a container's PID 1 (./pid1.ts) in a NamespaceSandbox of
 * its own. The sandbox's only link is a veth pair with both ends inside, on a
 * documentation subnet: the peer never answers, so keepalived becomes master on its own and
 * adds the virtual address, and nothing leaves the namespace.
 */
import { PATHS } from "../../templates/paths";
import { renderHaproxyConfig } from "../../templates/haproxy";
import { renderKeepalivedConfig } from "../../templates/keepalived";
import { renderHttpHealthcheckScript } from "../../templates/scripts/healthcheck";
import { renderLoadBalancerStartScript } from "../../templates/scripts/load-balancer";
import { hasBinary, isRoot } from "../helpers/binaries";
import { NamespaceSandbox, waitFor } from "../helpers/namespace-sandbox";
import { Pid1Node, startAsPid1 } from "./pid1";

const real = hasBinary("haproxy") && hasBinary("keepalived") && hasBinary("ip") && hasBinary("unshare") && isRoot() ? describe : describe.skip;

const VIP = "192.0.2.10";

real("the load balancer's start script on a node of a pair (HAProxy + keepalived as PID 1)", () => {
  let sandbox: NamespaceSandbox;
  const nodes: Pid1Node[] = [];
  let count = 0;

  const start = () => {
    const script = `${PATHS.binDir}/start-lb.sh`;
    const node = startAsPid1(sandbox, `lb-${++count}`, {
      files: {
        [PATHS.haproxyConfig]: {
          content: renderHaproxyConfig({ nodeName: "lb-1", httpPort: 8080, servers: [{ name: "web-1", host: "192.0.2.50", port: 80 }] }),
        },
        [PATHS.keepalivedConfig]: {
          content: renderKeepalivedConfig({
            nodeName: "lb-1",
            priority: 150,
            sourceAddress: "192.0.2.11",
            peerAddresses: ["192.0.2.12"],
            virtualAddresses: [`${VIP}/24`],
            checkCommand: `/bin/sh ${PATHS.binDir}/healthcheck-http.sh 8404 /healthz`,
          }),
        },
        [script]: { content: renderLoadBalancerStartScript(), executable: true },
        [`${PATHS.binDir}/healthcheck-http.sh`]: { content: renderHttpHealthcheckScript(), executable: true },
      },
      mounts: {},
      command: ["/bin/sh", script],
      env: {},
    });
    nodes.push(node);
    return node;
  };
  const holdsVip = () => sandbox.exec(["ip", "-4", "-o", "addr", "show"]).stdout.includes(` ${VIP}/24 `);
  const becomesMaster = (node: Pid1Node) =>
    waitFor(
      "keepalived to take the virtual address",
      () => {
        if (!node.running()) throw new Error(`the start script exited: ${node.output()}`);
        return holdsVip();
      },
      60,
      250,
    );

  beforeAll(() => {
    sandbox = new NamespaceSandbox("lbpair");
    for (const args of [
      // Both ends inside the sandbox: a link that goes nowhere (this kernel may lack the dummy driver).
      ["link", "add", "eth9", "type", "veth", "peer", "name", "eth9p"],
      ["addr", "add", "192.0.2.11/24", "dev", "eth9"],
      ["link", "set", "eth9", "up"],
      ["link", "set", "eth9p", "up"],
    ]) {
      const r = sandbox.exec(["ip", ...args]);
      if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
    }
  });

  // Each test starts on a clean link: its node stopped, the address gone even if keepalived could not remove it.
  afterEach(async () => {
    for (const node of nodes) await node.kill();
    if (holdsVip()) sandbox.exec(["ip", "addr", "del", `${VIP}/24`, "dev", "eth9"]);
  }, 30000);

  afterAll(async () => {
    for (const node of nodes) await node.kill();
    await sandbox?.cleanup();
  }, 60000);

  test("finds the interface that reaches the peer, starts keepalived beside HAProxy, and takes the address", async () => {
    const node = start();
    await becomesMaster(node);
    expect(node.output()).toContain("starting keepalived (VRRP on eth9, peer 192.0.2.12) and haproxy");
    // keepalived's log reaches the pipe a little after the address is added (a loaded machine showed the
    // address with the line still missing): wait for the line, bounded.
    await waitFor("keepalived to log its MASTER state", () => /Entering MASTER STATE/.test(node.output()), 40, 250);
    // docker stop: SIGUSR1 (the official image's STOPSIGNAL). keepalived hands the address over first.
    const stopped = await node.stop("SIGUSR1", 35000);
    expect(stopped).toMatchObject({ exitedInTime: true, code: 0 });
    expect(node.output()).toContain("USR1 received: handing the address over, then stopping haproxy");
    expect(holdsVip()).toBe(false);
    // The order: keepalived is gone (it logged its stop) before HAProxy's master is told to stop.
    const out = node.output();
    const keepalivedStopped = out.search(/Stopped Keepalived|Stopping/);
    const haproxyStopping = out.search(/Exiting Master process|Proxy http stopped|soft-stop/i);
    expect(keepalivedStopped).toBeGreaterThan(-1);
    expect(haproxyStopping).toBeGreaterThan(keepalivedStopped);
  }, 60000);

  /** Host PIDs of HAProxy's master (PID 1's haproxy child) and its workers. */
  const haproxyPids = async (node: Pid1Node) => {
    const pid1 = await node.pid1();
    const childrenOf = (pid: string | number) =>
      sandbox
        .exec(["cat", `/proc/${pid}/task/${pid}/children`])
        .stdout.trim()
        .split(/\s+/)
        .filter(Boolean);
    const master = childrenOf(pid1).find((pid) => sandbox.exec(["cat", `/proc/${pid}/comm`]).stdout.trim() === "haproxy");
    if (!master) throw new Error(`no haproxy under PID 1: ${node.output()}`);
    return [master, ...childrenOf(master)].map(Number);
  };

  test("a frozen HAProxy fails keepalived's check: the address is given up, and taken again once it answers", async () => {
    const node = start();
    await becomesMaster(node);
    const pids = await haproxyPids(node);
    for (const pid of pids) process.kill(pid, "SIGSTOP");
    try {
      const frozenAt = Date.now();
      await waitFor("keepalived to give the address up", () => !holdsVip(), 40, 250);
      // Two failed checks, 1 s apart, each cut at its 1 s timeout.
      expect(Date.now() - frozenAt).toBeLessThan(6000);
      // keepalived's log reaches the pipe a little after the address goes: wait for the line.
      await waitFor("keepalived to log its FAULT state", () => /Entering FAULT STATE/.test(node.output()), 40, 250);
    } finally {
      for (const pid of pids) process.kill(pid, "SIGCONT");
    }
    await becomesMaster(node);
    expect((await node.stop("SIGUSR1", 35000)).exitedInTime).toBe(true);
  }, 60000);

  test("when keepalived dies, HAProxy is soft-stopped and the script exits 1 (its supervisor restarts the node, both)", async () => {
    const node = start();
    await becomesMaster(node);
    const pid1 = await node.pid1();
    const descendants = (pid: number): number[] => {
      const kids = sandbox
        .exec(["cat", `/proc/${pid}/task/${pid}/children`])
        .stdout.trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
      return kids.flatMap((k) => [k, ...descendants(k)]);
    };
    const comm = (pid: number) => sandbox.exec(["cat", `/proc/${pid}/comm`]).stdout.trim();
    const keepaliveds = descendants(pid1).filter((pid) => comm(pid) === "keepalived");
    expect(keepaliveds.length).toBeGreaterThan(0);
    for (const pid of keepaliveds) process.kill(pid, "SIGKILL");
    await waitFor("the start script to exit", () => !node.running(), 40, 250);
    expect(node.child.exitCode).toBe(1);
    expect(node.output()).toContain("keepalived exited: stopping haproxy, the node gives up its share");
    // A SIGKILLed keepalived cannot remove its address (the next start's keepalived does, "removing VIPs"): afterEach does here.
  }, 60000);

  test("when HAProxy dies, keepalived is stopped (the address is given up at once) and the script exits with HAProxy's status", async () => {
    const node = start();
    await becomesMaster(node);
    const [master] = await haproxyPids(node);
    process.kill(master, "SIGKILL");
    await waitFor("the start script to exit", () => !node.running(), 40, 250);
    expect(node.child.exitCode).toBe(137);
    expect(node.output()).toContain("haproxy exited with status 137: stopping keepalived");
    expect(holdsVip()).toBe(false);
  }, 60000);
});
