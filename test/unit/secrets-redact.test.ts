// The redactor every output path goes through: registered values never leave the process,
// whether they are printed, logged, stored in the ledger, or come back inside an engine error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {afterEach, describe, expect, it} from 'vitest';
import {verifyAudit} from '../../src/audit/chain.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {clearSecrets, REDACTED, redact, redactStream, registerSecret} from '../../src/secrets/redact.js';
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
      l.appendEvent({run_id: run.id, level: 'error', message: 'docker: invalid env pa55word-canary', payload: {detail: 'x=pa55word-canary'}});
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
