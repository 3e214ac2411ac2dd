import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {signedBytes, type AuditBundle} from '../../src/audit/bundle.js';
import {withReadLedger} from '../../src/ledger/session.js';
import {buildAuditBundle, collectAuditBundle, parseTimeBound, writeAuditBundle} from '../../src/audit/export.js';
import {readAuditBundle, verifyAuditBundle, type BundleVerification} from '../../src/audit/verify-bundle.js';
import {eventHash} from '../../src/ledger/event-hash.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {recordSnapshot} from '../../src/ledger/snapshots.js';
import {signBlob} from '../../src/trust/blob.js';
import {initWorkspaceKey, trustedKeyOf, type WorkspaceKey} from '../../src/trust/keys.js';
import {renderBundleVerification} from '../../src/ui/audit-view.js';
import {rawSqlite} from '../helpers/ledger-sql.js';

let dir: string;
let other: string;
let key: WorkspaceKey;
let otherKey: WorkspaceKey;
let runs: string[];
let full: AuditBundle;

const config = (logLevel: string) => ({workspace: 'lab', agents: {researcher: {image: 'base', env: {LOG_LEVEL: logLevel}}}});

/** Two apply runs, each recording a snapshot, and events outside any run in between. */
function populate(l: Ledger): string[] {
  const ids: string[] = [];
  for (const [i, level] of ['info', 'debug'].entries()) {
    const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 1, actor: 'alice'});
    ids.push(run.id);
    const step = l.startStep({run_id: run.id, address: 'agent.researcher', action: 'update', idempotency_key: `k${i}`});
    l.finishStep({
      step_id: step.id,
      status: 'succeeded',
      change: {op: 'put', address: 'agent.researcher', kind: 'agent', attributes: {level}, object_id: `c${i}`},
    });
    recordSnapshot(l, {run_id: run.id, config: config(level), policy_digest: `${'ab'.repeat(31)}${i}${i}`});
    l.finishRun(run.id, 'succeeded');
    l.appendEvent({level: 'warn', message: `between runs ${i}`, payload: {weird: 'quote " backslash \\ \u0001 ünï'}});
  }
  return ids;
}

const clone = (b: unknown): Record<string, any> => JSON.parse(JSON.stringify(b)) as Record<string, any>;
/** What a reader of the file gets: the JSON round trip. */
const reread = (b: AuditBundle): Record<string, unknown> => JSON.parse(JSON.stringify(b, null, 2)) as Record<string, unknown>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-audit-bundle-'));
  other = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-audit-other-'));
  key = initWorkspaceKey(dir);
  otherKey = initWorkspaceKey(other);
  const l = Ledger.open(dir);
  runs = populate(l);
  full = await buildAuditBundle(l, {}, key);
  l.close();
});
afterAll(() => {
  fs.rmSync(dir, {recursive: true, force: true});
  fs.rmSync(other, {recursive: true, force: true});
});

const problems = (v: BundleVerification) =>
  v.problems.map((p) => ({part: p.part, ...(p.seq !== undefined ? {seq: p.seq} : {}), ...(p.id !== undefined ? {id: p.id} : {})}));

