import path from 'node:path';
import type {PlanOutcome} from '../app/plan.js';
import type {PlanDocument} from '../engine/planfile.js';
import type {PlanSimulation} from '../engine/plan-sim.js';
import type {WaiverUse} from '../policy/waivers.js';
import type {AttrChange, Attrs, PlannedStep} from '../resources/types.js';
import {c} from './color.js';
import {REDACTED} from '../util/redact.js';
import {stringify} from 'yaml';
import {parseObjectId} from '../k8s/objects.js';
import {describeObject} from '../resources/manifests.js';
import {blueGreenMode} from '../resources/agent/blue-green.js';
import {movesPhrase, renderMoveStep} from './move-view.js';

const SYMBOL: Record<string, string> = {create: '+', update: '~', replace: '-/+', delete: '-', noop: ' '};
const VERB: Record<string, string> = {
  create: 'will be created',
  update: 'will be updated in place',
  replace: 'must be replaced',
  delete: 'will be destroyed',
  noop: 'will be recorded',
};

const BLUE_GREEN_NOTE = {
  beside: 'blue-green: the new container starts beside the old one and takes over once healthy',
  'stop-first': 'blue-green, stop-first (host ports): the old container stops, and starts again if the new one is not healthy',
} as const;

function paint(action: string, s: string): string {
  return action === 'create' ? c.green(s) : action === 'delete' ? c.red(s) : action === 'noop' ? c.dim(s) : c.yellow(s);
}

export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v);
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

// restated by what a plan shows in full below: a Kubernetes agent's objects, a kind cluster's config
const HIDDEN_ATTRS = new Set(['config_hash', 'objects', 'spec']);

function attrLines(sign: string, attrs: Attrs, pad: string, hide: ReadonlySet<string> = HIDDEN_ATTRS): string[] {
  const keys = Object.keys(attrs)
    .filter((k) => !hide.has(k))
    .sort();
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys.map((k) => `${pad}${sign} ${k.padEnd(width)} = ${fmtValue(attrs[k])}`);
}

/** A Kubernetes object's change, one line: `+ Deployment lab/web (apps/v1)`. */
function objectLine(ch: AttrChange, pad: string): string {
  const id = ch.path.slice('objects.'.length);
  const sign = ch.before === null ? '+' : ch.after === null ? '-' : '~';
  const what = `${sign} ${describeObject(id)} (${parseObjectId(id).apiVersion})${ch.before !== null && ch.after !== null ? ' will be updated' : ''}`;
  return `${pad}${sign === '+' ? c.green(what) : sign === '-' ? c.red(what) : c.yellow(what)}`;
}

const isObjectChange = (ch: AttrChange): boolean => ch.path.startsWith('objects.');

/** The objects of a Kubernetes agent as they will be applied (its Secret is made at apply, never shown). */
function renderedLines(objects: unknown, pad: string): string[] {
  return Object.values((objects ?? {}) as Record<string, unknown>).flatMap((o) =>
    ['---', ...stringify(o).trimEnd().split('\n')].map((l) => `${pad}${c.dim(l)}`),
  );
}

function changeLines(changes: AttrChange[], pad: string): string[] {
  const objects = changes.filter(isObjectChange).map((ch) => objectLine(ch, pad));
  changes = changes.filter((ch) => !isObjectChange(ch));
  const width = Math.max(0, ...changes.map((ch) => ch.path.length));
  return [
    ...objects,
    ...changes.map((ch) => {
      // a rotated value: that it changed is all a plan ever says of it
      if (ch.path.startsWith('secrets.') && ch.before === REDACTED && ch.after === REDACTED)
        return `${pad}~ secret ${ch.path.slice('secrets.'.length)} ${REDACTED} (rotated)`;
      const forces = ch.forces_replacement ? c.red(' # forces replacement') : '';
      return `${pad}~ ${ch.path.padEnd(width)} = ${fmtValue(ch.before)} -> ${fmtValue(ch.after)}${forces}`;
    }),
  ];
}

export interface DecisionView {
  rule: string;
  effect: string;
  message: string;
  step: string | null;
  waiver?: unknown;
}

