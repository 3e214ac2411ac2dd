// The gateway's access log into the ledger outside of a run (a plan, `orx egress log`): signed
// like a run's events, so `orx audit verify` never finds an unsigned tail because of it.
import type {WorkspaceConfig} from '../config/types.js';
import type {Docker} from '../drivers/docker.js';
import {ingestEgressLog, type IngestResult} from '../egress/ingest.js';
import type {Ledger} from '../ledger/ledger.js';
import {checkpointChain, type CheckpointContext} from './checkpoint.js';

export async function recordEgressLog(
  ctx: CheckpointContext,
  ledger: Ledger,
  config: WorkspaceConfig | null,
  docker: Docker,
): Promise<IngestResult> {
  const r = await ingestEgressLog(docker, ledger, null);
  if (r.recorded > 0) await checkpointChain(ctx, ledger, config, {reason: 'egress-log'});
  return r;
}
