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
