import {createHash} from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {MEDIA_TYPES, RegistryClient, RegistryError, resolveDigest} from '../../src/drivers/registry/client.js';

/**
 * Registry behaviours the real Debian registry in test/integration/image-signature.test.ts
 * does not show (anonymous bearer tokens as on Docker Hub and ghcr.io, missing headers,
 * lying or oversized answers). The server below is a process-boundary STAND-IN for those
 * remote registries, on 127.0.0.1; the happy paths are tested against the real registry.
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function standIn(handler: Handler): Promise<{host: string; requests: Array<{method: string; url: string; auth?: string}>}> {
  const requests: Array<{method: string; url: string; auth?: string}> = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({method: req.method!, url: req.url!, auth: req.headers.authorization});
      handler(req, res, Buffer.concat(chunks));
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {host: `127.0.0.1:${(srv.address() as net.AddressInfo).port}`, requests};
}

const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: {mediaType: MEDIA_TYPES.ociConfig, size: 2, digest: `sha256:${'0'.repeat(64)}`},
    layers: [],
  }),
);
const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;

describe('registry client (stand-in registries)', () => {
  it('gets an anonymous bearer token from the realm the registry names, for the repository scope, and reuses it', async () => {
    let host = '';
    const reg = await standIn((req, res) => {
      if (req.url!.startsWith('/token')) {
        const u = new URL(req.url!, 'http://x');
        expect(u.searchParams.get('service')).toBe('stand-in');
        expect(u.searchParams.get('scope')).toBe('repository:team/app:pull');
        res.setHeader('Content-Type', 'application/json');
        return res.end(JSON.stringify({token: 'anon-token'}));
      }
      if (req.headers.authorization !== 'Bearer anon-token') {
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', `Bearer realm="http://${host}/token",service="stand-in",scope="repository:team/app:pull"`);
        return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      }
      res.setHeader('Docker-Content-Digest', manifestDigest);
      res.setHeader('Content-Type', MEDIA_TYPES.ociManifest);
      res.end(req.method === 'HEAD' ? undefined : manifest);
    });
    host = reg.host;
    const client = new RegistryClient(host);
    expect(await client.manifestDigest('team/app', '1')).toBe(manifestDigest);
    expect(await client.manifestDigest('team/app', '2')).toBe(manifestDigest);
    expect(reg.requests.map((r) => `${r.method} ${r.url.split('?')[0]} ${r.auth ?? '-'}`)).toEqual([
      'HEAD /v2/team/app/manifests/1 -',
      'GET /token -',
      'HEAD /v2/team/app/manifests/1 Bearer anon-token',
      'HEAD /v2/team/app/manifests/2 Bearer anon-token',
    ]);
  });

  it('asks for a fresh token once when the cached one has expired', async () => {
    let host = '';
    let issued = 0;
    const reg = await standIn((req, res) => {
      if (req.url!.startsWith('/token')) return res.end(JSON.stringify({token: `t${++issued}`}));
      // only the newest token is valid
      if (req.headers.authorization !== `Bearer t${issued}` || issued === 0) {
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', `Bearer realm="http://${host}/token",service="stand-in"`);
        return res.end();
      }
      res.setHeader('Docker-Content-Digest', manifestDigest);
      res.end();
    });
    host = reg.host;
    const client = new RegistryClient(host);
    expect(await client.manifestDigest('team/app', '1')).toBe(manifestDigest);
    issued++; // the registry rotates: t1 is no longer valid
    expect(await client.manifestDigest('team/app', '1')).toBe(manifestDigest);
    expect(reg.requests.filter((r) => r.url.startsWith('/token'))).toHaveLength(2);
  });

  it('a registry that wants credentials is a clear registry_auth error', async () => {
    const reg = await standIn((_req, res) => {
      res.statusCode = 401;
      res.setHeader('WWW-Authenticate', 'Basic realm="private"');
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    });
    const err = await resolveDigest(`${reg.host}/team/app:1`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({code: 'registry_auth', status: 401, kind: 'external'});
    expect((err as RegistryError).message).toBe(`${reg.host} refused manifest team/app:1 without credentials (HTTP 401)`);
    expect((err as RegistryError).actions.join(' ')).toMatch(/anonymously/);
  });

  it('without Docker-Content-Digest on HEAD, the digest is computed from the manifest bytes', async () => {
    const reg = await standIn((req, res) => {
      res.setHeader('Content-Type', MEDIA_TYPES.ociManifest);
      res.end(req.method === 'HEAD' ? undefined : manifest);
    });
    expect(await resolveDigest(`${reg.host}/team/app:1`)).toBe(manifestDigest);
  });

  it('refuses a manifest or blob whose bytes do not match the digest', async () => {
    const reg = await standIn((req, res) => {
      if (req.url!.includes('/blobs/')) return res.end('not what you asked for');
      res.setHeader('Docker-Content-Digest', `sha256:${'1'.repeat(64)}`);
      res.end(manifest);
    });
    const client = new RegistryClient(reg.host);
    await expect(client.getManifest('team/app', '1')).rejects.toMatchObject({
      code: 'registry_bad_response',
      message: expect.stringMatching(/expected sha256:1{64}/),
    });
    await expect(client.getManifest('team/app', manifestDigest.replace(/.$/, '0'))).rejects.toMatchObject({code: 'registry_bad_response'});
    await expect(client.getBlob('team/app', manifestDigest)).rejects.toMatchObject({
      code: 'registry_bad_response',
      reason: 'registry sent a blob that does not match its digest',
    });
  });

  it('refuses an oversized answer instead of reading it all', async () => {
    const reg = await standIn((_req, res) => {
      res.setHeader('Content-Type', MEDIA_TYPES.ociManifest);
      res.end(Buffer.alloc(5 * 1024 * 1024, 0x20));
    });
    await expect(new RegistryClient(reg.host).getManifest('team/app', '1')).rejects.toMatchObject({
      code: 'registry_bad_response',
      message: expect.stringMatching(/limit 4194304/),
    });
  });

  it("a closed port is unreachable, saying so with the system's reason", async () => {
    await expect(resolveDigest('127.0.0.1:1/team/app:1')).rejects.toMatchObject({
      code: 'registry_unreachable',
      reason: expect.stringMatching(/^registry unreachable: 127\.0\.0\.1:1: .*ECONNREFUSED/),
    });
  });

  it("a server error carries the registry's own words, shortened", async () => {
    const reg = await standIn((_req, res) => {
      res.statusCode = 500;
      res.end(JSON.stringify({errors: [{code: 'UNKNOWN', message: `boom ${'x'.repeat(1000)}`}]}));
    });
    const err = (await new RegistryClient(reg.host).getManifest('team/app', '1').catch((e: unknown) => e)) as RegistryError;
    expect(err).toMatchObject({
      code: 'registry_error',
      status: 500,
      reason: `registry error: ${reg.host} answered 500 for manifest team/app:1`,
    });
    expect(err.message).toMatch(/^127\.0\.0\.1:\d+ answered HTTP 500 for manifest team\/app:1 \(UNKNOWN: boom x+… \(\d+ chars\)\)$/);
  });
});
