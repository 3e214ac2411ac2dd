import path from 'node:path';
import {stripVTControlCharacters} from 'node:util';
import type {PlanOutcome} from '../app/plan.js';
import type {PlanDocument} from '../engine/planfile.js';
import type {PlanSimulation} from '../engine/plan-sim.js';
import type {WaiverUse} from '../policy/waivers.js';
import type {AttrChange, Attrs, PlannedStep} from '../resources/types.js';
import {c} from './color.js';
import {EGRESS_LISTS, gatewayLines, listDiffLines} from './egress-plan.js';
import {REDACTED} from '../util/redact.js';
import {stringify} from 'yaml';
import {parseObjectId} from '../k8s/objects.js';
import {describeObject} from '../resources/manifests.js';
import {blueGreenMode} from '../resources/agent/blue-green.js';
import {movesPhrase, renderMoveStep} from './move-view.js';
import {HARDENING} from '../resources/agent/attrs.js';
import {deepEqual} from '../resources/diff.js';
import {DEFAULT_TOKEN} from '../config/secrets.js';
import {TIERS} from '../config/agent.js';
import {formatDuration, formatMemory} from '../config/units.js';
import {MIN_HISTORY_RUNS, thinHistory} from '../sim/knowledge.js';

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

// ---- attributes as a plan shows them -------------------------------------------------------
// Only what the user set or what changes, in the units people write: the plan file keeps the
// normalized values (bytes, milliseconds) and every attribute; this is only how they read.

// restated by what a plan shows in full below: a Kubernetes agent's objects, a kind cluster's config
const HIDDEN_ATTRS = new Set(['config_hash', 'objects', 'spec']);

// computed by orx from other attributes or the workspace, never written by the user: a create
// does not list them (a change to one is still shown, as every change is)
const COMPUTED: Record<string, ReadonlySet<string>> = {
  agent: new Set(['name', 'image_ref', 'image_user', 'egress', 'secrets_mount', 'hardening', 'pids_limit', 'allow_root', 'link']),
  network: new Set(['name', 'subnet']),
  volume: new Set(['name']),
  image: new Set(['tag', 'context_digest', 'user', 'source']),
};

/** A Docker agent's defaults that, when unchanged, say nothing a reader needs. */
const AGENT_DEFAULTS: Record<string, unknown> = {running: true, token: DEFAULT_TOKEN};
const DEFAULT_PIDS = TIERS.basic.pids_limit;

const isEmpty = (v: unknown): boolean =>
  v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v).length === 0);

/** `memory_bytes` -> `memory`, `interval_ms` -> `interval`: the name the configuration uses. */
function displayKey(key: string, value: unknown): string {
  if (key === 'memory_bytes' && typeof value === 'number') return 'memory';
  if (key.endsWith('_ms') && typeof value === 'number') return key.slice(0, -3);
  return key;
}

/** 134217728 -> "128m", 5000 -> "5s": bytes and milliseconds back in the units of orchestration.yml. */
function displayValue(key: string, value: unknown): unknown {
  if (typeof value === 'number' && key === 'memory_bytes') return formatMemory(value);
  if (typeof value === 'number' && key.endsWith('_ms')) return formatDuration(value);
  if (Array.isArray(value)) return value.map((v) => displayValue('', v));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [displayKey(k, v), displayValue(k, v)]));
  return value;
}

/** The path of a change as the configuration names it: `health.interval_ms` -> `health.interval`. */
function displayPath(path: string, value: unknown): string {
  const parts = path.split('.');
  parts[parts.length - 1] = displayKey(parts[parts.length - 1], value);
  return parts.join('.');
}

const isScalar = (v: unknown): boolean => v === null || typeof v !== 'object';

/** One line when it reads as one (a scalar, a short list of scalars), else null. */
function inlineValue(v: unknown): string | null {
  if (isScalar(v)) return fmtValue(v);
  if (Array.isArray(v) && v.every(isScalar)) {
    const s = `[${v.map((x) => fmtValue(x)).join(', ')}]`;
    return s.length <= 100 ? s : null;
  }
  return null;
}

/** A nested value as indented YAML, one line per key. */
function yamlLines(v: unknown, pad: string): string[] {
  return stringify(v)
    .trimEnd()
    .split('\n')
    .map((l) => `${pad}${l}`);
}

