import {createHash, createPublicKey, timingSafeEqual} from 'node:crypto';
import {BUNDLE_V03_MEDIA_TYPE, ValidationError, bundleFromJSON, type Bundle} from '@sigstore/bundle';
import {HashAlgorithm, TrustedRoot} from '@sigstore/protobuf-specs';
import {
  PolicyError,
  VerificationError,
  Verifier,
  toSignedEntity,
  toTrustMaterial,
  type KeyFinderFunc,
  type TrustMaterial,
} from '@sigstore/verify';
import {OrxError, preview} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {BundleShapeError, assertBundleShape} from './bundle-json.js';
import {hintToFingerprint} from './fingerprint.js';
import {trustedKey, trustedKeyOf, type TrustedKey, type WorkspaceKey} from './keys.js';
import {signMessage, type SerializedBundle} from './sign-message.js';

export type {SerializedBundle};

const KNOWN_MEDIA_TYPES = new Set([
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  BUNDLE_V03_MEDIA_TYPE,
]);

const HASHES = new Map<HashAlgorithm, string>([
  [HashAlgorithm.SHA2_256, 'sha256'],
  [HashAlgorithm.SHA2_384, 'sha384'],
  [HashAlgorithm.SHA2_512, 'sha512'],
]);

function invalid(message: string, data: Record<string, unknown> = {}, actions: string[] = []): OrxError {
  return new OrxError({code: 'signature_invalid', exit: EXIT.STALE, message, actions, data});
}

/**
 * Signs `data` offline with the workspace key: a message signature over the bytes in a
 * v0.3 Sigstore bundle, no witnesses (no Rekor entry, no timestamp), the public key named
 * by its hint. `cosign verify-blob --key KEY --bundle B --insecure-ignore-tlog` accepts it.
 */
export async function signBlob(data: Buffer, key: WorkspaceKey): Promise<SerializedBundle> {
  const json = signMessage(data, key);
  // a bundle that does not verify must never leave this function
  await verifyBlob(data, json, [trustedKeyOf(key)]);
  return json;
}

export interface VerifyOptions {
  /** transparency-log entries required (verifyBlob: 0) */
  tlogThreshold?: number;
  /** timestamps (tlog integrated time or RFC 3161) required (verifyBlob: 0) */
  timestampThreshold?: number;
}

/** Parses what the caller has (JSON text, bytes or an object) into a checked bundle. */
function readBundle(input: unknown): {doc: Record<string, unknown>; bundle: Bundle} {
  let doc: unknown = input;
  if (Buffer.isBuffer(input) || input instanceof Uint8Array) doc = Buffer.from(input).toString('utf8');
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch (err) {
      throw invalid(`the bundle is not valid JSON (${(err as Error).message})`);
    }
  }
  try {
    assertBundleShape(doc);
  } catch (err) {
    if (err instanceof BundleShapeError) throw invalid(`the bundle is malformed: ${err.message}`, {field: err.field});
    throw err;
  }
  const mediaType = String(doc.mediaType);
  if (!KNOWN_MEDIA_TYPES.has(mediaType))
    throw invalid(`the bundle has an unsupported media type ${preview(mediaType)} (expected ${BUNDLE_V03_MEDIA_TYPE})`);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(doc);
  } catch (err) {
    if (err instanceof ValidationError)
      throw invalid(`the bundle is not a valid Sigstore bundle: invalid ${err.fields.join(', ')}`, {fields: err.fields});
    throw invalid(`the bundle is not a valid Sigstore bundle (${(err as Error).message})`);
  }
  return {doc, bundle};
}

function describeHint(hint: string): string {
  return hintToFingerprint(hint) ?? `hint ${preview(hint, 48)}`;
}

function translate(err: unknown, key: TrustedKey | undefined): OrxError {
  if (err instanceof OrxError) return err;
  if (err instanceof VerificationError || err instanceof PolicyError) {
    const by = key ? ` with key ${key.fingerprint}` : '';
    switch (err.code) {
      case 'SIGNATURE_ERROR':
        return invalid(`the signature does not verify${by}: the file or the bundle was changed after signing, or another key signed it`, {
          reason: err.code,
        });
      case 'PUBLIC_KEY_ERROR':
        return invalid(`the signing key is not trusted: ${err.message}`, {reason: err.code});
      case 'TIMESTAMP_ERROR':
        return invalid(`a timestamp in the bundle does not verify: ${err.message}`, {reason: err.code});
      case 'TLOG_ERROR':
      case 'TLOG_BODY_ERROR':
      case 'TLOG_INCLUSION_PROOF_ERROR':
      case 'TLOG_INCLUSION_PROMISE_ERROR':
      case 'TLOG_MISSING_INCLUSION_ERROR':
        return invalid(`the transparency-log entry does not verify: ${err.message}`, {reason: err.code});
      default:
        return invalid(`the bundle does not verify: ${err.message}`, {reason: err.code});
    }
  }
  return invalid(`the bundle does not verify (${err instanceof Error ? err.message : String(err)})`);
}

/**
 * The shared path: shape, media type, content kind, our own digest comparison, the key
 * named by the hint, then @sigstore/verify with the given trust material and thresholds.
 */
