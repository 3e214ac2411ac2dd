// `orx audit export` and `orx audit verify-bundle`: signed bundles of the ledger's events.
import path from 'node:path';
import {withReadLedger} from '../ledger/session.js';
import {buildAuditBundle, exportSummary, writeAuditBundle, type ExportSummary} from '../audit/export.js';
import {readAuditBundle, verifyAuditBundle, type BundleVerification} from '../audit/verify-bundle.js';
import type {OrxContext} from '../engine/context.js';
import {loadWorkspaceKey, readTrustedKeyFile} from '../trust/keys.js';

export type {BundleVerification, ExportSummary};

/** `orx audit export`: a signed bundle of the ledger's events (a range of them), written to a file. */
export async function exportAudit(
  ctx: OrxContext,
  o: {output: string; keyFile?: string; since?: string; until?: string; run?: string},
): Promise<{summary: ExportSummary; file: string}> {
  const key = loadWorkspaceKey(ctx.dir, o.keyFile ? {keyFile: path.resolve(ctx.dir, o.keyFile)} : {});
  const file = path.resolve(ctx.dir, o.output);
  const bundle = await withReadLedger(ctx.dir, (ledger) => buildAuditBundle(ledger, {since: o.since, until: o.until, run: o.run}, key));
  writeAuditBundle(file, bundle);
  return {summary: exportSummary(o.output, bundle), file};
}

/** `orx audit verify-bundle FILE`: needs no ledger, only the bundle (and a pinned key, if given). */
export function verifyAuditBundleFile(ctx: OrxContext, o: {file: string; key?: string}): Promise<BundleVerification> {
  const doc = readAuditBundle(path.resolve(ctx.dir, o.file));
  const key = o.key ? readTrustedKeyFile(path.resolve(ctx.dir, o.key)) : undefined;
  return verifyAuditBundle(doc, {key});
}
