// IPv4 CIDR arithmetic for the egress gateway's link networks and allowances. Pure.
export interface Cidr {
  /** the network address as an unsigned 32-bit number */
  base: number;
  prefix: number;
  /** canonical text: the network address (host bits cleared) and the prefix */
  text: string;
}

export function ipv4ToInt(parts: number[]): number {
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function intToIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "10.1.2.0/24" -> its canonical form; null for anything else (IPv6, a bare address, junk). */
export function parseCidr(text: string): Cidr | null {
  // dotted decimal only: the octal and hex forms some parsers accept would read two ways
  const m = /^((?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return null;
  const parts = m[1].split('.').map(Number);
  const prefix = Number(m[2]);
  if (parts.some((p) => p > 255) || prefix > 32) return null;
  const base = (ipv4ToInt(parts) & mask(prefix)) >>> 0;
  return {base, prefix, text: `${intToIPv4(base)}/${prefix}`};
}

/** The n-th block of size 2^(32-prefix) inside `pool`; null past its end. */
export function subnetAt(pool: Cidr, prefix: number, n: number): Cidr | null {
  const size = 2 ** (32 - prefix);
  const count = 2 ** (prefix - pool.prefix);
  if (prefix < pool.prefix || n < 0 || n >= count) return null;
  const base = (pool.base + n * size) >>> 0;
  return {base, prefix, text: `${intToIPv4(base)}/${prefix}`};
}

export function blockCount(pool: Cidr, prefix: number): number {
  return prefix < pool.prefix ? 0 : 2 ** (prefix - pool.prefix);
}

export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && (inner.base & mask(outer.prefix)) >>> 0 === outer.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return containsCidr(a, b) || containsCidr(b, a);
}
