// manifests.NAME.path -> the files it names, and each file -> the objects in it, with where
// each one is so that problems are reported in that file at its own line and column.
import type {Problems} from './diagnostics.js';
import {formatPath, type ConfigPath} from './paths.js';
import {list, rec} from './raw.js';
import {listFiles, lookupInWorkspace, readBounded, type WorkspacePath} from './workspace-files.js';
import {documentData, parseYamlStream} from './yaml-source.js';
import {type FileSource} from './problem.js';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
/** Large CRDs run to a few hundred KiB; this bounds what a hostile file costs. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_MANIFEST_FILES = 1000;

export interface ManifestFile {
  file: WorkspacePath;
  /** the path entry of the config that named it, where problems reading it are reported */
  at: ConfigPath;
}

/** The files of a `path` value (a path or a list of them), each once, in the order written. */
export function manifestFiles(dir: string, raw: unknown, path: ConfigPath, problems: Problems): ManifestFile[] {
  const written =
    typeof raw === 'string' ? [{p: raw, at: path}] : list(raw).flatMap((p, i) => (typeof p === 'string' ? [{p, at: [...path, i]}] : []));
  const out: ManifestFile[] = [];
  const seen = new Set<string>();
  const add = (file: WorkspacePath, at: ConfigPath) => {
    if (seen.has(file.abs)) return; // a file also named through its directory
    seen.add(file.abs);
    out.push({file, at});
  };
  for (const {p, at} of written) {
    const found = lookupInWorkspace(dir, p);
    if (!found.ok) {
      problems.add(at, `${formatPath(at)}: ${found.error}`);
      continue;
    }
    if (found.path.kind === 'file') {
      add(found.path, at);
      continue;
    }
    const files = listFiles(dir, found.path, MANIFEST_EXTENSIONS);
    if (files.length === 0)
      problems.add(
        at,
        `${formatPath(at)}: directory ${JSON.stringify(found.path.rel)} has no ${MANIFEST_EXTENSIONS.map((e) => `*${e}`).join(', ')} file`,
      );
    for (const f of files) {
      if (f.ok) add(f.path, at);
      else problems.add(at, `${formatPath(at)}: ${f.error}`);
    }
  }
  if (out.length > MAX_MANIFEST_FILES) {
    problems.add(path, `${formatPath(path)} names ${out.length} files (at most ${MAX_MANIFEST_FILES})`);
    return [];
  }
  return out;
}

export interface RawObject {
  data: unknown;
  /** 1-based number of the object in its file (List items counted one by one) */
  n: number;
  /** where it is in its document: the top, or ["items", i] of a List */
  at: ConfigPath;
  /** the file, with the document the object is in */
  file: FileSource;
}

/** The file's bytes and objects: empty documents skipped, `kind: List` expanded. */
export function readManifestFile(mf: ManifestFile, problems: Problems): {bytes: Buffer; objects: RawObject[]} | undefined {
  const read = readBounded(mf.file, MAX_MANIFEST_BYTES);
  if (!read.ok) return void problems.add(mf.at, `${formatPath(mf.at)}: ${read.error}`);
  const label = mf.file.rel;
  const parsed = parseYamlStream(read.bytes.toString('utf8').replace(/^\uFEFF/, ''));
  if (!parsed.ok) {
    for (const p of parsed.problems) problems.list.push({...p, file: {label, lines: parsed.lines}});
    return undefined;
  }
  const objects: RawObject[] = [];
  let n = 0;
  for (const source of parsed.docs) {
    const file: FileSource = {label, lines: parsed.lines, source};
    const data = documentData(source.doc);
    if (!data.ok) {
      problems.add([], data.message, 'value', file);
      continue;
    }
    if (data.data === null || data.data === undefined) continue;
    const obj = rec(data.data);
    if (obj?.kind === 'List' && Array.isArray(obj.items))
      obj.items.forEach((item, i) => objects.push({data: item, n: ++n, at: ['items', i], file}));
    else objects.push({data: data.data, n: ++n, at: [], file});
  }
  return {bytes: read.bytes, objects};
}
