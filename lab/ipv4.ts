/** IPv4 arithmetic for the lab's address plan (subnets, ranges, free addresses). */

export function ipv4ToInt(address: string): number {
  const parts = address.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`"${address}" is not an IPv4 address`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** `10.213.0.0/24` → its network address (as written), prefix length, first and last address (as numbers). */
export function parseCidr(cidr: string, path = "CIDR"): { network: string; prefixLength: number; first: number; last: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 32) throw new Error(`${path}: "${cidr}" is not an IPv4 CIDR`);
  const prefixLength = Number(m[2]);
  const size = 2 ** (32 - prefixLength);
  const base = ipv4ToInt(m[1]);
  const first = base - (base % size);
  if (first !== base) throw new Error(`${path}: "${cidr}" has host bits set (the network is ${intToIpv4(first)}/${prefixLength})`);
  return { network: m[1], prefixLength, first, last: first + size - 1 };
}

export function ipv4InCidr(address: string, cidr: string): boolean {
  const { first, last } = parseCidr(cidr);
  const n = ipv4ToInt(address);
  return n >= first && n <= last;
}

/**
 * Usable host addresses of `range` inside `subnet` (never the subnet's network or
 * broadcast address), lowest first, or highest first with `fromTop`.
 */
export function hostAddresses(subnet: string, range: string = subnet, fromTop = false): string[] {
  const s = parseCidr(subnet);
  const r = parseCidr(range);
  const out: string[] = [];
  for (let n = Math.max(r.first, s.first + 1); n <= Math.min(r.last, s.last - 1); n++) out.push(intToIpv4(n));
  return fromTop ? out.reverse() : out;
}
