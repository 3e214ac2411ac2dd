// What a config problem is and where it is: shared by the YAML reader and the diagnostics.
import type {Document, LineCounter} from 'yaml';
import type {ConfigPath} from './paths.js';

export interface Source {
  doc: Document.Parsed;
  lines: LineCounter;
}

/**
 * A YAML file other than the config that problems can be in (a kind config, a manifest):
 * how diagnostics name it, its line counter, and the document paths are looked up in.
 */
export interface FileSource {
  label: string;
  lines: LineCounter;
  source?: Source;
}

export interface Problem {
  message: string;
  /** where in the config; resolved to line:col through the YAML document */
  path?: ConfigPath;
  /** point at the key of `path` rather than its value (unknown keys, names) */
  at?: 'key' | 'value';
  /** a source offset, for problems found before there is a document (syntax errors) */
  offset?: number;
  /** an offset inside the string value at `path` (a variable reference, a CEL error) */
  index?: number;
  /** another file the problem is in (a kind config, a manifest), `path` and `offset` being in it; absent: the config file */
  file?: FileSource;
}
