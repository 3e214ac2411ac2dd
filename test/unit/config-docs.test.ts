// docs/configuration.md is generated from schemas/orchestration.schema.json (npm run docs):
// checked in, kept current by regenerating it here, and complete (every key of the schema has
// its section, every example in the schema is valid where it is shown).
import fs from 'node:fs';
import {Ajv} from 'ajv';
import {describe, expect, it} from 'vitest';
import {DOCS_FILE, renderConfigDocs, SCHEMA_FILE} from '../../scripts/gen-config-docs.mjs';
import {AJV_OPTIONS} from '../../src/config/schema.js';

type S = Record<string, unknown>;
const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as S;

describe('docs/configuration.md', () => {
  it('is what npm run docs makes of the schema today', () => {
    const fresh = renderConfigDocs(schema);
    const current = fs.existsSync(DOCS_FILE) ? fs.readFileSync(DOCS_FILE, 'utf8') : '';
    expect(current === fresh, 'docs/configuration.md is out of date with schemas/orchestration.schema.json: run npm run docs').toBe(true);
  });

  it('has a section for every key the schema names, at every depth', () => {
    const doc = fs.readFileSync(DOCS_FILE, 'utf8');
    const headings = new Set(doc.split('\n').flatMap((l) => (/^##+ /.test(l) ? [l.replace(/^##+ |`/g, '')] : [])));
    const keys = new Set<string>();
    const collect = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(collect);
      else if (n && typeof n === 'object')
        for (const [k, v] of Object.entries(n as S)) {
          if (k === 'examples' || k === 'default' || k === 'enum' || k === 'const') continue;
          if (k === 'properties') for (const name of Object.keys(v as S)) keys.add(name);
          collect(v);
        }
    };
    collect(schema);
    expect(keys.size).toBeGreaterThan(100);
    for (const k of keys)
      expect(
        [...headings].some((h) => h === k || h.endsWith(`.${k}`)),
        k,
      ).toBe(true);
    // the port syntax, shown both ways
    expect(doc).toContain('- "8080:80"');
    expect(doc).toMatch(/- container: 8080\n {4}host: 18080/);
  });

  it('shows only examples that the schema accepts where they are shown', () => {
    const ajv = new Ajv({...AJV_OPTIONS, strict: false});
    ajv.addSchema(schema);
    const id = String(schema.$id);
    let checked = 0;
    const visit = (n: unknown, pointer: string): void => {
      if (Array.isArray(n)) return n.forEach((x, i) => visit(x, `${pointer}/${i}`));
      if (!n || typeof n !== 'object') return;
      for (const [k, v] of Object.entries(n as S)) {
        if (k === 'examples') {
          const validate = ajv.compile({$ref: `${id}#${pointer}`});
          for (const e of v as unknown[]) {
            expect(validate(e), `${pointer}: ${JSON.stringify(e)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
            checked++;
          }
        } else if (k !== 'default' && k !== 'enum' && k !== 'const')
          visit(v, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`);
      }
    };
    visit(schema, '');
    expect(checked).toBeGreaterThan(20);
  });

  it('documents a key added to the schema without being told about it (variables, outputs, moved)', () => {
    const grown = structuredClone(schema) as S & {properties: S};
    grown.properties.variables = {
      title: 'Variables',
      description: 'Input variables, by name.',
      type: 'object',
      maxProperties: 100,
      additionalProperties: {
        title: 'Variable',
        description: 'One input variable.',
        type: 'object',
        additionalProperties: false,
        properties: {
          type: {title: 'Type', description: 'Its type.', enum: ['string', 'number'], default: 'string'},
          default: {title: 'Default', description: 'Used when nothing sets it.', examples: ['info']},
        },
      },
    };
    const doc = renderConfigDocs(grown);
    expect(doc).toContain('| [`variables`](#variables) | map of name to Variable |');
    expect(doc).toContain('## variables');
    expect(doc).toMatch(
      /### `variables\.<name>\.type`\n\n\*\*Type\.\*\* Its type\.\n\n- Type: `"string"`, `"number"`\n- Default: `"string"`/,
    );
    expect(doc).toMatch(/### `variables\.<name>\.default`[\s\S]*default: "info"/);
  });
});
