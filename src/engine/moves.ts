// orchestration.yml's `moved:` at plan time, like Terraform's moved blocks: the recorded state
// is read as if each `from` record were already at its `to` address (so the object keeps its
// recorded name and is matched by its id), and the plan gets one move step per entry that
// still has something to move. An entry whose `from` is no longer recorded does nothing.
import {diagnosticsAt} from '../config/load.js';
import {configInvalid} from '../config/diagnostics.js';
import type {Problem} from '../config/problem.js';
import type {LoadedConfig} from '../config/types.js';
import type {ResourceRecord} from '../ledger/types.js';
import type {MoveAttrs} from '../resources/move.js';
import type {DesiredResource} from '../resources/types.js';
import {OrxError} from '../errors.js';

export interface MovedState {
  /** the records as the plan sees them: each moved one at its new address */
  records: ResourceRecord[];
  moves: MoveAttrs[];
}

export function resolveMoves(loaded: LoadedConfig, records: ResourceRecord[]): MovedState {
  const entries = loaded.config.moved ?? [];
  if (entries.length === 0) return {records, moves: []};
  const byAddress = new Map(records.map((r) => [r.address, r]));
  const problems: Problem[] = [];
  const moves: MoveAttrs[] = [];
  for (const m of entries) {
    const rec = byAddress.get(m.from);
    if (!rec) continue;
    const there = byAddress.get(m.to);
    if (there) {
      problems.push({
        path: ['moved', m.index, 'to'],
        at: 'value',
        message: `moved[${m.index}]: ${m.to} is already recorded (object ${there.object_id ?? '-'}), and so is ${m.from} (object ${rec.object_id ?? '-'}); a move never overwrites a record: \`orx state rm\` the one to let go, or remove this entry`,
      });
      continue;
    }
    moves.push({from: m.from, to: m.to, kind: rec.kind, object_id: rec.object_id});
  }
  if (problems.length > 0) throw configInvalid(diagnosticsAt(loaded, problems));
  const moved = new Map(moves.map((m) => [m.from, m.to]));
  return {records: records.map((r) => (moved.has(r.address) ? {...r, address: moved.get(r.address)!} : r)), moves};
}

const NAMED_KINDS = new Set(['agent', 'network', 'volume']);

/**
 * A moved object keeps the Docker name of its old address: a resource declared again under
 * that old address would be created with the same name (a volume create would hand back the
 * moved one, shared by two addresses). Refused at plan time, naming both.
 */
export function refuseNameClashes(desired: readonly DesiredResource[], records: readonly ResourceRecord[]): void {
  const taken = new Map<string, ResourceRecord>();
  for (const r of records)
    if (NAMED_KINDS.has(r.kind) && typeof r.attributes.name === 'string') taken.set(`${r.kind}:${r.attributes.name}`, r);
  const recorded = new Set(records.map((r) => r.address));
  const clashes: string[] = [];
  for (const d of desired) {
    if (!NAMED_KINDS.has(d.kind) || recorded.has(d.address)) continue;
    const holder = taken.get(`${d.kind}:${String(d.attributes.name)}`);
    if (holder && holder.address !== d.address)
      clashes.push(
        `${d.address} would be created as ${String(d.attributes.name)}, the Docker name ${holder.address}'s object (${holder.object_id ?? '-'}) has (kept when it was moved or imported there)`,
      );
  }
  if (clashes.length > 0)
    throw new OrxError({
      code: 'plan_refused',
      message: clashes.join('\n'),
      actions: [
        'Give the new resource another name in orchestration.yml: Docker names are fixed when an object is made, and a move keeps them.',
      ],
    });
}
