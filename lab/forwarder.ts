/**
 * Published ports: the runner binds 127.0.0.1:<external> on the host and hands
 * the listening socket to a small Node forwarder that runs inside the
 * container's network namespace (like docker-proxy, no iptables).
 */
import { spawn } from "child_process";
import { closeSync, openSync } from "fs";
import * as net from "net";
import { procRef, ProcRef, sleep } from "./sys";

const FORWARDER_SOURCE = `
const net = require("net");
const host = process.argv[1], port = Number(process.argv[2]);
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ host, port, allowHalfOpen: true });
  let connected = false, answered = false;
  upstream.on("connect", () => { connected = true; });
  upstream.on("data", () => { answered = true; });
  client.setNoDelay(true); upstream.setNoDelay(true);
  const end = () => { client.destroy(); upstream.destroy(); };
  // One line per connection the container did not take (like docker-proxy, the client's is closed then),
  // or dropped before it sent a byte: how a test tells "refused" from "cut" (Lab.forwarderEvents).
  upstream.on("error", (e) => {
    if (!connected) console.error("upstream-refused " + Date.now() + " " + (e.code || e.message));
    else if (!answered) console.error("upstream-dropped " + Date.now() + " " + (e.code || e.message));
  });
  upstream.on("end", () => { if (!answered) console.error("upstream-dropped " + Date.now() + " EOF"); });
  client.on("error", end); upstream.on("error", end);
  client.on("close", end); upstream.on("close", end);
  client.pipe(upstream); upstream.pipe(client);
});
server.on("error", (e) => { console.error("forwarder:", e.message); process.exit(1); });
server.listen({ fd: 3 }, () => console.error("forwarding to " + host + ":" + port));
process.on("SIGTERM", () => process.exit(0));
`;

/** Where a forwarder listens (always the host's loopback) and where it connects inside its namespace. */
export interface ForwarderSpec {
  netns: string;
  external: number;
  target: string;
  internal: number;
  logFile: string;
}

/** Starts a forwarder; returns its process, detached (it outlives the caller, `down` kills it). */
export async function startForwarder(f: ForwarderSpec): Promise<ProcRef | undefined> {
  // Only loopback: whatever the JSON says, the lab never listens on the host's real interfaces.
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: f.external, exclusive: true }, () => resolve());
  });
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const logFd = openSync(f.logFile, "a");
  const child = spawn("ip", ["netns", "exec", f.netns, process.execPath, "-e", FORWARDER_SOURCE, f.target, String(f.internal)], {
    detached: true,
    stdio: ["ignore", logFd, logFd, fd],
  });
  closeSync(logFd);
  child.unref();
  const ref = procRef(child.pid!);
  // Give the child a moment to take the socket over before the parent closes its copy.
  await sleep(150);
  server.close();
  return ref;
}
