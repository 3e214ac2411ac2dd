import {OrxError} from '../errors.js';

export interface Node {
  id: string;
  deps: string[];
}

/**
 * Kahn's algorithm with a stable tie-break (the given order), so the same input
 * always gives the same step order in plans and golden outputs.
 */
export function topoSort<T extends Node>(nodes: T[]): T[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const indegree = new Map(nodes.map((n) => [n.id, 0]));
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    for (const d of new Set(n.deps)) {
      if (!byId.has(d)) continue;
      indegree.set(n.id, indegree.get(n.id)! + 1);
      (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(n.id);
    }
  }
  const rank = new Map(nodes.map((n, i) => [n.id, i]));
  const ready = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const out: T[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => rank.get(a)! - rank.get(b)!);
    const id = ready.shift()!;
    out.push(byId.get(id)!);
    for (const m of dependents.get(id) ?? []) {
      indegree.set(m, indegree.get(m)! - 1);
      if (indegree.get(m) === 0) ready.push(m);
    }
  }
  if (out.length !== nodes.length) {
    const stuck = nodes.filter((n) => !out.includes(n)).map((n) => n.id);
    throw new OrxError({
      code: 'dependency_cycle',
      message: `dependency cycle among: ${stuck.join(', ')}`,
      actions: ['Break the cycle in depends_on.'],
    });
  }
  return out;
}

/** Everything `roots` needs, transitively (what `--target` pulls in, like Terraform). */
export function closure(roots: Iterable<string>, depsOf: (id: string) => string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...depsOf(id));
  }
  return seen;
}
