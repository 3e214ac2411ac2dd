// The published JSON Schema for orchestration.yml, found next to the package and compiled
// once, on first use, so commands that never read the config do not pay for ajv.
import {existsSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv';

const SCHEMA_FILE = join('schemas', 'orchestration.schema.json');

let cachedPath: string | undefined;
let cachedSchema: Record<string, unknown> | undefined;
let cachedValidate: ValidateFunction | undefined;

/** Absolute path of schemas/orchestration.schema.json in this package (src/ or dist/ alike). */
export function configSchemaPath(): string {
  if (cachedPath !== undefined) return cachedPath;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, SCHEMA_FILE);
    if (existsSync(candidate)) return (cachedPath = candidate);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`cannot find ${SCHEMA_FILE} above ${fileURLToPath(import.meta.url)}; the package is incomplete`);
}

export function configSchema(): Record<string, unknown> {
  cachedSchema ??= JSON.parse(readFileSync(configSchemaPath(), 'utf8')) as Record<string, unknown>;
  return cachedSchema;
}

export function validateAgainstSchema(data: unknown): ErrorObject[] {
  cachedValidate ??= new Ajv({allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true}).compile(configSchema());
  return cachedValidate(data) ? [] : [...(cachedValidate.errors ?? [])];
}
