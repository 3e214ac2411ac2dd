// Signing a message into a Sigstore bundle with a local key, without @sigstore/sign: with no
// witnesses (no Fulcio, Rekor or timestamp authority) its bundle builder signs the bytes and
// hands digest, signature and key hint to @sigstore/bundle, which is what this does directly.
// Importing @sigstore/sign costs ~140 ms; @sigstore/bundle ~20 ms. Every apply ends with a
// signed checkpoint, so that difference is paid on every run.
import {createHash, createPublicKey, sign, verify} from 'node:crypto';
import {bundleToJSON, toMessageSignatureBundle} from '@sigstore/bundle';
import {keyHint} from './fingerprint.js';
import {privateKeyObject, type WorkspaceKey} from './keys.js';

/** The v0.3 bundle JSON (`application/vnd.dev.sigstore.bundle.v0.3+json`). */
export type SerializedBundle = Record<string, unknown>;

/**
 * A message signature over `data`: ECDSA P-256 with SHA-256, DER-encoded (what cosign makes
 * and verifies), in a v0.3 bundle naming the public key by its hint, no tlog entries and no
 * timestamps. The signature is checked before it is returned.
 */
export function signMessage(data: Buffer, key: WorkspaceKey): SerializedBundle {
  const privateKey = privateKeyObject(key);
  const publicKey = createPublicKey(privateKey);
  const signature = sign('sha256', data, {key: privateKey, dsaEncoding: 'der'});
  if (!verify('sha256', data, {key: publicKey, dsaEncoding: 'der'}, signature))
    throw new Error('signMessage: the signature just made does not verify');
  const bundle = toMessageSignatureBundle({
    digest: createHash('sha256').update(data).digest(),
    signature,
    keyHint: keyHint(publicKey),
    certificateChain: false,
  });
  const json = bundleToJSON(bundle) as unknown as SerializedBundle;
  // no witnesses, so no timestamps: leave out the empty object rather than ship `{}`
  const vm = json.verificationMaterial as Record<string, unknown>;
  if (vm.timestampVerificationData && Object.keys(vm.timestampVerificationData).length === 0) delete vm.timestampVerificationData;
  return json;
}
