import {generateKeyPairSync} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx} from '../helpers/cli.js';

// the built CLI (npm run build) as a subprocess, in a temp workspace
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-trust-cli-'));
});
afterEach(() => {
  fs.rmSync(dir, {recursive: true, force: true});
});

const posix = process.platform !== 'win32';
const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/sigstore/', import.meta.url));

describe('orx keys', () => {
  it('init creates the pair, refuses to overwrite, --force replaces; show prints the public key', async () => {
    const init = await orx(['keys', 'init'], {cwd: dir});
    expect(init.code, init.stderr).toBe(0);
    const fp = /sha256:[0-9a-f]{64}/.exec(init.stdout)?.[0];
    expect(fp).toBeDefined();
    expect(init.stdout).toContain('.orx/keys/signing.pub');
    if (posix) expect(fs.statSync(path.join(dir, '.orx/keys/signing.key')).mode & 0o777).toBe(0o600);

    const again = await orx(['keys', 'init'], {cwd: dir});
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a signing key already exists/);
    expect(again.stderr).toContain('orx keys init --force');
    expect(noStack(again.stderr)).toBe(true);

    const show = await orx(['keys', 'show'], {cwd: dir});
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`fingerprint: ${fp}`);
    expect(show.stdout).toContain(fs.readFileSync(path.join(dir, '.orx/keys/signing.pub'), 'utf8'));
    const json = JSON.parse((await orx(['keys', 'show', '--json'], {cwd: dir})).stdout);
    expect(json).toMatchObject({
      formatVersion: '1',
      fingerprint: fp,
      publicKey: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----/),
      hint: expect.any(String),
    });

    const forced = JSON.parse((await orx(['keys', 'init', '--json'], {cwd: dir, env: {ORX_FORCE: '1'}})).stdout);
    expect(forced.fingerprint).toMatch(/^sha256:/);
    expect(forced.fingerprint).not.toBe(fp);
  });

  it('a missing key says to run `orx keys init`; a readable private key is refused with the chmod', async () => {
    const missing = await orx(['keys', 'show'], {cwd: dir});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/this workspace has no signing key/);
    expect(missing.stderr).toContain('orx keys init');
    expect(missing.stdout).toBe('');
    if (!posix) return;
    await orx(['keys', 'init'], {cwd: dir});
    const key = path.join(dir, '.orx/keys/signing.key');
    fs.chmodSync(key, 0o644);
    fs.writeFileSync(path.join(dir, 'f.txt'), 'x');
    const r = await orx(['sign-blob', 'f.txt', '--bundle', 'f.json'], {cwd: dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mode 0644');
    expect(r.stderr).toContain(`chmod 600 ${key}`);
    expect(fs.existsSync(path.join(dir, 'f.json'))).toBe(false);
  });
});

