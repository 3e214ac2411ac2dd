// From text to a YAML document: syntax errors, duplicate keys, tags and aliases are found
// here, with source offsets, before anything looks at the data.
import {
  Alias,
  Document,
  LineCounter,
  Pair,
  YAMLMap,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  parseDocument,
  type Node as YamlNode,
} from 'yaml';
import {preview, type Diagnostic} from '../errors.js';
import type {FileSource, Problem, Source} from './problem.js';
import {formatPath, where, type Segment} from './paths.js';
import {scanYaml} from './yaml-guard.js';
import {offsetInString} from './interpolate.js';

export type Parsed = {ok: true; source: Source} | {ok: false; problems: Problem[]; lines: LineCounter};

// Tags that only restate what YAML 1.2's core schema would infer; anything else (!!binary,
// !!set, custom tags) would hand later stages values that are not plain JSON data.
const PLAIN_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

const PARSE_OPTIONS = {
  prettyErrors: false,
  uniqueKeys: false, // checked below in linear time, with the key's name in the message
  merge: false,
  version: '1.2',
  schema: 'core',
} as const;

/** `what` names the file in the one message that needs it (a second document). */
export function parseYaml(text: string, what = 'orchestration.yml'): Parsed {
  const lines = new LineCounter();
  const guard = guarded(text, lines);
  if (guard) return guard;
  const doc = parseDocument(text, {...PARSE_OPTIONS, lineCounter: lines});
  const problems: Problem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) problems.push({offset: e.pos[0], message: yamlMessage(e.code, e.message, what)});
  if (problems.length === 0) checkNodes(doc, lines, problems);
  return problems.length > 0 ? {ok: false, problems, lines} : {ok: true, source: {doc, lines}};
}

export type ParsedStream = {ok: true; docs: Source[]; lines: LineCounter} | {ok: false; problems: Problem[]; lines: LineCounter};

/** A file of several documents separated by --- (Kubernetes manifests), with the same checks. */
export function parseYamlStream(text: string): ParsedStream {
  const lines = new LineCounter();
  const guard = guarded(text, lines);
  if (guard) return guard;
  const parsed = parseAllDocuments(text, {...PARSE_OPTIONS, lineCounter: lines});
  const docs = Array.isArray(parsed) ? parsed : [];
  const problems: Problem[] = [];
  for (const doc of docs)
    for (const e of [...doc.errors, ...doc.warnings]) problems.push({offset: e.pos[0], message: yamlMessage(e.code, e.message, '')});
  if (problems.length === 0) for (const doc of docs) checkNodes(doc, lines, problems);
  return problems.length > 0 ? {ok: false, problems, lines} : {ok: true, docs: docs.map((doc) => ({doc, lines})), lines};
}

/** An alias may stand for a large subtree: its expansion is bounded. */
export const MAX_ALIAS_EXPANSION = 100;

/** The document as plain data, or the message for a file whose aliases expand too far. */
export function documentData(doc: Document.Parsed): {ok: true; data: unknown} | {ok: false; message: string} {
  try {
    return {ok: true, data: doc.toJS({maxAliasCount: MAX_ALIAS_EXPANSION})};
  } catch (err) {
    const message =
      err instanceof ReferenceError && /alias/i.test(err.message)
        ? 'too many YAML aliases: an alias expands to too much data'
        : `cannot read the YAML: ${preview((err as Error).message, 120)}`;
    return {ok: false, message};
  }
}

function guarded(text: string, lines: LineCounter): {ok: false; problems: Problem[]; lines: LineCounter} | undefined {
  const guard = scanYaml(text);
  if (guard === undefined) return undefined;
  // The guard stopped before the parser ran, so count lines up to the offset ourselves.
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i !== -1 && i < guard.offset; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  return {ok: false, problems: [{offset: guard.offset, message: guard.message}], lines};
}

function yamlMessage(code: string, message: string, what: string): string {
  switch (code) {
    case 'MULTIPLE_DOCS':
      return `${what} must hold a single YAML document (found a second one after ---)`;
    case 'TAG_RESOLVE_FAILED':
      return `unsupported YAML tag ${preview(message.replace(/^Unresolved tag:\s*/, ''), 60)}`;
    default:
      return `YAML syntax error: ${preview(message, 160)}`;
  }
}

function shortTag(tag: string): string {
  return preview(tag.replace(/^tag:yaml\.org,2002:/, '!!'), 60);
}

