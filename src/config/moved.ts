// `moved:` in orchestration.yml: an agent, network or volume renamed in the file keeps its
// object, like Terraform's moved blocks. What the file alone can tell is checked here; what
// needs the recorded state (both addresses recorded) is checked when a plan is made.
import type {Problems} from './diagnostics.js';
import {configuredAddresses} from './waivers.js';
import {rec, str, type Raw} from './raw.js';
import type {MovedSpec} from './types.js';

/** The kinds whose record can follow a rename: their Docker object keeps its name and id. */
export const MOVABLE_KINDS = ['agent', 'network', 'volume'] as const;

const ADDRESS = /^(agent|network|volume|image|cluster|manifests)\.([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/;

/** Why `from` cannot move to `to` by their addresses alone, or null. */
export function moveAddressProblem(from: string, to: string): string | null {
  const a = ADDRESS.exec(from);
  const b = ADDRESS.exec(to);
  if (!a) return `${from}: not a resource address (kind.name, e.g. agent.researcher)`;
  if (!b) return `${to}: not a resource address (kind.name, e.g. agent.researcher)`;
  if (from === to) return `${from} moves to itself`;
  if (a[1] !== b[1]) return `${from} cannot move to ${to}: a ${a[1]} stays a ${a[1]} (the kinds differ)`;
  if (!(MOVABLE_KINDS as readonly string[]).includes(a[1]))
    return `${from}: only ${MOVABLE_KINDS.join(', ')} records can move (a ${a[1]} is made again under its new name instead)`;
  return null;
}

export function normalizeMoved(raw: Raw, problems: Problems): MovedSpec[] {
  const list = Array.isArray(raw.moved) ? raw.moved : [];
  if (list.length === 0) return [];
  const declared = configuredAddresses(raw);
  const out: MovedSpec[] = [];
  const froms = new Map<string, number>();
  const tos = new Map<string, number>();
  list.forEach((v, i) => {
    const from = str(rec(v)?.from);
    const to = str(rec(v)?.to);
    // the schema has already said what is missing or of the wrong type
    if (from === undefined || to === undefined) return;
    const bad = moveAddressProblem(from, to);
    if (bad) return problems.add(['moved', i], `moved[${i}]: ${bad}`);
    if (froms.has(from)) return problems.add(['moved', i, 'from'], `moved[${i}]: ${from} is already moved by moved[${froms.get(from)}]`);
    if (tos.has(to)) return problems.add(['moved', i, 'to'], `moved[${i}]: moved[${tos.get(to)}] already moves something to ${to}`);
    froms.set(from, i);
    tos.set(to, i);
    if (declared.has(from))
      problems.add(
        ['moved', i, 'from'],
        `moved[${i}]: ${from} is still declared in this file; a move renames it: remove or rename its entry`,
      );
    if (!declared.has(to))
      problems.add(['moved', i, 'to'], `moved[${i}]: ${to} is not declared in this file; declare the resource under its new name`);
    out.push({from, to, index: i});
  });
  // a move onto an address another entry moves away: chains and cycles are refused, so each
  // entry says where one record goes, from the state as it is
  for (const m of out) {
    const next = froms.get(m.to);
    if (next !== undefined)
      problems.add(
        ['moved', m.index, 'to'],
        `moved[${m.index}]: ${m.to} is itself moved by moved[${next}] (${m.to} -> ${out.find((x) => x.index === next)?.to}); chained or cyclic moves are refused: move ${m.from} straight to where it ends`,
      );
  }
  return out;
}
