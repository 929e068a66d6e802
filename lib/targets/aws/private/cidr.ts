/** IPv4 CIDR arithmetic for the VPC's subnets (what Terraform's cidrsubnet computes). */

/** "10.40.0.0/16" → [address as a number, prefix length], or undefined. */
export function parseCidr(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const address = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
  return [address, prefix];
}

/** The `index`-th subnet of `newBits` more bits inside `cidr` (Terraform's cidrsubnet). */
export function cidrSubnet(cidr: string, newBits: number, index: number): string {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`"${cidr}" is not an IPv4 CIDR block`);
  const [address, prefix] = parsed;
  const length = prefix + newBits;
  if (length > 32 || index >= 2 ** newBits) throw new Error(`${cidr} has no subnet ${index} of /${length}`);
  const base = address & (prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0);
  const subnet = (base + index * 2 ** (32 - length)) >>> 0;
  return `${[24, 16, 8, 0].map((shift) => (subnet >>> shift) & 255).join(".")}/${length}`;
}

/** The address `offset` places after the start of `cidr` (Terraform's cidrhost, for offsets inside the block). */
export function cidrHost(cidr: string, offset: number): string {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`"${cidr}" is not an IPv4 CIDR block`);
  const [address, prefix] = parsed;
  if (offset < 0 || offset >= 2 ** (32 - prefix)) throw new Error(`${cidr} has no host ${offset}`);
  const base = address & (prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0);
  const host = (base + offset) >>> 0;
  return [24, 16, 8, 0].map((shift) => (host >>> shift) & 255).join(".");
}
