import fs from 'node:fs';
import {fileURLToPath} from 'node:url';

/** The schemas ship in the package's schemas/ folder, beside dist/. */
export function schemaPath(which: 'config' | 'plan'): string {
  const file = which === 'config' ? 'orchestration.schema.json' : 'plan.schema.json';
  for (const rel of [`../../schemas/${file}`, `../../../schemas/${file}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`schemas/${file} is missing from the installation`);
}

export function readSchema(which: 'config' | 'plan'): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(schemaPath(which), 'utf8')) as Record<string, unknown>;
}
