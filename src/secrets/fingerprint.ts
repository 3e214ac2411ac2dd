// What the ledger keeps of a secret: HMAC-SHA256 under a key derived from the workspace
// signing key. Equal values give equal fingerprints (so rotation shows in a plan), but
// without the workspace key a fingerprint cannot be checked against guesses.
import {createHash, createHmac} from 'node:crypto';
import type {WorkspaceKey} from '../trust/keys.js';

export type SecretFingerprinter = (value: string) => string;

export function secretFingerprinter(key: WorkspaceKey): SecretFingerprinter {
  // a derived key: the signing key itself is never used for anything but signing
  const hmacKey = createHash('sha256').update('orchestrix secret fingerprint v1\0').update(key.privateKeyPem).digest();
  return (value) => `hmac-sha256:${createHmac('sha256', hmacKey).update(value, 'utf8').digest('hex')}`;
}
