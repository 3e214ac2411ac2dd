// The workspace signing key and what it signs from the command line: `orx keys init|show`,
// `orx image sign`, `orx sign-blob` and `orx verify-blob`.
import path from 'node:path';
import type {OrxContext} from '../engine/context.js';
import {signBlobFile, verifyBlobFile} from '../trust/blob-files.js';
import {signImage} from '../trust/cosign.js';
import {initWorkspaceKey, keyPaths, loadWorkspaceKey, trustedKeyOf} from '../trust/keys.js';

export function createKey(ctx: OrxContext, force: boolean) {
  const key = initWorkspaceKey(ctx.dir, {force});
  const p = keyPaths(ctx.dir);
  return {fingerprint: key.fingerprint, publicKeyPath: p.publicKey, privateKeyPath: p.privateKey, publicKey: key.publicKeyPem};
}

export function showKey(ctx: OrxContext, keyFile?: string) {
  const key = loadWorkspaceKey(ctx.dir, {keyFile});
  return {
    fingerprint: key.fingerprint,
    hint: trustedKeyOf(key).hint,
    publicKey: key.publicKeyPem,
    keyFile: keyFile ?? keyPaths(ctx.dir).privateKey,
  };
}

export async function signImageRef(ctx: OrxContext, ref: string, keyFile?: string) {
  const key = loadWorkspaceKey(ctx.dir, {keyFile});
  const out = await signImage(ref, key.privateKeyPem);
  return {image: ref, digest: out.digest, signature: out.signatureRef, key: {fingerprint: key.fingerprint}, kept_signatures: out.kept};
}

export const signFile = (ctx: OrxContext, o: {file: string; bundle: string; keyFile?: string}) => signBlobFile({dir: ctx.dir, ...o});

export const verifyFile = (ctx: OrxContext, o: {file: string; bundle: string; keys?: string[]; trustedRoot?: string}) =>
  verifyBlobFile({dir: ctx.dir, ...o});

/** Relative to the workspace when inside it, for messages. */
export const inWorkspace = (ctx: OrxContext, f: string): string => path.relative(ctx.dir, f) || f;
