import {createPrivateKey, createPublicKey, sign, verify, type KeyObject} from 'node:crypto';
import {
  MEDIA_TYPES,
  RegistryError,
  registryClient,
  resolveDigest,
  type Descriptor,
  type RegistryClient,
  type RegistryOptions,
} from '../drivers/registry/client.js';
import {DOCKER_HUB, isDigest, parseReference, type ImageReference} from '../drivers/registry/reference.js';
import {OrxError, preview} from '../errors.js';

/**
 * Container image signatures in cosign's format (sigstore/cosign specs/SIGNATURE_SPEC.md),
 * made and checked with a plain key, no Fulcio or Rekor: for an image whose manifest
 * digest is sha256:H, the tag `sha256-H.sig` in the same repository holds an OCI image
 * manifest whose layers are simple-signing payloads naming that digest, each with the
 * base64 signature over the payload bytes in the `dev.cosignproject.cosign/signature`
 * annotation. This is the tag-based layout `cosign sign --key` writes (the payload and
 * config bytes match a recorded cosign push byte for byte); Rekor, certificates and the
 * newer OCI-referrers bundle format are not used.
 */

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

const MAX_PAYLOAD_BYTES = 1024 * 1024;
const MAX_LAYERS = 64;
/** how many other signature tags verifyImage looks at to explain an unsigned digest */
const MAX_OTHER_SIGNATURES = 16;

export type VerifyResult = {ok: true; digest: string} | {ok: false; digest: string | null; reason: string};

export interface SimpleSigningPayload {
  dockerReference: string | null;
  digest: string;
  type: string;
  optional: Record<string, unknown> | null;
}

/** `sha256:abc…` -> `sha256-abc….sig` */
export function signatureTag(digest: string): string {
  if (!isDigest(digest)) throw new OrxError({code: 'invalid_digest', message: `not a sha256 manifest digest: ${preview(digest)}`});
  return `${digest.replace(':', '-')}.sig`;
}