describe('audit export', () => {
  it('carries the events with their hashes, the head, runs, snapshots, policy digests and the public key', () => {
    const l = Ledger.open(dir, {readonly: true});
    const head = l.chainHead();
    expect(full.format).toBe('orx.audit-bundle');
    expect(full.events).toHaveLength(head.seq);
    expect(full.events[0]).toMatchObject({seq: 1, prev_hash: '0'.repeat(64)});
    expect(full.events.map((e) => e.seq)).toEqual(Array.from({length: head.seq}, (_, i) => i + 1));
    expect(full.chain_head).toEqual(head);
    expect(full.chain_verified).toEqual({from_genesis: true, count: head.seq});
    expect(full.range).toEqual({since: null, until: null, run_id: null, from_seq: 1, to_seq: head.seq});
    expect(full.runs.map((r) => r.id)).toEqual(runs);
    expect(full.snapshots.map((s) => s.run_id)).toEqual(runs);
    expect(full.snapshots[1].parent).toBe(full.snapshots[0].id);
    expect(full.policy_digests).toEqual(full.snapshots.map((s) => ({digest: s.policy_digest, snapshots: [s.id]})));
    expect(full.public_key).toEqual({pem: key.publicKeyPem, fingerprint: key.fingerprint});
    expect(full.signature).toMatchObject({mediaType: expect.stringContaining('bundle.v0.3')});
    l.close();
  });

  it('--run exports the contiguous stretch of the chain of that run, with its snapshot', async () => {
    const b = await withReadLedger(dir, (l) => buildAuditBundle(l, {run: runs[1].slice(0, 17)}, key));
    const mine = b.events.filter((e) => e.run_id === runs[1]);
    expect(b.range).toMatchObject({run_id: runs[1], from_seq: mine[0].seq, to_seq: mine.at(-1)!.seq});
    expect(b.events.length).toBe(mine.at(-1)!.seq - mine[0].seq + 1);
    expect(b.runs.map((r) => r.id)).toEqual([runs[1]]);
    expect(b.snapshots.map((s) => s.run_id)).toEqual([runs[1]]);
    const v = await verifyAuditBundle(reread(b));
    expect(v).toMatchObject({ok: true, exit: 0});
    expect(v.notes.join('\n')).toMatch(new RegExp(`first event \\(seq ${mine[0].seq}\\) links to prev_hash .* taken as given`));
    expect(v.notes.join('\n')).toMatch(/chain head \(seq \d+\) is past the last exported event/);
    await expect(withReadLedger(dir, (l) => buildAuditBundle(l, {run: 'run-nope'}, key))).rejects.toMatchObject({code: 'not_found'});
  });

  it('--since/--until select by time; an empty range still signs the head', async () => {
    const l = Ledger.open(dir, {readonly: true});
    const events = l.listEvents();
    const pub = {pem: key.publicKeyPem, fingerprint: key.fingerprint};
    const mid = events[5].ts;
    const since = collectAuditBundle(l, {since: mid}, pub);
    expect(since.events[0].ts >= mid).toBe(true);
    expect(since.events.at(-1)!.seq).toBe(events.at(-1)!.seq);
    const until = collectAuditBundle(l, {until: mid}, pub);
    expect(until.events[0].seq).toBe(1);
    expect(until.events.at(-1)!.ts <= mid).toBe(true);
    const none = collectAuditBundle(l, {since: '2999-01-01'}, pub);
    expect(none).toMatchObject({events: [], range: {from_seq: null, to_seq: null}, chain_head: l.chainHead()});
    expect(() => collectAuditBundle(l, {since: '2030-01-02', until: '2030-01-01'}, pub)).toThrow(/after --until/);
    l.close();
    const signed = {...none, signature: await signBlob(signedBytes(none), key)};
    expect(await verifyAuditBundle(reread(signed))).toMatchObject({ok: true});
  });

  it('parses time bounds: ISO times, dates (whole days) and durations back from now', () => {
    const now = new Date('2025-03-10T12:00:00Z');
    expect(parseTimeBound('2025-01-31T08:00:00+01:00', 'since')).toBe('2025-01-31T07:00:00.000Z');
    expect(parseTimeBound('2025-01-31', 'since')).toBe('2025-01-31T00:00:00.000Z');
    expect(parseTimeBound('2025-01-31', 'until')).toBe('2025-01-31T23:59:59.999Z');
    expect(parseTimeBound('24h', 'since', now)).toBe('2025-03-09T12:00:00.000Z');
    expect(parseTimeBound('7d', 'since', now)).toBe('2025-03-03T12:00:00.000Z');
    expect(parseTimeBound('30m', 'until', now)).toBe('2025-03-10T11:30:00.000Z');
    expect(() => parseTimeBound('yesterday', 'since')).toThrow(/--since "yesterday" is not a time/);
    expect(() => parseTimeBound('12', 'until')).toThrow(/--until/);
  });

  it('refuses to sign a broken chain, naming the seq', async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-audit-broken-'));
    fs.mkdirSync(path.dirname(Ledger.fileFor(copy)), {recursive: true});
    const src = Ledger.open(dir);
    await src.backup(Ledger.fileFor(copy));
    src.close();
    const l = Ledger.open(copy);
    rawSqlite(l).prepare("UPDATE events SET message = 'edited' WHERE seq = 3").run();
    await expect(buildAuditBundle(l, {}, key)).rejects.toMatchObject({
      code: 'chain_broken',
      message: expect.stringMatching(/broken at seq 3/),
    });
    l.close();
    fs.rmSync(copy, {recursive: true, force: true});
  });

  it('works while another handle holds the workspace lock and an open write transaction', async () => {
    const writer = Ledger.open(dir);
    const lock = writer.acquireLock({pid: process.pid, host: os.hostname(), command: 'orx apply'});
    rawSqlite(writer).prepare('BEGIN IMMEDIATE').run();
    try {
      writer.appendEvents(Array.from({length: 50}, (_, i) => ({level: 'info' as const, message: `in flight ${i}`})));
      const b = await withReadLedger(dir, (l) => buildAuditBundle(l, {}, key));
      // sees the last commit, not the transaction in flight
      expect(b.chain_head.seq).toBe(full.chain_head.seq);
      expect((await verifyAuditBundle(reread(b))).ok).toBe(true);
    } finally {
      rawSqlite(writer).prepare('ROLLBACK').run();
      writer.releaseLock(lock.id);
      writer.close();
    }
  });

  it('keeps a consistent view while another handle commits batches between its reads', async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-audit-live-'));
    const l = Ledger.open(copy);
    populate(l);
    const writer = Ledger.open(copy);
    // commit a batch from the other handle in the middle of the export's read transaction,
    // after its first reads (run lookup, chain head) and before the chain is walked
    const verifyChain = l.verifyChain.bind(l);
    let injected = 0;
    l.verifyChain = () => {
      if (injected++ === 0)
        writer.appendEvents(Array.from({length: 100}, (_, i) => ({run_id: runs[0], level: 'info' as const, message: `late ${i}`})));
      return verifyChain();
    };
    const b = await buildAuditBundle(l, {run: l.listRuns().at(-1)!.id}, key);
    expect(injected).toBeGreaterThan(0);
    expect(b.chain_head.seq).toBe(b.chain_verified.count);
    expect(b.events.some((e) => e.message.startsWith('late'))).toBe(false);
    expect(writer.chainHead().seq).toBe(b.chain_head.seq + 100);
    expect((await verifyAuditBundle(reread(b))).ok).toBe(true);
    writer.close();
    l.close();
    fs.rmSync(copy, {recursive: true, force: true});
  });
});

