// What kind of place an IP address is, for deciding whether orx may send a request there
// (the registry client now, the egress gateway later). Pure: text in, class out. Addresses
// are parsed the way connect() and URL parsers read them, not as strings, so that odd
// spellings (2130706433, 0x7f.1, 0177.0.0.1, ::ffff:a9fe:a9fe, [FE80::1%eth0]) land in the
// same class as their plain form.

export type AddressClass =
  | 'public'
  | 'loopback'
  /** RFC 1918, IPv6 unique-local fc00::/7 (and the old site-local fec0::/10) */
  | 'private'
  /** carrier-grade NAT, 100.64.0.0/10 */
  | 'shared'
  | 'link-local'
  /** the cloud instance-metadata services (169.254.169.254, fd00:ec2::254, ...) */
  | 'metadata'
  | 'multicast'
  /** 0.0.0.0/8 and ::, which connect() takes to mean this host */
  | 'unspecified'
  | 'broadcast'
  /** 240.0.0.0/4, documentation and discard ranges: never a real peer */
  | 'reserved';

export interface ParsedAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order */
  bytes: number[];
}

const CLASS_WORDS: Record<AddressClass, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private address',
  shared: 'a carrier-grade NAT address (100.64.0.0/10)',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata address',
  multicast: 'a multicast address',
  unspecified: 'an unspecified address (it means this host)',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
};

export function describeClass(c: AddressClass): string {
  return CLASS_WORDS[c];
}

// One IPv4 part as inet_aton reads it: decimal, 0x hex, or 0-prefixed octal.
function ipv4Part(p: string): number | null {
  if (p === '') return null;
  let m: RegExpExecArray | null;
  if ((m = /^0[xX]([0-9a-fA-F]*)$/.exec(p))) return m[1] === '' ? 0 : parseInt(m[1], 16);
  if (/^0[0-7]+$/.test(p)) return parseInt(p, 8);
  if (/^(0|[1-9][0-9]*)$/.test(p)) return Number(p);
  return null;
}

/** IPv4 in every form connect()/URL parsers accept: a.b.c.d, a.b.c, a.b, a; decimal, hex or octal parts. */
export function parseIPv4(text: string): number[] | null {
  const parts = text.endsWith('.') ? text.slice(0, -1).split('.') : text.split('.');
  if (parts.length === 0 || parts.length > 4) return null;
  const nums = parts.map(ipv4Part);
  if (nums.some((n) => n === null || !Number.isFinite(n))) return null;
  const last = nums.pop()!;
  if (nums.some((n) => n! > 255)) return null;
  if (last >= 256 ** (4 - nums.length)) return null;
  const bytes = nums as number[];
  for (let i = 3 - nums.length; i >= 0; i--) bytes.push(Math.floor(last / 256 ** i) % 256);
  return bytes;
}

/** IPv6 with or without brackets and zone id; the last 32 bits may be written as dotted IPv4. */
export function parseIPv6(text: string): number[] | null {
  let t = text;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  if (!t.includes(':')) return null;
  const halves = t.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i];
      if (i === items.length - 1 && g.includes('.')) {
        // dotted IPv4 in the last 32 bits: strict a.b.c.d only
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(g)) return null;
        const v4 = g.split('.').map(Number);
        if (v4.some((n) => n > 255)) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  let words: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** An IP address in any spelling, or null when `text` is not one (a host name). */
export function parseAddress(text: string): ParsedAddress | null {
  const v6 = parseIPv6(text);
  if (v6) return {family: 6, bytes: v6};
  // a name like "1.example" is not an address: every part must be numeric
  const v4 = parseIPv4(text);
  return v4 ? {family: 4, bytes: v4} : null;
}

function classifyV4(b: number[]): AddressClass {
  const [a, x, y, z] = b as [number, number, number, number];
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 169 && x === 254) return (y === 169 && z === 254) || (y === 170 && z === 2) ? 'metadata' : 'link-local';
  if (a === 100 && x === 100 && y === 100 && z === 200) return 'metadata';
  if (a === 10 || (a === 172 && x >= 16 && x <= 31) || (a === 192 && x === 168)) return 'private';
  if (a === 100 && x >= 64 && x <= 127) return 'shared';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a === 255 && x === 255 && y === 255 && z === 255) return 'broadcast';
  if (a >= 240) return 'reserved';
  if ((a === 192 && x === 0 && y === 2) || (a === 198 && x === 51 && y === 100) || (a === 203 && x === 0 && y === 113)) return 'reserved';
  return 'public';
}

function classifyV6(b: number[]): AddressClass {
  const zeros = (from: number, to: number) => b.slice(from, to).every((v) => v === 0);
  const v4At = (i: number) => b.slice(i, i + 4);
  if (zeros(0, 16)) return 'unspecified';
  if (zeros(0, 15) && b[15] === 1) return 'loopback';
  // IPv4-mapped ::ffff:a.b.c.d and the old IPv4-compatible ::a.b.c.d reach the IPv4 address
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return classifyV4(v4At(12));
  if (zeros(0, 12)) return classifyV4(v4At(12));
  // NAT64 64:ff9b::/96 and 6to4 2002::/16 carry an IPv4 address a gateway may forward to
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return classifyV4(v4At(12));
  if (b[0] === 0x20 && b[1] === 0x02) {
    const inner = classifyV4(v4At(2));
    if (inner !== 'public') return inner;
  }
  // AWS's IPv6 instance metadata address, fd00:ec2::254
  if (b[0] === 0xfd && b[1] === 0x00 && b[2] === 0x0e && b[3] === 0xc2 && zeros(4, 14) && b[14] === 0x02 && b[15] === 0x54)
    return 'metadata';
  if (b[0] === 0xff) return 'multicast';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return 'private';
  if ((b[0] & 0xfe) === 0xfc) return 'private';
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return 'reserved';
  if (b[0] === 0x01 && zeros(1, 8)) return 'reserved';
  return 'public';
}

/** The class of an IP address in any spelling; null when `text` is not an IP address. */
export function classifyAddress(text: string): AddressClass | null {
  const a = parseAddress(text);
  if (!a) return null;
  return a.family === 4 ? classifyV4(a.bytes) : classifyV6(a.bytes);
}

/** The plain spelling of an address (dotted quad, or compressed lowercase IPv6), for messages. */
export function formatAddress(a: ParsedAddress): string {
  if (a.family === 4) return a.bytes.join('.');
  const words = Array.from({length: 8}, (_, i) => (a.bytes[2 * i] << 8) | a.bytes[2 * i + 1]);
  // the longest run of two or more zero words becomes "::"
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  return best < 0 ? hex(words) : `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** Classes no request from orx ever goes to, whoever named them. */
export const NEVER_CONTACTED: ReadonlySet<AddressClass> = new Set([
  'link-local',
  'metadata',
  'multicast',
  'unspecified',
  'broadcast',
  'reserved',
]);

/** Classes inside the operator's own networks: reachable only when the operator named them. */
export const INTERNAL: ReadonlySet<AddressClass> = new Set(['loopback', 'private', 'shared']);