/** The key of a map entry as the JSON data sees it. */
export function keyString(key: unknown): string {
  if (isScalar(key)) return key.value === null ? '' : String(key.value);
  return String(key);
}

function checkNodes(doc: Document.Parsed, lines: LineCounter, problems: Problem[]): void {
  const walk = (node: unknown, path: Segment[]): void => {
    if (isAlias(node) || node === null || node === undefined) return;
    const n = node as YamlNode;
    if (n.tag !== undefined && !PLAIN_TAGS.has(n.tag))
      problems.push({offset: n.range?.[0] ?? 0, message: `unsupported YAML tag ${shortTag(n.tag)} at ${formatPath(path)}`});
    if (isMap(n)) {
      const seen = new Map<string, number>();
      for (const pair of n.items) {
        const k = pair.key as YamlNode | null;
        const offset = k?.range?.[0] ?? n.range?.[0] ?? 0;
        if (k !== null && !isScalar(k)) {
          problems.push({offset, message: `keys must be plain strings ${where(path)} (found ${isAlias(k) ? 'an alias' : 'a collection'})`});
          continue;
        }
        const name = keyString(k);
        const first = seen.get(name);
        if (first !== undefined) {
          const shown = JSON.stringify(preview(name, 60));
          problems.push({offset, message: `duplicate key ${shown} ${where(path)} (first defined on line ${lines.linePos(first).line})`});
        } else seen.set(name, offset);
        walk(pair.value, [...path, name]);
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(doc.contents, []);
}

// Map lookups by key, built on first use: a hostile file can produce thousands of problems
// in one map, and a linear search per problem would make reporting them quadratic.
const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
// Alias.resolve walks the whole document each time; problems under an alias can number thousands.
const aliasTarget = new WeakMap<Alias, unknown>();

function resolveAlias(alias: Alias, doc: Document.Parsed): unknown {
  if (!aliasTarget.has(alias)) aliasTarget.set(alias, alias.resolve(doc));
  return aliasTarget.get(alias);
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndex.get(map);
  if (index === undefined) {
    index = new Map();
    for (const p of map.items) if (isScalar(p.key) && !index.has(keyString(p.key))) index.set(keyString(p.key), p);
    pairIndex.set(map, index);
  }
  return index.get(key);
}

/** Where a config path is in the source: its value, or its key for problems about the key itself. */
export function locate(source: Source, path: readonly Segment[], at: 'key' | 'value' = 'value'): number | undefined {
  const {doc} = source;
  let node: unknown = doc.contents;
  let keyNode: YamlNode | undefined;
  let best: number | undefined = (node as YamlNode | null)?.range?.[0];
  let found = true;
  for (const seg of path) {
    if (isAlias(node)) node = resolveAlias(node, doc);
    let next: unknown;
    keyNode = undefined;
    if (isMap(node)) {
      const pair = findPair(node, String(seg));
      if (pair) {
        keyNode = pair.key as YamlNode;
        next = pair.value ?? null;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
    }
    if (next === undefined) {
      found = false;
      break;
    }
    node = next;
    best = valueOffset(node) ?? keyNode?.range?.[0] ?? best;
  }
  if (found && at === 'key' && keyNode?.range) return keyNode.range[0];
  return best;
}

// An empty value ("key:" with nothing after) has a zero-width range at the end of the line;
// pointing at its key reads better, so treat it as having no position of its own.
function valueOffset(node: unknown): number | undefined {
  if (node === null || node === undefined) return undefined;
  const range = (node as YamlNode).range;
  if (!range) return undefined;
  if (isScalar(node) && node.value === null && range[0] === range[1]) return undefined;
  return range[0];
}

/** A problem found in a YAML file, as a diagnostic with the file's line and column. */
export function problemDiagnostic(file: string, lines: LineCounter, source: Source | undefined, p: Problem): Diagnostic {
  const inFile: FileSource = p.file ?? {label: file, lines, source};
  const inString = inFile.source && p.path && p.index !== undefined ? offsetInString(inFile.source, p.path, p.index) : undefined;
  const offset = p.offset ?? inString ?? (inFile.source && p.path ? locate(inFile.source, p.path, p.at) : undefined);
  const d: Diagnostic = {file: inFile.label, message: p.message};
  if (offset !== undefined) {
    const pos = inFile.lines.linePos(offset);
    d.line = pos.line;
    d.col = pos.col;
  }
  if (p.path !== undefined && p.path.length > 0) d.path = formatPath(p.path);
  return d;
}
