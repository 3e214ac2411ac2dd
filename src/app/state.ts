// `orx state list|show` and `orx show`: the recorded state, read from the ledger.
import path from 'node:path';
import type {OrxContext} from '../engine/context.js';
import {readPlanFile, type PlanDocument} from '../engine/planfile.js';
import {withLedger} from '../ledger/session.js';
import {OrxError} from '../errors.js';
import type {ResourceRecord} from '../ledger/types.js';

export function listState(ctx: OrxContext): Promise<ResourceRecord[]> {
  return withLedger(ctx.dir, (ledger) => ledger.listResources());
}

export function showResource(ctx: OrxContext, address: string): Promise<ResourceRecord> {
  return withLedger(ctx.dir, (ledger) => {
    const r = ledger.getResource(address);
    if (!r) throw new OrxError({code: 'not_found', message: `${address} is not in the state`, actions: ['See `orx state list`.']});
    return r;
  });
}

export interface StateSnapshot {
  resources: ResourceRecord[];
  meta: {lineage: string; serial: number};
}

export function readState(ctx: OrxContext): Promise<StateSnapshot> {
  return withLedger(ctx.dir, (ledger) => ({resources: ledger.listResources(), meta: ledger.meta()}));
}

/** A saved plan as it is on disk (`orx show FILE`): read, not verified, never applied. */
export function readSavedPlan(ctx: OrxContext, file: string): PlanDocument {
  return readPlanFile(path.resolve(ctx.dir, file));
}