/** `sign key = value`, or `sign key:` and the value as YAML below it. */
function valueLines(sign: string, key: string, width: number, v: unknown, pad: string): string[] {
  const inline = inlineValue(v);
  return inline !== null ? [`${pad}${sign} ${key.padEnd(width)} = ${inline}`] : [`${pad}${sign} ${key}:`, ...yamlLines(v, `${pad}    `)];
}

/**
 * A Docker agent's hardening in one line: `defaults`, or how it differs from them (the
 * read-only root, no capabilities, no-new-privileges, seccomp, an init, 256 processes, no root).
 */
export function hardeningSummary(a: Attrs): string {
  const diffs: string[] = [];
  const h = (a.hardening ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(HARDENING)) if (JSON.stringify(h[k]) !== JSON.stringify(v)) diffs.push(`${k} ${fmtValue(h[k])}`);
  if (typeof a.pids_limit === 'number' && a.pids_limit !== DEFAULT_PIDS) diffs.push(`pids ${a.pids_limit}`);
  const root = a.allow_root as {reason?: string} | null | undefined;
  if (root) diffs.push(`root allowed (${root.reason ?? 'no reason'})`);
  return diffs.length ? diffs.join(', ') : 'defaults';
}

const isDockerAgent = (kind: string, a: Attrs): boolean => kind === 'agent' && a.target !== 'kubernetes' && a.hardening !== undefined;

/** What a create lists: what the user set, in their units; a Docker agent's hardening as one line. */
function attrLines(sign: string, kind: string, attrs: Attrs, pad: string, hide: ReadonlySet<string> = HIDDEN_ATTRS): string[] {
  const docker = isDockerAgent(kind, attrs);
  const computed = COMPUTED[kind] ?? new Set<string>();
  const shown = Object.keys(attrs)
    .filter((k) => !hide.has(k) && !isEmpty(attrs[k]))
    .filter((k) => !docker || (!computed.has(k) && !(k in AGENT_DEFAULTS && deepEqual(attrs[k], AGENT_DEFAULTS[k]))))
    .filter((k) => kind === 'agent' || !computed.has(k))
    .filter((k) => !(kind === 'image' && k === 'dockerfile' && attrs[k] === 'Dockerfile'))
    .map((k) => ({key: displayKey(k, attrs[k]), value: displayValue(k, attrs[k])}))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const width = Math.max(0, ...shown.filter((e) => inlineValue(e.value) !== null).map((e) => e.key.length));
  const lines = shown.filter((e) => !(e.key in EGRESS_LISTS)).flatMap((e) => valueLines(sign, e.key, width, e.value, pad));
  for (const k of Object.keys(EGRESS_LISTS))
    if (kind === 'agent' && attrs[k] !== undefined) lines.push(...listDiffLines(EGRESS_LISTS[k], [], attrs[k], pad));
  if (docker) lines.push(`${pad}  ${c.dim(`hardening: ${hardeningSummary(attrs)}`)}`);
  return lines;
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

function changeLines(all: AttrChange[], pad: string): string[] {
  const objects = all.filter(isObjectChange).map((ch) => objectLine(ch, pad));
  const lists = all.filter((ch) => ch.path in EGRESS_LISTS).flatMap((ch) => listDiffLines(EGRESS_LISTS[ch.path], ch.before, ch.after, pad));
  const changes = all
    .filter((ch) => !isObjectChange(ch) && !HIDDEN_ATTRS.has(ch.path) && !(ch.path in EGRESS_LISTS))
    .map((ch) => {
      const leaf = ch.path.slice(ch.path.lastIndexOf('.') + 1);
      return {
        ch,
        path: displayPath(ch.path, ch.after ?? ch.before),
        before: displayValue(leaf, ch.before),
        after: displayValue(leaf, ch.after),
      };
    });
  const inline = changes.filter((d) => inlineValue(d.before) !== null && inlineValue(d.after) !== null);
  const width = Math.max(0, ...inline.map((d) => d.path.length));
  return [
    ...objects,
    ...lists,
    ...changes.flatMap((d) => {
      const {ch} = d;
      // a rotated value: that it changed is all a plan ever says of it
      if (ch.path.startsWith('secrets.') && ch.before === REDACTED && ch.after === REDACTED)
        return [`${pad}~ secret ${ch.path.slice('secrets.'.length)} ${REDACTED} (rotated)`];
      const forces = ch.forces_replacement ? c.red(' # forces replacement') : '';
      const b = inlineValue(d.before);
      const a = inlineValue(d.after);
      if (b !== null && a !== null) return [`${pad}~ ${d.path.padEnd(width)} = ${b} -> ${a}${forces}`];
      // nested values: the old one and the new one, each as YAML
      return [
        `${pad}~ ${d.path}:${forces}`,
        `${pad}    before:${b !== null ? ` ${b}` : ''}`,
        ...(b === null ? yamlLines(d.before, `${pad}      `) : []),
        `${pad}    after:${a !== null ? ` ${a}` : ''}`,
        ...(a === null ? yamlLines(d.after, `${pad}      `) : []),
      ];
    }),
  ];
}

/** `orx-WS-`, from an agent's own Docker name: the networks and volumes it names carry it too. */
function dockerPrefix(s: {kind: string; address?: string; after: Attrs | null; before?: Attrs | null}): string | null {
  if (s.kind !== 'agent' || !s.address?.startsWith('agent.')) return null;
  const own = s.address.slice('agent.'.length);
  const name = (s.after ?? s.before)?.name;
  return typeof name === 'string' && name.startsWith('orx-') && name.endsWith(`-${own}`) ? name.slice(0, -own.length) : null;
}

/** An agent's networks and volume mounts by the names orchestration.yml gives them, not Docker's. */
function asWritten(key: string, v: unknown, prefix: string | null): unknown {
  if (!prefix || !Array.isArray(v)) return v;
  const strip = (x: unknown): unknown => (typeof x === 'string' && x.startsWith(prefix) ? x.slice(prefix.length) : x);
  if (key === 'networks') return v.map(strip);
  if (key === 'mounts')
    return v.map((m: unknown) => (m !== null && typeof m === 'object' ? {...m, source: strip((m as Attrs).source)} : m));
  return v;
}

function attrsAsWritten(attrs: Attrs, prefix: string | null): Attrs {
  return prefix ? Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, asWritten(k, v, prefix)])) : attrs;
}

