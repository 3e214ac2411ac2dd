// `orx audit head|verify` and `orx history [diff]`: read-only looks at the tamper-evident ledger.
import path from 'node:path';
import {chainHead, signedHead, verifyLedger, type LedgerVerification} from '../audit/chain.js';
import {withReadLedger} from '../ledger/session.js';
import type {ChainHead} from '../ledger/events.js';
import {historyDiff, historyList, type HistoryDiff, type HistoryList} from '../audit/history.js';
import type {OrxContext} from '../engine/context.js';
import type {SignedHead} from '../ledger/checkpoints.js';

export type {ChainHead, HistoryDiff, HistoryList, LedgerVerification, SignedHead};

export const readChainHead = (ctx: OrxContext): Promise<ChainHead & {lineage: string}> =>
  withReadLedger(ctx.dir, (ledger) => chainHead(ledger));

export const readSignedHead = (ctx: OrxContext): Promise<SignedHead> => withReadLedger(ctx.dir, (ledger) => signedHead(ledger));

export function verifyAuditTrail(ctx: OrxContext, o: {head?: string; trustedKeys: string[]}): Promise<LedgerVerification> {
  const headFile = o.head ? {path: path.resolve(ctx.dir, o.head), label: o.head} : undefined;
  return withReadLedger(ctx.dir, (ledger) => verifyLedger(ledger, ctx.dir, {headFile, trustedKeyFiles: o.trustedKeys}));
}

export const listHistory = (ctx: OrxContext, limit: number): Promise<HistoryList> =>
  withReadLedger(ctx.dir, (ledger) => historyList(ledger, {limit}));

export const diffHistory = (ctx: OrxContext, from: string, to: string): Promise<HistoryDiff> =>
  withReadLedger(ctx.dir, (ledger) => historyDiff(ledger, from, to));
