// How an error reaches the user, for commands and for the hooks that run before any command.
import {OrxError, formatDiagnostic} from '../errors.js';

export const JSON_FORMAT_VERSION = '1';

/** The JSON error document on stdout with --json, else `Error: ...` and next steps on stderr; sets the exit code. */
export function writeError(e: OrxError, opts: {json: boolean; debug: boolean}): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify({formatVersion: JSON_FORMAT_VERSION, error: e.toJSON()}, null, 2) + '\n');
  } else {
    const body = e.diagnostics.length > 0 && e.diagnostics.some((d) => d.file) ? e.diagnostics.map(formatDiagnostic).join('\n') : e.message;
    let text = `Error: ${body}\n`;
    for (const a of e.actions) text += `  → ${a}\n`;
    if (e.kind === 'bug' || opts.debug) text += `${(e.cause as Error | undefined)?.stack ?? e.stack}\n`;
    process.stderr.write(text);
  }
  process.exitCode = e.exit;
}

/** Whether --json was asked for, known before (or without) parsing the flags. */
export function jsonRequested(argv: readonly string[]): boolean {
  const env = process.env.ORX_JSON;
  return argv.includes('--json') || env === 'true' || env === '1';
}