const EFFECT_MARK: Record<string, (s: string) => string> = {
  deny: (s) => c.red(`✗ denied: ${s}`),
  require_approval: (s) => c.yellow(`? needs approval: ${s}`),
  warn: (s) => c.yellow(`⚠ warning: ${s}`),
  allow: (s) => c.dim(`✓ allowed: ${s}`),
};

function decisionLines(decisions: DecisionView[], pad: string): string[] {
  return decisions.map(
    (d) =>
      `${pad}${d.waiver ? c.yellow(`? waived, needs approval: ${d.message} (rule ${d.rule})`) : (EFFECT_MARK[d.effect]?.(`${d.message} (rule ${d.rule})`) ?? d.message)}`,
  );
}

const WAIVER_STATUS: Record<WaiverUse['status'], string> = {
  applied: 'passes a deny in this plan, as a step a human approves',
  unused: 'nothing in this plan needs it',
  expired: 'expired: the rule applies again',
};

/** Every waiver of orchestration.yml, so a reviewer sees what is being let through and until when. */
function waiverLines(waivers: readonly WaiverUse[]): string[] {
  if (waivers.length === 0) return [];
  return [
    c.bold('Waivers in orchestration.yml:'),
    ...waivers.map((w) => {
      const line = `  ${w.rule} at ${w.address} through ${w.expires} (${w.reason}): ${WAIVER_STATUS[w.status]}`;
      return w.status === 'applied' ? c.yellow(line) : c.dim(line);
    }),
    '',
  ];
}

