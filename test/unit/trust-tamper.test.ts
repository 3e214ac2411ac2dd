import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {signBlob, verifyBlob} from '../../src/trust/blob.js';
import {initWorkspaceKey, trustedKeyOf, type TrustedKey} from '../../src/trust/keys.js';

/**
 * Every single-bit flip of every byte, of the data and (separately) of the bundle JSON as
 * `orx sign-blob` writes it: verification must refuse every one, with the one error shape.
 */
const BITS = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80];
const data = Buffer.from('{"plan_id":"p-1","steps":[{"address":"agent.researcher","action":"create"}]}\n');

let dir: string;
let trusted: TrustedKey;
let bundleText: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-tamper-'));
  const key = initWorkspaceKey(dir);
  trusted = trustedKeyOf(key);
  bundleText = JSON.stringify(await signBlob(data, key), null, 2) + '\n';
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

interface Tally {
  tried: number;
  accepted: string[];
  reasons: Map<string, number>;
}

async function attempt(t: Tally, what: string, d: Buffer, b: string): Promise<void> {
  t.tried++;
  try {
    await verifyBlob(d, b, [trusted]);
    t.accepted.push(what);
  } catch (err) {
    // never a crash: always the one refusal shape
    if (!(err instanceof OrxError) || err.code !== 'signature_invalid' || err.exit !== 5)
      throw new Error(`${what}: unexpected ${String(err)}`, {cause: err});
    const reason = err.message.replace(/\(.*$/, '').replace(/: .*$/, '').slice(0, 50);
    t.reasons.set(reason, (t.reasons.get(reason) ?? 0) + 1);
  }
}

describe('tampering', () => {
  it('the untouched pair verifies (control)', async () => {
    expect(await verifyBlob(data, bundleText, [trusted])).toEqual({fingerprint: trusted.fingerprint});
  });

  it('no flipped bit of the data verifies', async () => {
    const t: Tally = {tried: 0, accepted: [], reasons: new Map()};
    for (let i = 0; i < data.length; i++) {
      for (const bit of BITS) {
        const d = Buffer.from(data);
        d[i] ^= bit;
        await attempt(t, `data[${i}]^${bit}`, d, bundleText);
      }
    }
    expect(t.tried).toBe(data.length * BITS.length);
    expect(t.accepted).toEqual([]);
    expect([...t.reasons.keys()]).toEqual(['the file does not match the bundle']);
  });

  it('no flipped bit of the bundle JSON verifies', async () => {
    const bytes = Buffer.from(bundleText, 'utf8');
    const t: Tally = {tried: 0, accepted: [], reasons: new Map()};
    const t0 = Date.now();
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of BITS) {
        const b = Buffer.from(bytes);
        b[i] ^= bit;
        await attempt(t, `bundle[${i}]^${bit} (${JSON.stringify(bundleText[i])})`, data, b.toString('utf8'));
      }
    }
    expect(t.tried).toBe(bytes.length * BITS.length);
    expect(t.accepted).toEqual([]);
    // every kind of refusal was exercised, and the loop stays cheap
    expect(t.reasons.size).toBeGreaterThanOrEqual(5);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});
