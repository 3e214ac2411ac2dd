// What the workspace key signs from the command line: `orx image sign`, `orx sign-blob`, `orx verify-blob`.
import type {OrxContext} from '../engine/context.js';
import {signBlobFile, verifyBlobFile, type SignBlobFileResult, type VerifyBlobFileResult} from '../trust/blob-files.js';
import {signImage} from '../trust/cosign.js';
import {loadWorkspaceKey} from '../trust/keys.js';

export type {SignBlobFileResult, VerifyBlobFileResult};

/** `orx image sign`: the signature written beside the image in its registry. */
export interface ImageSigned {
  image: string;
  /** the manifest digest signed */
  digest: string;
  /** where the signature was written (REPOSITORY:sha256-<digest>.sig) */
  signature: string;
  key: {fingerprint: string};
  /** signatures by other keys already there, kept */
  kept_signatures: number;
}

export async function signImageRef(ctx: OrxContext, ref: string, keyFile?: string): Promise<ImageSigned> {
  const key = loadWorkspaceKey(ctx.dir, {keyFile});
  const out = await signImage(ref, key.privateKeyPem);
  return {image: ref, digest: out.digest, signature: out.signatureRef, key: {fingerprint: key.fingerprint}, kept_signatures: out.kept};
}

export const signFile = (ctx: OrxContext, o: {file: string; bundle: string; keyFile?: string}): Promise<SignBlobFileResult> =>
  signBlobFile({dir: ctx.dir, ...o});

export const verifyFile = (
  ctx: OrxContext,
  o: {file: string; bundle: string; keys?: string[]; trustedRoot?: string},
): Promise<VerifyBlobFileResult> => verifyBlobFile({dir: ctx.dir, ...o});
