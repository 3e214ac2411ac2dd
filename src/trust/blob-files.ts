import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {OrxError} from '../errors.js';
import {FileReadError, readBoundedFile} from '../util/bounded-file.js';
import {signBlob, verifyBlob, verifyBlobWithTrustedRoot} from './blob.js';
import {keyPaths, loadWorkspaceKey, readTrustedKeyFile} from './keys.js';

/** The services behind `orx sign-blob` and `orx verify-blob`: paths in, plain results out. */

/** A blob is hashed and verified whole in memory: 1 GiB is far above what orx signs. */
export const MAX_BLOB_BYTES = 1024 * 1024 * 1024;
/** bundles and trusted roots are small JSON documents */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

function readInput(file: string, what: string, max = MAX_DOCUMENT_BYTES): Buffer {
  try {
    return readBoundedFile(file, max, {label: `${what} ${file}`});
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    throw new OrxError({code: err.reason === 'missing' ? 'file_missing' : 'file_unreadable', message: err.message});
  }
}

export interface SignBlobFileResult {
  file: string;
  bundle: string;
  digest: string;
  fingerprint: string;
}

export async function signBlobFile(opts: {dir: string; file: string; bundle: string; keyFile?: string}): Promise<SignBlobFileResult> {
  const file = path.resolve(opts.dir, opts.file);
  const out = path.resolve(opts.dir, opts.bundle);
  if (file === out) throw new OrxError({code: 'usage', message: 'the bundle must not be written over the file it signs'});
  const data = readInput(file, 'file', MAX_BLOB_BYTES);
  const key = loadWorkspaceKey(opts.dir, {keyFile: opts.keyFile});
  const bundle = await signBlob(data, key);
  fs.mkdirSync(path.dirname(out), {recursive: true});
  fs.writeFileSync(out, JSON.stringify(bundle, null, 2) + '\n', {mode: 0o644});
  fs.chmodSync(out, 0o644);
  return {file, bundle: out, digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, fingerprint: key.fingerprint};
}

export interface VerifyBlobFileResult {
  file: string;
  bundle: string;
  fingerprint: string;
  /** which public key files were trusted */
  keys: string[];
}

/**
 * Verifies `file` against `bundle` with the given public keys (default: the workspace's own).
 * With `trustedRoot` (a Sigstore trusted_root.json), the bundle's transparency-log entry and
 * timestamps are checked against it and one tlog entry is required.
 */
export async function verifyBlobFile(opts: {
  dir: string;
  file: string;
  bundle: string;
  keys?: string[];
  trustedRoot?: string;
}): Promise<VerifyBlobFileResult> {
  const file = path.resolve(opts.dir, opts.file);
  const bundlePath = path.resolve(opts.dir, opts.bundle);
  const keyFiles = opts.keys?.length ? opts.keys.map((k) => path.resolve(opts.dir, k)) : [keyPaths(opts.dir).publicKey];
  if (!opts.keys?.length && !fs.existsSync(keyFiles[0])) {
    throw new OrxError({
      code: 'key_missing',
      message: `no --key given and this workspace has no public key (${keyFiles[0]})`,
      actions: ["Pass the signer's public key: --key PATH.pem"],
    });
  }
  const keys = keyFiles.map((k) => readTrustedKeyFile(k));
  const data = readInput(file, 'file', MAX_BLOB_BYTES);
  const bundleText = readInput(bundlePath, 'bundle');
  const {fingerprint} = opts.trustedRoot
    ? await verifyBlobWithTrustedRoot(data, bundleText, keys, readInput(path.resolve(opts.dir, opts.trustedRoot), 'trusted root'), {
        timestampThreshold: 0,
      })
    : await verifyBlob(data, bundleText, keys);
  return {file, bundle: bundlePath, fingerprint, keys: keyFiles};
}
