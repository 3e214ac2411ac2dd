// A linear pre-scan of the YAML token stream. The yaml library composes recursively and
// checks duplicate keys pairwise, so a 2 MiB file of "[[[[" or 200k keys takes seconds to
// minutes; these limits refuse such input in milliseconds, far above what a real
// orchestration.yml needs.
import {Lexer} from 'yaml';

export const YAML_LIMITS = {
  /** nested [ ] / { } */
  flowDepth: 32,
  /** "- - - x" or "? ? x": block collections opened on one line */
  indicatorsPerLine: 16,
  /** map entries + list items in the whole file */
  entries: 100_000,
  /** *alias uses; each one can multiply what later stages walk */
  aliases: 50,
} as const;

export interface GuardProblem {
  offset: number;
  message: string;
}

// The lexer emits these control markers, which are not part of the source text.
const CONTROL = new Set(['\x02', '\x18', '\x1f']);

export function scanYaml(text: string): GuardProblem | undefined {
  let offset = 0;
  let depth = 0;
  let onLine = 0;
  let entries = 0;
  let aliases = 0;
  let scalarNext = false;
  for (const tok of new Lexer().lex(text)) {
    const at = offset;
    if (!CONTROL.has(tok[0] ?? '')) offset += tok.length;
    // After the scalar marker comes the scalar's own text, which may start with anything.
    if (scalarNext) {
      scalarNext = false;
      continue;
    }
    if (tok === '\x1f') {
      scalarNext = true;
      continue;
    }
    switch (tok) {
      case '[':
      case '{':
        if (++depth > YAML_LIMITS.flowDepth)
          return {offset: at, message: `YAML nesting is too deep (more than ${YAML_LIMITS.flowDepth} levels of [ ] or { })`};
        continue;
      case ']':
      case '}':
        if (depth > 0) depth--;
        continue;
      case '':
      case '\n':
      case '\r\n':
        onLine = 0;
        continue;
      case '-':
      case '?':
      case ':':
      case ',':
        if (++entries > YAML_LIMITS.entries) return {offset: at, message: `too many YAML entries (more than ${YAML_LIMITS.entries})`};
        if (tok !== ',' && depth === 0 && ++onLine > YAML_LIMITS.indicatorsPerLine)
          return {offset: at, message: 'YAML nesting is too deep (too many collections opened on one line)'};
        continue;
    }
    const c = tok[0];
    if (c === '*' && ++aliases > YAML_LIMITS.aliases)
      return {offset: at, message: `too many YAML aliases (more than ${YAML_LIMITS.aliases})`};
    if (c === '%') return {offset: at, message: 'YAML directives (%YAML, %TAG) are not supported in orchestration.yml'};
  }
  return undefined;
}
