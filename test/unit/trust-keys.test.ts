import {createHash, generateKeyPairSync} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {hintToFingerprint, keyFingerprint, keyHint} from '../../src/trust/fingerprint.js';
import {initWorkspaceKey, keyPaths, loadWorkspaceKey, readTrustedKeyFile, trustedKey} from '../../src/trust/keys.js';
import {caught} from '../helpers/errors.js';

const posix = process.platform !== 'win32';
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-keys-'));
});
afterEach(() => {
  fs.rmSync(dir, {recursive: true, force: true});
});

function mode(p: string): number {
  return fs.statSync(p).mode & 0o777;
}

/** sha256 over the DER inside the PEM, computed without node:crypto key parsing */
function pemFingerprint(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

describe('workspace key', () => {
  it('init writes an ECDSA P-256 pair: private 0600 in a 0700 dir, public 0644', () => {
    const key = initWorkspaceKey(dir);
    const p = keyPaths(dir);
    expect(p).toEqual({
      dir: path.join(dir, '.orx/keys'),
      privateKey: path.join(dir, '.orx/keys/signing.key'),
      publicKey: path.join(dir, '.orx/keys/signing.pub'),
    });
    if (posix) {
      expect(mode(p.dir)).toBe(0o700);
      expect(mode(p.privateKey)).toBe(0o600);
      expect(mode(p.publicKey)).toBe(0o644);
    }
    expect(fs.readFileSync(p.privateKey, 'utf8')).toBe(key.privateKeyPem);
    expect(fs.readFileSync(p.publicKey, 'utf8')).toBe(key.publicKeyPem);
    expect(key.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(key.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(key.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(key.fingerprint).toBe(pemFingerprint(key.publicKeyPem));
    // no temp files left behind
    expect(fs.readdirSync(p.dir).sort()).toEqual(['signing.key', 'signing.pub']);
  });

  it.skipIf(!posix)('init keeps the private key 0600 whatever the umask', (ctx) => {
    let old: number;
    try {
      old = process.umask(0o000);
    } catch {
      ctx.skip(); // worker threads cannot change the umask
      return;
    }
    try {
      initWorkspaceKey(dir);
    } finally {
      process.umask(old);
    }
    expect(mode(keyPaths(dir).privateKey)).toBe(0o600);
    expect(mode(keyPaths(dir).dir)).toBe(0o700);
  });

  it('init refuses to overwrite an existing key unless forced', () => {
    const first = initWorkspaceKey(dir);
    const e = caught(() => initWorkspaceKey(dir));
    expect(e.code).toBe('key_exists');
    expect(e.message).toContain(keyPaths(dir).privateKey);
    expect(e.actions.join(' ')).toContain('orx keys init --force');
    expect(loadWorkspaceKey(dir).fingerprint).toBe(first.fingerprint);
    const second = initWorkspaceKey(dir, {force: true});
    expect(second.fingerprint).not.toBe(first.fingerprint);
    expect(loadWorkspaceKey(dir).fingerprint).toBe(second.fingerprint);
    if (posix) expect(mode(keyPaths(dir).privateKey)).toBe(0o600);
  });

  it('the fingerprint is stable across loads and matches the public key file', () => {
    const key = initWorkspaceKey(dir);
    const a = loadWorkspaceKey(dir);
    const b = loadWorkspaceKey(dir);
    expect(a).toEqual(b);
    expect(a.fingerprint).toBe(key.fingerprint);
    expect(a.publicKeyPem).toBe(key.publicKeyPem);
    expect(readTrustedKeyFile(keyPaths(dir).publicKey).fingerprint).toBe(key.fingerprint);
    expect(keyFingerprint(key.privateKeyPem)).toBe(key.fingerprint);
  });

  it('a missing key says to run `orx keys init`', () => {
    const e = caught(() => loadWorkspaceKey(dir));
    expect(e.code).toBe('key_missing');
    expect(e.exit).toBe(1);
    expect(e.message).toContain(keyPaths(dir).privateKey);
    expect(e.actions.join(' ')).toContain('orx keys init');
    const f = caught(() => loadWorkspaceKey(dir, {keyFile: 'nope.pem'}));
    expect(f.code).toBe('key_missing');
    expect(f.message).toContain(path.join(dir, 'nope.pem'));
  });

  it.skipIf(!posix)('a group- or world-readable private key is refused with the mode and the chmod to run', () => {
    initWorkspaceKey(dir);
    const file = keyPaths(dir).privateKey;
    fs.chmodSync(file, 0o644);
    const e = caught(() => loadWorkspaceKey(dir));
    expect(e.code).toBe('key_permissions');
    expect(e.message).toContain('mode 0644');
    expect(e.message).toContain(file);
    expect(e.actions).toEqual([`chmod 600 ${file}`]);
    for (const m of [0o640, 0o604, 0o660, 0o620]) {
      fs.chmodSync(file, m);
      expect(caught(() => loadWorkspaceKey(dir)).code).toBe('key_permissions');
    }
    fs.chmodSync(file, 0o400);
    expect(loadWorkspaceKey(dir).fingerprint).toMatch(/^sha256:/);
    fs.chmodSync(file, 0o600);
    expect(loadWorkspaceKey(dir).fingerprint).toMatch(/^sha256:/);
  });

  it('loads an explicit PEM key file, with the same permission rule', () => {
    const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
    const file = path.join(dir, 'ci.key');
    fs.writeFileSync(file, privateKey.export({type: 'sec1', format: 'pem'}), {mode: 0o600});
    const key = loadWorkspaceKey(dir, {keyFile: 'ci.key'});
    expect(key.fingerprint).toBe(keyFingerprint(publicKey));
    if (posix) {
      fs.chmodSync(file, 0o644);
      expect(caught(() => loadWorkspaceKey(dir, {keyFile: file})).code).toBe('key_permissions');
    }
  });

  it('refuses private keys it cannot sign with, saying why', () => {
    const write = (name: string, content: string | Buffer): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, content, {mode: 0o600});
      return f;
    };
    const rsa = generateKeyPairSync('rsa', {modulusLength: 2048}).privateKey.export({type: 'pkcs8', format: 'pem'});
    const e1 = caught(() => loadWorkspaceKey(dir, {keyFile: write('rsa.key', rsa)}));
    expect(e1.code).toBe('key_unsupported');
    expect(e1.message).toMatch(/RSA 2048-bit key: orx signs with ECDSA P-256 keys only/);
    const p384 = generateKeyPairSync('ec', {namedCurve: 'secp384r1'}).privateKey.export({type: 'pkcs8', format: 'pem'});
    expect(caught(() => loadWorkspaceKey(dir, {keyFile: write('p384.key', p384)})).message).toMatch(/EC P-384 key/);
    const enc = generateKeyPairSync('ec', {namedCurve: 'prime256v1'}).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    });
    const e2 = caught(() => loadWorkspaceKey(dir, {keyFile: write('enc.key', enc)}));
    expect(e2.code).toBe('key_unreadable');
    expect(e2.message).toMatch(/encrypted private key/);
    const e3 = caught(() => loadWorkspaceKey(dir, {keyFile: write('junk.key', 'not a key\n')}));
    expect(e3.code).toBe('key_unreadable');
    expect(e3.message).toMatch(/not a PEM private key/);
  });
});

