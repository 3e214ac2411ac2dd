import {generateKeyPairSync, randomBytes} from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';
import ImageSign from '../../commands/image/sign.js';
import {followProgress} from '../../src/drivers/docker.js';
import {MEDIA_TYPES, RegistryError, resolveDigest} from '../../src/drivers/registry/client.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  buildPayload,
  dockerReference,
  parsePayload,
  pushSignatureManifest,
  signImage,
  signPayload,
  signatureTag,
  verifyImage,
} from '../../src/trust/cosign.js';
import {initWorkspaceKey} from '../../src/trust/keys.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';
import {docker, repoRoot} from '../helpers/workspace.js';
import {buildImage} from '../../src/drivers/image-build.js';

function keyPair() {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'});
  return {
    priv: privateKey.export({type: 'pkcs8', format: 'pem'}).toString(),
    pub: publicKey.export({type: 'spki', format: 'pem'}).toString(),
  };
}

const keyA = keyPair();
const keyB = keyPair();
const run = randomBytes(4).toString('hex');
const built: string[] = [];
const pushed: string[] = [];
let reg: TestRegistry;
let tmp: string;
let imageA: string;
let imageB: string;

/** A tiny image FROM scratch with one file, so the two test images have different digests. */
async function buildTiny(name: string, content: string): Promise<string> {
  const ctx = fs.mkdtempSync(path.join(tmp, 'ctx-'));
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
  fs.writeFileSync(path.join(ctx, 'hello.txt'), content);
  const tag = `orx-sigtest-${run}-${name}:1`;
  await buildImage(docker, {context: ctx, src: ['Dockerfile', 'hello.txt']}, {t: tag});
  built.push(tag);
  return tag;
}

/** Pushes a local image to the test registry as `repo:tag`; returns the engine's digest for the push. */
async function pushAs(local: string, repo: string, tag = '1'): Promise<{ref: string; digest: string}> {
  const ref = `${reg.host}/${repo}:${tag}`;
  await docker.getImage(local).tag({repo: `${reg.host}/${repo}`, tag});
  pushed.push(ref);
  const out = await followProgress(docker, await docker.getImage(ref).push({authconfig: {}}));
  const aux = out.find((o) => (o.aux as {Digest?: string} | undefined)?.Digest)?.aux as {Digest: string};
  return {ref, digest: aux.Digest};
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-sigtest-'));
  reg = await startRegistry();
  imageA = await buildTiny('a', `a ${run}\n`);
  imageB = await buildTiny('b', `b ${run}\n`);
});

afterAll(async () => {
  await reg?.stop();
  for (const t of [...pushed, ...built])
    await docker
      .getImage(t)
      .remove({force: true})
      .catch(() => undefined);
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
});

