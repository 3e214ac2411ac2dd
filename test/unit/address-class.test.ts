// The address classifier (src/util/address-class.ts) and the rule for URLs a registry chooses
// (src/drivers/outbound.ts): IPv4, IPv6, v4 inside v6, and the odd spellings connect() and
// URL parsers accept for the same addresses.
import net from 'node:net';
import {describe, expect, it} from 'vitest';
import {classifyAddress, formatAddress, parseAddress, type AddressClass} from '../../src/util/address-class.js';
import {serverChosenRefusal} from '../../src/drivers/outbound.js';

const cases: Array<[string, AddressClass]> = [
  // IPv4
  ['8.8.8.8', 'public'],
  ['93.184.216.34', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', 'public'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'shared'],
  ['100.127.255.255', 'shared'],
  ['100.128.0.1', 'public'],
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['169.254.0.1', 'link-local'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.7', 'reserved'],
  // odd IPv4 spellings (inet_aton / WHATWG URL)
  ['2130706433', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['0x7f.1', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['127.1', 'loopback'],
  ['127.0.0.1.', 'loopback'],
  ['2852039166', 'metadata'],
  ['0xa9.0xfe.0xa9.0xfe', 'metadata'],
  ['0251.0376.0251.0376', 'metadata'],
  ['169.254.43518', 'metadata'],
  ['0', 'unspecified'],
  ['0x', 'unspecified'],
  ['012.1', 'private'],
  // IPv6
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['[::1]', 'loopback'],
  ['2606:4700:4700::1111', 'public'],
  ['fe80::1', 'link-local'],
  ['FE80::1%eth0', 'link-local'],
  ['[fe80::abcd%25en0]', 'link-local'],
  ['febf::1', 'link-local'],
  ['fec0::1', 'private'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['fd00:ec2::254', 'metadata'],
  ['fd00:0ec2:0000:0000:0000:0000:0000:0254', 'metadata'],
  ['ff02::1', 'multicast'],
  ['ff00::', 'multicast'],
  ['2001:db8::1', 'reserved'],
  // IPv4 inside IPv6
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:a9fe:a9fe', 'metadata'],
  ['0:0:0:0:0:ffff:a9fe:a9fe', 'metadata'],
  ['::FFFF:127.0.0.1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:8.8.8.8', 'public'],
  ['::169.254.169.254', 'metadata'],
  ['64:ff9b::169.254.169.254', 'metadata'],
  ['64:ff9b::8.8.8.8', 'public'],
  ['2002:a9fe:a9fe::1', 'metadata'],
  ['2002:0808:0808::1', 'public'],
];

describe('classifyAddress', () => {
  it.each(cases)('%s is %s', (text, cls) => {
    expect(classifyAddress(text)).toBe(cls);
  });

  it('host names, and text that only looks numeric, are not addresses', () => {
    for (const name of [
      'registry.example.com',
      'localhost',
      '1.example',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.0x100',
      '1::2::3',
      '12345::',
      'fe80::1::',
      ':::',
      '::ffff:1.2.3',
      'ghcr.io',
      '',
    ]) {
      expect(classifyAddress(name), name).toBeNull();
    }
  });

  it('agrees with node:net on what a plain address is, and spells it plainly', () => {
    for (const [text] of cases) {
      const a = parseAddress(text);
      expect(a, text).not.toBeNull();
      expect(net.isIP(formatAddress(a!)), text).toBe(a!.family);
    }
    expect(formatAddress(parseAddress('2130706433')!)).toBe('127.0.0.1');
    expect(formatAddress(parseAddress('0xa9.0xfe.0xa9.0xfe')!)).toBe('169.254.169.254');
    expect(formatAddress(parseAddress('fd00:0ec2:0000:0000:0000:0000:0000:0254')!)).toBe('fd00:ec2::254');
    expect(formatAddress(parseAddress('::ffff:169.254.169.254')!)).toBe('::ffff:a9fe:a9fe');
  });

  it('agrees with the URL parser on odd spellings in a URL', () => {
    for (const odd of ['2130706433', '0x7f.1', '0177.0.0.1', '0xa9.0xfe.0xa9.0xfe', '[::ffff:a9fe:a9fe]']) {
      const host = new URL(`http://${odd}/`).hostname;
      expect(classifyAddress(host), odd).toBe(classifyAddress(odd));
    }
  });
});

describe('which URLs a registry may send orx to', () => {
  const loopback = {scheme: 'http:', cls: 'loopback'} as const;
  const publicHttps = {scheme: 'https:', cls: 'public'} as const;
  const privateHttps = {scheme: 'https:', cls: 'private'} as const;

  it('a loopback registry only back to loopback (http allowed, since it was http itself)', () => {
    expect(serverChosenRefusal(loopback, 'http:', 'loopback')).toBeNull();
    for (const cls of ['private', 'shared', 'public', 'link-local', 'metadata'] as const)
      expect(serverChosenRefusal(loopback, 'http:', cls)).not.toBeNull();
    expect(serverChosenRefusal(loopback, 'https:', 'public')).toMatch(/followed only to loopback/);
  });

  it('a public registry only to public https', () => {
    expect(serverChosenRefusal(publicHttps, 'https:', 'public')).toBeNull();
    expect(serverChosenRefusal(publicHttps, 'http:', 'public')).toMatch(/only to https/);
    expect(serverChosenRefusal(publicHttps, 'https:', 'private')).toMatch(/not followed into internal networks/);
    expect(serverChosenRefusal(publicHttps, 'https:', 'shared')).toMatch(/not followed into internal networks/);
    expect(serverChosenRefusal(publicHttps, 'https:', 'loopback')).toMatch(/only a registry on loopback/);
    expect(serverChosenRefusal(publicHttps, 'https:', 'metadata')).toMatch(/cloud metadata/);
  });

  it('a registry on a private network may send orx to its own kind of network, never to loopback or metadata', () => {
    expect(serverChosenRefusal(privateHttps, 'https:', 'private')).toBeNull();
    expect(serverChosenRefusal(privateHttps, 'https:', 'public')).toBeNull();
    expect(serverChosenRefusal(privateHttps, 'https:', 'loopback')).not.toBeNull();
    expect(serverChosenRefusal(privateHttps, 'https:', 'link-local')).not.toBeNull();
    expect(serverChosenRefusal(privateHttps, 'http:', 'private')).toMatch(/only to https/);
  });
});