/** What cosign writes as the identity: the repository without tag or digest (Docker Hub as index.docker.io). */
export function dockerReference(r: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${r.registry === DOCKER_HUB ? 'index.docker.io' : r.registry}/${r.repository}`;
}

/** The simple-signing payload bytes, byte for byte as cosign writes them. */
export function buildPayload(reference: string, digest: string, optional: Record<string, unknown> | null = null): Buffer {
  if (!isDigest(digest)) throw new OrxError({code: 'invalid_digest', message: `not a sha256 manifest digest: ${preview(digest)}`});
  const doc = {
    critical: {identity: {'docker-reference': reference}, image: {'docker-manifest-digest': digest}, type: COSIGN_SIGNATURE_TYPE},
    optional,
  };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

export class PayloadError extends Error {
  override name = 'PayloadError';
}

function field(obj: Record<string, unknown>, name: string): unknown {
  // cosign reads the payload with Go's case-insensitive JSON field matching
  if (name in obj) return obj[name];
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a simple-signing payload; throws PayloadError when it is not a cosign image signature payload. */
export function parsePayload(bytes: Uint8Array): SimpleSigningPayload {
  if (bytes.length > MAX_PAYLOAD_BYTES) throw new PayloadError(`payload is larger than ${MAX_PAYLOAD_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new PayloadError(`payload is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new PayloadError('payload is not a JSON object');
  const critical = field(doc, 'critical');
  if (!isObject(critical)) throw new PayloadError('payload has no "critical" object');
  const type = field(critical, 'type');
  if (type !== COSIGN_SIGNATURE_TYPE)
    throw new PayloadError(`payload type is ${JSON.stringify(preview(type))}, not "${COSIGN_SIGNATURE_TYPE}"`);
  const image = field(critical, 'image');
  if (!isObject(image)) throw new PayloadError('payload has no "critical.image" object');
  const digest = field(image, 'docker-manifest-digest');
  if (typeof digest !== 'string' || !isDigest(digest))
    throw new PayloadError(`payload names no sha256 manifest digest (${JSON.stringify(preview(digest))})`);
  const identity = field(critical, 'identity');
  const ref = isObject(identity) ? field(identity, 'docker-reference') : undefined;
  const optional = field(doc, 'optional');
  return {dockerReference: typeof ref === 'string' ? ref : null, digest, type, optional: isObject(optional) ? optional : null};
}

// --- keys and signatures ------------------------------------------------------------------

function keyError(what: 'private' | 'public', pem: string, err: unknown): OrxError {
  const hints: string[] = [];
  if (pem.includes('ENCRYPTED SIGSTORE PRIVATE KEY') || pem.includes('ENCRYPTED COSIGN PRIVATE KEY')) {
    hints.push(
      'This is a password-encrypted cosign key; orx needs an unencrypted PKCS#8 PEM key (the workspace key in .orx/keys/signing.key is one).',
    );
  } else if (pem.includes('ENCRYPTED PRIVATE KEY')) {
    hints.push('The key is encrypted with a passphrase; orx needs an unencrypted PKCS#8 PEM key.');
  } else {
    hints.push(
      what === 'private'
        ? 'Give a PEM private key (PKCS#8 or SEC1), e.g. the workspace key .orx/keys/signing.key.'
        : 'Give a PEM public key (SPKI, "-----BEGIN PUBLIC KEY-----"), e.g. the output of `orx keys show` or a cosign.pub.',
    );
  }
  return new OrxError({
    code: 'invalid_key',
    message: `cannot read the ${what} key: ${(err as Error)?.message ?? String(err)}`,
    actions: hints,
    cause: err,
  });
}

export function loadPrivateKey(pem: string): KeyObject {
  try {
    return createPrivateKey({key: pem, format: 'pem'});
  } catch (err) {
    throw keyError('private', pem, err);
  }
}

export function loadPublicKey(pem: string): KeyObject {
  try {
    const key = createPublicKey({key: pem, format: 'pem'});
    return key;
  } catch (err) {
    throw keyError('public', pem, err);
  }
}

/** cosign signs the SHA-256 of the payload (ECDSA/RSA); Ed25519 signs the payload itself. */
function hashFor(key: KeyObject): string | null {
  return key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256';
}

/** Base64 of the signature over the payload bytes (ASN.1 DER for ECDSA, as cosign does). */
export function signPayload(payload: Uint8Array, privateKey: string | KeyObject): string {
  const key = typeof privateKey === 'string' ? loadPrivateKey(privateKey) : privateKey;
  return sign(hashFor(key), payload, key).toString('base64');
}

export function verifyPayload(payload: Uint8Array, signatureB64: string, publicKey: string | KeyObject): boolean {
  const key = typeof publicKey === 'string' ? loadPublicKey(publicKey) : publicKey;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64.trim())) return false;
  try {
    return verify(hashFor(key), payload, key, Buffer.from(signatureB64.trim(), 'base64'));
  } catch {
    return false;
  }
}

// --- registry objects -----------------------------------------------------------------------

export interface SignatureLayer {
  payload: Buffer;
  signature: string;
  /** further annotations (certificate, bundle, ...) kept as they are */
  annotations?: Record<string, string>;
}

interface FetchedLayer {
  descriptor: Descriptor;
  payload: Buffer | null;
  signature: string;
}

/** The config blob cosign writes for a signature manifest. */
function signatureConfig(layerDigests: string[]): Buffer {
  const doc = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: [{created: '0001-01-01T00:00:00Z'}],
    os: '',
    rootfs: {type: 'layers', diff_ids: layerDigests},
    config: {},
  };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/**
 * Writes the signature manifest for `digest` (tag sha256-<hex>.sig) with exactly these
 * layers: payload blobs, the config blob, then the OCI manifest. Returns the manifest digest.
 */
export async function pushSignatureManifest(
  target: Pick<ImageReference, 'registry' | 'repository'>,
  digest: string,
  layers: Array<SignatureLayer | {descriptor: Descriptor}>,
  opts: RegistryOptions = {},
): Promise<string> {
  const client = registryClient(target.registry, opts);
  const descriptors: Descriptor[] = [];
  for (const layer of layers) {
    if ('descriptor' in layer) {
      descriptors.push(layer.descriptor);
      continue;
    }
    const blob = await client.pushBlob(target.repository, layer.payload);
    descriptors.push({
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      size: blob.size,
      digest: blob.digest,
      annotations: {...layer.annotations, [SIGNATURE_ANNOTATION]: layer.signature},
    });
  }
  const config = signatureConfig(descriptors.map((d) => d.digest));
  const cfg = await client.pushBlob(target.repository, config);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: {mediaType: MEDIA_TYPES.ociConfig, size: cfg.size, digest: cfg.digest},
    layers: descriptors,
  };
  return client.putManifest(
    target.repository,
    signatureTag(digest),
    Buffer.from(JSON.stringify(manifest), 'utf8'),
    MEDIA_TYPES.ociManifest,
  );
}

/** The signature layers stored for `digest`: null when there is no signature manifest at all. */
async function fetchSignatureLayers(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<{layers: FetchedLayer[]; other: Descriptor[]} | null> {
  const got = await client.getManifest(repository, signatureTag(digest));
  if (!got) return null;
  const all = Array.isArray(got.manifest.layers) ? got.manifest.layers : [];
  const layers: FetchedLayer[] = [];
  const other: Descriptor[] = [];
  for (const d of all.slice(0, MAX_LAYERS)) {
    const sig = isObjectDescriptor(d) ? d.annotations?.[SIGNATURE_ANNOTATION] : undefined;
    if (!isObjectDescriptor(d) || typeof sig !== 'string' || !isDigest(d.digest)) {
      if (isObjectDescriptor(d)) other.push(d);
      continue;
    }
    let payload: Buffer | null = null;
    if (typeof d.size !== 'number' || d.size <= MAX_PAYLOAD_BYTES) {
      try {
        payload = await client.getBlob(repository, d.digest, MAX_PAYLOAD_BYTES);
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'registry_unreachable') throw err;
        payload = null;
      }
    }
    layers.push({descriptor: d, payload, signature: sig});
  }
  return {layers, other};
}

function isObjectDescriptor(d: unknown): d is Descriptor {
  return isObject(d) && typeof d.digest === 'string';
}

function registryReason(err: unknown): string {
  if (err instanceof RegistryError) return err.reason;
  throw err;
}

// --- sign and verify ----------------------------------------------------------------------------

export interface SignResult {
  digest: string;
  /** the tag written, sha256-<hex>.sig */
  signatureTag: string;
  /** registry/repository:sha256-<hex>.sig */
  signatureRef: string;
  /** signatures by other keys kept in the manifest */
  kept: number;
}

/**
 * Signs what `ref` points at now: resolves it to its manifest digest, signs the
 * simple-signing payload for that digest and stores it at <repo>:sha256-<hex>.sig.
 * Signatures by other keys already there are kept; an older one by this key is replaced.
 */
export async function signImage(ref: string, privateKeyPem: string, opts: RegistryOptions = {}): Promise<SignResult> {
  const r = parseReference(ref);
  const key = loadPrivateKey(privateKeyPem);
  const publicKey = createPublicKey(key);
  const digest = await resolveDigest(ref, opts);
  const client = registryClient(r.registry, opts);
  const payload = buildPayload(dockerReference(r), digest);
  const signature = signPayload(payload, key);

  const existing = await fetchSignatureLayers(client, r.repository, digest);
  const keep: Array<{descriptor: Descriptor}> = [];
  for (const l of existing?.layers ?? []) {
    const mine = l.payload !== null && verifyPayload(l.payload, l.signature, publicKey);
    if (!mine) keep.push({descriptor: l.descriptor});
  }
  for (const d of existing?.other ?? []) keep.push({descriptor: d});

  await pushSignatureManifest(r, digest, [...keep, {payload, signature}], opts);
  const tag = signatureTag(digest);
  return {digest, signatureTag: tag, signatureRef: `${r.registry}/${r.repository}:${tag}`, kept: keep.length};
}

interface LayerVerdict {
  verified: boolean;
  payloadDigest: string | null;
  payloadError: string | null;
}

function judge(layer: FetchedLayer, key: KeyObject): LayerVerdict {
  if (!layer.payload) return {verified: false, payloadDigest: null, payloadError: 'payload blob missing or unreadable'};
  const verified = verifyPayload(layer.payload, layer.signature, key);
  try {
    return {verified, payloadDigest: parsePayload(layer.payload).digest, payloadError: null};
  } catch (err) {
    return {verified, payloadDigest: null, payloadError: (err as Error).message};
  }
}

/**
 * Checks that what `ref` points at now carries a cosign signature by `publicKeyPem`
 * for exactly that digest. A failure is a result with a reason, never a throw; only a
 * malformed reference or key (configuration errors) throws.
 */
export async function verifyImage(ref: string, publicKeyPem: string, opts: RegistryOptions = {}): Promise<VerifyResult> {
  const r = parseReference(ref);
  const key = loadPublicKey(publicKeyPem);
  let digest: string;
  try {
    digest = await resolveDigest(ref, opts);
  } catch (err) {
    return {ok: false, digest: null, reason: registryReason(err)};
  }
  const client = registryClient(r.registry, opts);
  let found: Awaited<ReturnType<typeof fetchSignatureLayers>>;
  try {
    found = await fetchSignatureLayers(client, r.repository, digest);
  } catch (err) {
    return {ok: false, digest, reason: registryReason(err)};
  }
  if (!found || found.layers.length === 0) {
    const elsewhere = await signedDigestsElsewhere(client, r.repository, digest, key);
    if (elsewhere.length > 0) return {ok: false, digest, reason: mismatchReason(elsewhere, digest)};
    return {ok: false, digest, reason: 'no signature'};
  }
  const verdicts = found.layers.map((l) => judge(l, key));
  if (verdicts.some((v) => v.verified && v.payloadDigest === digest)) return {ok: true, digest};
  const mismatched = [
    ...new Set(verdicts.filter((v) => v.verified && v.payloadDigest && v.payloadDigest !== digest).map((v) => v.payloadDigest!)),
  ];
  if (mismatched.length > 0) return {ok: false, digest, reason: mismatchReason(mismatched, digest)};
  const malformed = verdicts.find((v) => v.verified && v.payloadError);
  if (malformed) return {ok: false, digest, reason: `signature payload is not a cosign image signature: ${malformed.payloadError}`};
  return {ok: false, digest, reason: 'signed by another key'};
}

function mismatchReason(signed: string[], digest: string): string {
  const more = signed.length > 1 ? ` (and ${signed.length - 1} more)` : '';
  return `signature is for digest ${signed[0]}${more}, not ${digest}`;
}

/**
 * When the digest has no signature at all, the usual story is that the tag moved: the
 * repository holds signatures by this key for other digests. Finds a few of those (best
 * effort, bounded) so the denial can say so.
 */
async function signedDigestsElsewhere(client: RegistryClient, repository: string, digest: string, key: KeyObject): Promise<string[]> {
  const out: string[] = [];
  try {
    const tags = (await client.listTags(repository)).filter((t) => /^sha256-[a-f0-9]{64}\.sig$/.test(t) && t !== signatureTag(digest));
    for (const t of tags.slice(0, MAX_OTHER_SIGNATURES)) {
      const other = `sha256:${t.slice('sha256-'.length, -'.sig'.length)}`;
      const found = await fetchSignatureLayers(client, repository, other);
      const ok = (found?.layers ?? []).some((l) => {
        const v = judge(l, key);
        return v.verified && v.payloadDigest === other;
      });
      if (ok) out.push(other);
    }
  } catch {
    // an explanation, not a requirement: without it the reason is "no signature"
  }
  return out;
}
