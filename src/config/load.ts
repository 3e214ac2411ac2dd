// orchestration.yml -> LoadedConfig, or one OrxError listing every problem with file:line:col.
import {createHash} from 'node:crypto';
import {dirname, isAbsolute, relative, resolve, sep} from 'node:path';
import {OrxError, preview, type Diagnostic} from '../errors.js';
import {configInvalid, FIX_ACTION, Problems} from './diagnostics.js';
import {expressionProblems} from './expressions.js';
import {interpolate} from './interpolate.js';
import {readOutputs} from './outputs.js';
import {readDeclarations, resolveVariables, type VariableInputs} from './variables.js';
import {type Problem} from './problem.js';
import {normalize} from './normalize.js';
import {validateAgainstSchema} from './schema.js';
import {describeValue, schemaProblems} from './schema-errors.js';
import type {LoadedConfig, WorkspaceConfig} from './types.js';
import {FileReadError, readBoundedFile} from '../util/bounded-file.js';
import {documentData, parseYaml, problemDiagnostic} from './yaml-source.js';
import {type Source} from './problem.js';
import type {LineCounter} from 'yaml';

export const CONFIG_FILE = 'orchestration.yml';
/** Far above any real workspace; refusing early keeps hostile files from costing parse time. */
export const MAX_CONFIG_BYTES = 2 * 1024 * 1024;

export interface LoadOptions {
  /** config file, relative to `dir` or absolute; default orchestration.yml */
  file?: string;
  /** the values given for `variables:` (absent: defaults only) */
  vars?: VariableInputs;
}

export function loadConfig(dir: string, opts: LoadOptions = {}): LoadedConfig {
  assertAbsolute(dir);
  const file = resolve(dir, opts.file ?? CONFIG_FILE);
  const rel = relative(dir, file);
  const label = rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : file;
  const bytes = readBounded(file, label);
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  return {dir, file, file_digest: createHash('sha256').update(bytes).digest('hex'), ...parseWorkspace(text, dir, label, opts.vars)};
}

// A FIFO or device named orchestration.yml must not hang or flood orx: the shared bounded
// reader refuses anything but a regular file and never reads past the limit.
function readBounded(file: string, label: string): Buffer {
  try {
    return readBoundedFile(file, MAX_CONFIG_BYTES, {label});
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    if (err.reason === 'missing') throw unreadable(err, file, label);
    if (err.reason === 'directory')
      throw configInvalid(
        [{file: label, message: `${label} is a directory, not a file`}],
        ['Remove the directory or choose another file.'],
      );
    if (err.reason === 'special') throw configInvalid([{file: label, message: err.message}], ['Replace it with a plain file.']);
    if (err.reason === 'too_large') throw tooLarge(label, err.size);
    throw unreadable(err, file, label);
  }
}

