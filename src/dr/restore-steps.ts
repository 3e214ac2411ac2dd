// The steps of a restore plan. A volume is never restored in place: the archive goes into a
// fresh volume, the agents are recreated against it and must come up healthy, and only then
// is the old volume removed. Until then the old agents are only stopped and set aside under
// another name, so a failed health check puts everything back as it was.
import path from 'node:path';
import {engineMessage, isNotFound, statusCode} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import {excerpt} from '../util/redact.js';
import {readBackupLedger} from '../ledger/backup-copy.js';
import type {ResourceRecord, StateChange} from '../ledger/types.js';
import {waitHealthy} from '../resources/agent/health.js';
import {agentAction} from '../resources/agent/action.js';
import {agentAttrs, agentConfigHash, type AgentAttrs} from '../resources/agent/attrs.js';
import type {ApplyContext, PlannedStep, StepOutcome} from '../resources/types.js';
import {volumeAction} from '../resources/volume.js';
import {restoreVolume} from './archive.js';
import {checkBackup, type ArchiveEntry} from './manifest.js';

export type RestoreCheckOp = {
  op: 'restore-check';
  backup_dir: string;
};

export type RestoreVolumeOp = {
  op: 'restore-volume';
  backup_dir: string;
  archive: Pick<ArchiveEntry, 'file' | 'sha256' | 'content_digest' | 'volume'>;
  /** the name the fresh volume gets */
  new_name: string;
  health_timeout_ms: number;
  /** the agents on the volume when the plan was made (the review shows them; their secrets are resolved up front) */
  agents: string[];
};

export type RestoreLedgerOp = {
  op: 'restore-ledger';
  backup_dir: string;
  file: string;
  backup_id: string;
};

export async function restoreCheckStep(op: RestoreCheckOp, ctx: ApplyContext): Promise<StepOutcome> {
  // the Sigstore libraries load only when a backup is checked
  const {signerKeys} = await import('../trust/keys.js');
  const check = await checkBackup(op.backup_dir, signerKeys(ctx.dir));
  if (!check.ok) {
    throw new OrxError({
      code: 'backup_invalid',
      message: `backup ${path.basename(op.backup_dir)} does not check out: ${check.problems.map((p) => `${p.file ?? p.part}: ${p.reason}`).join('; ')}`,
    });
  }
  return {object_id: null, attributes: null, changes: []};
}

function mountsVolume(a: ResourceRecord, volumeName: string): boolean {
  return a.kind === 'agent' && ((a.attributes.mounts as Array<{source: string}> | undefined) ?? []).some((m) => m.source === volumeName);
}

const removeQuietly = (p: Promise<unknown>): Promise<void> =>
  p.then(() => undefined).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err as Error)));

/**
 * Restores one volume: the recorded volume and the agents that mount it are read from the
 * ledger now. A volume orx does not know yet (a fresh machine) is created under its
 * configured name; its agents come with the next apply.
 */
