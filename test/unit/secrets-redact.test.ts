// The redactor every output path goes through: registered values never leave the process,
// whether they are printed, logged, stored in the ledger, or come back inside an engine error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {afterEach, describe, expect, it} from 'vitest';
import {verifyAudit} from '../../src/audit/chain.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {preview} from '../../src/errors.js';
import {clearSecrets, excerpt, MIN_FRAGMENT_LENGTH, REDACTED, redact, redactStream, registerSecret} from '../../src/util/redact.js';
import {createLogger} from '../../src/ui/logger.js';

afterEach(() => clearSecrets());

describe('redact', () => {
  it('replaces every occurrence, longest value first, and its JSON-escaped form', () => {
    registerSecret('hunter22');
    registerSecret('hunter22-and-more');
    registerSecret('quo"te\\val');
    expect(redact('a hunter22 b hunter22-and-more c')).toBe(`a ${REDACTED} b ${REDACTED} c`);
    expect(redact(JSON.stringify({v: 'quo"te\\val'}))).toBe(`{"v":"${REDACTED}"}`);
    expect(redact('nothing here')).toBe('nothing here');
  });

  it('refuses values shorter than 4 characters (they would redact ordinary text)', () => {
    expect(() => registerSecret('abc')).toThrow(/minimum 4/);
    expect(redact('abc')).toBe('abc');
  });

  it('a redacted stream never writes a registered value, as a string or as bytes', () => {
    const out = new PassThrough() as unknown as NodeJS.WriteStream;
    let written = '';
    (out as unknown as PassThrough).on('data', (d) => (written += d));
    redactStream(out);
    registerSecret('s3cr3t-value');
    out.write('token=s3cr3t-value\n');
    out.write(Buffer.from('bytes s3cr3t-value\n'));
    const log = createLogger({format: 'json', level: 'info', write: (s) => out.write(s)});
    log.error('engine said: bad mount s3cr3t-value');
    expect(written).not.toContain('s3cr3t-value');
    expect(written.match(new RegExp(REDACTED.replace(/[()]/g, '\\$&'), 'g'))).toHaveLength(3);
  });

  it('the ledger stores events, step errors and run summaries redacted, and the chain verifies', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-redact-'));
    const l = Ledger.open(dir);
    try {
      registerSecret('pa55word-canary');
      const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 't'});
      l.appendEvent({
        run_id: run.id,
        level: 'error',
        message: 'docker: invalid env pa55word-canary',
        payload: {detail: 'x=pa55word-canary'},
      });
      l.appendEvents(Array.from({length: 300}, (_, i) => ({level: 'info' as const, message: `bulk ${i} pa55word-canary`})));
      const step = l.startStep({run_id: run.id, address: 'agent.a', action: 'create', idempotency_key: 'k1', category: 'DEPLOY'});
      l.finishStep({step_id: step.id, status: 'failed', error: 'cannot start: pa55word-canary'});
      l.finishRun(run.id, 'failed', {note: 'pa55word-canary'});
      l.close();
      const bytes = fs.readdirSync(path.join(dir, '.orx')).map((f) => fs.readFileSync(path.join(dir, '.orx', f)));
      for (const b of bytes) expect(b.includes('pa55word-canary')).toBe(false);
      const r = Ledger.open(dir);
      expect(r.listEvents().some((e) => e.message.includes(REDACTED))).toBe(true);
      expect(verifyAudit(r)).toMatchObject({ok: true});
      r.close();
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });
});

// a value with no repeats, so no window of it can occur by chance elsewhere in a test's text
const randomish = (n: number, seed: number): string => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let x = seed;
  let out = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += abc[x % abc.length];
  }
  return out;
};

/** Every `width`-character window of `value` that occurs in `text`. */
const leakedWindows = (text: string, value: string, width = 20): string[] => {
  const hits: string[] = [];
  for (let i = 0; i + width <= value.length; i++) if (text.includes(value.slice(i, i + width))) hits.push(value.slice(i, i + width));
  return hits;
};

describe('redact: pieces of a value', () => {
  it('hides each line of a multi-line value (CRLF or LF, whichever the text uses), and the whole value folded onto one line', () => {
    const lines = [randomish(40, 1), randomish(40, 2), randomish(40, 3)];
    registerSecret(lines.join('\r\n'));
    for (const text of [
      lines.join('\r\n'),
      lines.join('\n'),
      `only the middle: ${lines[1]} here`,
      `${lines[2]}\n${lines[0]}`,
      lines.join(' '),
      JSON.stringify(lines.join('\n')),
    ]) {
      const out = redact(text);
      expect(out).toContain(REDACTED);
      for (const l of lines) expect(out).not.toContain(l);
    }
  });

  it('lines shorter than the fragment minimum are not redaction needles on their own', () => {
    registerSecret(`{\n  "key": "${randomish(30, 4)}"\n}`);
    expect(redact('{ } and a } alone')).toBe('{ } and a } alone');
  });

  it('hides the start of a value that something cut off (the engine keeps only the first 4 KiB of a health check) and the end of one a tail began inside', () => {
    const long = randomish(6000, 5);
    registerSecret(long);
    expect(redact(`check said: ${long.slice(0, 4000)}`)).toBe(`check said: ${REDACTED}`);
    expect(redact(JSON.stringify({output: long.slice(0, 4000)}))).toBe(JSON.stringify({output: REDACTED}));
    expect(redact(`…${long.slice(-300)} (exit 1)`)).toBe(`…${REDACTED} (exit 1)`);
    // a cut piece at the shortest length still hidden, at an edge
    expect(redact(`x ${long.slice(0, MIN_FRAGMENT_LENGTH)}`)).toBe(`x ${REDACTED}`);
  });

  it('a short shared start is not a piece of the value where the text goes on: a public key stays readable beside its private key', () => {
    registerSecret(`-----BEGIN PRIVATE KEY-----\n${randomish(64, 6)}\n${randomish(40, 7)}\n-----END PRIVATE KEY-----`);
    const pub = `-----BEGIN PUBLIC KEY-----\n${randomish(64, 8)}\n-----END PUBLIC KEY-----`;
    expect(redact(pub)).toBe(pub);
  });
});

