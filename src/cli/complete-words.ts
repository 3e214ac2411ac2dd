// What `orx __complete words` offers for the word being typed: commands and topics, flags, and
// resource addresses where an address is expected. Fish asks it for every candidate; bash and
// zsh (the scripts of @oclif/plugin-autocomplete) ask only for addresses.

export interface CompletionFlag {
  type: 'boolean' | 'option';
  char?: string;
  allowNo?: boolean;
  hidden?: boolean;
}

export interface CompletionCommand {
  id: string;
  hidden?: boolean;
  flags: Record<string, CompletionFlag>;
}

/** Flags whose value is an address, and commands whose arguments are addresses. */
export const ADDRESS_FLAGS = new Set(['target', 'replace']);
export const ADDRESS_COMMANDS = new Set(['state:show', 'state:rm', 'state:mv', 'render:agent']);

export interface WordsContext {
  /** the command resolved from the words typed so far, if any */
  command?: CompletionCommand;
  /** the workspace named by -C/--chdir among the words */
  chdir?: string;
  /** whether the word being typed is an address */
  wantsAddress: boolean;
  candidates: string[];
}

/**
 * `words` are the words after `orx`, the last one being typed (possibly empty). Candidates are
 * filtered by that prefix; addresses are left to the caller (they need the workspace).
 */
export function completeWords(words: readonly string[], commands: readonly CompletionCommand[]): WordsContext {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const visible = commands.filter((c) => !c.hidden);
  const ids = new Set(visible.map((c) => c.id));
  const path: string[] = [];
  let command: CompletionCommand | undefined;
  let chdir: string | undefined;
  let expectValue: string | undefined;
  for (let i = 0; i < before.length; i++) {
    const w = before[i];
    if (expectValue !== undefined) {
      if (expectValue === 'chdir') chdir = w;
      expectValue = undefined;
      continue;
    }
    if (w.startsWith('-')) {
      const name = flagName(w);
      if (name === 'chdir' && w.includes('=')) chdir = w.slice(w.indexOf('=') + 1);
      else if (!w.includes('=') && takesValue(name, command)) expectValue = name;
      continue;
    }
    if (!command) {
      const next = [...path, w].join(':');
      if (visible.some((c) => c.id === next || c.id.startsWith(`${next}:`))) path.push(w);
      if (ids.has(next)) command = visible.find((c) => c.id === next);
    }
  }
  const filter = (xs: string[]) => [...new Set(xs)].filter((x) => x.startsWith(current)).sort();
  if (expectValue !== undefined) {
    return {command, chdir, wantsAddress: ADDRESS_FLAGS.has(expectValue), candidates: []};
  }
  if (current.startsWith('-')) {
    const flags = command?.flags ?? {};
    const names: string[] = [];
    for (const [name, f] of Object.entries(flags)) {
      if (f.hidden) continue;
      names.push(`--${name}`);
      if (f.allowNo) names.push(`--no-${name}`);
    }
    return {command, chdir, wantsAddress: false, candidates: filter(names)};
  }
  const prefix = path.length ? `${path.join(':')}:` : '';
  const subcommands = visible
    .filter((c) => c.id.startsWith(prefix) && c.id !== path.join(':'))
    .map((c) => c.id.slice(prefix.length).split(':')[0]);
  if (command && ADDRESS_COMMANDS.has(command.id)) return {command, chdir, wantsAddress: true, candidates: []};
  return {command, chdir, wantsAddress: false, candidates: filter(subcommands)};
}

function flagName(w: string): string {
  const bare = w.replace(/^--?/, '').split('=')[0];
  return bare === 'C' ? 'chdir' : bare;
}

function takesValue(name: string, command: CompletionCommand | undefined): boolean {
  if (name === 'chdir') return true;
  const f = command?.flags[name];
  return f ? f.type === 'option' : ADDRESS_FLAGS.has(name);
}
