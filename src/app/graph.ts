// `orx graph`: the dependency graph the planner orders steps by, of the configuration (no
// engine, no ledger) or of a saved plan's steps (verified and fresh, as apply would have it).
import path from 'node:path';
import {loadConfig} from '../config/load.js';
import type {OrxContext} from '../engine/context.js';
import {buildDesired} from '../engine/desired.js';
import {currentState} from '../engine/digests.js';
import {loadSavedPlan} from '../engine/operations.js';
import {assertFresh} from '../engine/planfile.js';
import {withLedger} from '../ledger/session.js';

export interface GraphNode {
  /** a resource address (agent.web), or a plan step's address */
  address: string;
  kind: string;
  /** the step's action (create, update, replace, delete, noop, move), with --plan only */
  action?: string;
  /** the step's id in the plan (s1, s2, ...), with --plan only */
  step?: string;
}

/** `from` depends on `to`: `to` is created first (the direction Terraform's graph draws). */
export interface GraphEdge {
  from: string;
  to: string;
}

export interface GraphResult {
  source: 'config' | 'plan';
  /** the saved plan's id, with --plan */
  plan_id?: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

function edgesAmong(nodes: Array<{address: string; deps: string[]}>): GraphEdge[] {
  const known = new Set(nodes.map((n) => n.address));
  const out: GraphEdge[] = [];
  for (const n of nodes) for (const d of new Set(n.deps)) if (known.has(d) && d !== n.address) out.push({from: n.address, to: d});
  return out;
}

/**
 * The configuration's resources and what each needs first: the depends_on the planner uses.
 * Built as an offline plan builds it (no engine, no recorded state): the edges do not depend on either.
 */
export function configGraph(ctx: OrxContext): GraphResult {
  const loaded = loadConfig(ctx.dir);
  const {resources} = buildDesired({loaded, recorded: new Map(), localImage: () => null});
  const nodes = resources.map((r) => ({address: r.address, kind: r.kind, deps: r.depends_on}));
  return {
    source: 'config',
    nodes: nodes.map(({address, kind}) => ({address, kind})),
    edges: edgesAmong(nodes),
  };
}

/** A saved plan's steps with their actions; refused like apply refuses it when tampered with or stale. */
export async function planGraph(ctx: OrxContext, file: string, trustedKeys: string[] = []): Promise<GraphResult> {
  const doc = await loadSavedPlan(ctx, path.resolve(ctx.dir, file), trustedKeys);
  const loaded = loadConfig(ctx.dir);
  await withLedger(ctx.dir, (ledger) => assertFresh(doc, currentState(ctx.dir, loaded, ledger)));
  const nodes = doc.steps.map((s) => ({address: s.address, kind: String(s.kind), action: s.action, step: s.id, deps: s.depends_on}));
  return {
    source: 'plan',
    plan_id: doc.plan_id,
    nodes: nodes.map(({address, kind, action, step}) => ({address, kind, action, step})),
    edges: edgesAmong(nodes),
  };
}
