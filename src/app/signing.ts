// What the workspace key signs from the command line: `orx image sign`, `orx sign-blob`, `orx verify-blob`.
import type {OrxContext} from '../engine/context.js';
import {signBlobFile, verifyBlobFile} from '../trust/blob-files.js';
import {signImage} from '../trust/cosign.js';
import {loadWorkspaceKey} from '../trust/keys.js';

export async function signImageRef(ctx: OrxContext, ref: string, keyFile?: string) {
  const key = loadWorkspaceKey(ctx.dir, {keyFile});
  const out = await signImage(ref, key.privateKeyPem);
  return {image: ref, digest: out.digest, signature: out.signatureRef, key: {fingerprint: key.fingerprint}, kept_signatures: out.kept};
}

export const signFile = (ctx: OrxContext, o: {file: string; bundle: string; keyFile?: string}) => signBlobFile({dir: ctx.dir, ...o});

export const verifyFile = (ctx: OrxContext, o: {file: string; bundle: string; keys?: string[]; trustedRoot?: string}) =>
  verifyBlobFile({dir: ctx.dir, ...o});
