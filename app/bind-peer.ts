import { promises as dns } from "dns";
import { networkInterfaces, NetworkInterfaceInfo } from "os";

/**
 * Where to listen so that only the web node's Nginx reaches the app. A
 * container has an address on every network it joins (Nginx's, the database
 * cluster's, the monitoring one's): binding all of them would let the database
 * hosts reach the app, a flow the model does not allow. The app binds instead
 * to its own address on the network it shares with `BIND_PEER` (the Nginx
 * beside it), found by resolving the peer and picking the local interface whose
 * subnet holds it.
 */

export interface BindPeerDeps {
  /** Every IPv4 address of a name. @default dns.lookup with all: true */
  readonly resolve?: (host: string) => Promise<string[]>;
  /** The machine's interfaces. @default os.networkInterfaces */
  readonly interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface BindPeerOptions {
  /** Attempts to resolve the peer: it may start a moment after the app (Nginx depends on it). @default 120 */
  readonly attempts?: number;
  /** @default 500 */
  readonly intervalMs?: number;
}

export class BindPeerError extends Error {}

function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** The local IPv4 address whose subnet holds `peerAddress`, or undefined. Loopback never counts. */
export function localAddressToward(peerAddress: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string | undefined {
  const peer = ipv4ToNumber(peerAddress);
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      if (info.family !== "IPv4" || info.internal || info.cidr === null) continue;
      const bits = Number(info.cidr.split("/")[1]);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      if ((ipv4ToNumber(info.address) & mask) >>> 0 === (peer & mask) >>> 0) return info.address;
    }
  }
  return undefined;
}

/**
 * Resolves `peer` (bounded: `attempts` x `intervalMs`) and returns the local
 * address on the network it shares with the app. Throws BindPeerError when the
 * peer never resolves or shares no network with this machine: the app then
 * exits rather than listen more widely than it was told.
 */
export async function addressTowardPeer(peer: string, options: BindPeerOptions = {}, deps: BindPeerDeps = {}): Promise<string> {
  const attempts = options.attempts ?? 120;
  const intervalMs = options.intervalMs ?? 500;
  const resolve = deps.resolve ?? (async (host: string) => (await dns.lookup(host, { all: true, family: 4 })).map((a) => a.address));
  const interfaces = deps.interfaces ?? networkInterfaces;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last = "";
  for (let i = 0; i < attempts; i++) {
    try {
      const addresses = await resolve(peer);
      for (const a of addresses) {
        const local = localAddressToward(a, interfaces());
        if (local !== undefined) return local;
      }
      last = `${peer} is ${addresses.join(", ")}, on no network of this machine`;
    } catch (err) {
      last = `${peer} does not resolve (${(err as Error).message})`;
    }
    if (i < attempts - 1) await sleep(intervalMs);
  }
  throw new BindPeerError(`BIND_PEER: ${last} after ${attempts} attempts ${intervalMs} ms apart`);
}
