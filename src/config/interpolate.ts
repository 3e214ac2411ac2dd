// `${var.name}` in the string values of orchestration.yml. A string that is exactly one
// reference becomes the variable's typed value (a number stays a number, a list a list); inside
// a longer string the value is spliced in as text. `$${` is a literal `${`. Other `${...}`
// (a shell's `${HOME}` in a command) is left as written.
import {isScalar, Scalar} from 'yaml';
import {preview} from '../errors.js';
import type {ConfigPath, Segment} from './paths.js';
import type {Problem, Source} from './problem.js';
import {suggestion} from './suggest.js';

/** Top-level keys whose strings are not interpolated: the declarations themselves, and CEL. */
const NOT_INTERPOLATED = new Set(['variables', 'outputs']);

// $${ (escape) | ${ var.NAME } | ${ var. followed by something that is not a name
const TOKEN = /\$\$\{|\$\{\s*var\.([A-Za-z0-9_]*)\s*\}|\$\{\s*var\.[^}]*\}?/g;
const WHOLE = /^\$\{\s*var\.([A-Za-z_][A-Za-z0-9_]*)\s*\}$/;

export interface Reference {
  name: string;
  path: ConfigPath;
  /** index of `${` in the string */
  index: number;
}

/**
 * The data with every reference replaced. `problems` gets one entry per undeclared or malformed
 * reference, at its path and its place in the string.
 */
export function interpolate(
  data: Record<string, unknown>,
  values: Record<string, unknown>,
  declared: ReadonlySet<string>,
  problems: Problem[],
): Record<string, unknown> {
  const problem = (path: ConfigPath, index: number, message: string) => problems.push({path, message, index});
  const str = (s: string, path: Segment[]): unknown => {
    if (!s.includes('${')) return s;
    const whole = WHOLE.exec(s);
    if (whole) {
      const name = whole[1];
      if (!declared.has(name)) {
        problem(path, 0, undeclared(name, declared));
        return s;
      }
      return name in values ? values[name] : s;
    }
    return s.replace(TOKEN, (token: string, name: string | undefined, index: number) => {
      if (token === '$${') return '${';
      if (name === undefined || name === '' || !/^[A-Za-z_]/.test(name) || !token.endsWith('}')) {
        problem(
          path,
          index,
          `malformed variable reference ${JSON.stringify(preview(token, 40))}: write \${var.NAME} (or $\${ for a literal \${)`,
        );
        return token;
      }
      if (!declared.has(name)) {
        problem(path, index, undeclared(name, declared));
        return token;
      }
      if (!(name in values)) return token;
      const v = values[name];
      if (v !== null && typeof v === 'object') {
        problem(
          path,
          index,
          `var.${name} is a ${Array.isArray(v) ? 'list' : 'map'}: it can only be the whole value ("\${var.${name}}"), not part of a string`,
        );
        return token;
      }
      return String(v);
    });
  };
  const walk = (v: unknown, path: Segment[]): unknown => {
    if (typeof v === 'string') return str(v, path);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        Object.defineProperty(out, k, {
          value: path.length === 0 && NOT_INTERPOLATED.has(k) ? x : walk(x, [...path, k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return out;
    }
    return v;
  };
  return walk(data, []) as Record<string, unknown>;
}

function undeclared(name: string, declared: ReadonlySet<string>): string {
  return `var.${name} is not declared${suggestion(name, declared)}; declare it under \`variables:\` (e.g. variables: {${name}: {type: string}})`;
}

/**
 * Where the `${` at `index` of the string at `path` is in the file: exact for plain scalars and
 * for quoted ones with nothing before it that could have been written as an escape; else the
 * start of the value.
 */
export function offsetInString(source: Source, path: ConfigPath, index: number): number | undefined {
  const node = source.doc.getIn(path, true);
  if (!isScalar(node) || !node.range || typeof node.value !== 'string') return undefined;
  const start = node.range[0];
  if (node.type === Scalar.PLAIN) return start + index;
  const before = node.value.slice(0, index);
  if (node.type === Scalar.QUOTE_SINGLE && !/['\n]/.test(before)) return start + 1 + index;
  if (node.type === Scalar.QUOTE_DOUBLE && !/[\\"\n\t]/.test(before)) return start + 1 + index;
  return start;
}
