// `orx output` and the outputs an apply prints: orchestration.yml's `outputs:` expressions
// (as the file says now) evaluated over the state the ledger recorded, like `terraform output`.
// Nothing here talks to the Docker engine.
import {compile, fromCel, run, STATE_KEYS, toCel} from '../config/expressions.js';
import {readOutputSource} from '../config/output-source.js';
import {suggestion} from '../config/suggest.js';
import type {OutputDecl} from '../config/types.js';
import type {OrxContext} from '../engine/context.js';
import {OrxError} from '../errors.js';
import {clusterKubeconfig} from '../k8s/kubeconfig.js';
import {Ledger} from '../ledger/ledger.js';
import {withReadLedger} from '../ledger/session.js';
import type {ResourceRecord} from '../ledger/types.js';
import {objectName} from '../util/labels.js';

export type OutputType = 'string' | 'number' | 'bool' | 'list' | 'map' | 'null';

export interface OutputEntry {
  name: string;
  description: string | null;
  /** null with `error` when it could not be evaluated */
  value: unknown;
  type: OutputType | null;
  /** why this output has no value (e.g. what it reads is not applied yet) */
  error: string | null;
}

/** `orx output [NAME]`. */
export interface OutputResult {
  outputs: OutputEntry[];
}

/** What an output expression reads: per kind, the recorded resources by name. */
export function outputContext(
  dir: string,
  workspace: string,
  records: ResourceRecord[],
  vars: Record<string, unknown>,
): Record<string, unknown> {
  const byKind: Record<string, Record<string, unknown>> = {};
  for (const kind of Object.keys(STATE_KEYS)) byKind[kind] = {};
  for (const r of records) {
    const name = r.address.slice(r.address.indexOf('.') + 1);
    const entry: Record<string, unknown> = {...r.attributes, address: r.address, id: r.object_id};
    if (r.kind === 'agent' && Array.isArray(r.attributes.ports))
      entry.ports = (r.attributes.ports as Array<Record<string, unknown>>).map(withUrl);
    if (r.kind === 'cluster') {
      entry.kubeconfig = clusterKubeconfig(dir, name);
      entry.context = `kind-${objectName(workspace, name)}`;
    }
    byKind[r.kind] ??= {};
    Object.defineProperty(byKind[r.kind], name, {value: entry, enumerable: true});
  }
  const state: Record<string, unknown> = {};
  for (const [kind, key] of Object.entries(STATE_KEYS)) state[key] = byKind[kind];
  return {...byKind, state, workspace, var: vars};
}

// what a browser or curl on this machine would use for a published port
function withUrl(p: Record<string, unknown>): Record<string, unknown> {
  const ip = typeof p.host_ip === 'string' && p.host_ip !== '' && p.host_ip !== '0.0.0.0' && p.host_ip !== '::' ? p.host_ip : '127.0.0.1';
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return {...p, url: `${p.protocol === 'udp' ? 'udp' : 'http'}://${host}:${String(p.host)}`};
}

function typeOf(v: unknown): OutputType {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** Every output evaluated; one that fails says why and leaves the others alone. */
export async function evaluateOutputs(decls: Record<string, OutputDecl>, context: Record<string, unknown>): Promise<OutputEntry[]> {
  const vars = toCel(context) as Record<string, unknown>;
  const out: OutputEntry[] = [];
  for (const [name, o] of Object.entries(decls)) {
    const base = {name, description: o.description};
    const c = await compile(o.value, 'output');
    if (!c.ok) {
      out.push({...base, value: null, type: null, error: c.message});
      continue;
    }
    const r = run(c.program, vars);
    if (!r.ok) {
      const key = /^No such key: (.+)$/.exec(r.message);
      const error = key ? `no "${key[1]}" in the recorded state (not applied yet?)` : r.message;
      out.push({...base, value: null, type: null, error});
      continue;
    }
    const value = fromCel(r.value);
    out.push({...base, value, type: typeOf(value), error: null});
  }
  return out;
}

/** How far back `orx output` looks for the last apply of the configuration. */
const RUNS_SEARCHED = 500;

/** The recorded resources, and the variable values the last apply of the configuration used. */
async function recorded(dir: string): Promise<{records: ResourceRecord[]; variables: Record<string, unknown>}> {
  if (!Ledger.exists(dir)) return {records: [], variables: {}};
  return withReadLedger(dir, (l) => {
    const last = l.listRuns({limit: RUNS_SEARCHED}).find((r) => r.mode === 'APPLY' && r.kind === 'apply' && r.status !== 'running');
    const variables = last?.summary?.variables;
    return {
      records: l.listResources(),
      variables: variables !== null && typeof variables === 'object' ? (variables as Record<string, unknown>) : {},
    };
  });
}

/** `orx output [NAME]`: from the ledger alone. */
export async function showOutputs(ctx: OrxContext, name?: string): Promise<OutputResult> {
  const source = readOutputSource(ctx.dir, ctx.vars);
  let decls = source.outputs;
  if (name !== undefined) {
    if (!(name in decls)) {
      const names = Object.keys(decls);
      throw new OrxError({
        code: 'not_found',
        message: `no output "${name}" in orchestration.yml${suggestion(name, names)}`,
        actions: [names.length > 0 ? `Outputs: ${names.join(', ')}.` : 'Declare it under `outputs:` in orchestration.yml.'],
      });
    }
    decls = {[name]: decls[name]};
  }
  const state = await recorded(ctx.dir);
  // the values the state was applied with; a variable declared since then has its value of today
  const context = outputContext(ctx.dir, source.workspace, state.records, {...source.variables, ...state.variables});
  return {outputs: await evaluateOutputs(decls, context)};
}

/** The outputs at the end of an apply, with the values it applied with; undefined: none declared. */
export async function outputsAfterApply(ctx: OrxContext, values: Record<string, unknown> | undefined): Promise<OutputEntry[] | undefined> {
  const source = readOutputSource(ctx.dir, ctx.vars);
  if (Object.keys(source.outputs).length === 0) return undefined;
  // the values are the apply's own: the state alone is read, not the runs
  const records = Ledger.exists(ctx.dir) ? await withReadLedger(ctx.dir, (l) => l.listResources()) : [];
  const context = outputContext(ctx.dir, source.workspace, records, {...source.variables, ...values});
  return evaluateOutputs(source.outputs, context);
}

/** `orx output NAME`: that output, or why it has no value (an error: a script asked for it by name). */
export function namedOutput(result: OutputResult, name: string): OutputEntry {
  const o = result.outputs[0];
  if (o.error !== null)
    throw new OrxError({
      code: 'output_failed',
      message: `output "${name}": ${o.error}`,
      actions: ['Apply the configuration first: `orx apply`.'],
    });
  return o;
}

/** `orx output NAME --raw`: the bare value of one string, number or bool output. */
export function rawOutput(result: OutputResult, name: string | undefined): string {
  if (name === undefined)
    throw new OrxError({
      code: 'usage',
      message: '--raw needs the name of one output',
      actions: ['For example: `orx output web_url --raw`.'],
    });
  const o = namedOutput(result, name);
  if (o.type !== 'string' && o.type !== 'number' && o.type !== 'bool')
    throw new OrxError({
      code: 'usage',
      message: `output "${name}" is ${o.type === 'null' ? 'null' : `a ${o.type}`}: --raw prints only a string, number or bool`,
      actions: [`Use \`orx output ${name} --json\` for the whole value.`],
    });
  return String(o.value);
}
