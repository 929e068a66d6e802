import { NetworkInterfaceInfo } from "os";
import { addressTowardPeer, BindPeerError, localAddressToward } from "../../app/bind-peer";

const iface = (address: string, cidr: string | null, internal = false): NetworkInterfaceInfo =>
  ({ address, netmask: "", family: "IPv4", mac: "", internal, cidr }) as NetworkInterfaceInfo;

/** An app container on three networks: Nginx's, the database cluster's, the monitoring one's. */
const container = {
  lo: [iface("127.0.0.1", "127.0.0.1/8", true)],
  eth0: [iface("172.20.0.3", "172.20.0.3/16")],
  eth1: [iface("10.214.1.5", "10.214.1.5/24")],
  eth2: [iface("10.214.2.9", "10.214.2.9/28"), { address: "fe80::1", family: "IPv6", internal: false, cidr: "fe80::1/64" } as NetworkInterfaceInfo],
};

describe("localAddressToward", () => {
  test.each([
    ["172.20.0.2", "172.20.0.3"],
    ["10.214.1.200", "10.214.1.5"],
    ["10.214.2.14", "10.214.2.9"],
    // Outside the /28: on no network of the container.
    ["10.214.2.17", undefined],
    ["192.0.2.1", undefined],
    // Loopback never counts: the app binds it anyway for its health check.
    ["127.0.0.5", undefined],
  ])("peer %s: the container's address %s", (peer, expected) => {
    expect(localAddressToward(peer, container)).toBe(expected);
  });
});

describe("addressTowardPeer", () => {
  const noSleep = async () => undefined;

  test("waits (bounded) for the peer's name, then picks the address on the network it shares", async () => {
    let calls = 0;
    const resolve = async (host: string) => {
      calls++;
      if (calls < 3) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
      return ["10.214.1.7"];
    };
    await expect(addressTowardPeer("web-1", { attempts: 5 }, { resolve, interfaces: () => container, sleep: noSleep })).resolves.toBe("10.214.1.5");
    expect(calls).toBe(3);
  });

  test("a peer on no network of the machine, or never resolving, is an error that says which, after the bound", async () => {
    await expect(
      addressTowardPeer("web-1", { attempts: 2, intervalMs: 1 }, { resolve: async () => ["192.0.2.1"], interfaces: () => container, sleep: noSleep }),
    ).rejects.toThrow(new BindPeerError("BIND_PEER: web-1 is 192.0.2.1, on no network of this machine after 2 attempts 1 ms apart"));
    await expect(
      addressTowardPeer(
        "web-1",
        { attempts: 3, intervalMs: 1 },
        {
          resolve: async () => {
            throw new Error("ENOTFOUND");
          },
          interfaces: () => container,
          sleep: noSleep,
        },
      ),
    ).rejects.toThrow(/^BIND_PEER: web-1 does not resolve \(ENOTFOUND\) after 3 attempts 1 ms apart$/);
  });

  test("on this machine: loopback resolves to no shared network (the app would not widen its listeners)", async () => {
    await expect(addressTowardPeer("localhost", { attempts: 1 })).rejects.toThrow(/on no network of this machine/);
  });
});
