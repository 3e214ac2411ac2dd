// Every secret value orx resolves is registered here, and every way out of the process
// (human output, --json, log lines, ledger events, error messages, files orx writes) goes
// through redact(). Process-wide on purpose: a value must be hidden whichever code path
// happens to print it, including messages that come back from Docker or the 1Password SDK.

export const REDACTED = '(sensitive)';

/** Shorter values would redact ordinary words; they are refused as secrets before they get here. */
export const MIN_SECRET_LENGTH = 4;

const values = new Set<string>();
// longest first, so a value containing another is replaced whole
let ordered: string[] = [];

export function registerSecret(value: string): void {
  if (value.length < MIN_SECRET_LENGTH) throw new Error(`refusing to register a secret of ${value.length} characters (minimum ${MIN_SECRET_LENGTH})`);
  if (values.has(value)) return;
  values.add(value);
  // the forms a value takes once printed inside JSON or a shell-quoted string
  for (const form of [JSON.stringify(value).slice(1, -1)]) if (form !== value && form.length >= MIN_SECRET_LENGTH) values.add(form);
  ordered = [...values].sort((a, b) => b.length - a.length);
}

export function hasSecrets(): boolean {
  return ordered.length > 0;
}

export function redact(text: string): string {
  if (ordered.length === 0) return text;
  let out = text;
  for (const v of ordered) if (out.includes(v)) out = out.split(v).join(REDACTED);
  return out;
}

/** For tests: forget every registered value. */
export function clearSecrets(): void {
  values.clear();
  ordered = [];
}

const guarded = new WeakSet<NodeJS.WritableStream>();

/**
 * Every write to the stream is redacted from now on (strings and buffers; ink, the logger
 * and plain writes alike). Writes are whole lines or documents here, so a value is never
 * split across two of them.
 */
export function redactStream(stream: NodeJS.WriteStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (ordered.length > 0) {
      if (typeof chunk === 'string') chunk = redact(chunk);
      else if (chunk instanceof Uint8Array) chunk = Buffer.from(redact(Buffer.from(chunk).toString('utf8')), 'utf8');
    }
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
