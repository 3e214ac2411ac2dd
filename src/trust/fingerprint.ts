import {createHash, createPublicKey, type KeyObject} from 'node:crypto';

/** The DER bytes of a public key's SubjectPublicKeyInfo (what cosign and Sigstore hash). */
export function spkiDer(publicKey: KeyObject | string): Buffer {
  const key =
    typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  return key.export({type: 'spki', format: 'der'});
}

/** `sha256:<hex>` of the SPKI DER: how orx names a key to people. */
export function keyFingerprint(publicKey: KeyObject | string): string {
  return `sha256:${createHash('sha256').update(spkiDer(publicKey)).digest('hex')}`;
}

/**
 * base64 of the sha256 of the SPKI DER: the `verificationMaterial.publicKey.hint` of a
 * Sigstore bundle, as cosign computes it.
 */
export function keyHint(publicKey: KeyObject | string): string {
  return createHash('sha256').update(spkiDer(publicKey)).digest('base64');
}

/** The fingerprint a hint stands for (`sha256:<hex>`), or null when the hint is not a sha256. */
export function hintToFingerprint(hint: string): string | null {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(hint)) return null;
  const raw = Buffer.from(hint, 'base64');
  return raw.length === 32 && raw.toString('base64') === hint ? `sha256:${raw.toString('hex')}` : null;
}
