// Saved plans travel (CI artefacts, reviews): each carries a Sigstore bundle over its
// canonical bytes, and apply checks it before it looks at anything else in the file.
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {canonicalJson} from '../util/canonical-json.js';
import type {PlanDocument} from './planfile.js';
import {signBlob, verifyBlob} from '../trust/blob.js';
import {type TrustedKey, type WorkspaceKey} from '../trust/keys.js';

/** Exactly what is signed: the plan without its signature, as canonical JSON. */
export function planSigningBytes(doc: PlanDocument): Buffer {
  const {signature: _sig, ...rest} = doc;
  return Buffer.from(canonicalJson(rest));
}

export async function signPlan(doc: PlanDocument, key: WorkspaceKey): Promise<PlanDocument> {
  return {...doc, signature: await signBlob(planSigningBytes(doc), key)};
}

export async function verifyPlan(doc: PlanDocument, trusted: TrustedKey[]): Promise<{fingerprint: string}> {
  if (!doc.signature) {
    throw new OrxError({
      code: 'plan_unsigned',
      exit: EXIT.STALE,
      message: `plan ${doc.plan_id} is not signed`,
      actions: ['Make it with `orx plan -out FILE`, which signs it with the workspace key.'],
    });
  }
  if (trusted.length === 0) {
    throw new OrxError({
      code: 'no_trusted_key',
      exit: EXIT.STALE,
      message: `no key to check plan ${doc.plan_id}'s signature with: this workspace has no signing key`,
      actions: ["Pass the planning machine's public key with --trusted-key PEM (see `orx keys show` there)."],
    });
  }
  try {
    return await verifyBlob(planSigningBytes(doc), doc.signature, trusted);
  } catch (err) {
    if (err instanceof OrxError) {
      throw new OrxError({
        code: 'plan_signature_invalid',
        exit: EXIT.STALE,
        message: `plan ${doc.plan_id}: signature check failed: ${err.message}`,
        actions: ['Do not apply it: make and review a new plan.', ...err.actions],
      });
    }
    throw err;
  }
}