function changesAsWritten(changes: AttrChange[], prefix: string | null): AttrChange[] {
  return prefix
    ? changes.map((ch) => ({...ch, before: asWritten(ch.path, ch.before, prefix), after: asWritten(ch.path, ch.after, prefix)}))
    : changes;
}

/**
 * A step's attributes as the plan shows them, without colour: what a create sets, or what an
 * update or replace changes. For the review screen, which shows the plan step by step.
 */
export function stepAttrText(
  s: Pick<PlannedStep, 'action' | 'after' | 'changes'> & {kind: string; address?: string},
  pad = '  ',
): string[] {
  const prefix = dockerPrefix(s);
  const lines =
    s.action === 'create' && s.after
      ? attrLines('+', s.kind, attrsAsWritten(s.after, prefix), pad)
      : s.action === 'update' || s.action === 'replace'
        ? changeLines(changesAsWritten(s.changes, prefix), pad)
        : [];
  return lines.map((l) => stripVTControlCharacters(l));
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

export function renderStep(s: PlannedStep, decisions: DecisionView[] = [], needsHuman?: string): string {
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
  } else if (s.kind === 'gateway' && s.action !== 'delete') lines.push(...gatewayLines(s.before, s.after, '      '));
  else if (s.kind === 'manifests' && (s.action === 'create' || s.action === 'delete')) lines.push(...changeLines(s.changes, '      '));
  else if (s.action === 'create' && s.after) {
    lines.push(
      ...attrLines(
        '+',
        s.kind,
        attrsAsWritten(s.after, dockerPrefix(s)),
        '      ',
        s.kind === 'cluster' ? new Set([...HIDDEN_ATTRS, 'config']) : HIDDEN_ATTRS,
      ),
    );
    if (s.after.target === 'kubernetes') lines.push(...renderedLines(s.after.objects, '      '));
    if (s.kind === 'cluster')
      lines.push(
        `      + config =`,
        ...stringify(s.after.config)
          .trimEnd()
          .split('\n')
          .map((l) => `          ${c.dim(l)}`),
      );
  } else if (s.action === 'update' || s.action === 'replace')
    lines.push(...changeLines(changesAsWritten(s.changes, dockerPrefix(s)), '      '));
  // what autonomy alone will ask a human for: known now, not first learnt at apply
  if (needsHuman) lines.push(`    ${c.yellow(`? needs approval: ${needsHuman}`)}`);
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

export interface PlanViewOptions {
  /** step id -> why autonomy will need a human for it (src/app/plan.ts humanNeeds) */
  needs?: Readonly<Record<string, string>>;
  /** --readiness: the estimate even without enough history to be knowledge */
  readiness?: boolean;
}

function driftLines(doc: PlanDocument): string[] {
  if (doc.drift.length === 0) return [];
  const out = [c.bold('Drift: objects changed outside orx since the last apply'), ''];
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
  return out;
}

/** What is said of the plan as a whole: plan-wide policy, waivers, notes, variables. */
function wholePlanLines(doc: PlanDocument): string[] {
  const out: string[] = [];
  const planLevel = doc.policy.decisions.filter((d) => !d.step);
  if (planLevel.length) out.push(c.bold('Policy on the whole plan:'), ...decisionLines(planLevel, '  '), '');
  out.push(...waiverLines(doc.policy.waivers ?? []));
  for (const n of doc.notes) out.push(c.dim(`note: ${n}`));
  if (doc.notes.length) out.push('');
  out.push(...variablesBlock(doc.variables));
  return out;
}

function readinessLines(doc: PlanDocument, o: PlanViewOptions): string[] {
  return doc.simulation && doc.simulation.inputs.steps.length > 0 ? [readinessLine(doc.simulation, {force: o.readiness})] : [];
}

export function renderPlan(doc: PlanDocument, o: PlanViewOptions = {}): string {
  const out = driftLines(doc);
  const visible = doc.steps.filter((s) => s.action !== 'noop' || s.record);
  const decisions: DecisionView[] = doc.policy.decisions;
  if (visible.length > 0) {
    out.push(`orx will perform the following actions (${doc.kind} plan ${doc.plan_id}):`, '');
    for (const s of visible)
      out.push(
        renderStep(
          s,
          decisions.filter((d) => d.step === s.id),
          o.needs?.[s.id],
        ),
        '',
      );
  }
  out.push(...wholePlanLines(doc), c.bold(summaryLine(doc)), ...readinessLines(doc, o));
  return out.join('\n') + '\n';
}

/**
 * What the review screen does not show, printed above it on a terminal: drift, plan-wide
 * policy, waivers, notes, variables and readiness. The steps and the summary are on the screen.
 */
export function renderPlanContext(doc: PlanDocument, o: PlanViewOptions = {}): string {
  const out = [...driftLines(doc), ...wholePlanLines(doc), ...readinessLines(doc, o)];
  return out.length ? out.join('\n') + '\n' : '';
}

function secs(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/**
 * What the Monte Carlo says of this plan, and how to get the same numbers again; or, while
 * some step kind has fewer than MIN_HISTORY_RUNS recorded outcomes and `force` (--readiness,
 * `orx simulate`) is not given, that there is not enough history for it to be knowledge.
 */
export function readinessLine(r: PlanSimulation, o: {force?: boolean} = {}): string {
  const thin = Object.entries(thinHistory(r.inputs.steps, r.inputs.history));
  if (thin.length > 0 && !o.force) {
    const runs = thin.map(([kind, n]) => `${kind}: ${n} run${n === 1 ? '' : 's'}`).join(', ');
    return c.dim(
      `Readiness: not enough history (${runs}; an estimate needs ${MIN_HISTORY_RUNS} recorded outcomes per step kind; --readiness shows one anyway)`,
    );
  }
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const score =
    r.readinessScore >= 0.9
      ? c.green(pct(r.readinessScore))
      : r.readinessScore >= 0.5
        ? c.yellow(pct(r.readinessScore))
        : c.red(pct(r.readinessScore));
  const interval = r.interval90 ? ` (90% interval ${pct(r.interval90[0])}–${pct(r.interval90[1])})` : '';
  const prior = thin.length > 0 ? ` · mostly the prior: ${thin.map(([k, n]) => `${k} ${n} runs`).join(', ')}` : '';
  return (
    `Readiness: ${score} likely to apply cleanly${interval} · p50 ${secs(r.p50_ms)} · p95 ${secs(r.p95_ms)} · expected rollbacks ${r.expectedRollbacks} · ${r.policyPassPct}% of steps pass policy without a human${prior}\n` +
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