describe('orx sign-blob / verify-blob', () => {
  it('round trip, then every kind of tampering exits 5 with the reason', async () => {
    await orx(['keys', 'init'], {cwd: dir});
    fs.writeFileSync(path.join(dir, 'release.txt'), 'release 1.0\n');
    const sign = await orx(['sign-blob', 'release.txt', '--bundle', 'release.sigstore.json'], {cwd: dir});
    expect(sign.code, sign.stderr).toBe(0);
    expect(sign.stdout).toMatch(/Signed release.txt \(sha256:[0-9a-f]{64}\) with key sha256:/);
    const bundlePath = path.join(dir, 'release.sigstore.json');
    if (posix) expect(fs.statSync(bundlePath).mode & 0o777).toBe(0o644);
    const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');

    const ok = await orx(['verify-blob', 'release.txt', '--bundle', 'release.sigstore.json', '--key', '.orx/keys/signing.pub'], {cwd: dir});
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^Verified OK/);

    // env twins, and the workspace key by default
    const viaEnv = await orx(['verify-blob', 'release.txt', '--json'], {cwd: dir, env: {ORX_BUNDLE: 'release.sigstore.json'}});
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({verified: true, fingerprint: expect.stringMatching(/^sha256:/)});

    const fails = async (args: string[], reason: RegExp): Promise<void> => {
      const r = await orx(['verify-blob', ...args], {cwd: dir});
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(5);
      expect(r.stderr).toMatch(reason);
      expect(r.stdout).toBe('');
      expect(noStack(r.stderr)).toBe(true);
    };
    // changed data
    fs.writeFileSync(path.join(dir, 'changed.txt'), 'release 1.1\n');
    await fails(
      ['changed.txt', '--bundle', 'release.sigstore.json', '--key', '.orx/keys/signing.pub'],
      /the file does not match the bundle/,
    );
    // changed bundle: another signature
    const sig = Buffer.from(bundle.messageSignature.signature, 'base64');
    sig[sig.length - 1] ^= 0x01;
    fs.writeFileSync(
      path.join(dir, 'sig.json'),
      JSON.stringify({...bundle, messageSignature: {...bundle.messageSignature, signature: sig.toString('base64')}}),
    );
    await fails(
      ['release.txt', '--bundle', 'sig.json', '--key', '.orx/keys/signing.pub'],
      /the signature does not verify with key sha256:/,
    );
    // malformed JSON
    fs.writeFileSync(path.join(dir, 'broken.json'), fs.readFileSync(bundlePath, 'utf8').slice(0, 50));
    await fails(['release.txt', '--bundle', 'broken.json'], /the bundle is not valid JSON/);
    // bad base64
    fs.writeFileSync(
      path.join(dir, 'b64.json'),
      JSON.stringify({...bundle, messageSignature: {...bundle.messageSignature, signature: '%%%'}}),
    );
    await fails(['release.txt', '--bundle', 'b64.json'], /messageSignature.signature is not valid base64/);
    // unknown key
    fs.writeFileSync(
      path.join(dir, 'other.pub'),
      generateKeyPairSync('ec', {namedCurve: 'prime256v1'}).publicKey.export({type: 'spki', format: 'pem'}),
    );
    await fails(
      ['release.txt', '--bundle', 'release.sigstore.json'].concat(['--key', 'other.pub']),
      /signed by key sha256:[0-9a-f]{64}, which is not a trusted key here/,
    );
    // a private key given as --key is bad input (exit 1), not a signature failure
    const priv = await orx(['verify-blob', 'release.txt', '--bundle', 'release.sigstore.json', '--key', '.orx/keys/signing.key'], {
      cwd: dir,
    });
    expect(priv.code).toBe(1);
    expect(priv.stderr).toMatch(/is a private key: give the public key/);
    // a missing bundle file
    const none = await orx(['verify-blob', 'release.txt', '--bundle', 'nope.json'], {cwd: dir});
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/bundle .*nope\.json does not exist/);
  });

  it('--json failures carry the one error shape', async () => {
    await orx(['keys', 'init'], {cwd: dir});
    fs.writeFileSync(path.join(dir, 'a'), 'a');
    await orx(['sign-blob', 'a', '-b', 'a.json'], {cwd: dir});
    fs.writeFileSync(path.join(dir, 'a'), 'b');
    const r = await orx(['verify-blob', 'a', '-b', 'a.json', '--json'], {cwd: dir});
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({
      formatVersion: '1',
      error: {status: 5, code: 'signature_invalid', message: expect.stringMatching(/does not match/)},
    });
  });

  it.skipIf(!fs.existsSync(FIXTURES))('verifies a third-party (sigstore-conformance) bundle with its trusted root', async () => {
    const d = path.join(FIXTURES, 'managed-key-and-trusted-root');
    const args = [
      'verify-blob',
      path.join(FIXTURES, 'a.txt'),
      '--bundle',
      path.join(d, 'bundle.sigstore.json'),
      '--key',
      path.join(d, 'key.pub'),
    ];
    const ok = await orx([...args, '--trusted-root', path.join(d, 'trusted_root.json')], {cwd: dir});
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^Verified OK/);
    const noRoot = await orx(args, {cwd: dir});
    expect(noRoot.code).toBe(5);
    expect(noRoot.stderr).toMatch(/transparency-log entry, which cannot be checked without a Sigstore trusted root/);
  });
});
