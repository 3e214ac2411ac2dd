// `orx __complete addresses`: the resource addresses a shell offers after --target, --replace,
// `state show|rm|mv` and `render agent`, from the recorded state and the configuration. Read-only
// and quiet: a directory that is not a workspace, or a configuration that does not parse, gives
// fewer candidates, never an error on the user's terminal.
import fs from 'node:fs';
import path from 'node:path';
import {parse} from 'yaml';
import type {OrxContext} from '../engine/context.js';
import {Ledger} from '../ledger/ledger.js';
import {withReadLedger} from '../ledger/session.js';

const SECTIONS: ReadonlyArray<[string, string]> = [
  ['agents', 'agent'],
  ['networks', 'network'],
  ['volumes', 'volume'],
  ['images', 'image'],
];

export async function completionAddresses(ctx: OrxContext): Promise<string[]> {
  const found = new Set<string>();
  if (Ledger.exists(ctx.dir)) {
    try {
      for (const r of await withReadLedger(ctx.dir, (l) => l.listResources())) found.add(r.address);
    } catch {
      // a ledger being migrated or restored: the configuration still answers
    }
  }
  try {
    const doc = parse(fs.readFileSync(path.join(ctx.dir, 'orchestration.yml'), 'utf8')) as Record<string, unknown> | null;
    for (const [section, kind] of SECTIONS) {
      const entries = doc?.[section];
      if (entries && typeof entries === 'object') for (const name of Object.keys(entries)) found.add(`${kind}.${name}`);
    }
  } catch {
    // no configuration here, or one that does not parse: `orx validate` is where that is said
  }
  return [...found].sort();
}

export type CompletionShell = 'bash' | 'zsh' | 'fish' | 'powershell';

/**
 * What `orx autocomplete script SHELL` prints: for bash and zsh, the plugin's line (its cache,
 * built by `orx autocomplete SHELL`) followed by orx's own addresses script; for fish, which the
 * plugin does not cover, the whole script; for powershell, the plugin's line as it is.
 */
export function completionScript(shell: CompletionShell, o: {root: string; cacheDir: string; bin: string}): string {
  const cache = path.join(o.cacheDir, 'autocomplete');
  if (shell === 'fish') return fs.readFileSync(path.join(o.root, 'templates/completion/orx.fish'), 'utf8');
  if (shell === 'powershell') return `. ${path.join(cache, 'functions', 'powershell', `${o.bin}.ps1`)}\n`;
  const env = `${o.bin.toUpperCase().replace(/-/g, '_')}_AC_${shell.toUpperCase()}_SETUP_PATH`;
  const ours = path.join(o.root, 'templates/completion', `orx.${shell}`);
  return (
    `\n${env}=${path.join(cache, `${shell}_setup`)} && test -f $${env} && source $${env};` +
    ` test -f ${ours} && source ${ours}; # ${o.bin} autocomplete setup\n`
  );
}