function verifyWith(
  data: Buffer,
  bundleInput: unknown,
  keys: TrustedKey[],
  root: Omit<TrustMaterial, 'publicKey'>,
  opts: Required<VerifyOptions>,
): {fingerprint: string} {
  const {bundle} = readBundle(bundleInput);
  if (keys.length === 0)
    throw invalid('no trusted public key was given to verify the bundle with', {}, [
      "Pass the signer's public key (PEM), e.g. `--key signing.pub`.",
    ]);
  if (bundle.content.$case !== 'messageSignature') {
    throw invalid(
      'the bundle holds a DSSE envelope (an attestation), not a signature over the file: verify-blob checks message signatures',
    );
  }
  const vm = bundle.verificationMaterial.content;
  if (vm.$case !== 'publicKey') {
    throw invalid('the bundle is signed with a certificate (keyless signing): orx verifies bundles signed with a public key', {
      material: vm.$case,
    });
  }

  // the library compares the artifact with the signed digest only through a tlog entry: do it here
  const md = bundle.content.messageSignature.messageDigest;
  const algName = HASHES.get(md.algorithm);
  if (!algName) throw invalid("the bundle's message digest uses an unsupported hash algorithm");
  const actual = createHash(algName).update(data).digest();
  if (md.digest.length !== actual.length || !timingSafeEqual(md.digest, actual)) {
    throw invalid(
      `the file does not match the bundle: its ${algName} is ${actual.toString('hex')}, the bundle signed ${md.digest.toString('hex')} (the file was changed, or this is the bundle of another file)`,
      {expected: md.digest.toString('hex'), actual: actual.toString('hex')},
    );
  }

  const hint = vm.publicKey.hint;
  const candidates = hint === '' ? keys : keys.filter((k) => k.hint === hint);
  if (candidates.length === 0) {
    throw invalid(
      `the bundle was signed by key ${describeHint(hint)}, which is not a trusted key here (trusted: ${keys.map((k) => k.fingerprint).join(', ')})`,
      {hint, trusted: keys.map((k) => k.fingerprint)},
      ["Verify with the signer's public key, or add it with --trusted-key/--key."],
    );
  }

  const tlogCount = bundle.verificationMaterial.tlogEntries.length;
  const tsaCount = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  if (tlogCount > 0 && root.tlogs.length === 0) {
    throw invalid(
      `the bundle carries ${tlogCount} transparency-log ${tlogCount === 1 ? 'entry' : 'entries'}, which cannot be checked without a Sigstore trusted root that lists the log`,
      {reason: 'TLOG_ERROR'},
    );
  }
  if (tsaCount > 0 && root.timestampAuthorities.length === 0) {
    throw invalid(
      `the bundle carries ${tsaCount} RFC 3161 ${tsaCount === 1 ? 'timestamp' : 'timestamps'}, which cannot be checked without a Sigstore trusted root that lists the timestamp authority`,
      {reason: 'TIMESTAMP_ERROR'},
    );
  }

  let last: OrxError | undefined;
  for (const key of candidates) {
    const finder: KeyFinderFunc = () => ({publicKey: createPublicKey(key.publicKeyPem), validFor: () => true});
    try {
      const entity = toSignedEntity(bundle, data);
      new Verifier(
        {...root, publicKey: finder},
        {tlogThreshold: opts.tlogThreshold, ctlogThreshold: 0, timestampThreshold: opts.timestampThreshold},
      ).verify(entity);
      return {fingerprint: key.fingerprint};
    } catch (err) {
      last = translate(err, key);
    }
  }
  throw last!;
}

const EMPTY_ROOT: Omit<TrustMaterial, 'publicKey'> = {certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: []};

/**
 * Verifies a bundle made by signBlob (or by cosign with a key): the signature over `data`
 * with one of `keys` (chosen by the bundle's key hint), no tlog entry or timestamp required,
 * and the file's digest compared with the signed one. Any failure is an OrxError
 * `signature_invalid` (exit 5) saying why.
 */
export async function verifyBlob(data: Buffer, bundle: unknown, keys: TrustedKey[]): Promise<{fingerprint: string}> {
  return verifyWith(data, bundle, keys, EMPTY_ROOT, {tlogThreshold: 0, timestampThreshold: 0});
}

/**
 * Verifies a key-signed bundle that carries transparency-log entries and timestamps against
 * a Sigstore trusted root (trusted_root.json: Rekor logs, timestamp authorities), like
 * `cosign verify-blob --key K --trusted-root R`. By default one tlog entry and one timestamp
 * are required; every entry and timestamp present must verify.
 */
export async function verifyBlobWithTrustedRoot(
  data: Buffer,
  bundle: unknown,
  keyPem: string | TrustedKey[],
  trustedRootJson: unknown,
  opts: VerifyOptions = {},
): Promise<{fingerprint: string}> {
  let rootDoc = trustedRootJson;
  if (Buffer.isBuffer(rootDoc)) rootDoc = rootDoc.toString('utf8');
  if (typeof rootDoc === 'string') {
    try {
      rootDoc = JSON.parse(rootDoc);
    } catch (err) {
      throw invalid(`the trusted root is not valid JSON (${(err as Error).message})`);
    }
  }
  if (rootDoc === null || typeof rootDoc !== 'object' || Array.isArray(rootDoc)) throw invalid('the trusted root must be a JSON object');
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(rootDoc));
  } catch (err) {
    throw invalid(`the trusted root cannot be used (${(err as Error).message})`);
  }
  const {publicKey: _unused, ...root} = material;
  const keys = typeof keyPem === 'string' ? [trustedKey(keyPem)] : keyPem;
  return verifyWith(data, bundle, keys, root, {tlogThreshold: opts.tlogThreshold ?? 1, timestampThreshold: opts.timestampThreshold ?? 1});
}
