import {createHash, generateKeyPairSync} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {
  COSIGN_SIGNATURE_TYPE,
  PayloadError,
  buildPayload,
  dockerReference,
  loadPrivateKey,
  loadPublicKey,
  parsePayload,
  signPayload,
  signatureTag,
  verifyPayload,
} from '../../src/trust/cosign.js';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;

function ecKeys() {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'});
  return {
    priv: privateKey.export({type: 'pkcs8', format: 'pem'}).toString(),
    pub: publicKey.export({type: 'spki', format: 'pem'}).toString(),
  };
}

describe('simple-signing payload', () => {
  it('is byte for byte what cosign writes (a payload and config recorded from cosign 1.13.1 pushing to Docker Hub)', () => {
    // From a public `cosign sign -d` trace: the layer sha256:b671489e… of size 252 is this payload.
    const payload = buildPayload(
      'index.docker.io/chihjenhuang/cosign1',
      'sha256:4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d',
    );
    expect(payload.length).toBe(252);
    expect(createHash('sha256').update(payload).digest('hex')).toBe('b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc');
    expect(payload.toString()).toBe(
      '{"critical":{"identity":{"docker-reference":"index.docker.io/chihjenhuang/cosign1"},"image":{"docker-manifest-digest":"sha256:4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d"},"type":"cosign container image signature"},"optional":null}',
    );
  });

  it('round-trips through parsePayload', () => {
    const p = parsePayload(buildPayload('127.0.0.1:5000/test/x', D1, {creator: 'orx'}));
    expect(p).toEqual({dockerReference: '127.0.0.1:5000/test/x', digest: D1, type: COSIGN_SIGNATURE_TYPE, optional: {creator: 'orx'}});
  });

  it('reads field names case-insensitively, as cosign (Go) does; the spec example writes Docker-manifest-digest', () => {
    const doc = {
      critical: {identity: {'docker-reference': 'r'}, image: {'Docker-manifest-digest': D2}, type: COSIGN_SIGNATURE_TYPE},
      optional: null,
    };
    expect(parsePayload(Buffer.from(JSON.stringify(doc))).digest).toBe(D2);
  });

  it('tolerates a missing identity (cosign ignores it) but nothing else', () => {
    const doc = {critical: {image: {'docker-manifest-digest': D1}, type: COSIGN_SIGNATURE_TYPE}};
    expect(parsePayload(Buffer.from(JSON.stringify(doc)))).toMatchObject({dockerReference: null, digest: D1, optional: null});
  });

  it.each([
    ['not JSON', '{"critical":', /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['no critical', '{"optional":null}', /no "critical"/],
    [
      'another type',
      JSON.stringify({critical: {image: {'docker-manifest-digest': D1}, type: 'atomic container signature'}}),
      /payload type is "atomic container signature"/,
    ],
    ['no image', JSON.stringify({critical: {type: COSIGN_SIGNATURE_TYPE}}), /no "critical.image"/],
    [
      'a bad digest',
      JSON.stringify({critical: {image: {'docker-manifest-digest': 'sha256:xyz'}, type: COSIGN_SIGNATURE_TYPE}}),
      /no sha256 manifest digest/,
    ],
    [
      'a numeric digest',
      JSON.stringify({critical: {image: {'docker-manifest-digest': 5}, type: COSIGN_SIGNATURE_TYPE}}),
      /no sha256 manifest digest/,
    ],
  ])('refuses a payload that is %s', (_what, text, re) => {
    expect(() => parsePayload(Buffer.from(text))).toThrow(PayloadError);
    expect(() => parsePayload(Buffer.from(text))).toThrow(re);
  });

  it('refuses to build a payload for something that is not a digest', () => {
    expect(() => buildPayload('r', 'latest')).toThrow(OrxError);
    expect(() => buildPayload('r', `sha256:${'A'.repeat(64)}`)).toThrow(/not a sha256 manifest digest/);
  });

  it('names the identity like cosign does (Docker Hub as index.docker.io)', () => {
    expect(dockerReference({registry: 'docker.io', repository: 'library/busybox'})).toBe('index.docker.io/library/busybox');
    expect(dockerReference({registry: '127.0.0.1:5000', repository: 'test/x'})).toBe('127.0.0.1:5000/test/x');
  });
});

describe('signature tag', () => {
  it('maps sha256:<hex> to sha256-<hex>.sig', () => {
    expect(signatureTag('sha256:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36')).toBe(
      'sha256-97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36.sig',
    );
    expect(() => signatureTag('sha256:abc')).toThrow(OrxError);
  });
});

describe('payload signatures', () => {
  const a = ecKeys();
  const b = ecKeys();
  const payload = buildPayload('127.0.0.1:5000/test/x', D1);

  it('signs with ECDSA P-256 / SHA-256 as base64 DER and verifies with the public key', () => {
    const sig = signPayload(payload, a.priv);
    const der = Buffer.from(sig, 'base64');
    expect(der[0]).toBe(0x30); // an ASN.1 SEQUENCE, as cosign writes
    expect(verifyPayload(payload, sig, a.pub)).toBe(true);
  });

  it('fails for another key, another payload, a flipped bit and garbage', () => {
    const sig = signPayload(payload, a.priv);
    expect(verifyPayload(payload, sig, b.pub)).toBe(false);
    expect(verifyPayload(buildPayload('127.0.0.1:5000/test/x', D2), sig, a.pub)).toBe(false);
    const flipped = Buffer.from(payload);
    flipped[10] ^= 1;
    expect(verifyPayload(flipped, sig, a.pub)).toBe(false);
    expect(verifyPayload(payload, 'not base64 at all!', a.pub)).toBe(false);
    expect(verifyPayload(payload, '', a.pub)).toBe(false);
    expect(verifyPayload(payload, Buffer.from('x'.repeat(70)).toString('base64'), a.pub)).toBe(false);
  });

  it('accepts SEC1 "EC PRIVATE KEY" PEM as well as PKCS#8', () => {
    const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'});
    const sec1 = privateKey.export({type: 'sec1', format: 'pem'}).toString();
    expect(verifyPayload(payload, signPayload(payload, sec1), publicKey.export({type: 'spki', format: 'pem'}).toString())).toBe(true);
  });

  it('verifies Ed25519 and RSA keys the way cosign does (Ed25519 over the payload, RSA PKCS#1 v1.5 SHA-256)', () => {
    for (const kind of ['ed25519', 'rsa'] as const) {
      const {privateKey, publicKey} = kind === 'rsa' ? generateKeyPairSync('rsa', {modulusLength: 2048}) : generateKeyPairSync('ed25519');
      const sig = signPayload(payload, privateKey);
      expect(verifyPayload(payload, sig, publicKey)).toBe(true);
      expect(verifyPayload(payload, sig, a.pub)).toBe(false);
    }
  });

  it('says what is wrong with a key it cannot use', () => {
    expect(() => loadPublicKey('hello')).toThrow(/cannot read the public key/);
    const enc = '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n';
    try {
      loadPrivateKey(enc);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(OrxError);
      expect((err as OrxError).code).toBe('invalid_key');
      expect((err as OrxError).actions.join(' ')).toMatch(/password-encrypted cosign key/);
    }
  });
});
