// The CEL of orchestration.yml itself: variable validation conditions and output values.
// Policy rules have their own environment (src/policy/cel.ts, a layer above); this one is
// small and sits with the configuration so the loader's checks need nothing above it.
//
// `var` is a reserved word in CEL, so `var.name` is read as an identifier of the same length
// (offsets in messages stay right) that no one writes by hand.
import type {ASTNode, Environment} from '@marcbachmann/cel-js';
import {preview} from '../errors.js';
import type {Problem} from './problem.js';
import {suggestion} from './suggest.js';
import type {LoadedConfig} from './types.js';

const VAR_ID = '__v';

/** What an output expression can read (maps keyed by name, like addresses), and `var`. */
export const OUTPUT_ROOTS = ['agent', 'network', 'volume', 'image', 'cluster', 'manifests', 'state', 'workspace', 'var'] as const;
/** `state.agents.NAME` reads the same as `agent.NAME` (DESIGN's spelling); kind -> state key. */
export const STATE_KEYS: Record<string, string> = {
  agent: 'agents',
  network: 'networks',
  volume: 'volumes',
  image: 'images',
  cluster: 'clusters',
  manifests: 'manifests',
};

type CelModule = typeof import('@marcbachmann/cel-js');
let celModule: Promise<CelModule> | undefined;
let envs: {condition: Environment; output: Environment} | undefined;

// ~10 ms to load: only a workspace with validations or outputs pays for it
async function environments(): Promise<{condition: Environment; output: Environment}> {
  if (envs) return envs;
  celModule ??= import('@marcbachmann/cel-js');
  const {Environment: Env} = await celModule;
  const make = (names: readonly string[]) => {
    const env = new Env({homogeneousAggregateLiterals: false, limits: {maxAstNodes: 2000, maxDepth: 32}});
    for (const n of names) env.registerVariable(n === 'var' ? VAR_ID : n, n === 'workspace' ? 'string' : 'map');
    return env;
  };
  envs = {condition: make(['var']), output: make(OUTPUT_ROOTS)};
  return envs;
}

/** `var` outside string literals, as the identifier the environment knows. */
export function rewriteVar(expr: string): string {
  let out = '';
  for (let i = 0; i < expr.length;) {
    const c = expr[i];
    if (c === '"' || c === "'") {
      // a string literal (triple-quoted too), copied as it is
      const q = expr.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      let j = i + q.length;
      while (j < expr.length && !expr.startsWith(q, j)) j += expr[j] === '\\' ? 2 : 1;
      out += expr.slice(i, j + q.length);
      i = j + q.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < expr.length && /[A-Za-z0-9_]/.test(expr[j])) j++;
      const word = expr.slice(i, j);
      const afterDot = /\.\s*$/.test(out);
      out += word === 'var' && !afterDot ? VAR_ID : word;
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function message(err: unknown): string {
  const e = (err ?? {}) as {summary?: string; message?: string};
  return String(e.summary ?? e.message ?? err)
    .split('\n')[0]
    .replaceAll(VAR_ID, 'var');
}

function offsetOf(err: unknown): number | undefined {
  const r = (err as {range?: {start?: number}} | null)?.range;
  return typeof r?.start === 'number' ? r.start : undefined;
}

export type Program = (vars: Record<string, unknown>) => unknown;
export type Compiled = {ok: true; program: Program; ast: ASTNode} | {ok: false; message: string; offset: number | undefined};

export async function compile(expr: string, kind: 'condition' | 'output'): Promise<Compiled> {
  const env = (await environments())[kind];
  try {
    const parsed = env.parse(rewriteVar(expr));
    const checked = parsed.check();
    if (!checked.valid) {
      const msg = message(checked.error);
      const unknown = /^Unknown variable: (.+)$/.exec(msg);
      const names = kind === 'condition' ? ['var'] : OUTPUT_ROOTS;
      return {
        ok: false,
        offset: offsetOf(checked.error),
        message: unknown
          ? `unknown name "${unknown[1]}"${suggestion(unknown[1], names)}; ${kind === 'condition' ? 'a validation condition reads var' : `an output reads ${names.join(', ')}`}`
          : msg,
      };
    }
    if (kind === 'condition' && checked.type !== 'bool' && checked.type !== 'dyn')
      return {ok: false, offset: 0, message: `a validation condition must give true or false, this one gives ${checked.type}`};
    return {
      ok: true,
      ast: parsed.ast,
      program: (vars) => parsed(renameVar(vars)) as unknown,
    };
  } catch (err) {
    return {ok: false, offset: offsetOf(err), message: message(err)};
  }
}

function renameVar(vars: Record<string, unknown>): Record<string, unknown> {
  const {var: v, ...rest} = vars;
  return {...rest, [VAR_ID]: v ?? {}};
}

/** Evaluates; a runtime error is returned as its one-line message. */
export function run(program: Program, vars: Record<string, unknown>): {ok: true; value: unknown} | {ok: false; message: string} {
  try {
    return {ok: true, value: program(vars)};
  } catch (err) {
    return {ok: false, message: message(err)};
  }
}

/** JSON data as CEL values: whole numbers are ints, others doubles. */
export function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toCel);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) Object.defineProperty(out, k, {value: toCel(v), enumerable: true});
  return out;
}

