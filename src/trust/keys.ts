import {createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {OrxError, preview} from '../errors.js';
import {FileReadError, readBoundedText} from '../util/bounded-file.js';
import {keyFingerprint, keyHint} from './fingerprint.js';

/** A PEM key is a few hundred bytes; anything far larger is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** The workspace signing key: ECDSA P-256, private part kept in `.orx/keys/` with mode 0600. */
export interface WorkspaceKey {
  privateKeyPem: string;
  publicKeyPem: string;
  /** sha256:<hex> of the SPKI DER */
  fingerprint: string;
}

/** A public key a verifier accepts signatures from. */
export interface TrustedKey {
  publicKeyPem: string;
  /** sha256:<hex> of the SPKI DER */
  fingerprint: string;
  /** base64 sha256 of the SPKI DER: the Sigstore bundle's `publicKey.hint` */
  hint: string;
}

export function keyPaths(workspaceDir: string): {dir: string; privateKey: string; publicKey: string} {
  const dir = path.join(path.resolve(workspaceDir), '.orx', 'keys');
  return {dir, privateKey: path.join(dir, 'signing.key'), publicKey: path.join(dir, 'signing.pub')};
}

const SIGNING_CURVES = new Set(['prime256v1']);
const VERIFYING_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);
const CURVE_NAMES: Record<string, string> = {prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521'};

function describe(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return `an EC ${CURVE_NAMES[d.namedCurve ?? ''] ?? d.namedCurve ?? '(unknown curve)'} key`;
  if (key.asymmetricKeyType === 'rsa') return `an RSA ${d.modulusLength ?? '?'}-bit key`;
  return `an ${key.asymmetricKeyType ?? 'unknown'} key`;
}

/** Sigstore message signatures (sha256 digests) verify with ECDSA P-256/384/521 and RSA >= 2048. */
function supportedForVerifying(key: KeyObject): boolean {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return VERIFYING_CURVES.has(d.namedCurve ?? '');
  if (key.asymmetricKeyType === 'rsa') return (d.modulusLength ?? 0) >= 2048;
  return false;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Builds a WorkspaceKey from a PEM private key (from a file, or a secret resolved elsewhere). */
export function workspaceKeyFromPem(pem: string, source: string): WorkspaceKey {
  let key: KeyObject;
  try {
    key = parsed.get(pem) ?? createPrivateKey({key: pem, format: 'pem'});
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(pem) || /passphrase/i.test(errMessage(err));
    throw new OrxError({
      code: 'key_unreadable',
      message: encrypted
        ? `${source} is an encrypted private key: orx needs an unencrypted PKCS#8 PEM kept with mode 0600`
        : `${source} is not a PEM private key orx can read (${errMessage(err)})`,
      actions: ['Create a workspace key with `orx keys init`, or convert one: openssl pkcs8 -topk8 -nocrypt -in KEY -out signing.key'],
    });
  }
  if (key.asymmetricKeyType !== 'ec' || !SIGNING_CURVES.has(key.asymmetricKeyDetails?.namedCurve ?? '')) {
    throw new OrxError({
      code: 'key_unsupported',
      message: `${source} is ${describe(key)}: orx signs with ECDSA P-256 keys only`,
      actions: ['Create one with `orx keys init`.'],
    });
  }
  const pub = createPublicKey(key);
  const privateKeyPem = key.export({type: 'pkcs8', format: 'pem'}).toString();
  remember(privateKeyPem, key);
  return {privateKeyPem, publicKeyPem: pub.export({type: 'spki', format: 'pem'}).toString(), fingerprint: keyFingerprint(pub)};
}

// Parsing a PEM costs OpenSSL 3 about a millisecond, and a run that loads the key and then
// signs with it would parse it twice. Bounded: a process sees one or two keys.
const parsed = new Map<string, KeyObject>();
function remember(pem: string, key: KeyObject): void {
  if (parsed.size >= 8) parsed.delete(parsed.keys().next().value!);
  parsed.set(pem, key);
}

/** The workspace key's private KeyObject, parsed once per process. */
export function privateKeyObject(key: WorkspaceKey): KeyObject {
  let obj = parsed.get(key.privateKeyPem);
  if (!obj) remember(key.privateKeyPem, (obj = createPrivateKey(key.privateKeyPem)));
  return obj;
}

/** Writes `content` to `file` with `mode`, atomically; without `overwrite`, fails with EEXIST if it exists. */
function writeAtomic(file: string, content: string, mode: number, overwrite: boolean): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, content, {mode, flag: 'wx'});
  try {
    fs.chmodSync(tmp, mode); // whatever the umask
    if (overwrite) fs.renameSync(tmp, file);
    else fs.linkSync(tmp, file); // atomic: never replaces an existing file
  } finally {
    fs.rmSync(tmp, {force: true});
  }
}