export function renderStep(s: PlannedStep, decisions: DecisionView[] = []): string {
  if (s.action === 'move') return renderMoveStep(s, decisionLines(decisions, '    '));
  // a DR step is an operation, not an object: what it will do is its reason
  const verb = s.kind === 'dr' ? `will ${s.category === 'DESTROY' ? 'run (DESTROY)' : 'run'}` : VERB[s.action];
  const lines = [`  ${c.bold(`# ${s.address}`)} ${verb}${s.reasons.length ? ` (${s.reasons.join('; ')})` : ''}`];
  // like Terraform's create_before_destroy: +/- when the new one comes up before the old one goes
  const blueGreen = blueGreenMode(s);
  lines.push(paint(s.action, `${(blueGreen === 'beside' ? '+/-' : SYMBOL[s.action]).padStart(3)} ${s.address}`));
  if (blueGreen) lines.push(c.dim(`      # ${BLUE_GREEN_NOTE[blueGreen]}`));
  if (s.kind === 'dr') {
    // nothing more: the op's parameters are in the plan file
  } else if (s.kind === 'manifests' && (s.action === 'create' || s.action === 'delete')) lines.push(...changeLines(s.changes, '      '));
  else if (s.action === 'create' && s.after) {
    lines.push(...attrLines('+', s.after, '      ', s.kind === 'cluster' ? new Set([...HIDDEN_ATTRS, 'config']) : HIDDEN_ATTRS));
    if (s.after.target === 'kubernetes') lines.push(...renderedLines(s.after.objects, '      '));
    if (s.kind === 'cluster')
      lines.push(
        `      + config =`,
        ...stringify(s.after.config)
          .trimEnd()
          .split('\n')
          .map((l) => `          ${c.dim(l)}`),
      );
  } else if (s.action === 'update' || s.action === 'replace') lines.push(...changeLines(s.changes, '      '));
  lines.push(...decisionLines(decisions, '    '));
  return lines.join('\n');
}

export function summaryLine(doc: Pick<PlanDocument, 'summary' | 'steps'> & {kind?: PlanDocument['kind']}): string {
  if (doc.kind === 'backup' || doc.kind === 'restore' || doc.kind === 'prune') {
    const n = doc.steps.length;
    return n === 0 ? `Nothing to ${doc.kind}.` : `Plan: ${doc.kind}, ${n} step${n === 1 ? '' : 's'}.`;
  }
  const {create, update, replace, delete: del} = doc.summary;
  const recorded = doc.steps.filter((s) => s.action === 'noop' && s.record).length;
  const moves = movesPhrase(doc.steps);
  if (create + update + replace + del === 0 && !moves) {
    return recorded > 0
      ? `No changes to the world. ${recorded} existing object(s) will be recorded in the ledger.`
      : 'No changes. The workspace matches the configuration.';
  }
  return `Plan: ${moves}${create} to add, ${update} to change, ${replace} to replace, ${del} to destroy.`;
}

/** The values of orchestration.yml's `variables:` the plan was made with, one short line each. */
export function variablesBlock(variables: Record<string, unknown> | undefined): string[] {
  const names = Object.keys(variables ?? {}).sort();
  if (names.length === 0) return [];
  const width = Math.max(...names.map((n) => n.length));
  const shown = (v: unknown) => {
    const s = JSON.stringify(v) ?? 'null';
    return s.length > 60 ? `${s.slice(0, 59)}…` : s;
  };
  return ['Variables:', ...names.map((n) => `  ${n.padEnd(width)} = ${shown(variables![n])}`), ''];
}

export function renderPlan(doc: PlanDocument): string {
  const out: string[] = [];
  if (doc.drift.length > 0) {
    out.push(c.bold('Drift: objects changed outside orx since the last apply'), '');
    for (const d of doc.drift) {
      if (d.status === 'deleted') out.push(c.red(`  - ${d.address}: deleted outside orx`));
      else {
        out.push(c.yellow(`  ~ ${d.address}: changed outside orx`));
        out.push(
          ...changeLines(
            d.changes.map((ch) => ({...ch, forces_replacement: false})),
            '      ',
          ),
        );
      }
    }
    out.push('');
  }
  const visible = doc.steps.filter((s) => s.action !== 'noop' || s.record);
  const decisions: DecisionView[] = doc.policy.decisions;
  if (visible.length > 0) {
    out.push(`orx will perform the following actions (${doc.kind} plan ${doc.plan_id}):`, '');
    for (const s of visible)
      out.push(
        renderStep(
          s,
          decisions.filter((d) => d.step === s.id),
        ),
        '',
      );
  }
  const planLevel = decisions.filter((d) => !d.step);
  if (planLevel.length) out.push(c.bold('Policy on the whole plan:'), ...decisionLines(planLevel, '  '), '');
  out.push(...waiverLines(doc.policy.waivers ?? []));
  for (const n of doc.notes) out.push(c.dim(`note: ${n}`));
  if (doc.notes.length) out.push('');
  out.push(...variablesBlock(doc.variables));
  out.push(c.bold(summaryLine(doc)));
  if (doc.simulation && doc.simulation.inputs.steps.length > 0) out.push(readinessLine(doc.simulation));
  return out.join('\n') + '\n';
}

function secs(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/** One line of what the Monte Carlo says of this plan, and how to get the same numbers again. */
export function readinessLine(r: PlanSimulation): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const score =
    r.readinessScore >= 0.9
      ? c.green(pct(r.readinessScore))
      : r.readinessScore >= 0.5
        ? c.yellow(pct(r.readinessScore))
        : c.red(pct(r.readinessScore));
  return (
    `Readiness: ${score} likely to apply cleanly · p50 ${secs(r.p50_ms)} · p95 ${secs(r.p95_ms)} · expected rollbacks ${r.expectedRollbacks} · ${r.policyPassPct}% of steps pass policy without a human\n` +
    c.dim(
      `  (Monte Carlo over the ledger's history: ${r.iterations} iterations, seed ${r.seed}, ${r.rng.library} ${r.rng.version} ${r.rng.algorithm}; orx simulate FILE --seed N repeats it)`,
    )
  );
}

/** What `orx plan` says under the plan: denied by policy, and where it was saved. */
export function planFooter(p: PlanOutcome, o: {dir: string; asked: boolean}): string {
  const rel = p.saved_to ? path.relative(o.dir, p.saved_to) || p.saved_to : '';
  let footer = '';
  if (p.denied)
    footer = `\nPolicy denies this plan: it cannot be applied.${o.asked && !p.saved_to ? ' Not saved (--allow-denied saves it for review).' : ''}\n`;
  if (p.saved_to) footer += `\nSaved the plan to ${rel}.${p.denied ? '' : ` Apply exactly it with: orx apply ${rel}`}\n`;
  return footer;
}
