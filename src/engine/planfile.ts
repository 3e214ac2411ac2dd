import {createHash, randomBytes} from 'node:crypto';
import {FileReadError, readBoundedText} from '../util/bounded-file.js';
import {writePrivateFile} from '../util/private-file.js';
import type {PlanSimulation} from './plan-sim.js';
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {canonicalJson} from '../util/canonical-json.js';
import type {PlannedStep} from '../resources/types.js';
import type {DriftItem} from './planner.js';
import type {DecisionLike} from '../policy/review.js';
import type {WaiverUse} from '../policy/waivers.js';

export const PLAN_FORMAT_VERSION = '1';

/** apply/destroy converge resources; backup, restore and prune are disaster-recovery plans */
export type PlanKind = 'apply' | 'destroy' | 'backup' | 'restore' | 'prune';
export const PLAN_KINDS: readonly PlanKind[] = ['apply', 'destroy', 'backup', 'restore', 'prune'];

export interface PlanDocument {
  formatVersion: string;
  plan_id: string;
  kind: PlanKind;
  created_at: string;
  orx_version: string;
  workspace: string;
  lineage: string;
  serial: number;
  /** the ledger's hash-chain head when the plan was made: the history it was made against */
  ledger_head: {seq: number; hash: string};
  config_digest: string;
  policy_digest: string;
  /** the values of orchestration.yml's `variables:` the plan was made with (part of config_digest); absent: none declared */
  variables?: Record<string, unknown>;
  autonomy: number;
  refresh: boolean;
  targets: string[];
  replace: string[];
  steps: PlannedStep[];
  drift: DriftItem[];
  notes: string[];
  summary: {create: number; update: number; replace: number; delete: number};
  /** per-step decisions and the waivers of orchestration.yml, for review: apply decides again */
  policy: {decisions: DecisionLike[]; waivers?: WaiverUse[]};
  /** the readiness simulation (seeded Monte Carlo) and the inputs it was computed from */
  simulation: PlanSimulation | null;
  /** Sigstore bundle over the canonical plan (engine/plan-signature.ts) */
  signature: unknown;
}

export function newPlanId(now = new Date()): string {
  return `plan-${now
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14)}-${randomBytes(4).toString('hex')}`;
}

/** The bytes a signature covers and a ledger run records: the plan without its signature. */
export function planDigest(doc: PlanDocument): string {
  const {signature: _sig, ...rest} = doc;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export function writePlanFile(file: string, doc: PlanDocument): void {
  writePrivateFile(file, JSON.stringify(doc, null, 2) + '\n');
}

function invalid(file: string, why: string): OrxError {
  return new OrxError({
    code: 'plan_invalid',
    exit: EXIT.STALE,
    message: `${file}: not a usable orx plan: ${why}`,
    actions: ['Make a new plan with `orx plan -out FILE`.'],
  });
}

const MAX_PLAN_BYTES = 64 * 1024 * 1024;

export function readPlanFile(file: string): PlanDocument {
  let text: string;
  try {
    text = readBoundedText(file, MAX_PLAN_BYTES, {label: `plan file ${file}`});
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    if (err.reason === 'too_large') throw invalid(file, 'larger than 64 MiB');
    if (err.reason === 'special' || err.reason === 'directory')
      throw new OrxError({
        code: 'plan_invalid',
        exit: EXIT.STALE,
        message: err.message,
        actions: ['Give the path of a plan written by `orx plan -out FILE`.'],
      });
    throw new OrxError({
      code: 'plan_missing',
      message: err.reason === 'missing' ? `cannot read plan file ${file}: ${err.errno ?? 'ENOENT'}` : err.message,
      actions: ['Check the path, or make one with `orx plan -out FILE`.'],
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(file, `invalid JSON (${(err as Error).message})`);
  }
  const d = doc as Partial<PlanDocument>;
  if (typeof d !== 'object' || d === null) throw invalid(file, 'not a JSON object');
  if (d.formatVersion !== PLAN_FORMAT_VERSION)
    throw invalid(file, `formatVersion ${JSON.stringify(d.formatVersion)} is not ${PLAN_FORMAT_VERSION}`);
  for (const k of ['plan_id', 'lineage', 'config_digest', 'policy_digest', 'workspace', 'created_at'] as const) {
    if (typeof d[k] !== 'string') throw invalid(file, `missing ${k}`);
  }
  if (!PLAN_KINDS.includes(d.kind as PlanKind)) throw invalid(file, `kind must be one of ${PLAN_KINDS.join(', ')}`);
  if (typeof d.serial !== 'number' || !Array.isArray(d.steps)) throw invalid(file, 'missing serial or steps');
  for (const s of d.steps) {
    if (
      typeof s !== 'object' ||
      s === null ||
      typeof s.address !== 'string' ||
      typeof s.action !== 'string' ||
      !Array.isArray(s.depends_on) ||
      typeof s.idempotency_key !== 'string'
    ) {
      throw invalid(file, 'a step is malformed');
    }
  }
  return d as PlanDocument;
}

export interface CurrentState {
  workspace: string;
  lineage: string;
  serial: number;
  config_digest: string;
  policy_digest: string;
  /** the variables' values now */
  variables?: Record<string, unknown>;
}

/** A saved plan is applied only against exactly the world it was made for (exit 5 otherwise). */
export function assertFresh(doc: PlanDocument, now: CurrentState): void {
  const stale = (why: string, action = 'Make a new plan with `orx plan -out FILE` and review it.'): never => {
    throw new OrxError({code: 'plan_stale', exit: EXIT.STALE, message: `plan ${doc.plan_id} is stale: ${why}`, actions: [action]});
  };
  if (doc.workspace !== now.workspace) stale(`it was made for workspace "${doc.workspace}", this is "${now.workspace}"`);
  if (doc.lineage !== now.lineage) stale(`it was made against ledger lineage ${doc.lineage}, this ledger is ${now.lineage}`);
  if (doc.serial !== now.serial) stale(`the state moved from serial ${doc.serial} to ${now.serial} since it was made`);
  const changed = changedVariables(doc.variables ?? {}, now.variables ?? {});
  if (changed.length > 0 && doc.config_digest !== now.config_digest)
    stale(
      `it was made with other variable values (${changed.join('; ')})`,
      'Apply it without ORX_VAR_ settings that differ from it, or make a new plan with the values you want.',
    );
  if (doc.config_digest !== now.config_digest) stale('orchestration.yml or a build context changed since it was made');
  if (doc.policy_digest !== now.policy_digest) stale('the policies changed since it was made');
}

function changedVariables(then: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(then), ...Object.keys(now)])) {
    const a = canonicalJson(then[name] ?? null);
    const b = canonicalJson(now[name] ?? null);
    if (a !== b) out.push(`var.${name}: ${a.length > 40 ? `${a.slice(0, 39)}…` : a} then, ${b.length > 40 ? `${b.slice(0, 39)}…` : b} now`);
  }
  return out;
}