/** Creates the workspace's ECDSA P-256 key pair; refuses to replace an existing key unless `force`. */
export function initWorkspaceKey(workspaceDir: string, opts: {force?: boolean} = {}): WorkspaceKey {
  const p = keyPaths(workspaceDir);
  const exists = (): OrxError =>
    new OrxError({
      code: 'key_exists',
      message: `a signing key already exists at ${p.privateKey}`,
      actions: [
        'Show it with `orx keys show`.',
        'Replace it with `orx keys init --force` (plans signed with the old key will no longer verify with the new one).',
      ],
    });
  if (!opts.force && fs.existsSync(p.privateKey)) throw exists();
  fs.mkdirSync(p.dir, {recursive: true, mode: 0o700});
  if (process.platform !== 'win32') fs.chmodSync(p.dir, 0o700);
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
  const key: WorkspaceKey = {
    privateKeyPem: privateKey.export({type: 'pkcs8', format: 'pem'}).toString(),
    publicKeyPem: publicKey.export({type: 'spki', format: 'pem'}).toString(),
    fingerprint: keyFingerprint(publicKey),
  };
  try {
    writeAtomic(p.privateKey, key.privateKeyPem, 0o600, Boolean(opts.force));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw exists();
    throw err;
  }
  writeAtomic(p.publicKey, key.publicKeyPem, 0o644, true);
  return key;
}

/**
 * Loads the workspace key from `.orx/keys/signing.key`, or from an explicit PEM file.
 * Refuses a private key file that group or others can access.
 */
export function loadWorkspaceKey(workspaceDir: string, opts: {keyFile?: string} = {}): WorkspaceKey {
  const file = opts.keyFile ? path.resolve(workspaceDir, opts.keyFile) : keyPaths(workspaceDir).privateKey;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new OrxError({
        code: 'key_missing',
        message: opts.keyFile ? `no private key file at ${file}` : `this workspace has no signing key (${file} does not exist)`,
        actions: opts.keyFile ? ['Check the --key-file path.'] : ['Create one: `orx keys init`'],
      });
    }
    throw new OrxError({code: 'key_unreadable', message: `cannot read ${file}: ${errMessage(err)}`});
  }
  if (!st.isFile()) throw new OrxError({code: 'key_unreadable', message: `${file} is not a file`});
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new OrxError({
      code: 'key_permissions',
      message: `${file} is ${st.mode & 0o044 ? 'readable' : 'accessible'} by group or others (mode ${mode}): a private signing key must be private to its owner (mode 0600)`,
      actions: [`chmod 600 ${file}`],
      data: {path: file, mode},
    });
  }
  let pem: string;
  try {
    pem = readBoundedText(file, MAX_KEY_FILE_BYTES);
  } catch (err) {
    throw new OrxError({
      code: 'key_unreadable',
      message: err instanceof FileReadError ? err.message : `cannot read ${file}: ${errMessage(err)}`,
    });
  }
  return workspaceKeyFromPem(pem, file);
}