function unreadable(err: unknown, file: string, label: string): OrxError {
  const code = err instanceof FileReadError ? err.errno : (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new OrxError({
      code: 'config_missing',
      message: `${label} not found in ${dirname(file)}`,
      actions: ['Run `orx init` to create a workspace here, or run orx from the directory that holds orchestration.yml.'],
      data: {file},
    });
  return new OrxError({
    code: 'config_unreadable',
    message: `cannot read ${label}: ${code ?? preview((err as Error).message, 120)}`,
    actions: ['Check that the file exists and is readable.'],
    data: {file},
  });
}

function tooLarge(label: string, size?: number): OrxError {
  return configInvalid(
    [
      {
        file: label,
        message: `${label} is too large (${size !== undefined ? `${size} bytes; ` : 'more than '}at most ${MAX_CONFIG_BYTES} bytes, 2 MiB)`,
      },
    ],
    ['Shrink the file: orchestration.yml holds names and settings, not data.'],
  );
}

function assertAbsolute(dir: string): void {
  // A relative dir would be resolved against the process working directory, which nothing below commands/ may read.
  if (!isAbsolute(dir)) throw new Error(`workspace directory must be absolute, got ${preview(dir)}`);
}

/**
 * The pure part of loadConfig: text -> WorkspaceConfig, throwing OrxError('config_invalid')
 * with a diagnostic per problem. `dir` is the absolute workspace directory build contexts
 * are resolved against; `fileLabel` is how diagnostics name the file.
 */
export function parseConfig(text: string, dir: string, fileLabel = CONFIG_FILE, vars?: VariableInputs): WorkspaceConfig {
  return parseWorkspace(text, dir, fileLabel, vars).config;
}

type Parsed = Pick<LoadedConfig, 'config' | 'variables' | 'outputs'>;

function parseWorkspace(text: string, dir: string, fileLabel: string, vars: VariableInputs | undefined): Parsed {
  assertAbsolute(dir);
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_CONFIG_BYTES) throw tooLarge(fileLabel, size);

  const parsed = parseYaml(text);
  if (!parsed.ok) throw configInvalid(toDiagnostics(parsed.problems, fileLabel, parsed.lines));
  const {source} = parsed;
  const {doc} = source;

  const read = documentData(doc);
  if (!read.ok) throw configInvalid(toDiagnostics([{path: [], message: read.message}], fileLabel, source.lines, source));
  const data = read.data;

  if (data === null || data === undefined)
    throw configInvalid([{file: fileLabel, line: 1, col: 1, message: `${fileLabel} is empty; it needs at least "workspace: NAME"`}]);
  if (typeof data !== 'object' || Array.isArray(data)) {
    const message = `${fileLabel} must be a mapping of keys such as workspace and agents (got ${describeValue(data)})`;
    throw configInvalid(toDiagnostics([{path: [], message}], fileLabel, source.lines, source));
  }

  // variables first: every other string may refer to them, and the schema checks the values they give
  const varProblems = new Problems();
  const raw = data as Record<string, unknown>;
  const declarations = readDeclarations(raw.variables, varProblems);
  const {values, sources} = resolveVariables(declarations, vars, dir, varProblems);
  const declared = new Set(declarations.map((d) => d.name));
  // most files refer to no variable: nothing to walk
  const interpolated = text.includes('${') ? interpolate(raw, values, declared, varProblems.list) : raw;
  if (varProblems.size > 0)
    throw configInvalid(toDiagnostics(varProblems.list, fileLabel, source.lines, source), variableActions(varProblems));

  const problems = new Problems();
  problems.list.push(...schemaProblems(validateAgainstSchema(interpolated), interpolated));
  const config = normalize(interpolated, dir, problems);
  const outputs = readOutputs(raw.outputs);
  if (problems.size > 0) throw configInvalid(toDiagnostics(problems.list, fileLabel, source.lines, source));
  // absent rather than empty: a file without them loads exactly as before
  return {
    config,
    ...(declarations.length > 0 ? {variables: {declarations, values, sources}} : {}),
    ...(Object.keys(outputs).length > 0 ? {outputs} : {}),
  };
}

function variableActions(problems: Problems): string[] {
  const missing = problems.list.some((p) => / has no value: /.test(p.message));
  return missing
    ? ['Give each variable a value: `-var NAME=VALUE`, `-var-file FILE` (YAML or JSON), or ORX_VAR_NAME in the environment.', FIX_ACTION]
    : [FIX_ACTION];
}

/**
 * Problems found after loading (checks that are asynchronous, such as the 1Password SDK's
 * reference syntax), placed at file:line:col like every other configuration error.
 */
export function diagnosticsAt(loaded: LoadedConfig, problems: Problem[]): Diagnostic[] {
  const label = relative(loaded.dir, loaded.file) || loaded.file;
  const parsed = parseYaml(
    readBounded(loaded.file, label)
      .toString('utf8')
      .replace(/^\uFEFF/, ''),
  );
  return parsed.ok
    ? toDiagnostics(problems, label, parsed.source.lines, parsed.source)
    : problems.map((p) => ({file: label, message: p.message}));
}

/** Variable validation conditions and output expressions (CEL), checked after loading: throws with file:line:col. */
export async function checkExpressions(loaded: LoadedConfig): Promise<void> {
  const problems = await expressionProblems(loaded);
  if (problems.length > 0) throw configInvalid(diagnosticsAt(loaded, problems));
}

function toDiagnostics(problems: Problem[], file: string, lines: LineCounter, source?: Source): Diagnostic[] {
  // The config file first, then each other file (kind configs, manifests) as first met.
  const files = new Map<string, number>([[file, 0]]);
  const out = problems.map((p, i) => {
    const d = problemDiagnostic(file, lines, source, p);
    if (!files.has(d.file!)) files.set(d.file!, files.size);
    return {d, f: files.get(d.file!)!, i};
  });
  // In file order, so the list reads top to bottom next to the file.
  out.sort((a, b) => a.f - b.f || (a.d.line ?? Infinity) - (b.d.line ?? Infinity) || (a.d.col ?? 0) - (b.d.col ?? 0) || a.i - b.i);
  return out.map((x) => x.d);
}
