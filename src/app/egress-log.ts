// `orx egress log [--agent A] [--denied] [--follow]`: every outbound attempt of the workspace's
// agents, from the ledger, after recording what the gateway logged since the last command.
import {connectDocker} from '../drivers/docker.js';
import {recordEgressLog} from '../engine/egress-record.js';
import {loadConfig} from '../config/load.js';
import type {OrxContext} from '../engine/context.js';
import {listEgress, type EgressEventPayload} from '../ledger/egress-log.js';
import type {Ledger} from '../ledger/ledger.js';
import {withLedger} from '../ledger/session.js';
import type {EventRecord} from '../ledger/types.js';
import type {WorkspaceConfig} from '../config/types.js';

export interface EgressAttempt extends EgressEventPayload {
  /** the ledger event that records it */
  seq: number;
}

export interface EgressLogResult {
  attempts: EgressAttempt[];
  /** lines recorded from the gateway by this command */
  ingested: number;
  /** false: the engine did not answer, and only what the ledger held already is shown */
  engine_reached: boolean;
}

export interface EgressLogOptions {
  agent?: string;
  denied?: boolean;
  limit?: number;
}

function attempt(e: EventRecord): EgressAttempt {
  return {seq: e.seq, ...(e.payload!.egress as EgressEventPayload)};
}

function configOrNull(ctx: OrxContext): WorkspaceConfig | null {
  try {
    return loadConfig(ctx.dir, {vars: ctx.vars}).config;
  } catch {
    // the record is read with a broken file too; the checkpoint is signed with the workspace key
    return null;
  }
}

async function ingest(
  ctx: OrxContext,
  ledger: Ledger,
  config: WorkspaceConfig | null,
): Promise<{ingested: number; engine_reached: boolean}> {
  try {
    const r = await recordEgressLog(ctx, ledger, config, await connectDocker());
    return {ingested: r.recorded, engine_reached: true};
  } catch {
    // the record is still worth reading with the engine down: what was ingested before stays
    return {ingested: 0, engine_reached: false};
  }
}

export function egressLog(ctx: OrxContext, o: EgressLogOptions): Promise<EgressLogResult> {
  return withLedger(ctx.dir, async (ledger) => {
    const got = await ingest(ctx, ledger, configOrNull(ctx));
    const attempts = listEgress(ledger, {agent: o.agent, denied: o.denied, limit: o.limit}).map(attempt);
    return {attempts, ...got};
  });
}

/** The recorded attempts, then each new one as the gateway logs it, until `stop` is aborted. */
export function followEgress(ctx: OrxContext, o: EgressLogOptions, emit: (a: EgressAttempt) => void, stop: AbortSignal): Promise<void> {
  return withLedger(ctx.dir, async (ledger) => {
    let last = 0;
    const config = configOrNull(ctx);
    const drain = async (): Promise<void> => {
      await ingest(ctx, ledger, config);
      for (const e of listEgress(ledger, {agent: o.agent, denied: o.denied, after_seq: last, limit: last === 0 ? o.limit : undefined})) {
        emit(attempt(e));
        last = e.seq;
      }
    };
    while (!stop.aborted) {
      await drain();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 500);
        stop.addEventListener('abort', () => (clearTimeout(t), resolve()), {once: true});
      });
    }
  });
}
