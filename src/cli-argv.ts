// Terraform habits (`-out=FILE`, `-auto-approve`, `--refresh=false`) are accepted
// as the long flags they mean, so scripts written for terraform read naturally.
const BOOLEAN_FLAGS = new Set(['refresh', 'auto-approve', 'json', 'debug', 'detailed-exitcode', 'follow', 'destroy']);
const NEGATABLE = new Set(['refresh']);

export function normalizeArgv(argv: string[]): string[] {
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
