// Terraform habits (`-out=FILE`, `-auto-approve`, `--refresh=false`) are accepted
// as the long flags they mean, so scripts written for terraform read naturally.
const BOOLEAN_FLAGS = new Set(['refresh', 'auto-approve', 'json', 'debug', 'detailed-exitcode', 'follow', 'destroy', 'input', 'no-color']);
const NEGATABLE = new Set(['refresh', 'input']);

/**
 * Options Terraform takes before the subcommand (`terraform -chdir=DIR plan`); oclif wants
 * flags after the command id, so they are moved there. Value: whether the option takes one.
 */
const GLOBAL_OPTIONS: ReadonlyMap<string, boolean> = new Map([
  ['-C', true],
  ['--chdir', true],
  ['--lock-timeout', true],
  ['--log-format', true],
  ['--json', false],
  ['--debug', false],
  ['--no-color', false],
  ['--no-input', false],
  ['--input', false],
]);

export function normalizeArgv(argv: string[]): string[] {
  return helpAsFlag(moveGlobalOptions(normalizeFlags(argv)));
}

/** `orx help state show` is `orx state show --help`, which oclif knows how to show. */
function helpAsFlag(argv: string[]): string[] {
  if (argv[0] !== 'help') return argv;
  const rest = argv.slice(1);
  const dashdash = rest.indexOf('--');
  return dashdash < 0 ? [...rest, '--help'] : [...rest.slice(0, dashdash), '--help', ...rest.slice(dashdash)];
}

function normalizeFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    if (arg === '--') {
      out.push(...argv.slice(argv.indexOf(arg)));
      break;
    }
    let a = arg;
    if (/^-[a-z][a-z-]+(=.*)?$/.test(a)) a = `-${a}`;
    const m = /^--([a-z-]+)=(true|false)$/.exec(a);
    if (m && BOOLEAN_FLAGS.has(m[1])) {
      if (m[2] === 'true') out.push(`--${m[1]}`);
      else if (NEGATABLE.has(m[1])) out.push(`--no-${m[1]}`);
      continue;
    }
    out.push(a);
  }
  return out;
}

/**
 * `orx -C DIR state show X` -> `orx state show X -C DIR`. Appending (before any `--`) rather
 * than inserting after the command id: the id may be several words and is only known to oclif,
 * and a flag after the arguments means the same to it.
 */
function moveGlobalOptions(argv: string[]): string[] {
  const globals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.split('=')[0] : a.startsWith('-C') ? '-C' : a;
    const takesValue = GLOBAL_OPTIONS.get(name);
    if (takesValue === undefined) break;
    const inline = a.includes('=') || (name === '-C' && a.length > 2);
    if (takesValue && !inline) {
      if (i + 1 >= argv.length) break;
      globals.push(a, argv[i + 1]);
      i += 2;
    } else {
      globals.push(a);
      i += 1;
    }
  }
  // nothing moved, or no command follows (`orx -C DIR` alone): oclif reports it as it is
  if (globals.length === 0 || i >= argv.length || argv[i].startsWith('-')) return argv;
  const rest = argv.slice(i);
  const dashdash = rest.indexOf('--');
  if (dashdash < 0) return [...rest, ...globals];
  return [...rest.slice(0, dashdash), ...globals, ...rest.slice(dashdash)];
}
