// Where the registry client may connect: registry hosts on link-local/metadata addresses
// (written or resolved), redirects and token realms that lead off loopback, redirect loops.
// The registries are STAND-INS (node http servers on 127.0.0.1). The test net guard
// (test/fixtures/net-guard.mjs) fails and records any connect that is not loopback, so
// nothing here can leave the machine, and "no connection was attempted" is observed at the
// socket layer rather than taken on trust.
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {RegistryClient, RegistryError} from '../../src/drivers/registry/client.js';
import {repoRoot} from '../helpers/workspace.js';

type Guard = {installNetGuard: (record: (target: string) => void) => () => void};

let attempts: string[];
let uninstall: () => void;
let sockets: number;
const servers: http.Server[] = [];

beforeEach(async () => {
  const {installNetGuard} = (await import(pathToFileURL(path.join(repoRoot, 'test/fixtures/net-guard.mjs')).href)) as Guard;
  attempts = [];
  sockets = 0;
  // counts every connect, loopback included, and blocks (and records) the rest
  uninstall = installNetGuard((t) => attempts.push(t));
});
afterEach(async () => {
  uninstall();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function server(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{host: string; seen: Array<{url: string; auth?: string}>}> {
  const seen: Array<{url: string; auth?: string}> = [];
  const srv = http.createServer((req, res) => {
    sockets++;
    seen.push({url: req.url!, auth: req.headers.authorization});
    handler(req, res);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {host: `127.0.0.1:${(srv.address() as net.AddressInfo).port}`, seen};
}

async function failure(p: Promise<unknown>): Promise<RegistryError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RegistryError);
  return e as RegistryError;
}

const redirectTo = (location: string) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.statusCode = 307;
  res.setHeader('Location', location);
  res.end();
};

describe('registry hosts orx never contacts', () => {
  it.each(['169.254.169.254', '[fd00:ec2::254]', '[fe80::1]', '0xa9fea9fe', '224.0.0.1', '0.0.0.0:5000', '[::]'])(
    '%s is refused before any connection',
    async (host) => {
      const e = await failure(new RegistryClient(host, {timeoutMs: 2000}).ping());
      expect(e.code).toBe('registry_refused');
      expect(e.message).toMatch(
        /^refusing to contact the registry \S+: it is (a link-local|a cloud metadata|a multicast|an unspecified) address/,
      );
      expect(attempts).toEqual([]);
    },
  );

  it('the metadata address is named in the refusal, in its plain spelling', async () => {
    const e = await failure(new RegistryClient('0xa9fea9fe').ping());
    expect(e.message).toContain('169.254.169.254');
    expect(e.reason).toContain('169.254.169.254');
  });

  it('a name that resolves to a metadata or link-local address is refused naming both, before connecting', async () => {
    const resolve = async (host: string) =>
      host === 'metadata.example'
        ? [{address: '169.254.169.254', family: 4 as const}]
        : [
            {address: '93.184.216.34', family: 4 as const},
            {address: 'fe80::1', family: 6 as const},
          ];
    const direct = await failure(new RegistryClient('metadata.example', {resolve}).ping());
    expect(direct.message).toBe(
      'refusing to contact the registry metadata.example (169.254.169.254): it is a cloud metadata address; orx never sends requests to link-local, metadata, multicast or unspecified addresses',
    );
    // one bad answer among good ones is enough: the connection could have gone to either
    const mixed = await failure(new RegistryClient('mixed.example', {resolve}).ping());
    expect(mixed.message).toMatch(/^refusing to contact the registry mixed\.example \(fe80::1\): it is a link-local address/);
    expect(attempts).toEqual([]);
  });
});

it('a name with several checked addresses is tried address by address (localhost as ::1, then 127.0.0.1)', async () => {
  const reg = await server((_req, res) => res.end('{}'));
  const port = reg.host.split(':')[1];
  const resolve = async () => [
    {address: '::1', family: 6 as const},
    {address: '127.0.0.1', family: 4 as const},
  ];
  await new RegistryClient(`localhost:${port}`, {resolve}).ping();
  expect(reg.seen).toEqual([{url: '/v2/', auth: undefined}]);
  expect(attempts).toEqual([]);
});

describe('redirects from a loopback registry', () => {
  it.each([
    ['http://10.11.12.13:5000/v2/', '10.11.12.13', /a private address, and a registry on loopback is followed only to loopback/],
    ['http://192.168.1.20/v2/', '192.168.1.20', /a private address/],
    ['http://100.64.0.9/v2/', '100.64.0.9', /carrier-grade NAT/],
    ['https://169.254.169.254/latest/meta-data/', '169.254.169.254', /a cloud metadata address/],
    ['http://[fd00:ec2::254]/latest/', 'fd00:ec2::254', /a cloud metadata address/],
    ['http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe', /a cloud metadata address/],
    ['https://93.184.216.34/v2/', '93.184.216.34', /a public address, and a registry on loopback is followed only to loopback/],
  ])('to %s is refused, naming %s, with no connection made', async (location, named, why) => {
    const reg = await server(redirectTo(location));
    const e = await failure(new RegistryClient(reg.host, {timeoutMs: 3000}).getManifest('team/app', '1'));
    expect(e.code).toBe('registry_refused');
    expect(e.message).toContain(named);
    expect(e.message).toMatch(/^refusing to follow a redirect to https?:\/\//);
    expect(e.message).toMatch(why);
    expect(attempts).toEqual([]);
    expect(reg.seen).toHaveLength(1);
  });

  it('a name in the redirect is resolved and checked before connecting', async () => {
    const reg = await server(redirectTo('http://internal.example:5000/v2/'));
    const resolve = async () => [{address: '10.0.0.5', family: 4 as const}];
    const e = await failure(new RegistryClient(reg.host, {resolve}).ping());
    expect(e.message).toMatch(/^refusing to follow a redirect to http:\/\/internal\.example \(10\.0\.0\.5\): it is a private address/);
    expect(attempts).toEqual([]);
  });

  it("is followed to another loopback server, without the registry's credentials", async () => {
    const storage = await server((_req, res) => res.end('{"schemaVersion":2}'));
    let host = '';
    const reg = await server((req, res) => {
      if (req.url!.startsWith('/token')) return res.end(JSON.stringify({token: 'anon'}));
      if (req.headers.authorization !== 'Bearer anon') {
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', `Bearer realm="http://${host}/token",service="s"`);
        return res.end();
      }
      redirectTo(`http://${storage.host}/blob`)(req, res);
    });
    host = reg.host;
    const got = await new RegistryClient(reg.host).getManifest('team/app', '1');
    expect(got?.manifest).toEqual({schemaVersion: 2});
    expect(storage.seen).toEqual([{url: '/blob', auth: undefined}]);
    expect(attempts).toEqual([]);
  });

  it('stops after 5 hops', async () => {
    let n = 0;
    const reg = await server((_req, res) => redirectTo(`/hop/${++n}`)(_req, res));
    const e = await failure(new RegistryClient(reg.host).ping());
    expect(e.message).toMatch(/^refusing to follow more than 5 redirects from http:\/\/127\.0\.0\.1:\d+$/);
    expect(reg.seen).toHaveLength(6);
  });

  it('a token realm off loopback is refused like a redirect', async () => {
    const reg = await server((_req, res) => {
      res.statusCode = 401;
      res.setHeader('WWW-Authenticate', 'Bearer realm="http://172.17.0.1:8080/token",service="s"');
      res.end();
    });
    const e = await failure(new RegistryClient(reg.host).getManifest('team/app', '1'));
    expect(e.code).toBe('registry_refused');
    expect(e.message).toMatch(/^refusing to follow a registry URL to http:\/\/172\.17\.0\.1: it is a private address/);
    expect(attempts).toEqual([]);
  });
});

it('the guard itself blocks and records a non-loopback connect (so the tests above would see one)', async () => {
  const {request} = await import('node:http');
  const err = await new Promise<Error>((resolve) => {
    const req = request({host: '10.255.255.1', port: 9, path: '/'}, () => resolve(new Error('connected')));
    req.on('error', resolve);
    req.end();
  });
  expect(err.message).toMatch(/blocked by the test net guard/);
  const {lookup} = await import('node:dns/promises');
  await expect(lookup('registry.invalid')).rejects.toThrow(/DNS lookup of registry\.invalid/);
  expect(attempts).toEqual(['10.255.255.1:9', 'dns:registry.invalid']);
  expect(sockets).toBe(0);
});
