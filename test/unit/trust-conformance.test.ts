import fs from 'node:fs';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {verifyBlob, verifyBlobWithTrustedRoot} from '../../src/trust/blob.js';
import {readTrustedKeyFile, trustedKey} from '../../src/trust/keys.js';
import {caughtAsync} from '../helpers/errors.js';

/**
 * Third-party vectors from sigstore-conformance (see the README in that folder): bundles
 * made by Sigstore's own tooling, so orx's verifier is checked against the ecosystem's.
 */
const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/sigstore/', import.meta.url));
const present = fs.existsSync(FIXTURES);
if (!present) console.warn(`trust-conformance: skipped, the sigstore-conformance vectors are not at ${FIXTURES}`);

const read = (rel: string): string => fs.readFileSync(FIXTURES + rel, 'utf8');
const artifact = (): Buffer => fs.readFileSync(FIXTURES + 'a.txt');

/** The public-good trusted root, shipped offline inside @sigstore/tuf (seeds.json). */
function publicGoodRoot(): unknown {
  const seeds = JSON.parse(fs.readFileSync(createRequire(import.meta.url).resolve('@sigstore/tuf/seeds.json'), 'utf8'));
  return JSON.parse(Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev'].targets['trusted_root.json'], 'base64').toString('utf8'));
}

const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

async function refusal(p: Promise<unknown>): Promise<OrxError> {
  const e = await caughtAsync(p);
  expect(e.kind).toBe('user');
  expect(e.message).not.toMatch(/\n\s+at /);
  return e;
}

describe.skipIf(!present)(`sigstore-conformance bundle vectors${present ? '' : ` (skipped: ${FIXTURES} is absent)`}`, () => {
  describe('managed-key-happy-path', () => {
    const dir = 'managed-key-happy-path/';

    it('names its key with the hint orx computes (base64 sha256 of the SPKI DER)', () => {
      const hint = JSON.parse(read(dir + 'bundle.sigstore.json')).verificationMaterial.publicKey.hint;
      expect(readTrustedKeyFile(FIXTURES + dir + 'key.pub').hint).toBe(hint);
    });

    it('verifies with key.pub and the public-good trusted root (Rekor entry and timestamp checked)', async () => {
      const r = await verifyBlobWithTrustedRoot(artifact(), read(dir + 'bundle.sigstore.json'), read(dir + 'key.pub'), publicGoodRoot());
      expect(r.fingerprint).toBe(trustedKey(read(dir + 'key.pub')).fingerprint);
    });

    it('is refused with an empty trusted root while its tlog entry is required', async () => {
      const e = await refusal(
        verifyBlobWithTrustedRoot(artifact(), read(dir + 'bundle.sigstore.json'), read(dir + 'key.pub'), EMPTY_ROOT, {tlogThreshold: 1}),
      );
      expect(e.code).toBe('signature_invalid');
      expect(e.exit).toBe(5);
      expect(e.message).toMatch(/transparency-log entry, which cannot be checked without a Sigstore trusted root/);
    });

    it('is refused by the key-only verifier, which cannot check its Rekor entry', async () => {
      const e = await refusal(verifyBlob(artifact(), read(dir + 'bundle.sigstore.json'), [readTrustedKeyFile(FIXTURES + dir + 'key.pub')]));
      expect(e.code).toBe('signature_invalid');
    });

    it('is refused for another artifact even with the trusted root', async () => {
      const e = await refusal(
        verifyBlobWithTrustedRoot(Buffer.from('not a.txt'), read(dir + 'bundle.sigstore.json'), read(dir + 'key.pub'), publicGoodRoot()),
      );
      expect(e.message).toMatch(/the file does not match the bundle/);
    });
  });

  describe('managed-key-and-trusted-root', () => {
    const dir = 'managed-key-and-trusted-root/';

    it('verifies with key.pub and its own trusted_root.json', async () => {
      const r = await verifyBlobWithTrustedRoot(
        artifact(),
        read(dir + 'bundle.sigstore.json'),
        read(dir + 'key.pub'),
        read(dir + 'trusted_root.json'),
      );
      expect(r.fingerprint).toBe(trustedKey(read(dir + 'key.pub')).fingerprint);
    });

    it('is refused against the public-good root, which does not list its (staging) log', async () => {
      const e = await refusal(
        verifyBlobWithTrustedRoot(artifact(), read(dir + 'bundle.sigstore.json'), read(dir + 'key.pub'), publicGoodRoot()),
      );
      expect(e.code).toBe('signature_invalid');
      expect(e.message).toMatch(/transparency-log entry does not verify/);
    });
  });

  describe('_fail vectors are refused with clear errors', () => {
    it('managed-key-wrong-key_fail: its key.pub is refused', async () => {
      const dir = 'managed-key-wrong-key_fail/';
      const e = await refusal(
        verifyBlobWithTrustedRoot(artifact(), read(dir + 'bundle.sigstore.json'), read(dir + 'key.pub'), publicGoodRoot()),
      );
      expect(e.message).toMatch(/is not a valid public key/);
      expect(() => readTrustedKeyFile(FIXTURES + dir + 'key.pub')).toThrow(/key\.pub is not a valid public key/);
    });

    it('managed-key-no-key_fail: key-signed, no key given', async () => {
      const dir = 'managed-key-no-key_fail/';
      const e = await refusal(verifyBlob(artifact(), read(dir + 'bundle.sigstore.json'), []));
      expect(e.code).toBe('signature_invalid');
      expect(e.message).toMatch(/no trusted public key was given/);
      const f = await refusal(verifyBlobWithTrustedRoot(artifact(), read(dir + 'bundle.sigstore.json'), [], publicGoodRoot()));
      expect(f.message).toMatch(/no trusted public key was given/);
    });

    it('bundle-malformed-json_fail: a parse error', async () => {
      const e = await refusal(
        verifyBlobWithTrustedRoot(
          artifact(),
          read('bundle-malformed-json_fail/bundle.sigstore.json'),
          read('managed-key-happy-path/key.pub'),
          publicGoodRoot(),
        ),
      );
      expect(e.code).toBe('signature_invalid');
      expect(e.message).toMatch(/^the bundle is not valid JSON \(/);
    });

    it('bundle-invalid-base64-signature_fail: invalid base64', async () => {
      const e = await refusal(
        verifyBlobWithTrustedRoot(
          artifact(),
          read('bundle-invalid-base64-signature_fail/bundle.sigstore.json'),
          read('managed-key-happy-path/key.pub'),
          publicGoodRoot(),
        ),
      );
      expect(e.code).toBe('signature_invalid');
      expect(e.message).toBe('the bundle is malformed: messageSignature.signature is not valid base64');
    });

    it('every _fail folder is refused, whichever way it is verified', async () => {
      const folders = fs.readdirSync(FIXTURES).filter((d) => d.endsWith('_fail'));
      expect(folders.length).toBeGreaterThanOrEqual(4);
      for (const d of folders) {
        const b = read(`${d}/bundle.sigstore.json`);
        const key = fs.existsSync(`${FIXTURES}${d}/key.pub`) ? read(`${d}/key.pub`) : null;
        const root = fs.existsSync(`${FIXTURES}${d}/trusted_root.json`) ? read(`${d}/trusted_root.json`) : publicGoodRoot();
        await refusal(verifyBlobWithTrustedRoot(artifact(), b, key ?? [], root));
        await refusal(key ? Promise.resolve().then(() => verifyBlob(artifact(), b, [trustedKey(key)])) : verifyBlob(artifact(), b, []));
      }
    });
  });
});
