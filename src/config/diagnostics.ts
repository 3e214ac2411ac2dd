// Problems found while loading, collected so that every one is reported at once.
import {OrxError, formatDiagnostic, type Diagnostic} from '../errors.js';
import type {ConfigPath} from './paths.js';
import type {FileSource} from './yaml-source.js';

export interface Problem {
  message: string;
  /** where in the config; resolved to line:col through the YAML document */
  path?: ConfigPath;
  /** point at the key of `path` rather than its value (unknown keys, names) */
  at?: 'key' | 'value';
  /** a source offset, for problems found before there is a document (syntax errors) */
  offset?: number;
  /** another file the problem is in (a kind config, a manifest), `path` and `offset` being in it; absent: the config file */
  file?: FileSource;
}

export class Problems {
  readonly list: Problem[] = [];

  add(path: ConfigPath, message: string, at: 'key' | 'value' = 'value', file?: FileSource): void {
    this.list.push(file ? {path, message, at, file} : {path, message, at});
  }

  get size(): number {
    return this.list.length;
  }
}

/** Enough to fix a file, few enough that a hostile file cannot flood the terminal. */
export const MAX_DIAGNOSTICS = 50;

export const FIX_ACTION = 'Fix the errors above and run `orx validate` again.';

export function configInvalid(diagnostics: Diagnostic[], actions: string[] = [FIX_ACTION]): OrxError {
  const shown = diagnostics.slice(0, MAX_DIAGNOSTICS);
  const lines = shown.map(formatDiagnostic);
  const hidden = diagnostics.length - shown.length;
  if (hidden > 0) lines.push(`... and ${hidden} more error${hidden === 1 ? '' : 's'}`);
  return new OrxError({
    code: 'config_invalid',
    message: lines.join('\n'),
    diagnostics: shown,
    actions,
    data: {error_count: diagnostics.length},
  });
}
