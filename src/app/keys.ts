// The workspace signing key: `orx keys init|show`.
import path from 'node:path';
import type {OrxContext} from '../engine/context.js';
import {initWorkspaceKey, keyPaths, loadWorkspaceKey, trustedKeyOf} from '../trust/keys.js';

/** `orx keys init`: the key made, where its halves are. */
export interface KeyCreated {
  fingerprint: string;
  publicKeyPath: string;
  privateKeyPath: string;
  /** PEM */
  publicKey: string;
}

/** `orx keys show`: the public half of the key in use. */
export interface KeyShown {
  fingerprint: string;
  /** the Sigstore key hint bundles name it by */
  hint: string;
  /** PEM */
  publicKey: string;
  keyFile: string;
}

export function createKey(ctx: OrxContext, force: boolean): KeyCreated {
  const key = initWorkspaceKey(ctx.dir, {force});
  const p = keyPaths(ctx.dir);
  return {fingerprint: key.fingerprint, publicKeyPath: p.publicKey, privateKeyPath: p.privateKey, publicKey: key.publicKeyPem};
}

export function showKey(ctx: OrxContext, keyFile?: string): KeyShown {
  const key = loadWorkspaceKey(ctx.dir, {keyFile});
  return {
    fingerprint: key.fingerprint,
    hint: trustedKeyOf(key).hint,
    publicKey: key.publicKeyPem,
    keyFile: keyFile ?? keyPaths(ctx.dir).privateKey,
  };
}

/** Relative to the workspace when inside it, for messages. */
export const inWorkspace = (ctx: OrxContext, f: string): string => path.relative(ctx.dir, f) || f;