async function rawManifest(repo: string, reference: string): Promise<Record<string, any>> {
  const res = await fetch(`http://${reg.host}/v2/${repo}/manifests/${reference}`, {headers: {Accept: MEDIA_TYPES.ociManifest}});
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

describe('image signatures against a real registry', () => {
  it('resolves a tag to the digest the engine pushed, and a digest reference to itself', async () => {
    const {ref, digest} = await pushAs(imageA, 'test/resolve');
    expect(await resolveDigest(ref)).toBe(digest);
    expect(await resolveDigest(`${reg.host}/test/resolve@${digest}`)).toBe(digest);
    await expect(resolveDigest(`${reg.host}/test/resolve:nope`)).rejects.toMatchObject({
      code: 'registry_not_found',
      reason: `image not found: ${reg.host}/test/resolve:nope`,
    });
  });

  it('signed by the key: ok, by tag and by digest; the signature is stored in cosign layout', async () => {
    const {ref, digest} = await pushAs(imageA, 'test/signed');
    const out = await signImage(ref, keyA.priv);
    expect(out).toEqual({
      digest,
      signatureTag: signatureTag(digest),
      signatureRef: `${reg.host}/test/signed:${signatureTag(digest)}`,
      kept: 0,
    });
    expect(await verifyImage(ref, keyA.pub)).toEqual({ok: true, digest});
    expect(await verifyImage(`${reg.host}/test/signed@${digest}`, keyA.pub)).toEqual({ok: true, digest});

    const m = await rawManifest('test/signed', signatureTag(digest));
    expect(m.mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(m.config.mediaType).toBe(MEDIA_TYPES.ociConfig);
    expect(m.layers).toHaveLength(1);
    expect(m.layers[0].mediaType).toBe(SIMPLE_SIGNING_MEDIA_TYPE);
    expect(m.layers[0].annotations[SIGNATURE_ANNOTATION]).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const blob = Buffer.from(await (await fetch(`http://${reg.host}/v2/test/signed/blobs/${m.layers[0].digest}`)).arrayBuffer());
    expect(parsePayload(blob)).toMatchObject({dockerReference: `${reg.host}/test/signed`, digest});
    const config = (await (await fetch(`http://${reg.host}/v2/test/signed/blobs/${m.config.digest}`)).json()) as {
      rootfs: {diff_ids: string[]};
    };
    expect(config.rootfs.diff_ids).toEqual([m.layers[0].digest]);
  });

  it('unsigned: not ok, "no signature"', async () => {
    const {ref, digest} = await pushAs(imageA, 'test/unsigned');
    expect(await verifyImage(ref, keyA.pub)).toEqual({ok: false, digest, reason: 'no signature'});
  });

  it('signed by another key: not ok; signing again with the right key keeps the other signature', async () => {
    const {ref, digest} = await pushAs(imageA, 'test/otherkey');
    await signImage(ref, keyB.priv);
    expect(await verifyImage(ref, keyA.pub)).toEqual({ok: false, digest, reason: 'signed by another key'});

    expect((await signImage(ref, keyA.priv)).kept).toBe(1);
    expect(await verifyImage(ref, keyA.pub)).toEqual({ok: true, digest});
    expect(await verifyImage(ref, keyB.pub)).toEqual({ok: true, digest});
    // re-signing with a key replaces that key's earlier signature instead of piling up layers
    expect((await signImage(ref, keyA.priv)).kept).toBe(1);
    expect((await rawManifest('test/otherkey', signatureTag(digest))).layers).toHaveLength(2);
  });

  it('tag moved to a new unsigned digest: not ok, naming the digest that was signed', async () => {
    const first = await pushAs(imageA, 'test/moved');
    await signImage(first.ref, keyA.priv);
    expect(await verifyImage(first.ref, keyA.pub)).toEqual({ok: true, digest: first.digest});

    const second = await pushAs(imageB, 'test/moved');
    expect(second.ref).toBe(first.ref);
    expect(second.digest).not.toBe(first.digest);
    expect(await verifyImage(second.ref, keyA.pub)).toEqual({
      ok: false,
      digest: second.digest,
      reason: `signature is for digest ${first.digest}, not ${second.digest}`,
    });
    // another key's signatures elsewhere in the repository explain nothing
    expect(await verifyImage(second.ref, keyB.pub)).toEqual({ok: false, digest: second.digest, reason: 'no signature'});
    // the old digest is still signed
    expect(await verifyImage(`${reg.host}/test/moved@${first.digest}`, keyA.pub)).toEqual({ok: true, digest: first.digest});
  });

  it('a signature layer whose payload names another digest: not ok with the mismatch', async () => {
    const a = await pushAs(imageA, 'test/wrongpayload');
    const b = await pushAs(imageB, 'test/wrongpayload', '2');
    const target = {registry: reg.host, repository: 'test/wrongpayload'};
    const payload = buildPayload(dockerReference(target), b.digest);
    await pushSignatureManifest(target, a.digest, [{payload, signature: signPayload(payload, keyA.priv)}]);
    expect(await verifyImage(a.ref, keyA.pub)).toEqual({
      ok: false,
      digest: a.digest,
      reason: `signature is for digest ${b.digest}, not ${a.digest}`,
    });
  });

  it('a signature that does not match its payload, or a payload that is not a cosign payload', async () => {
    const {ref, digest} = await pushAs(imageA, 'test/forged');
    const target = {registry: reg.host, repository: 'test/forged'};
    const good = buildPayload(dockerReference(target), digest);
    const other = buildPayload(`${dockerReference(target)}-x`, digest);
    // the annotation is a valid signature, but over other bytes
    await pushSignatureManifest(target, digest, [{payload: good, signature: signPayload(other, keyA.priv)}]);
    expect(await verifyImage(ref, keyA.pub)).toEqual({ok: false, digest, reason: 'signed by another key'});

    const notCosign = Buffer.from(
      JSON.stringify({critical: {image: {'docker-manifest-digest': digest}, type: 'atomic container signature'}, optional: null}),
    );
    await pushSignatureManifest(target, digest, [{payload: notCosign, signature: signPayload(notCosign, keyA.priv)}]);
    const r = await verifyImage(ref, keyA.pub);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.reason).toMatch(
      /^signature payload is not a cosign image signature: payload type is "atomic container signature"/,
    );
  });

  it('an image that is not in the registry: not ok, no digest', async () => {
    expect(await verifyImage(`${reg.host}/test/absent:1`, keyA.pub)).toEqual({
      ok: false,
      digest: null,
      reason: `image not found: ${reg.host}/test/absent:1`,
    });
  });

  it('orx image sign (the command, in process) signs with the workspace key and reports the signature', async () => {
    const {ref, digest} = await pushAs(imageB, 'test/command');
    const ws = fs.mkdtempSync(path.join(tmp, 'ws-'));
    const key = initWorkspaceKey(ws);
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    const before = process.exitCode;
    try {
      await ImageSign.run([ref, '--json', '-C', ws], repoRoot);
    } finally {
      spy.mockRestore();
    }
    const exit = process.exitCode;
    process.exitCode = before;
    expect(exit).toBe(0);
    const doc = JSON.parse(out.join(''));
    expect(doc).toMatchObject({
      formatVersion: '1',
      image: ref,
      digest,
      signature: `${reg.host}/test/command:${signatureTag(digest)}`,
      key: {fingerprint: key.fingerprint},
    });
    expect(await verifyImage(ref, key.publicKeyPem)).toEqual({ok: true, digest});
  });
});

describe('when the registry is not there', () => {
  it('verify gives a clear "registry unreachable" reason; sign fails with an external error', async () => {
    const gone = await startRegistry();
    const host = gone.host;
    await gone.stop();
    const r = await verifyImage(`${host}/test/x:1`, keyA.pub);
    expect(r).toEqual({
      ok: false,
      digest: null,
      reason: expect.stringMatching(new RegExp(`^registry unreachable: ${host}: .*ECONNREFUSED`)),
    });
    const err = await signImage(`${host}/test/x:1`, keyA.priv).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({code: 'registry_unreachable', kind: 'external'});
    expect((err as Error).message).toMatch(`cannot reach the registry ${host} (http://${host})`);
  });

  it('a registry that accepts connections but never answers times out within the bound', async () => {
    const sockets: net.Socket[] = [];
    const srv = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    try {
      const t0 = Date.now();
      const r = await verifyImage(`${host}/test/x:1`, keyA.pub, {timeoutMs: 300});
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(r).toEqual({ok: false, digest: null, reason: `registry unreachable: ${host}: no answer within 0.3s`});
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => srv.close(resolve));
    }
  });
});
