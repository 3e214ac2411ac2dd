// docs/configuration.md from schemas/orchestration.schema.json: every key with its type,
// default, allowed values and examples, in the schema's own order. Generic on purpose: it walks
// properties, maps, lists, $refs and alternatives, so a key added to the schema is documented by
// rerunning `npm run docs` (test/unit/config-docs.test.ts fails until then).
// Usage: node scripts/gen-config-docs.mjs [--check]
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {stringify} from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
export const SCHEMA_FILE = path.join(root, 'schemas/orchestration.schema.json');
export const DOCS_FILE = path.join(root, 'docs/configuration.md');

/** The whole page for `schema` (a parsed draft-07 JSON Schema). Pure: same schema, same text. */
export function renderConfigDocs(schema) {
  const defs = schema.definitions ?? schema.$defs ?? {};
  const resolve = (s) => {
    if (!s || typeof s.$ref !== 'string') return s;
    const name = s.$ref.replace(/^#\/(definitions|\$defs)\//, '');
    // the referring schema's own words (title, description, default) win over the definition's
    const {$ref: _ref, ...own} = s;
    return {...resolve(defs[name]), ...own};
  };
  const out = [];
  out.push(`# Configuration reference: ${schema.title ?? 'orchestration.yml'}`);
  out.push('');
  out.push(
    '<!-- Generated from schemas/orchestration.schema.json by `npm run docs` (scripts/gen-config-docs.mjs). Do not edit by hand: change the schema and rerun it. -->',
  );
  out.push('');
  if (schema.description) out.push(schema.description, '');
  out.push(
    'Editors that speak JSON Schema complete and check this file: put `# yaml-language-server: $schema=./node_modules/orchestrix/schemas/orchestration.schema.json` on its first line. `orx validate` reports every problem as FILE:LINE:COL; `orx schema config` prints the schema.',
    '',
  );
  out.push('In the key paths below, `<name>` stands for a name you choose (a map key) and `[]` for each item of a list.', '');
  const top = Object.entries(schema.properties ?? {});
  out.push('## Top-level keys', '');
  out.push('| Key | Type | Default | Required |');
  out.push('|---|---|---|---|');
  for (const [key, s] of top) {
    const r = resolve(s);
    const req = (schema.required ?? []).includes(key) ? 'yes' : '';
    out.push(
      `| [\`${key}\`](#${anchor(key)}) | ${cell(typeText(r, resolve))} | ${cell(r.default === undefined ? '' : code(r.default))} | ${req} |`,
    );
  }
  out.push('');
  for (const [key, s] of top) {
    const lines = [];
    walk({path: key, name: key, schema: s, required: (schema.required ?? []).includes(key), depth: 2, resolve, lines, seen: []});
    out.push(...lines);
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

/** One key's section, then its children's. */
function walk(o) {
  const {path: at, name, required, depth, resolve, lines} = o;
  const s = resolve(o.schema);
  const ref = typeof o.schema.$ref === 'string' ? o.schema.$ref : null;
  // a definition that contains itself (none today) is documented once, at its first place
  if (ref && o.seen.includes(ref)) return;
  const seen = ref ? [...o.seen, ref] : o.seen;
  // the full path in every nested heading: flat, findable, and the same depth however deep the key
  lines.push(depth === 2 ? `## ${name}` : `### \`${at}\``, '');
  const title = s.title && s.title !== name ? `**${s.title}.** ` : '';
  if (title || s.description) lines.push(`${title}${s.description ?? ''}`.trim(), '');
  const facts = [];
  facts.push(['Type', typeText(s, resolve)]);
  if (required) facts.push(['Required', 'yes']);
  if (s.default !== undefined) facts.push(['Default', code(s.default)]);
  for (const [label, text] of constraints(s)) facts.push([label, text]);
  const alternatives = alternativesOf(s).map(resolve);
  for (const [label, text] of facts) lines.push(`- ${label}: ${text}`);
  if (alternatives.length > 1) {
    lines.push('- One of:');
    for (const a of alternatives) {
      const extra = constraints(a)
        .map(([label, text]) => `${label.toLowerCase()} ${text}`)
        .join('; ');
      lines.push(`  - ${a.title ?? typeText(a, resolve)}${extra ? ` (${extra})` : ''}`);
    }
  }
  lines.push('');
  const examples = examplesOf(s, alternatives);
  if (examples.length > 0) {
    lines.push(examples.length === 1 ? 'Example:' : 'Examples:', '');
    lines.push('```yaml', yamlExamples(at, examples).join('\n# or\n'), '```', '');
  }
  for (const child of childrenOf(s, at, resolve)) {
    walk({...o, ...child, depth: depth + 1, seen});
  }
}

/** The keys under a schema: its properties, a map's entries, a list's items, and those of its object alternatives. */
function childrenOf(s, at, resolve) {
  const out = [];
  const props = (x, prefix) => {
    for (const [k, c] of Object.entries(x.properties ?? {}))
      if (!out.some((o) => o.path === `${prefix}.${k}`))
        out.push({path: `${prefix}.${k}`, name: k, schema: c, required: (x.required ?? []).includes(k)});
  };
  const deep = (x) => {
    const r = resolve(x);
    return Boolean(r && (r.properties || alternativesOf(r).some((a) => resolve(a).properties)));
  };
  props(s, at);
  for (const a of alternativesOf(s)) props(resolve(a), at);
  const map = typeof s.additionalProperties === 'object' ? s.additionalProperties : null;
  if (map && !s.properties && deep(map)) out.push({path: `${at}.<name>`, name: '<name>', schema: map, required: false});
  // a list's items, or those of a list that is one of its alternatives (`egress: none | [...]`)
  const list = [s, ...alternativesOf(s).map(resolve)].find(
    (x) => x?.items && typeof x.items === 'object' && !Array.isArray(x.items) && deep(x.items),
  );
  if (list) out.push({path: `${at}[]`, name: '[]', schema: list.items, required: false});
  return out;
}

/** anyOf/oneOf branches that are types of their own (not `oneOf: [{required: [...]}]` rules). */
function alternativesOf(s) {
  return [...(s.anyOf ?? []), ...(s.oneOf ?? [])].filter((a) => a.$ref || a.type || a.enum || a.const !== undefined || a.properties);
}

/** What a value of `s` is, in words: "integer", "list of string", "map of <name> to Agent", ... */
function typeText(s, resolve, depth = 0) {
  s = resolve(s);
  if (!s) return 'any';
  if (s.const !== undefined) return code(s.const);
  if (s.enum) return s.enum.map(code).join(', ');
  const alts = alternativesOf(s);
  if (!s.type && alts.length > 0)
    return depth > 1
      ? alts.map((a) => resolve(a).title ?? typeText(a, resolve, depth + 1)).join(' or ')
      : alts.map((a) => typeText(a, resolve, depth + 1)).join(' or ');
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length === 0) return s.properties ? 'mapping' : 'any';
  return types
    .map((t) => {
      if (t === 'array') return s.items && !Array.isArray(s.items) ? `list of ${typeText(s.items, resolve, depth + 1)}` : 'list';
      if (t === 'object') {
        if (s.properties) return 'mapping';
        if (typeof s.additionalProperties === 'object') {
          const v = resolve(s.additionalProperties);
          return `map of name to ${v.properties || alternativesOf(v).length ? (v.title ?? 'mapping') : typeText(v, resolve, depth + 1)}`;
        }
        return 'mapping';
      }
      return t;
    })
    .join(' or ');
}

/** The limits a value must respect, as label/text pairs. */
function constraints(s) {
  const out = [];
  const range = (lo, hi, unit) => {
    if (lo !== undefined && hi !== undefined) return `${lo} to ${hi}${unit}`;
    if (lo !== undefined) return `at least ${lo}${unit}`;
    return `at most ${hi}${unit}`;
  };
  if (s.minimum !== undefined || s.maximum !== undefined) out.push(['Range', range(s.minimum, s.maximum, '')]);
  if (s.exclusiveMinimum !== undefined)
    out.push(['Range', `more than ${s.exclusiveMinimum}${s.maximum !== undefined ? `, at most ${s.maximum}` : ''}`]);
  if (s.pattern) out.push(['Pattern', raw(s.pattern)]);
  if (s.format) out.push(['Format', s.format]);
  if (s.minItems !== undefined || s.maxItems !== undefined) out.push(['Items', range(s.minItems, s.maxItems, '')]);
  if (s.uniqueItems) out.push(['Unique items', 'yes']);
  if (s.propertyNames?.pattern) out.push(['Names', raw(s.propertyNames.pattern)]);
  return out;
}

function examplesOf(s, alternatives) {
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples;
  // a definition's examples, when the key is one of its alternatives' only users
  return alternatives.flatMap((a) => (Array.isArray(a.examples) ? a.examples : []));
}

/** The examples written where they go: under their key (one document each), or together as the items of their list. */
function yamlExamples(at, examples) {
  const last = at.split('.').pop();
  // strings quoted: "8080:80" unquoted is a number in YAML 1.1 readers
  const yaml = (doc) => stringify(doc, {lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN'}).trimEnd();
  if (last.endsWith('[]')) return [yaml({[last.slice(0, -2)]: examples})];
  const key = last === '<name>' ? 'NAME' : last;
  return examples.map((e) => yaml({[key]: e}));
}

/** A value as YAML/JSON would spell it, in code. */
function code(v) {
  return raw(JSON.stringify(v));
}

/** Text in code, fenced so that a backquote inside cannot end it. */
function raw(text) {
  const fence = text.includes('`') ? '``' : '`';
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

function cell(text) {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** GitHub's heading anchor for a plain heading. */
function anchor(heading) {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const text = renderConfigDocs(JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')));
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(DOCS_FILE) ? fs.readFileSync(DOCS_FILE, 'utf8') : '';
    if (current !== text) {
      console.error(`${path.relative(root, DOCS_FILE)} is out of date with the schema: run npm run docs`);
      process.exit(1);
    }
  } else {
    fs.mkdirSync(path.dirname(DOCS_FILE), {recursive: true});
    fs.writeFileSync(DOCS_FILE, text);
    console.log(`wrote ${path.relative(root, DOCS_FILE)}`);
  }
}
