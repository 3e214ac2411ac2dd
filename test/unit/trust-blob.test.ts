import {createHash, createPublicKey, generateKeyPairSync, verify as cryptoVerify} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {bundleFromJSON} from '@sigstore/bundle';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {EXIT} from '../../src/exit-codes.js';
import {signBlob, verifyBlob, type SerializedBundle} from '../../src/trust/blob.js';
import {signBlobFile, verifyBlobFile} from '../../src/trust/blob-files.js';
import {initWorkspaceKey, trustedKey, trustedKeyOf, workspaceKeyFromPem, type TrustedKey, type WorkspaceKey} from '../../src/trust/keys.js';
import {caughtAsync} from '../helpers/errors.js';

const data = Buffer.from('orx plan 42: create agent.researcher\n');
let dir: string;
let key: WorkspaceKey;
let trusted: TrustedKey;
let other: WorkspaceKey;
let bundle: SerializedBundle;

function newKey(): WorkspaceKey {
  return workspaceKeyFromPem(
    generateKeyPairSync('ec', {namedCurve: 'prime256v1'}).privateKey.export({type: 'pkcs8', format: 'pem'}).toString(),
    'test key',
  );
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-blob-'));
  key = initWorkspaceKey(dir);
  trusted = trustedKeyOf(key);
  other = newKey();
  bundle = await signBlob(data, key);
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

const clone = (): any => JSON.parse(JSON.stringify(bundle));

async function refusal(p: Promise<unknown>): Promise<OrxError> {
  const e = await caughtAsync(p);
  expect(e.code).toBe('signature_invalid');
  expect(e.exit).toBe(EXIT.STALE);
  expect(e.kind).toBe('user');
  return e;
}

describe('signBlob: the bundle shape cosign verify-blob --key --insecure-ignore-tlog expects', () => {
  it('is a v0.3 message-signature bundle naming the key by its hint, with no witnesses', () => {
    expect(Object.keys(bundle).sort()).toEqual(['mediaType', 'messageSignature', 'verificationMaterial']);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    // only the public key hint: no certificate, no tlog entries, no timestamps
    expect(bundle.verificationMaterial).toEqual({publicKey: {hint: trusted.hint}});
    const der = createPublicKey(key.publicKeyPem).export({type: 'spki', format: 'der'});
    expect(trusted.hint).toBe(createHash('sha256').update(der).digest('base64'));
    const ms = bundle.messageSignature as {messageDigest: {algorithm: string; digest: string}; signature: string};
    expect(Object.keys(ms).sort()).toEqual(['messageDigest', 'signature']);
    expect(ms.messageDigest).toEqual({algorithm: 'SHA2_256', digest: createHash('sha256').update(data).digest('base64')});
  });

  it('carries an ECDSA-SHA256 signature over the data bytes, DER-encoded, in standard base64', () => {
    const sig = (bundle.messageSignature as {signature: string}).signature;
    expect(sig).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const raw = Buffer.from(sig, 'base64');
    // ASN.1 SEQUENCE { INTEGER r, INTEGER s }
    expect(raw[0]).toBe(0x30);
    expect(raw[1]).toBe(raw.length - 2);
    expect(raw[2]).toBe(0x02);
    // verified the way cosign's ECDSA verifier does it: sha256 over the artifact, ASN.1 signature
    expect(cryptoVerify('sha256', data, {key: createPublicKey(key.publicKeyPem), dsaEncoding: 'der'}, raw)).toBe(true);
    expect(cryptoVerify('sha256', Buffer.concat([data, Buffer.from('x')]), createPublicKey(key.publicKeyPem), raw)).toBe(false);
  });

  it('parses as a v0.3 bundle with @sigstore/bundle', () => {
    const b = bundleFromJSON(bundle);
    expect(b.content.$case).toBe('messageSignature');
    expect(b.verificationMaterial.content.$case).toBe('publicKey');
    expect(b.verificationMaterial.tlogEntries).toEqual([]);
  });

  it('signs empty and binary data', async () => {
    for (const d of [Buffer.alloc(0), Buffer.from([0, 255, 1, 254]), Buffer.alloc(100_000, 7)]) {
      const b = await signBlob(d, key);
      expect(await verifyBlob(d, b, [trusted])).toEqual({fingerprint: key.fingerprint});
    }
  });
});

describe('verifyBlob', () => {
  it('accepts the bundle as an object, JSON text or bytes, and names the key that signed', async () => {
    expect(await verifyBlob(data, bundle, [trusted])).toEqual({fingerprint: key.fingerprint});
    expect(await verifyBlob(data, JSON.stringify(bundle, null, 2), [trusted])).toEqual({fingerprint: key.fingerprint});
    expect(await verifyBlob(data, Buffer.from(JSON.stringify(bundle)), [trustedKeyOf(other), trusted])).toEqual({
      fingerprint: key.fingerprint,
    });
  });

  it('malformed JSON', async () => {
    const e = await refusal(verifyBlob(data, JSON.stringify(bundle).slice(0, 100), [trusted]));
    expect(e.message).toMatch(/^the bundle is not valid JSON \(/);
    for (const v of ['', 'null', '42', '[]', '"x"']) {
      expect((await refusal(verifyBlob(data, v, [trusted]))).message).toMatch(/not valid JSON|must be a JSON object/);
    }
    for (const v of [null, undefined, 42, [], {}]) await refusal(verifyBlob(data, v, [trusted]));
  });

  it('bad base64', async () => {
    const b = clone();
    b.messageSignature.signature = `!!${b.messageSignature.signature}`;
    expect((await refusal(verifyBlob(data, b, [trusted]))).message).toBe(
      'the bundle is malformed: messageSignature.signature is not valid base64',
    );
    const c = clone();
    c.messageSignature.messageDigest.digest = c.messageSignature.messageDigest.digest.replace(/=$/, '');
    expect((await refusal(verifyBlob(data, c, [trusted]))).message).toMatch(/messageDigest.digest is not valid base64/);
  });

  it('unknown hint: signed by a key that is not trusted', async () => {
    const e = await refusal(verifyBlob(data, bundle, [trustedKeyOf(other)]));
    expect(e.message).toBe(
      `the bundle was signed by key ${key.fingerprint}, which is not a trusted key here (trusted: ${other.fingerprint})`,
    );
    const b = clone();
    b.verificationMaterial.publicKey.hint = 'my-key';
    expect((await refusal(verifyBlob(data, b, [trusted]))).message).toMatch(/signed by key hint my-key, which is not a trusted key/);
  });

  it('no key at all', async () => {
    expect((await refusal(verifyBlob(data, bundle, []))).message).toMatch(/no trusted public key was given/);
  });

  it('wrong key: the hint names a trusted key but another key signed', async () => {
    const forged = await signBlob(data, other);
    (forged.verificationMaterial as any).publicKey.hint = trusted.hint;
    const e = await refusal(verifyBlob(data, forged, [trusted]));
    expect(e.message).toBe(
      `the signature does not verify with key ${key.fingerprint}: the file or the bundle was changed after signing, or another key signed it`,
    );
  });

  it('an empty hint is tried against every trusted key', async () => {
    const b = clone();
    b.verificationMaterial.publicKey.hint = '';
    expect(await verifyBlob(data, b, [trustedKeyOf(other), trusted])).toEqual({fingerprint: key.fingerprint});
    expect((await refusal(verifyBlob(data, b, [trustedKeyOf(other)]))).message).toMatch(/signature does not verify/);
  });

  it('changed data', async () => {
    const e = await refusal(verifyBlob(Buffer.from('orx plan 43: destroy everything\n'), bundle, [trusted]));
    expect(e.message).toMatch(
      /^the file does not match the bundle: its sha256 is [0-9a-f]{64}, the bundle signed [0-9a-f]{64} \(the file was changed/,
    );
  });

  it('changed bundle: digest, signature, fields, media type, content kind', async () => {
    const other43 = Buffer.from('orx plan 43\n');
    const digest = clone();
    digest.messageSignature.messageDigest.digest = createHash('sha256').update(other43).digest('base64');
    expect((await refusal(verifyBlob(other43, digest, [trusted]))).message).toMatch(/signature does not verify/);

    const sig = clone();
    const raw = Buffer.from(sig.messageSignature.signature, 'base64');
    raw[raw.length - 1] ^= 1;
    sig.messageSignature.signature = raw.toString('base64');
    expect((await refusal(verifyBlob(data, sig, [trusted]))).message).toMatch(/signature does not verify/);

    const extra = clone();
    extra.verificationMaterial.tlogEntriez = [];
    expect((await refusal(verifyBlob(data, extra, [trusted]))).message).toBe(
      'the bundle is malformed: unknown field "tlogEntriez" in verificationMaterial',
    );

    const media = clone();
    media.mediaType = 'application/vnd.dev.sigstore.bundle.v0.9+json';
    expect((await refusal(verifyBlob(data, media, [trusted]))).message).toMatch(/unsupported media type/);

    const alg = clone();
    alg.messageSignature.messageDigest.algorithm = 'MD5';
    expect((await refusal(verifyBlob(data, alg, [trusted]))).message).toMatch(/algorithm must be one of SHA2_256/);

    const none = clone();
    delete none.messageSignature;
    expect((await refusal(verifyBlob(data, none, [trusted]))).message).toMatch(/holds no signature/);

    const dsse = clone();
    delete dsse.messageSignature;
    dsse.dsseEnvelope = {
      payload: data.toString('base64'),
      payloadType: 'text/plain',
      signatures: [{sig: bundle.messageSignature && (bundle.messageSignature as any).signature, keyid: ''}],
    };
    expect((await refusal(verifyBlob(data, dsse, [trusted]))).message).toMatch(/DSSE envelope/);

    const cert = clone();
    cert.verificationMaterial = {certificate: {rawBytes: 'MIIB'}};
    expect((await refusal(verifyBlob(data, cert, [trusted]))).message).toMatch(/signed with a certificate/);

    const both = clone();
    both.verificationMaterial.certificate = {rawBytes: 'MIIB'};
    expect((await refusal(verifyBlob(data, both, [trusted]))).message).toMatch(/more than one of publicKey, certificate/);

    const proto = JSON.parse(JSON.stringify(bundle).replace('{"mediaType"', '{"__proto__":{"x":1},"mediaType"'));
    expect((await refusal(verifyBlob(data, proto, [trusted]))).message).toMatch(/unknown field "__proto__"/);
  });

  it('a tlog entry or timestamp it cannot check is refused, not ignored', async () => {
    const b = clone();
    b.verificationMaterial.timestampVerificationData = {rfc3161Timestamps: [{signedTimestamp: 'MIIB'}]};
    expect((await refusal(verifyBlob(data, b, [trusted]))).message).toMatch(
      /carries 1 RFC 3161 timestamp, which cannot be checked without a Sigstore trusted root/,
    );
  });
});

describe('sign-blob / verify-blob file services', () => {
  it('write a 0644 bundle next to the file and verify it with the workspace key by default', async () => {
    fs.writeFileSync(path.join(dir, 'report.txt'), 'hello\n');
    const s = await signBlobFile({dir, file: 'report.txt', bundle: 'out/report.sigstore.json'});
    expect(s.fingerprint).toBe(key.fingerprint);
    expect(s.digest).toBe(`sha256:${createHash('sha256').update('hello\n').digest('hex')}`);
    if (process.platform !== 'win32') expect(fs.statSync(s.bundle).mode & 0o777).toBe(0o644);
    const v = await verifyBlobFile({dir, file: 'report.txt', bundle: 'out/report.sigstore.json'});
    expect(v.fingerprint).toBe(key.fingerprint);
    const pub = path.join(dir, 'pub.pem');
    fs.writeFileSync(pub, trustedKey(key.publicKeyPem).publicKeyPem);
    expect((await verifyBlobFile({dir, file: 'report.txt', bundle: 'out/report.sigstore.json', keys: [pub]})).keys).toEqual([pub]);
    fs.appendFileSync(path.join(dir, 'report.txt'), 'more\n');
    await refusal(verifyBlobFile({dir, file: 'report.txt', bundle: 'out/report.sigstore.json'}));
  });

  it('missing files are plain errors, not signature failures', async () => {
    await expect(signBlobFile({dir, file: 'absent.txt', bundle: 'x.json'})).rejects.toMatchObject({code: 'file_missing', exit: 1});
    await expect(signBlobFile({dir, file: 'report.txt', bundle: 'report.txt'})).rejects.toMatchObject({code: 'usage'});
    await expect(verifyBlobFile({dir, file: 'report.txt', bundle: 'absent.json'})).rejects.toMatchObject({
      code: 'file_missing',
      message: expect.stringContaining('absent.json'),
    });
  });
});