export async function restoreVolumeStep(op: RestoreVolumeOp, step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const address = `volume.${op.archive.volume}`;
  const vol = ctx.ledger.getResource(address);
  const archive = path.join(op.backup_dir, op.archive.file);
  const volStep = (name: string): PlannedStep => ({
    ...step,
    address,
    kind: 'volume',
    action: 'create',
    after: {...(vol?.attributes ?? {labels: {}, backup: true}), name},
    before: null,
    object_id: null,
  });
  // the fresh volume, filled from the archive (its digest checked first)
  const created = await volumeAction.apply(volStep(op.new_name), ctx);
  try {
    await restoreVolume(ctx.docker, {
      volume: op.new_name,
      archive,
      sha256: op.archive.sha256,
      labels: {'io.orchestrix.workspace': ctx.workspace},
      signal: ctx.signal,
    });
  } catch (err) {
    await removeQuietly(ctx.docker.getVolume(op.new_name).remove({force: true}));
    throw err;
  }
  if (!vol)
    return {
      object_id: null,
      attributes: null,
      changes: [{op: 'put', address, kind: 'volume', attributes: created.attributes!, object_id: created.object_id}],
    };

  const oldName = String(vol.attributes.name);
  const agents = ctx.ledger.listResources().filter((a) => mountsVolume(a, oldName));
  const aside: Array<{record: ResourceRecord; id: string}> = [];
  const fresh: Array<{record: ResourceRecord; id: string; attrs: AgentAttrs}> = [];
  const rollback = async (why: string): Promise<never> => {
    // every undo is tried, whatever fails before it; the reason for the rollback comes first
    const undo: string[] = [];
    const attempt = async (what: string, p: Promise<unknown>): Promise<void> => {
      try {
        await p;
      } catch (err) {
        if (!isNotFound(err)) undo.push(`${what}: ${engineMessage(err)}`);
      }
    };
    for (const f of fresh) await attempt(`remove ${f.record.address}'s new container`, ctx.docker.getContainer(f.id).remove({force: true}));
    for (const a of aside) {
      const c = ctx.docker.getContainer(a.id);
      await attempt(`rename ${a.record.address} back`, c.rename({name: String(a.record.attributes.name)}));
      await attempt(
        `start ${a.record.address}`,
        c.start().catch((err: unknown) => (statusCode(err) === 304 ? undefined : Promise.reject(err as Error))),
      );
    }
    await attempt(`remove the new volume ${op.new_name}`, ctx.docker.getVolume(op.new_name).remove({force: true}));
    const tail = undo.length
      ? `; the rollback could not ${undo.join('; ')}`
      : `; rolled back: the agents run on the old volume ${oldName}, unchanged`;
    throw new OrxError({code: 'restore_failed', kind: 'external', message: `restore of ${address} failed: ${why}${tail}`});
  };
  try {
    for (const a of agents) {
      const id = a.object_id ?? String(a.attributes.name);
      const c = ctx.docker.getContainer(id);
      await c.stop({t: 10}).catch(() => undefined);
      await c.rename({name: `${String(a.attributes.name)}-pre-restore-${step.idempotency_key.slice(0, 8)}`});
      aside.push({record: a, id});
    }
    for (const a of aside) {
      const before = agentAttrs(a.record.attributes);
      const {config_hash: _old, ...rest} = {
        ...before,
        mounts: before.mounts.map((m) => (m.source === oldName ? {...m, source: op.new_name} : m)),
      };
      const attrs: AgentAttrs = {...rest, config_hash: agentConfigHash(rest)};
      const out = await agentAction.apply(
        {...step, address: a.record.address, kind: 'agent', action: 'create', before: null, after: attrs, object_id: null},
        ctx,
      );
      fresh.push({record: a.record, id: out.object_id!, attrs});
    }
    for (const f of fresh) {
      const health = await waitHealthy(ctx.docker, f.id, f.attrs.health, {
        timeoutMs: op.health_timeout_ms,
        progress: ctx.progress,
        signal: ctx.signal,
      });
      if (!health.ok)
        return await rollback(
          `${f.record.address} ${health.detail}${health.output ? ` (last check: ${excerpt(health.output, {max: 200, keep: 'end'})})` : ''}`,
        );
    }
  } catch (err) {
    if (err instanceof OrxError && err.code === 'restore_failed') throw err;
    return await rollback(err instanceof Error ? err.message : String(err));
  }
  // healthy on the restored data: only now do the old agents and the old volume go
  for (const a of aside) await removeQuietly(ctx.docker.getContainer(a.id).remove({force: true}));
  try {
    await ctx.docker.getVolume(oldName).remove();
  } catch (err) {
    if (!isNotFound(err)) ctx.log.warn(`the old volume ${oldName} could not be removed: ${engineMessage(err)}`, {address});
  }
  const changes: StateChange[] = [
    {op: 'put', address, kind: 'volume', attributes: created.attributes!, object_id: created.object_id},
    ...fresh.map((f): StateChange => ({op: 'put', address: f.record.address, kind: 'agent', attributes: f.attrs, object_id: f.id})),
  ];
  return {object_id: null, attributes: null, changes};
}

/**
 * Restores the ledger's state (what orx manages) from the backup's copy. History is not
 * rewritten: the chain goes on, and the restore is new events saying what was restored.
 */
export async function restoreLedgerStep(op: RestoreLedgerOp, ctx: ApplyContext): Promise<StepOutcome> {
  const {resources: rows, ...from} = readBackupLedger(path.join(op.backup_dir, op.file));
  const wanted = new Set(rows.map((r) => r.address));
  const changes: StateChange[] = [
    ...ctx.ledger
      .listResources()
      .filter((r) => !wanted.has(r.address))
      .map((r): StateChange => ({op: 'delete', address: r.address})),
    ...rows.map((r): StateChange => ({op: 'put', address: r.address, kind: r.kind, attributes: r.attributes, object_id: r.object_id})),
  ];
  ctx.ledger.appendEvent({
    run_id: ctx.runId,
    level: 'warn',
    message: `ledger state restored from backup ${op.backup_id} (its serial ${from.serial}, chain head ${from.head ? `seq ${from.head.seq}` : 'empty'})`,
    payload: {restored_from: {backup: op.backup_id, serial: Number(from.serial), chain_head: from.head ?? null, resources: rows.length}},
  });
  return {object_id: null, attributes: null, changes};
}
