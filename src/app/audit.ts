// `orx audit head|verify` and `orx history [diff]`: read-only looks at the tamper-evident ledger.
import path from 'node:path';
import {chainHead, signedHead, verifyLedger} from '../audit/chain.js';
import {withReadLedger} from '../ledger/session.js';
import {historyDiff, historyList} from '../audit/history.js';
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
