// Every command that takes --json has a schema of its result in schemas/results/, every such
// schema compiles (strict ajv, with the published plan schema it refers to), and each one
// says what a result must hold: an empty document never passes.
import {readFileSync, readdirSync} from 'node:fs';
import path from 'node:path';
import {Ajv} from 'ajv';
import {describe, expect, it} from 'vitest';
import {listSchemas, resultSchema} from '../../src/app/schema.js';
import {AJV_OPTIONS, readPublishedSchema, resultSchemaNames} from '../../src/config/schema.js';
import {OrxError} from '../../src/errors.js';
import {repoRoot} from '../helpers/workspace.js';

const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, {flags: Record<string, unknown>}>;
};
const resultsDir = path.join(repoRoot, 'schemas/results');
const read = (name: string) => JSON.parse(readFileSync(path.join(resultsDir, `${name}.schema.json`), 'utf8')) as Record<string, unknown>;
const names = resultSchemaNames();

function compiler(): Ajv {
  const ajv = new Ajv({...AJV_OPTIONS, allErrors: true});
  ajv.addSchema(readPublishedSchema('plan'));
  for (const n of names) ajv.addSchema(read(n));
  return ajv;
}

describe('result schemas', () => {
  it('every command with --json has one, and every schema belongs to a command (or is the error envelope)', () => {
    const withJson = Object.entries(manifest.commands)
      .filter(([, c]) => 'json' in c.flags)
      .map(([id]) => id.replace(/:/g, '-'))
      .sort();
    expect(withJson.length).toBeGreaterThan(35);
    expect(names.filter((n) => n !== 'error')).toEqual(withJson);
    expect(readdirSync(resultsDir).every((f) => f.endsWith('.schema.json'))).toBe(true);
  });

  it("each command's result is typed by its own id (src/app/results.ts), the id its schema is named for", () => {
    for (const id of Object.keys(manifest.commands)) {
      const file = path.join(repoRoot, 'commands', `${id.replace(/:/g, '/')}.ts`);
      expect(readFileSync(file, 'utf8'), file).toContain(`CommandResult<ResultOf<'${id.replace(/:/g, ' ')}'>>`);
    }
  });

  it('each compiles with ajv (strict) and refers only to schemas shipped with orx', () => {
    const ajv = compiler();
    for (const n of names) {
      const s = read(n);
      expect(s.$id).toBe(`https://orchestrix.dev/schemas/results/${n}.schema.json`);
      expect(s.$schema).toBe('http://json-schema.org/draft-07/schema#');
      expect(typeof s.title, n).toBe('string');
      const validate = ajv.getSchema(String(s.$id));
      expect(validate, n).toBeDefined();
      // compiles now: an unresolved $ref or an unknown keyword throws
      expect(validate!.schema, n).toEqual(s);
      expect(validate!({}), `${n} accepts an empty document`).toBe(false);
      expect(validate!({formatVersion: '1'}), `${n} accepts a document with nothing in it`).toBe(false);
    }
  });

  it('the error envelope: what OrxError.toJSON gives, with formatVersion', () => {
    const validate = compiler().getSchema('https://orchestrix.dev/schemas/results/error.schema.json')!;
    const e = new OrxError({code: 'not_found', message: 'no run x', actions: ['See `orx runs`.'], data: {id: 'x'}});
    expect(validate({formatVersion: '1', error: e.toJSON()}), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({formatVersion: '1', error: {...e.toJSON(), status: 0}})).toBe(false);
  });

  it('orx schema lists every schema and finds a result by command id, with spaces or dashes', () => {
    const listed = listSchemas().map((s) => s.name);
    expect(listed.slice(0, 4)).toEqual(['config', 'plan', 'policy', 'error']);
    expect(listed).toContain('result dr-backup');
    expect(listSchemas().every((s) => s.description.length > 0 && !s.description.includes('\n'))).toBe(true);
    expect(resultSchema('dr backup')).toEqual(read('dr-backup'));
    expect(resultSchema('state:show')).toEqual(read('state-show'));
    expect(() => resultSchema('error')).toThrow(/no result schema for "error"/);
    expect(() => resultSchema('state shw')).toThrow(/did you mean "state-show"/);
  });
});
