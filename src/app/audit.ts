// `orx audit head|verify` and `orx history [diff]`: read-only looks at the tamper-evident ledger.
import path from 'node:path';
import {chainHead, signedHead, verifyLedger, withReadLedger} from '../audit/chain.js';
import {buildAuditBundle, exportSummary, writeAuditBundle} from '../audit/export.js';
import {historyDiff, historyList} from '../audit/history.js';
import {readAuditBundle, verifyAuditBundle} from '../audit/verify-bundle.js';
import {loadWorkspaceKey, readTrustedKeyFile} from '../trust/keys.js';
import type {OrxContext} from '../engine/context.js';

export const readChainHead = (ctx: OrxContext) => withReadLedger(ctx.dir, (ledger) => chainHead(ledger));

export const readSignedHead = (ctx: OrxContext) => withReadLedger(ctx.dir, (ledger) => signedHead(ledger));

export function verifyAuditTrail(ctx: OrxContext, o: {head?: string; trustedKeys: string[]}) {
  const headFile = o.head ? {path: path.resolve(ctx.dir, o.head), label: o.head} : undefined;
  return withReadLedger(ctx.dir, (ledger) => verifyLedger(ledger, ctx.dir, {headFile, trustedKeyFiles: o.trustedKeys}));
}

export const listHistory = (ctx: OrxContext, limit: number) => withReadLedger(ctx.dir, (ledger) => historyList(ledger, {limit}));

export const diffHistory = (ctx: OrxContext, from: string, to: string) =>
  withReadLedger(ctx.dir, (ledger) => historyDiff(ledger, from, to));

/** `orx audit export`: a signed bundle of the ledger's events (a range of them), written to a file. */
export async function exportAudit(ctx: OrxContext, o: {output: string; keyFile?: string; since?: string; until?: string; run?: string}) {
  const key = loadWorkspaceKey(ctx.dir, o.keyFile ? {keyFile: path.resolve(ctx.dir, o.keyFile)} : {});
  const file = path.resolve(ctx.dir, o.output);
  const bundle = await withReadLedger(ctx.dir, (ledger) => buildAuditBundle(ledger, {since: o.since, until: o.until, run: o.run}, key));
  writeAuditBundle(file, bundle);
  return {summary: exportSummary(o.output, bundle), file};
}

/** `orx audit verify-bundle FILE`: needs no ledger, only the bundle (and a pinned key, if given). */
export function verifyAuditBundleFile(ctx: OrxContext, o: {file: string; key?: string}) {
  const doc = readAuditBundle(path.resolve(ctx.dir, o.file));
  const key = o.key ? readTrustedKeyFile(path.resolve(ctx.dir, o.key)) : undefined;
  return verifyAuditBundle(doc, {key});
}