/** A CEL result as JSON data (ints back to numbers; a map's entries as an object). */
export function fromCel(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(fromCel);
  if (value instanceof Map) return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), fromCel(v)]));
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  const v = value as {valueOf?: () => unknown};
  if (typeof v.valueOf === 'function' && typeof v.valueOf() !== 'object') return fromCel(v.valueOf());
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) Object.defineProperty(out, k, {value: fromCel(x), enumerable: true});
  return out;
}

/** `kind.NAME` and `kind["NAME"]` (and `state.kinds.NAME`) in an expression, with where NAME is. */
function references(ast: ASTNode): Array<{kind: string; name: string; offset: number}> {
  const out: Array<{kind: string; name: string; offset: number}> = [];
  const root = (n: ASTNode): string | undefined => {
    if (n.op === 'id') return n.args === VAR_ID ? 'var' : n.args;
    if ((n.op === '.' || n.op === '.?') && n.args[0].op === 'id' && n.args[0].args === 'state') {
      const kind = Object.entries(STATE_KEYS).find(([, k]) => k === n.args[1])?.[0];
      return kind;
    }
    return undefined;
  };
  const walk = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return;
    const node = n as ASTNode;
    if (typeof node.op === 'string') {
      if (node.op === '.' || node.op === '.?') {
        const kind = root(node.args[0]);
        if (kind) out.push({kind, name: node.args[1], offset: node.args[0].range.end + 1});
      } else if (node.op === '[]' || node.op === '[?]') {
        const kind = root(node.args[0]);
        const key = node.args[1];
        if (kind && key.op === 'value' && typeof key.args === 'string') out.push({kind, name: key.args, offset: key.range.start});
      }
      const args = node.args as unknown;
      if (Array.isArray(args)) args.forEach(walk);
      else walk(args);
      return;
    }
    if (Array.isArray(n)) n.forEach(walk);
  };
  walk(ast);
  return out;
}

/**
 * Validation conditions evaluated on the values given, and output expressions type-checked,
 * with every name they read checked against the configuration. Problems point into the file.
 */
export async function expressionProblems(loaded: LoadedConfig): Promise<Problem[]> {
  const decls = loaded.variables?.declarations ?? [];
  const outputs = Object.entries(loaded.outputs ?? {});
  if (outputs.length === 0 && !decls.some((d) => d.validation)) return [];
  const problems: Problem[] = [];
  const values = loaded.variables?.values ?? {};
  const declared = decls.map((d) => d.name);
  const names: Record<string, string[]> = {
    var: declared,
    agent: Object.keys(loaded.config.agents),
    network: Object.keys(loaded.config.networks),
    volume: Object.keys(loaded.config.volumes),
    image: Object.keys(loaded.config.images),
    cluster: Object.keys(loaded.config.clusters),
    manifests: Object.keys(loaded.config.manifests),
  };
  const checkNames = (ast: ASTNode, path: string[]) => {
    for (const ref of references(ast)) {
      const known = names[ref.kind];
      if (!known || known.includes(ref.name)) continue;
      const what = ref.kind === 'var' ? 'variable' : ref.kind === 'manifests' ? 'manifests entry' : ref.kind;
      problems.push({
        path,
        message: `no ${what} "${preview(ref.name, 64)}" in orchestration.yml${suggestion(ref.name, known)}`,
        ...offsetIn(path, ref.offset),
      });
    }
  };
  const offsetIn = (_path: string[], index: number | undefined) => (index === undefined ? {} : {index});

  for (const d of decls) {
    if (!d.validation) continue;
    const path = ['variables', d.name, 'validation', 'condition'];
    const c = await compile(d.validation.condition, 'condition');
    if (!c.ok) {
      problems.push({path, message: `variables.${d.name}.validation.condition: ${c.message}`, ...offsetIn(path, c.offset)});
      continue;
    }
    const before = problems.length;
    checkNames(c.ast, path);
    if (problems.length > before || !(d.name in values)) continue;
    const r = run(c.program, {var: toCel(values)});
    const shown = preview(JSON.stringify(values[d.name]), 60);
    if (!r.ok)
      problems.push({
        path: ['variables', d.name],
        at: 'key',
        message: `variable "${d.name}" = ${shown}: its validation condition failed: ${r.message}`,
      });
    else if (r.value !== true)
      problems.push({
        path: ['variables', d.name],
        at: 'key',
        message: `variable "${d.name}" = ${shown} is not valid: ${d.validation.message || `the condition ${d.validation.condition} is false`}`,
      });
  }
  for (const [name, o] of outputs) {
    const path = ['outputs', name, 'value'];
    const c = await compile(o.value, 'output');
    if (!c.ok) {
      problems.push({path, message: `outputs.${name}: ${c.message}`, ...offsetIn(path, c.offset)});
      continue;
    }
    checkNames(c.ast, path);
  }
  return problems;
}
