// The published JSON Schema for orchestration.yml, found next to the package and compiled
// once, on first use, so commands that never read the config do not pay for ajv.
import {existsSync, readdirSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {createRequire} from 'node:module';
import type {Ajv, ErrorObject, Options, ValidateFunction} from 'ajv';

const FILES = {config: 'orchestration.schema.json', plan: 'plan.schema.json', policy: 'policy.schema.json'} as const;

const cachedPaths = new Map<string, string>();
let cachedSchema: Record<string, unknown> | undefined;
let cachedValidate: ValidateFunction | undefined;

/** Absolute path of a schema shipped in this package's schemas/ (from src/ or dist/ alike). */
export function publishedSchemaPath(which: keyof typeof FILES): string {
  return shippedPath(join('schemas', FILES[which]));
}

function shippedPath(file: string): string {
  const hit = cachedPaths.get(file);
  if (hit) return hit;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) {
      cachedPaths.set(file, candidate);
      return candidate;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`cannot find ${file} above ${fileURLToPath(import.meta.url)}; the package is incomplete`);
}

export function readPublishedSchema(which: keyof typeof FILES): Record<string, unknown> {
  return JSON.parse(readFileSync(publishedSchemaPath(which), 'utf8')) as Record<string, unknown>;
}

/** The schemas of the --json documents: schemas/results/NAME.schema.json, NAME a command id with dashes, or `error`. */
const RESULTS_DIR = join('schemas', 'results');
const RESULT_SUFFIX = '.schema.json';

export function resultSchemaNames(): string[] {
  const dir = shippedPath(RESULTS_DIR);
  return readdirSync(dir)
    .filter((f) => f.endsWith(RESULT_SUFFIX))
    .map((f) => f.slice(0, -RESULT_SUFFIX.length))
    .sort();
}

/** undefined: no result schema of that name. */
export function readResultSchema(name: string): Record<string, unknown> | undefined {
  if (!resultSchemaNames().includes(name)) return undefined;
  return JSON.parse(readFileSync(join(shippedPath(RESULTS_DIR), `${name}${RESULT_SUFFIX}`), 'utf8')) as Record<string, unknown>;
}

export function configSchemaPath(): string {
  return publishedSchemaPath('config');
}

export function configSchema(): Record<string, unknown> {
  cachedSchema ??= readPublishedSchema('config');
  return cachedSchema;
}

export const AJV_OPTIONS: Options = {allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true};

/** config, policy, and the kind Cluster config (a definition of the config schema, checked on its own). */
export type ValidatorName = 'config' | 'policy' | 'kind';

/** Where `npm run build` writes each validator compiled ahead of time (ajv standalone). */
export function precompiledFile(which: ValidatorName): string {
  return `${which}-validate.cjs`;
}

const KIND_DEFINITION = 'kind_cluster_config';

export function compileSchema(which: ValidatorName, opts: Options = {}): {ajv: Ajv; validate: ValidateFunction} {
  // ajv itself costs ~30 ms to load: the precompiled validators need only its small runtime
  const {Ajv: AjvClass} = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  const ajv = new AjvClass({...AJV_OPTIONS, ...opts});
  if (which === 'policy') return {ajv, validate: ajv.compile(readPublishedSchema('policy'))};
  const schema = readPublishedSchema('config');
  if (which === 'kind') {
    ajv.addSchema(schema);
    const validate = ajv.getSchema(`${String(schema.$id)}#/definitions/${KIND_DEFINITION}`);
    if (!validate) throw new Error(`orchestration.schema.json has no definitions.${KIND_DEFINITION}`);
    return {ajv, validate};
  }
  // every start-up loads the config validator; the kind config (half its size) is checked by its
  // own, loaded only by workspaces that have clusters. Editors still get all of it from the file.
  const definitions = {...(schema.definitions as Record<string, unknown>), [KIND_DEFINITION]: {type: 'object'}};
  return {ajv, validate: ajv.compile({...schema, definitions})};
}

/**
 * Compiling a schema costs about 50 ms per start-up; the build compiles them once. From the
 * TypeScript sources (tests) there is no compiled copy, so it is compiled here.
 */
export function loadValidator(which: ValidatorName): ValidateFunction {
  try {
    const mod = createRequire(import.meta.url)(`./${precompiledFile(which)}`) as {default?: ValidateFunction} & ValidateFunction;
    return mod.default ?? mod;
  } catch {
    return compileSchema(which).validate;
  }
}

export function validateAgainstSchema(data: unknown): ErrorObject[] {
  cachedValidate ??= loadValidator('config');
  return cachedValidate(data) ? [] : [...(cachedValidate.errors ?? [])];
}
