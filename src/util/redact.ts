// Every secret value orx resolves is registered here, and every way out of the process
// (human output, --json, log lines, ledger events, error messages, files orx writes) goes
// through redact(). Process-wide on purpose: a value must be hidden whichever code path
// happens to print it, including messages that come back from Docker or the 1Password SDK.
//
// Text from the outside (container output, health checks, engine errors, tool stderr) is made
// into a short message by excerpt() alone: it redacts the whole text before anything folds or
// cuts it, so a value is never split where the redactor could no longer recognise it.

export const REDACTED = '(sensitive)';

/** Shorter values would redact ordinary words; they are refused as secrets before they get here. */
export const MIN_SECRET_LENGTH = 4;

/**
 * The shortest piece of a value that is hidden on its own: each line of a multi-line value,
 * and the start or end of a value that something outside orx cut off (the engine keeps only
 * the first 4 KiB of a health check's output; a log tail starts mid-value). Shorter lines of
 * a multi-line value are structure that ordinary output carries too ("}", "-----", `"a": 1,`,
 * base64 padding): hiding them would blank unrelated text, and 11 characters of a key, with
 * the rest of it hidden, give nothing away that is worth the noise.
 */
export const MIN_FRAGMENT_LENGTH = 12;

// A cut-off start or end of a value this long is hidden wherever it appears; a shorter one
// (MIN_FRAGMENT_LENGTH or more) only where the text around it ends, as it does at a cut:
// "-----BEGIN P" starts a registered private key and a printed public key alike.
const ANYWHERE_FRAGMENT_LENGTH = 2 * MIN_FRAGMENT_LENGTH;

const values = new Set<string>();
// every form a registered value can take in printed text (where forms overlap, their hidden stretches merge)
let needles: string[] = [];

/** The forms a value takes once printed: as is, with its line endings changed, folded onto one line, JSON-escaped, and line by line. */
function formsOf(value: string): string[] {
  const forms = new Set<string>([value]);
  const lf = value.replace(/\r\n?/g, '\n');
  forms.add(lf);
  forms.add(lf.replace(/\n/g, '\r\n'));
  forms.add(value.replace(/\s+/g, ' ').trim());
  const lines = lf.split('\n').map((l) => l.trim());
  if (lines.length > 1) for (const l of lines) if (l.length >= MIN_FRAGMENT_LENGTH) forms.add(l);
  for (const f of [...forms]) forms.add(JSON.stringify(f).slice(1, -1));
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

export function registerSecret(value: string): void {
  if (value.length < MIN_SECRET_LENGTH)
    throw new Error(`refusing to register a secret of ${value.length} characters (minimum ${MIN_SECRET_LENGTH})`);
  if (values.has(value)) return;
  values.add(value);
  needles = [...new Set([...needles, ...formsOf(value)])];
}

const WORD = /[\p{L}\p{N}_]/u;
const continues = (ch: string | undefined): boolean => ch !== undefined && WORD.test(ch);

/** Where `needle`, or a cut-off start or end of it, occurs in `text`: [start, end) ranges. */
function occurrences(text: string, needle: string, into: Array<[number, number]>): void {
  if (needle.length < MIN_FRAGMENT_LENGTH) {
    for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) into.push([i, i + needle.length]);
    return;
  }
  const k = MIN_FRAGMENT_LENGTH;
  // a start of the value: found by its first k characters, then followed as far as it agrees
  const head = needle.slice(0, k);
  for (let i = text.indexOf(head); i !== -1;) {
    let m = k;
    while (m < needle.length && i + m < text.length && text.charCodeAt(i + m) === needle.charCodeAt(m)) m++;
    if (m === needle.length || m >= ANYWHERE_FRAGMENT_LENGTH || !continues(text[i + m])) into.push([i, i + m]);
    i = text.indexOf(head, m === needle.length ? i + m : i + 1);
  }
  // an end of the value: found by its last k characters, then followed backwards
  const tail = needle.slice(-k);
  for (let i = text.indexOf(tail); i !== -1; i = text.indexOf(tail, i + 1)) {
    const end = i + k;
    let m = k;
    while (m < needle.length && end - m - 1 >= 0 && text.charCodeAt(end - m - 1) === needle.charCodeAt(needle.length - m - 1)) m++;
    if (m === needle.length || m >= ANYWHERE_FRAGMENT_LENGTH || !continues(text[end - m - 1])) into.push([end - m, end]);
  }
}

