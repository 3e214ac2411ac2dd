// `orx audit verify` and `orx audit head`: the hash chain of the ledger's events.
import fs from 'node:fs';
import path from 'node:path';
import {OrxError} from '../errors.js';
import {Ledger} from '../ledger/ledger.js';
import {c} from '../ui/color.js';

export interface ChainHead {
  seq: number;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  /** events whose hash and link were checked and found intact */
  count: number;
  /** the newest stored event (what signed artefacts pin the history to) */
  head: ChainHead;
  /** the first broken link: the seq where the chain stops being trustworthy, and why */
  break: {seq: number; reason: string} | null;
}

/**
 * Opens the ledger for reading only: no lock, no write transaction, so it works while an
 * apply is writing (WAL readers see the last commit). A ledger from before the newest
 * migration is upgraded once through a normal handle, as any other command would.
 */
export async function withReadLedger<T>(dir: string, fn: (ledger: Ledger) => Promise<T> | T): Promise<T> {
  if (!Ledger.exists(dir)) {
    const isWorkspace = fs.existsSync(path.join(dir, 'orchestration.yml'));
    throw new OrxError({
      code: isWorkspace ? 'not_found' : 'not_a_workspace',
      message: isWorkspace
        ? `No ledger at ${Ledger.fileFor(dir)}: nothing has been recorded in this workspace yet.`
        : `${dir} is not an orx workspace (no orchestration.yml, no .orx/ledger.db)`,
      actions: isWorkspace ? ['Run `orx apply` (or `orx init`) first.'] : ['Run orx in a workspace directory, pass -C DIR, or create one with `orx init`.'],
    });
  }
  let ledger: Ledger;
  try {
    ledger = Ledger.open(dir, {readonly: true});
  } catch (err) {
    if (!(err instanceof OrxError && err.code === 'ledger_outdated')) throw err;
    Ledger.open(dir).close(); // runs the migrations, then read-only as intended
    ledger = Ledger.open(dir, {readonly: true});
  }
  try {
    return await fn(ledger);
  } finally {
    ledger.close();
  }
}

/** Runs fn in one read transaction: every query sees the same commit, writers are not blocked. */
export function readSnapshot<T>(ledger: Ledger, fn: () => T): T {
  return ledger.sqlite.transaction(fn).deferred();
}

/**
 * Recomputes every event hash and link from the genesis hash. Beyond Ledger.verifyChain it
 * also notices rows deleted from the end of the chain: the events table is AUTOINCREMENT,
 * so SQLite remembers the highest seq it ever held.
 */
export function verifyAudit(ledger: Ledger): AuditVerification {
  return readSnapshot(ledger, () => {
    const head = ledger.chainHead();
    const v = ledger.verifyChain();
    if (!v.ok) {
      const before = (ledger.sqlite.prepare('SELECT count(*) AS n FROM events WHERE seq < ?').get(v.seq) as {n: number}).n;
      return {ok: false, count: before, head, break: {seq: v.seq, reason: v.reason}};
    }
    const highest = (ledger.sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as {seq: number} | undefined)?.seq ?? 0;
    if (highest > v.count) {
      const first = v.count + 1;
      const what = highest > first ? `events ${first}..${highest} are` : `event ${first} is`;
      return {ok: false, count: v.count, head, break: {seq: first, reason: `${what} missing at the end of the chain (deleted): the ledger once held seq ${highest}`}};
    }
    return {ok: true, count: v.count, head, break: null};
  });
}

export function renderAuditVerification(v: AuditVerification): string {
  if (v.ok) return `${c.green('Chain intact')}: ${v.count} event${v.count === 1 ? '' : 's'} verified from the genesis hash to head seq ${v.head.seq} ${v.head.hash}`;
  return [
    `${c.red('Chain BROKEN')} at seq ${v.break!.seq}: ${v.break!.reason}`,
    `  ${v.count} event${v.count === 1 ? '' : 's'} before it verified; nothing from seq ${v.break!.seq} on can be trusted.`,
    `  stored head: seq ${v.head.seq} ${v.head.hash}`,
  ].join('\n');
}

export function chainHead(ledger: Ledger): ChainHead & {lineage: string} {
  return readSnapshot(ledger, () => ({...ledger.chainHead(), lineage: ledger.meta().lineage}));
}

export function renderChainHead(h: ChainHead): string {
  return h.seq === 0 ? `No events yet: head is the genesis hash ${h.hash}` : `seq ${h.seq} ${h.hash}`;
}