describe('excerpt: the one builder of short messages from outside text', () => {
  it('a value straddling the cut is hidden whole, never half shown (either end kept)', () => {
    const secret = randomish(50, 9);
    registerSecret(secret);
    const text = `${'a'.repeat(280)} ${secret} ${'b'.repeat(280)}`;
    for (const keep of ['start', 'end'] as const) {
      const out = excerpt(text, {max: 300, keep});
      expect(out.length).toBeLessThanOrEqual(301);
      expect(leakedWindows(out, secret, MIN_FRAGMENT_LENGTH)).toEqual([]);
    }
    // the cut does not leave half a marker either
    expect(excerpt(`${'a'.repeat(295)} ${secret}`, {max: 300})).toBe(`${'a'.repeat(295)} …`);
  });

  it('a multi-line value with CRLF or LF, and with a value longer than the limit: nothing of either in the message', () => {
    const lines = [randomish(48, 10), randomish(48, 11), randomish(48, 12), randomish(48, 13)];
    const long = randomish(5000, 14);
    registerSecret(lines.join('\r\n'));
    registerSecret(long);
    for (const eol of ['\r\n', '\n']) {
      const output = `sh -c cat exited 1: ${lines.join(eol)}${eol}${long}`;
      // what a cut-off source hands over too: its first 4096 characters
      for (const text of [output, output.slice(0, 4096)]) {
        for (const opts of [{max: 300}, {max: 200, keep: 'end' as const}, {max: 4096, keep: 'end' as const, lines: 40}]) {
          const out = excerpt(text, opts);
          for (const l of lines) expect(out).not.toContain(l);
          expect(leakedWindows(out, long)).toEqual([]);
          expect(out).toContain(REDACTED);
        }
      }
    }
  });

  it('a value that only appears once whitespace is folded is hidden too', () => {
    registerSecret('open sesame 42');
    expect(excerpt('said: open\n   sesame\t42!', {max: 100})).toBe(`said: ${REDACTED}!`);
    registerSecret('tab\tseparated\tvalue');
    expect(excerpt('got tab \n separated   value', {max: 100})).toBe(`got ${REDACTED}`);
  });

  it('folds whitespace, neutralises control characters, keeps lines when asked', () => {
    expect(excerpt('  a\n\n b\u001b[31m  c  ', {max: 100})).toBe('a b?[31m c');
    expect(excerpt('one\r\ntwo\n\n\nthree\nfour', {max: 100, lines: 2, keep: 'end'})).toBe('three\nfour');
    expect(excerpt('<html><body>Not   found</body></html>', {max: 100, markup: true})).toBe('Not found');
    expect(excerpt('x'.repeat(10), {max: 4, keep: 'end'})).toBe('…xxxx');
  });

  it('preview() is built on it: redacted before it is cut', () => {
    const secret = randomish(80, 15);
    registerSecret(secret);
    const p = preview(`prefix ${secret}`, 40);
    expect(leakedWindows(p, secret, MIN_FRAGMENT_LENGTH)).toEqual([]);
    expect(p).toBe(`prefix ${REDACTED}`);
  });
});

describe('the ledger stores outside text redacted', () => {
  it('a multi-line value and the cut-off start of a long one, in an event message, payload and step error: not in the database file', () => {
    const lines = [randomish(60, 21), randomish(60, 22), randomish(60, 23)];
    const long = randomish(6000, 24);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-redact-'));
    const l = Ledger.open(dir);
    try {
      registerSecret(lines.join('\n'));
      registerSecret(long);
      // what the engine hands over for a health check: its first 4096 bytes, then "..."
      const engineOutput = `${lines.join('\r\n')}\r\n${long}`.slice(0, 4096) + '...';
      const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 't'});
      l.appendEvent({
        run_id: run.id,
        level: 'warn',
        message: `rolled back: ${engineOutput}`,
        payload: {health_output: engineOutput, tail: `…${long.slice(-200)}`},
      });
      const step = l.startStep({run_id: run.id, address: 'agent.a', action: 'replace', idempotency_key: 'k2', category: 'DEPLOY'});
      l.finishStep({step_id: step.id, status: 'failed', error: `last check: ${lines[1].slice(5)}\n${lines[2]}`});
      l.close();
      for (const f of fs.readdirSync(path.join(dir, '.orx'))) {
        const text = fs.readFileSync(path.join(dir, '.orx', f)).toString('latin1');
        for (const line of lines) expect(text).not.toContain(line);
        expect(leakedWindows(text, long)).toEqual([]);
      }
      const r = Ledger.open(dir);
      expect(verifyAudit(r)).toMatchObject({ok: true});
      r.close();
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });
});