describe('audit verify-bundle', () => {
  it('round trip through a file', async () => {
    const file = path.join(dir, 'out', 'audit.json');
    writeAuditBundle(file, full);
    const v = await verifyAuditBundle(readAuditBundle(file));
    expect(v).toMatchObject({ok: true, exit: 0, problems: [], signature: {ok: true, key: 'bundle', fingerprint: key.fingerprint}});
    expect(v.events).toEqual({
      count: full.events.length,
      from_seq: 1,
      to_seq: full.chain_head.seq,
      hashes_ok: full.events.length,
      links_checked: full.events.length - 1,
    });
    expect(v.snapshots).toEqual({count: 2, ok: 2});
    expect(v.notes.join('\n')).toMatch(/pass --key PEM to require a specific signer/);
    expect(renderBundleVerification(file, v)).toMatch(/Bundle verified\./);
    const pinned = await verifyAuditBundle(readAuditBundle(file), {key: trustedKeyOf(key)});
    expect(pinned).toMatchObject({ok: true, signature: {key: 'pinned'}, notes: []});
  });

  it('a file that is not a bundle is an input error', () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"format": "something-else"}');
    expect(() => readAuditBundle(bad)).toThrow(expect.objectContaining({code: 'invalid_bundle', exit: 1}));
    fs.writeFileSync(bad, '{"format": "orx.audit-bundle", "format_version": 2}');
    expect(() => readAuditBundle(bad)).toThrow(/bad\.json is an orx audit bundle of format version 2; this orx reads version 3\./);
    fs.writeFileSync(bad, 'not json');
    expect(() => readAuditBundle(bad)).toThrow(/is not JSON/);
    expect(() => readAuditBundle(path.join(dir, 'missing.json'))).toThrow(/Cannot read/);
  });

  it('an edited event field: that seq, and the signature', async () => {
    for (const field of ['message', 'level', 'ts', 'run_id', 'payload', 'step_id']) {
      const b = clone(full);
      const e = b.events[4];
      e[field] = field === 'payload' ? {forged: true} : field === 'run_id' || field === 'step_id' ? 'forged' : `${e[field]}x`;
      const v = await verifyAuditBundle(b);
      expect(problems(v), field).toEqual([{part: 'signature'}, {part: 'event', seq: 5}]);
      expect(v.exit).toBe(5);
      expect(v.problems[1].reason).toMatch(/hash does not match the event contents/);
      expect(v.signature.reason).toMatch(
        /the bundle's contents changed after signing \(they hash to [0-9a-f]{12}…, the signature covers [0-9a-f]{12}…\)/,
      );
    }
  });

  it('an edited event whose hash was recomputed breaks the next link', async () => {
    const b = clone(full);
    b.events[6].message = 'rewritten';
    b.events[6].hash = eventHash(b.events[6]);
    const v = await verifyAuditBundle(b);
    expect(problems(v)).toEqual([{part: 'signature'}, {part: 'link', seq: 8}]);
    expect(v.problems[1].reason).toMatch(/prev_hash does not match the hash of seq 7/);
  });

  it('a deleted, a swapped and an inserted event', async () => {
    const del = clone(full);
    del.events.splice(3, 1);
    const vd = await verifyAuditBundle(del);
    expect(problems(vd)).toEqual([{part: 'signature'}, {part: 'range', seq: 5}]);
    expect(vd.problems[1].reason).toBe('event 4 is missing before seq 5 (deleted)');
    const del3 = clone(full);
    del3.events.splice(3, 3);
    expect((await verifyAuditBundle(del3)).problems[1].reason).toBe('events 4..6 are missing before seq 7 (deleted)');

    const last = clone(full);
    last.events.pop();
    const vLast = await verifyAuditBundle(last);
    // without the signature the head would be the only witness: it is now past the last event
    expect(problems(vLast)).toEqual([{part: 'signature'}, {part: 'range', seq: full.chain_head.seq - 1}]);
    expect(vLast.notes.join('\n')).toMatch(/chain head .* is past the last exported event/);
    expect(vLast.problems[1].reason).toMatch(/range.to_seq is \d+ but the last event is seq/);

    const swap = clone(full);
    [swap.events[2], swap.events[3]] = [swap.events[3], swap.events[2]];
    const vs = await verifyAuditBundle(swap);
    expect(problems(vs)).toEqual([{part: 'signature'}, {part: 'range', seq: 3}, {part: 'range', seq: 4}]);
    expect(vs.problems.map((p) => p.reason)).toEqual([
      expect.anything(),
      'seq 3 appears after seq 4 (events reordered or duplicated)',
      'seq 4 comes before seq 3 (events reordered)',
    ]);

    const renumbered = clone(full);
    [renumbered.events[2].seq, renumbered.events[3].seq] = [renumbered.events[3].seq, renumbered.events[2].seq];
    [renumbered.events[2], renumbered.events[3]] = [renumbered.events[3], renumbered.events[2]];
    expect(problems(await verifyAuditBundle(renumbered))).toEqual([
      {part: 'signature'},
      {part: 'event', seq: 3},
      {part: 'link', seq: 3},
      {part: 'event', seq: 4},
      {part: 'link', seq: 4},
      {part: 'link', seq: 5},
    ]);

    const ins = clone(full);
    const prev = ins.events[4];
    const forged = {
      seq: 6,
      run_id: null,
      step_id: null,
      ts: prev.ts,
      level: 'info',
      message: 'forged',
      payload: null,
      prev_hash: prev.hash,
      hash: '',
    };
    forged.hash = eventHash(forged);
    ins.events.splice(5, 0, forged);
    for (const e of ins.events.slice(6)) e.seq++;
    const vi = await verifyAuditBundle(ins);
    expect(vi.problems.filter((p) => p.part !== 'signature')[0]).toMatchObject({part: 'event', seq: 7});
  });

  it('a first event that is seq 1 must link to the genesis hash', async () => {
    const b = clone(full);
    b.events[0].prev_hash = 'f'.repeat(64);
    b.events[0].hash = eventHash(b.events[0]);
    expect(problems(await verifyAuditBundle(b))).toEqual([{part: 'signature'}, {part: 'link', seq: 1}, {part: 'link', seq: 2}]);
  });

  it('a tampered head', async () => {
    const b = clone(full);
    b.chain_head.hash = 'e'.repeat(64);
    const v = await verifyAuditBundle(b);
    expect(problems(v)).toEqual([{part: 'signature'}, {part: 'chain_head', seq: full.chain_head.seq}]);
    expect(v.problems[1].reason).toMatch(/is not the hash of event seq/);
    const older = clone(full);
    older.chain_head.seq = 3;
    expect(problems(await verifyAuditBundle(older))).toEqual([{part: 'signature'}, {part: 'chain_head', seq: 3}]);
    const gone = clone(full);
    delete gone.chain_head;
    expect(problems(await verifyAuditBundle(gone))).toEqual([{part: 'signature'}, {part: 'chain_head', seq: undefined}]);
  });

  it('a tampered snapshot: its config, its policy digest, a missing one', async () => {
    const id0 = full.snapshots[0].id;
    const cfg = clone(full);
    cfg.snapshots[0].config.agents.researcher.env.LOG_LEVEL = 'trace';
    const v = await verifyAuditBundle(cfg);
    expect(problems(v)).toEqual([{part: 'signature'}, {part: 'snapshot', id: id0, seq: undefined}]);
    expect(v.problems[1].reason).toMatch(/configuration was edited/);

    const pol = clone(full);
    pol.snapshots[1].policy_digest = 'c'.repeat(64);
    const vp = await verifyAuditBundle(pol);
    expect(vp.problems.map((p) => p.part)).toEqual(['signature', 'snapshot', 'policy_digest']);
    expect(vp.problems[2].reason).toMatch(/policy digest c{12}… \(of snapshot .*\) is not listed/);
    expect(vp.problems[1].reason).toMatch(/policy_digest c+ differs from the (ab)+11 event seq \d+ recorded/);

    const missing = clone(full);
    missing.snapshots.shift();
    const vm = await verifyAuditBundle(missing);
    expect(vm.problems.find((p) => p.part === 'snapshot')).toMatchObject({
      id: id0,
      reason: expect.stringMatching(/recorded by event seq \d+ is not in the bundle/),
    });

    const digests = clone(full);
    digests.policy_digests[0].digest = 'd'.repeat(64);
    expect((await verifyAuditBundle(digests)).problems.map((p) => p.part)).toEqual(['signature', 'policy_digest', 'policy_digest']);
  });

  it('a tampered signature fails (exit 5) and nothing else', async () => {
    const b = clone(full);
    const ms = b.signature.messageSignature;
    const sig = Buffer.from(ms.signature, 'base64');
    sig[sig.length - 5] ^= 0x01;
    ms.signature = sig.toString('base64');
    const v = await verifyAuditBundle(b);
    expect(problems(v)).toEqual([{part: 'signature'}]);
    expect(v.exit).toBe(5);
    const none = clone(full);
    delete none.signature;
    expect(await verifyAuditBundle(none)).toMatchObject({exit: 5, signature: {reason: 'the bundle has no signature'}});
  });

  it('a replaced public key: the signature does not verify with it', async () => {
    const b = clone(full);
    b.public_key = {pem: otherKey.publicKeyPem, fingerprint: otherKey.fingerprint};
    const v = await verifyAuditBundle(b);
    expect(problems(v)).toEqual([{part: 'signature'}]);
    expect(v.signature.reason).toMatch(new RegExp(`not a trusted key|does not verify with key ${otherKey.fingerprint}`));
    const fp = clone(full);
    fp.public_key.fingerprint = otherKey.fingerprint;
    expect(problems(await verifyAuditBundle(fp))).toEqual([{part: 'public_key'}, {part: 'signature'}]);
    const garbage = clone(full);
    garbage.public_key.pem = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n';
    expect(await verifyAuditBundle(garbage)).toMatchObject({exit: 5, problems: [{part: 'public_key'}, {part: 'signature'}]});
  });

  it('a bundle re-signed by another key verifies on its own, but not against the pinned key', async () => {
    const forged = clone(full);
    forged.events[2].message = 'nothing happened';
    forged.events[2].hash = eventHash(forged.events[2]);
    forged.public_key = {pem: otherKey.publicKeyPem, fingerprint: otherKey.fingerprint};
    delete forged.signature;
    forged.signature = await signBlob(signedBytes(forged), otherKey);
    const alone = await verifyAuditBundle(forged);
    expect(alone.signature).toMatchObject({ok: true, fingerprint: otherKey.fingerprint});
    expect(problems(alone)).toEqual([{part: 'link', seq: 4}]); // the chain still gives it away
    const pinned = await verifyAuditBundle(forged, {key: trustedKeyOf(key)});
    expect(pinned.exit).toBe(5);
    expect(pinned.signature.reason).toMatch(new RegExp(`names key ${otherKey.fingerprint}, not the pinned key ${key.fingerprint}`));
    const text = renderBundleVerification('f.json', pinned);
    expect(text).toMatch(/signature {3}FAILED/);
    expect(text).toMatch(/✗ event seq 4: prev_hash does not match/);
    expect(text).toMatch(/Bundle FAILED verification \(signature\)\./);
  });
});
