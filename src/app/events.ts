// `orx events [--run ID] [--follow]`: the ledger's events, and new ones as they are appended.
import type {OrxContext} from '../engine/context.js';
import {withLedger} from '../ledger/session.js';
import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import type {EventRecord} from '../ledger/types.js';

export type {EventRecord};

function runIdOf(ledger: Ledger, run?: string): string | undefined {
  if (!run) return undefined;
  const id = ledger.getRun(run)?.id;
  if (!id) throw new OrxError({code: 'not_found', message: `no run ${run}`, actions: ['See `orx runs`.']});
  return id;
}

export function listEvents(ctx: OrxContext, o: {run?: string; limit?: number}): Promise<EventRecord[]> {
  return withLedger(ctx.dir, (ledger) => ledger.listEvents({run_id: runIdOf(ledger, o.run), limit: o.limit}));
}

/** Every event (of a run), then each new one as it is appended, until `stop` is aborted. */
export function followEvents(ctx: OrxContext, o: {run?: string}, emit: (e: EventRecord) => void, stop: AbortSignal): Promise<void> {
  return withLedger(ctx.dir, async (ledger) => {
    const runId = runIdOf(ledger, o.run);
    let last = 0;
    const drain = (): void => {
      for (const e of ledger.listEvents({run_id: runId, after_seq: last})) {
        emit(e);
        last = e.seq;
      }
    };
    drain();
    await new Promise<void>((resolve) => {
      const timer = setInterval(drain, 300);
      const done = (): void => {
        clearInterval(timer);
        resolve();
      };
      if (stop.aborted) done();
      else stop.addEventListener('abort', done, {once: true});
    });
  });
}