/** Validates a public key (PEM) and computes its fingerprint and Sigstore hint. */
export function trustedKey(publicKeyPem: string, source = 'the public key'): TrustedKey {
  const text = String(publicKeyPem);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new OrxError({
      code: 'key_invalid',
      message: `${source} is a private key: give the public key (e.g. .orx/keys/signing.pub, or \`orx keys show\`)`,
    });
  }
  if (/-----BEGIN CERTIFICATE-----/.test(text)) {
    throw new OrxError({
      code: 'key_invalid',
      message: `${source} is a certificate, not a public key: extract it with \`openssl x509 -pubkey -noout -in CERT\``,
    });
  }
  if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
    throw new OrxError({
      code: 'key_invalid',
      message: `${source} is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", got ${preview(text.trim(), 40)})`,
    });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({key: text, format: 'pem'});
  } catch (err) {
    throw new OrxError({code: 'key_invalid', message: `${source} is not a valid public key (${errMessage(err)})`});
  }
  if (!supportedForVerifying(key)) {
    throw new OrxError({
      code: 'key_unsupported',
      message: `${source} is ${describe(key)}: Sigstore message signatures are verified with ECDSA P-256/P-384/P-521 or RSA (2048 bits or more) keys`,
    });
  }
  return {publicKeyPem: key.export({type: 'spki', format: 'pem'}).toString(), fingerprint: keyFingerprint(key), hint: keyHint(key)};
}

export function readTrustedKeyFile(file: string): TrustedKey {
  let text: string;
  try {
    text = readBoundedText(file, MAX_KEY_FILE_BYTES);
  } catch (err) {
    const code = err instanceof FileReadError ? err.errno : (err as NodeJS.ErrnoException).code;
    throw new OrxError({
      code: 'key_missing',
      message:
        code === 'ENOENT'
          ? `no public key file at ${file}`
          : err instanceof FileReadError
            ? err.message
            : `cannot read ${file}: ${errMessage(err)}`,
      actions: ["Give the path of a PEM public key, e.g. the signer's .orx/keys/signing.pub (`orx keys show` prints it)."],
    });
  }
  return trustedKey(text, file);
}

/** The TrustedKey of a workspace key (to verify what this workspace signed). */
export function trustedKeyOf(key: WorkspaceKey): TrustedKey {
  return trustedKey(key.publicKeyPem);
}

/**
 * The one key lookup for checking what a workspace signed (plans, manifests, checkpoints,
 * tokens): the --trusted-key files, relative to the workspace like every path orx reads (so
 * `-C DIR` works), then the workspace's own key: the private key's public half when it is
 * here (signing.pub could be swapped on its own), else signing.pub (a verifying machine may
 * hold only that). What made the workspace key unusable is returned, never thrown.
 */
export function verificationKeys(dir: string, trustedKeyFiles: readonly string[] = []): {keys: TrustedKey[]; error: unknown} {
  const keys = trustedKeyFiles.map((f) => readTrustedKeyFile(path.resolve(dir, f)));
  const p = keyPaths(dir);
  let error: unknown = null;
  try {
    if (fs.existsSync(p.privateKey)) keys.push(trustedKeyOf(loadWorkspaceKey(dir)));
    else if (fs.existsSync(p.publicKey)) keys.push(readTrustedKeyFile(p.publicKey));
  } catch (err) {
    error = err;
  }
  return {keys, error};
}

/** The workspace key, made on first use so that `plan -out` always signs. */
export function signingKey(dir: string, keyFile?: string): {key: WorkspaceKey; created: boolean} {
  if (keyFile || fs.existsSync(keyPaths(dir).privateKey)) return {key: loadWorkspaceKey(dir, {keyFile}), created: false};
  return {key: initWorkspaceKey(dir), created: true};
}

/** The keys a saved plan may be signed with: this workspace's own, plus any given with --trusted-key. */
export function signerKeys(dir: string, extraKeyFiles: string[] = []): TrustedKey[] {
  const {keys, error} = verificationKeys(dir, extraKeyFiles);
  if (error && keys.length === 0) throw error as Error;
  return keys;
}
