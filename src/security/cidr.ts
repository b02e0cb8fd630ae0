import { BlockList, isIP } from 'node:net';

/** Undefined when `text` is a valid CIDR (or a bare address), else the reason it is not. */
export function cidrProblem(text: string): string | undefined {
  const [address = '', prefix, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return `invalid CIDR "${text}"`;
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(prefix) || bits > max) return `invalid prefix length in "${text}" (0-${String(max)})`;
  return undefined;
}

/** Unwraps IPv4-mapped IPv6 (`::ffff:10.0.0.1`), so IPv4 CIDRs match dual-stack peers. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** A set of CIDRs. Built once per config; `has` is what a request pays. */
export interface CidrSet {
  has(address: string): boolean;
}

export function createCidrSet(cidrs: readonly string[]): CidrSet {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address, prefix === undefined ? (type === 'ipv6' ? 128 : 32) : Number(prefix), type);
  }
  return {
    has(address) {
      const normalized = normalizeAddress(address);
      const family = isIP(normalized);
      if (family === 0) return false;
      return list.check(normalized, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}