/** Replaces every registered value, each form of it and each cut-off piece of it, with (sensitive). */
export function redact(text: string): string {
  if (needles.length === 0 || text.length === 0) return text;
  const found: Array<[number, number]> = [];
  for (const n of needles) occurrences(text, n, found);
  if (found.length === 0) return text;
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = '';
  let pos = 0;
  for (let i = 0; i < found.length;) {
    const start = found[i][0];
    let end = found[i][1];
    // overlapping or touching pieces are one hidden stretch
    for (i++; i < found.length && found[i][0] <= end; i++) end = Math.max(end, found[i][1]);
    out += text.slice(pos, start) + REDACTED;
    pos = end;
  }
  return out + text.slice(pos);
}

export interface ExcerptOptions {
  /** characters kept at most (the … that marks a cut and a `note` come on top) */
  max: number;
  /** which end a cut keeps: the start (a message, the default) or the end (a log's tail) */
  keep?: 'start' | 'end';
  /** keep line breaks, at most this many lines (from the kept end); otherwise all whitespace folds to single spaces */
  lines?: number;
  /** no folding: spacing stays, and every control character (line breaks too) shows as ? (a value quoted in an error) */
  verbatim?: boolean;
  /** drop markup tags first (an HTML error page) */
  markup?: boolean;
  /** say how long the text was when it is cut: "… (12345 chars)" */
  note?: boolean;
}

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * The one way a short message is made from text orx does not control: redact the whole text,
 * then fold its whitespace (and drop markup), redact again (folding can join a value that was
 * split across lines), neutralise control characters, and only then cut it to size.
 */
export function excerpt(text: string, opts: ExcerptOptions): string {
  let s = redact(text);
  if (opts.verbatim) {
    // nothing is joined or moved, so the cut (of redacted text) can come first: a huge value costs one pass
    const cut = cutTo(s, opts);
    return noted(cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'), cut !== s, text, opts);
  }
  if (opts.markup) s = s.replace(/<[^>]*>/g, ' ');
  if (opts.lines !== undefined) {
    let lines = s
      .split(/\r\n|\r|\n/)
      .map((l) => l.replace(/\s+/g, ' ').trimEnd())
      .filter((l) => l.trim() !== '');
    if (lines.length > opts.lines) lines = opts.keep === 'end' ? lines.slice(-opts.lines) : lines.slice(0, opts.lines);
    s = lines.join('\n');
  } else {
    s = s.replace(/\s+/g, ' ').trim();
  }
  s = redact(s).replace(CONTROL, '?');
  const cut = cutTo(s, opts);
  return noted(cut, cut !== s, text, opts);
}

const noted = (s: string, wasCut: boolean, text: string, opts: ExcerptOptions): string =>
  opts.note && wasCut ? `${s} (${text.length} chars)` : s;

function cutTo(s: string, opts: ExcerptOptions): string {
  if (s.length <= opts.max) return s;
  return opts.keep === 'end' ? `…${s.slice(cutPoint(s, s.length - opts.max, 'end'))}` : `${s.slice(0, cutPoint(s, opts.max, 'start'))}…`;
}

/** A cut never splits a surrogate pair or a (sensitive) marker: it moves to the marker's edge, away from the kept text. */
function cutPoint(s: string, at: number, keep: 'start' | 'end'): number {
  const from = s.lastIndexOf(REDACTED, at);
  if (from !== -1 && from < at && at < from + REDACTED.length) at = keep === 'start' ? from : from + REDACTED.length;
  const code = s.charCodeAt(at - 1);
  if (at > 0 && at < s.length && code >= 0xd800 && code <= 0xdbff) at += keep === 'start' ? -1 : 1;
  return at;
}

/** For tests: forget every registered value. */
export function clearSecrets(): void {
  values.clear();
  needles = [];
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
  stream.write = (chunk: unknown, ...rest: unknown[]) => {
    if (needles.length > 0) {
      if (typeof chunk === 'string') chunk = redact(chunk);
      else if (chunk instanceof Uint8Array) chunk = Buffer.from(redact(Buffer.from(chunk).toString('utf8')), 'utf8');
    }
    return write(chunk, ...rest);
  };
}