describe('trusted keys', () => {
  it('computes the fingerprint and the Sigstore hint from the SPKI DER', () => {
    const {publicKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
    const pem = publicKey.export({type: 'spki', format: 'pem'}).toString();
    const t = trustedKey(pem);
    const der = publicKey.export({type: 'spki', format: 'der'});
    expect(t.fingerprint).toBe(`sha256:${createHash('sha256').update(der).digest('hex')}`);
    expect(t.hint).toBe(createHash('sha256').update(der).digest('base64'));
    expect(t.hint).toBe(keyHint(pem));
    expect(hintToFingerprint(t.hint)).toBe(t.fingerprint);
    expect(hintToFingerprint('not-a-hint')).toBeNull();
    expect(t.publicKeyPem).toBe(pem);
  });

  it('accepts the other key types Sigstore verifies message signatures with', () => {
    for (const k of [
      generateKeyPairSync('ec', {namedCurve: 'secp384r1'}).publicKey,
      generateKeyPairSync('ec', {namedCurve: 'secp521r1'}).publicKey,
      generateKeyPairSync('rsa', {modulusLength: 2048}).publicKey,
    ]) {
      expect(trustedKey(k.export({type: 'spki', format: 'pem'}).toString()).fingerprint).toMatch(/^sha256:/);
    }
  });

  it('refuses what is not a usable public key, with a clear message', () => {
    const ec = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
    const cases: Array<[string, RegExp, string]> = [
      [ec.privateKey.export({type: 'pkcs8', format: 'pem'}).toString(), /is a private key: give the public key/, 'key_invalid'],
      ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', /is a certificate, not a public key/, 'key_invalid'],
      ['hello', /is not a PEM public key/, 'key_invalid'],
      ['', /is not a PEM public key/, 'key_invalid'],
      ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', /is not a valid public key/, 'key_invalid'],
      [
        generateKeyPairSync('ed25519').publicKey.export({type: 'spki', format: 'pem'}).toString(),
        /is an ed25519 key: Sigstore message signatures/,
        'key_unsupported',
      ],
      [
        generateKeyPairSync('rsa', {modulusLength: 1024}).publicKey.export({type: 'spki', format: 'pem'}).toString(),
        /RSA 1024-bit key/,
        'key_unsupported',
      ],
      [
        generateKeyPairSync('ec', {namedCurve: 'secp256k1'}).publicKey.export({type: 'spki', format: 'pem'}).toString(),
        /EC secp256k1 key/,
        'key_unsupported',
      ],
    ];
    for (const [pem, message, code] of cases) {
      const e = caught(() => trustedKey(pem));
      expect(e.message).toMatch(message);
      expect(e.code).toBe(code);
    }
    const e = caught(() => readTrustedKeyFile(path.join(dir, 'absent.pub')));
    expect(e.code).toBe('key_missing');
    expect(e.message).toContain('absent.pub');
  });
});
