// The published schema: loadable by editors, strict, bounded, and fully covered by the
// error translation (a pattern or keyword without words would leak ajv jargon to users).
import {describe, expect, it} from 'vitest';
import {readFileSync} from 'node:fs';
import {Ajv} from 'ajv';
import {configSchema, configSchemaPath, validateAgainstSchema} from '../../src/config/schema.js';
import {HANDLED_KEYWORDS} from '../../src/config/schema-errors.js';
import {NAME_PATTERN, PATTERN_HINTS} from '../../src/config/patterns.js';
import {cpuMs} from '../helpers/cpu-time.js';

type S = Record<string, unknown>;
const schema = configSchema() as S;
const defs = schema.definitions as Record<string, S>;

/** Every subschema with its JSON pointer. */
function walk(node: unknown, at: string, out: Array<[string, S]> = []): Array<[string, S]> {
  if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${at}/${i}`, out));
  else if (node && typeof node === 'object') {
    const s = node as S;
    if ('type' in s || '$ref' in s || 'anyOf' in s || 'oneOf' in s || 'enum' in s || 'required' in s || 'pattern' in s) out.push([at, s]);
    for (const [k, v] of Object.entries(s)) {
      if (k === 'enum' || k === 'required' || k === 'default' || k === 'examples') continue;
      if (k === 'properties' || k === 'definitions') for (const [pk, pv] of Object.entries(v as S)) walk(pv, `${at}/${k}/${pk}`, out);
      else walk(v, `${at}/${k}`, out);
    }
  }
  return out;
}
const all = walk(schema, '#');
const resolve = (s: S): S => (typeof s.$ref === 'string' ? {...defs[s.$ref.replace('#/definitions/', '')], ...s} : s);
const types = (s: S): string[] => (Array.isArray(s.type) ? (s.type as string[]) : s.type ? [s.type as string] : []);

describe('orchestration.schema.json', () => {
  it('is the shipped file, draft-07, with its $id', () => {
    expect(configSchemaPath()).toMatch(/schemas[/\\]orchestration\.schema\.json$/);
    expect(JSON.parse(readFileSync(configSchemaPath(), 'utf8'))).toEqual(schema);
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.$id).toBe('https://orchestrix.dev/schemas/orchestration.schema.json');
  });

  it('compiles in ajv strict mode', () => {
    expect(() => new Ajv({strict: true, strictRequired: false, allowUnionTypes: true}).compile(schema)).not.toThrow();
  });

  it('closes every object with additionalProperties: false (maps constrain their values instead)', () => {
    for (const [at, s] of all) {
      if (!types(s).includes('object')) continue;
      if (s.properties) expect(s.additionalProperties, at).toBe(false);
      else expect(typeof s.additionalProperties, at).toBe('object');
    }
  });

  it('bounds every string, list and map', () => {
    for (const [at, s] of all) {
      const r = resolve(s);
      if (types(r).includes('string')) expect(r.maxLength, at).toBeTypeOf('number');
      if (types(r).includes('array')) expect(r.maxItems, at).toBeTypeOf('number');
      if (types(r).includes('object') && !r.properties) expect(r.maxProperties, at).toBeTypeOf('number');
      if (r.propertyNames) expect((r.propertyNames as S).maxLength, at).toBeTypeOf('number');
    }
  });

  it('constrains resource names with propertyNames and workspace with the same rule', () => {
    const props = schema.properties as Record<string, S>;
    for (const k of ['networks', 'volumes', 'images', 'agents']) expect((props[k].propertyNames as S).pattern).toBe(NAME_PATTERN);
    expect(defs.name.pattern).toBe(NAME_PATTERN);
    expect(props.workspace.$ref).toBe('#/definitions/name');
    expect(NAME_PATTERN).toBe('^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$');
  });

  it('gives every property a title and a description (editors show them)', () => {
    for (const [at, s] of all) {
      if (!/\/properties\/[^/]+$/.test(at)) continue;
      const r = resolve(s);
      expect(r.title, at).toBeTypeOf('string');
      expect(r.description, at).toBeTypeOf('string');
    }
    expect(schema.title).toBeTypeOf('string');
    expect(schema.description).toBeTypeOf('string');
  });

  it('has words for every pattern and keyword it uses', () => {
    for (const [at, s] of all) {
      if (typeof s.pattern === 'string') expect(PATTERN_HINTS[s.pattern], at).toBeTypeOf('string');
    }
    const used = new Set<string>();
    const collect = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(collect);
      else if (n && typeof n === 'object')
        for (const [k, v] of Object.entries(n as S)) {
          if (k === 'properties' || k === 'definitions') Object.values(v as S).forEach(collect);
          else {
            used.add(k);
            if (k !== 'enum' && k !== 'default' && k !== 'examples' && k !== 'dependencies') collect(v);
          }
        }
    };
    collect(schema);
    const annotations = new Set([
      '$schema',
      '$id',
      '$ref',
      'title',
      'description',
      'default',
      'examples',
      'definitions',
      'properties',
      'items',
    ]);
    for (const k of used) if (!annotations.has(k)) expect(HANDLED_KEYWORDS.has(k), k).toBe(true);
  });

  it('accepts the example from DESIGN.md minus the parts a later release adds', () => {
    const example = {
      workspace: 'research-lab',
      autonomy: 1,
      kill_switch: false,
      variables: {log_level: {type: 'string', default: 'info'}},
      networks: {backplane: {internal: true}},
      volumes: {memory: {backup: true}},
      images: {
        'agent-base': {build: {context: 'templates/images/agent-base'}},
        tools: {ref: 'ghcr.io/example/tools:1.4', verify: {key: 'keys/cosign.pub'}},
      },
      agents: {
        researcher: {
          image: 'agent-base',
          command: ['/bin/agent', '--serve'],
          env: {LOG_LEVEL: 'info'},
          tier: 'basic',
          networks: ['backplane'],
          volumes: ['memory:/data'],
          ports: [{container: 8080, host: 18080}],
          health: {http: {port: 8080, path: '/healthz'}, interval: '5s', timeout: '2s', retries: 3},
          depends_on: ['planner'],
        },
        planner: {image: 'tools'},
      },
      dr: {destination: '.orx/backups', skip_special: false, max_volume_bytes: '20GiB'},
      outputs: {researcher_url: {value: 'state.agents.researcher.ports[0].url'}},
    };
    expect(validateAgainstSchema(example)).toEqual([]);
  });

  it('the image ref pattern stays fast on hostile input', () => {
    const re = new RegExp((defs.image.properties as Record<string, S>).ref.pattern as string, 'u');
    for (const s of [
      'a'.repeat(50_000) + '!',
      'a-'.repeat(25_000) + '!',
      'a.'.repeat(25_000) + '/',
      'a__'.repeat(20_000) + 'A',
      `${'a'.repeat(300)}:${'a'.repeat(300)}`,
    ]) {
      expect(cpuMs(() => re.test(s)).ms).toBeLessThan(100);
    }
    for (const ok of [
      'alpine',
      'alpine:3.20',
      'ghcr.io/example/tools:1.4',
      'localhost:5000/a/b_c__d-e',
      `alpine@sha256:${'0'.repeat(64)}`,
      'docker.io/library/busybox:1.36.1-musl',
    ])
      expect(re.test(ok), ok).toBe(true);
    for (const bad of ['Alpine', 'alpine:', 'a//b', '-a', `alpine@sha256:${'0'.repeat(63)}`, 'a b', 'alpine:tag;rm'])
      expect(re.test(bad), bad).toBe(false);
  });
});

describe('the validator compiled ahead of time', () => {
  it('reports exactly what the runtime-compiled one reports', async () => {
    const {compileSchema} = await import('../../src/config/schema.js');
    const {mkdtempSync, writeFileSync: write, rmSync} = await import('node:fs');
    const {createRequire} = await import('node:module');
    const path = await import('node:path');
    const standaloneCode = createRequire(import.meta.url)('ajv/dist/standalone') as (ajv: unknown, fn: unknown) => string;
    const {ajv, validate} = compileSchema('config', {code: {source: true}});
    // inside the repo, so the generated code resolves ajv's runtime helpers
    const dir = mkdtempSync(path.join(path.dirname(new URL(import.meta.url).pathname), '.standalone-'));
    try {
      const file = path.join(dir, 'v.cjs');
      write(file, standaloneCode(ajv, validate));
      const pre = createRequire(import.meta.url)(file);
      const runtime = compileSchema('config').validate;
      for (const doc of [
        {workspace: 'ok'},
        {workspace: 'BAD NAME', autonomy: 9, agents: {a: {imgae: 'x', tier: 'gold', ports: [{container: 'x'}]}}},
        {workspace: 'w', networks: {n: {internal: 'yes'}}, volumes: {v: {backup: 1}}},
      ]) {
        const a = runtime(doc);
        const b = pre(doc);
        expect(b).toBe(a);
        // parentSchema included: the messages take the allowed keys and types from it
        expect(pre.errors ?? null).toEqual(runtime.errors ?? null);
      }
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });
});
