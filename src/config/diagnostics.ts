// Problems found while loading, collected so that every one is reported at once.
import {OrxError, formatDiagnostic, type Diagnostic} from '../errors.js';
import type {ConfigPath} from './paths.js';
import type {FileSource, Problem} from './problem.js';

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
