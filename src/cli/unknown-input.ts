// Unknown commands, topics and flags: exit 1 (never 2, which --detailed-exitcode gives to
// "changes") with the closest match, like `git` and `terraform` do.
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {closest} from './suggest.js';

/** What the CLI offers, as oclif ids (`state:show`): visible commands and topics. */
export interface CommandCatalog {
  ids: readonly string[];
  topics: readonly string[];
}

/**
 * `words` is what oclif could not resolve (`state frobnicate a b`): the longest known topic is
 * kept, the next word is the unknown one, and what follows it are arguments, never named.
 */
export function unknownCommandError(words: readonly string[], catalog: CommandCatalog): OrxError {
  const topics = new Set(catalog.topics);
  let k = 0;
  while (k < words.length - 1 && topics.has(words.slice(0, k + 1).join(':'))) k++;
  const prefix = words.slice(0, k);
  const unknown = words[k] ?? '';
  const level = prefix.length ? `${prefix.join(':')}:` : '';
  const names = new Set<string>();
  for (const id of [...catalog.ids, ...catalog.topics]) {
    if (id.startsWith(level)) names.add(id.slice(level.length).split(':')[0]);
  }
  const suggestion = closest(unknown, [...names].sort());
  const typed = ['orx', ...prefix, unknown].join(' ');
  const where = prefix.length ? `orx help ${prefix.join(' ')}` : 'orx help';
  return new OrxError({
    code: 'unknown_command',
    exit: EXIT.ERROR,
    message: suggestion
      ? `\`${typed}\` is not an orx command: did you mean \`${['orx', ...prefix, suggestion].join(' ')}\`?`
      : `\`${typed}\` is not an orx command${prefix.length && names.size ? `; under \`orx ${prefix.join(' ')}\`: ${[...names].sort().join(', ')}` : ''}.`,
    actions: [`See \`${where}\` for the commands${prefix.length ? ` under \`orx ${prefix.join(' ')}\`` : ''}.`],
    data: {command: [...prefix, unknown].join(' '), ...(suggestion ? {suggestion: [...prefix, suggestion].join(' ')} : {})},
  });
}

interface FlagLike {
  char?: string;
  allowNo?: boolean;
  hidden?: boolean;
}

/** `--targt` -> did you mean `--target`? for each flag the command does not have. */
export function unknownFlagsError(given: readonly string[], flags: Record<string, FlagLike>, commandId: string): OrxError {
  const known: string[] = [];
  for (const [name, f] of Object.entries(flags)) {
    if (f.hidden) continue;
    known.push(`--${name}`);
    if (f.allowNo) known.push(`--no-${name}`);
  }
  const command = `orx ${commandId.replace(/:/g, ' ')}`.trim();
  const parts = given.map((g) => {
    const name = g.split('=')[0];
    const hit = name.startsWith('--') ? closest(name, known) : undefined;
    return {flag: name, suggestion: hit};
  });
  const said = parts.map((p) => (p.suggestion ? `${p.flag} (did you mean \`${p.suggestion}\`?)` : p.flag)).join(', ');
  return new OrxError({
    code: 'usage',
    exit: EXIT.ERROR,
    message: `\`${command}\` has no flag ${said}`,
    actions: [`See \`${command} --help\`.`],
    data: {flags: parts.map((p) => p.flag), suggestions: parts.flatMap((p) => (p.suggestion ? [p.suggestion] : []))},
  });
}
