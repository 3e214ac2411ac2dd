// The audit commands through the built CLI (`npm run build` first). No Docker: the ledger is
// written through the library, as apply would, and tampered with directly in SQLite.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {eventHash} from '../../src/ledger/event-hash.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {recordSnapshot} from '../../src/ledger/snapshots.js';
import {initWorkspaceKey, type WorkspaceKey} from '../../src/trust/keys.js';
import {noStack, orx} from '../helpers/cli.js';
import {repoRoot} from '../helpers/workspace.js';
import {rawSqlite} from '../helpers/ledger-sql.js';

let dir: string;
let key: WorkspaceKey;
let runs: string[];
let snaps: string[];

const base = {workspace: 'lab', agents: {researcher: {image: 'base', env: {LOG_LEVEL: 'info'}}}};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-e2e-audit-'));
  fs.writeFileSync(path.join(dir, 'orchestration.yml'), 'workspace: lab\n');
  key = initWorkspaceKey(dir);
  const l = Ledger.open(dir);
  runs = [];
  snaps = [];
  for (const level of ['info', 'debug']) {
    const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 1, actor: 'alice'});
    runs.push(run.id);
    l.appendEvents(Array.from({length: 5}, (_, i) => ({run_id: run.id, level: 'info' as const, message: `work ${i}`, payload: {i}})));
    snaps.push(
      recordSnapshot(l, {
        run_id: run.id,
        config: {...base, agents: {researcher: {...base.agents.researcher, env: {LOG_LEVEL: level}}}},
        policy_digest: `p-${level}`,
      }).id,
    );
    l.finishRun(run.id, 'succeeded');
  }
  l.close();
});
afterEach(() => {
  fs.rmSync(dir, {recursive: true, force: true});
});

function tamper(sqlText: string, ...params: unknown[]): void {
  const l = Ledger.open(dir);
  try {
    rawSqlite(l).transaction(() => {
      for (const s of sqlText
        .split(';')
        .map((x) => x.trim())
        .filter(Boolean))
        rawSqlite(l)
          .prepare(s)
          .run(...(s.includes('?') ? params : []));
    })();
  } finally {
    l.close();
  }
}

const json = (s: string) => JSON.parse(s) as Record<string, any>;

describe('orx audit verify / head', () => {
  it('an intact chain: exit 0, human and JSON; head', async () => {
    const r = await orx(['audit', 'verify'], {cwd: dir});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Chain intact: 16 events verified from the genesis hash to head seq 16 [0-9a-f]{64}/);
    const j = json((await orx(['audit', 'verify', '--json'], {cwd: dir})).stdout);
    expect(j).toMatchObject({formatVersion: '1', ok: true, count: 16, head: {seq: 16}, break: null});
    const head = await orx(['audit', 'head', '--json'], {cwd: dir});
    expect(json(head.stdout)).toMatchObject({head: {seq: 16, hash: j.head.hash}});
    expect((await orx(['audit', 'head'], {cwd: dir})).stdout.trim()).toBe(`seq 16 ${j.head.hash}`);
  });

  const cases: Array<[string, () => void, number, RegExp]> = [
    ['an edited message', () => tamper("UPDATE events SET message = 'nothing happened' WHERE seq = 4"), 4, /edited/],
    ['a deleted row', () => tamper('DELETE FROM events WHERE seq = 9'), 10, /event 9 is missing/],
    ['rows deleted from the end', () => tamper('DELETE FROM events WHERE seq >= 15'), 15, /missing at the end/],
    [
      'a forged row inserted in the middle',
      () => {
        tamper('UPDATE events SET seq = seq + 100 WHERE seq >= 6; UPDATE events SET seq = seq - 99 WHERE seq >= 106');
        const l = Ledger.open(dir);
        const prev = l.listEvents({after_seq: 4, limit: 1})[0];
        const fake = {
          seq: 6,
          run_id: prev.run_id,
          step_id: null,
          ts: prev.ts,
          level: 'info',
          message: 'forged',
          payload: null,
          prev_hash: prev.hash,
        };
        rawSqlite(l)
          .prepare(
            'INSERT INTO events (seq, run_id, step_id, ts, level, message, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(6, fake.run_id, null, fake.ts, 'info', 'forged', null, prev.hash, eventHash(fake));
        l.close();
      },
      7,
      /prev_hash/,
    ],
    [
      'two rows swapped',
      () =>
        tamper(
          'UPDATE events SET seq = -1 WHERE seq = 11; UPDATE events SET seq = 11 WHERE seq = 12; UPDATE events SET seq = 12 WHERE seq = -1',
        ),
      11,
      /./,
    ],
  ];
  for (const [what, doIt, seq, reason] of cases) {
    it(`${what}: exit 1, naming seq ${seq}`, async () => {
      doIt();
      const r = await orx(['audit', 'verify'], {cwd: dir});
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`Chain BROKEN at seq ${seq}:`);
      expect(r.stdout).toMatch(reason);
      const j = await orx(['audit', 'verify', '--json'], {cwd: dir});
      expect(j.code).toBe(1);
      expect(json(j.stdout)).toMatchObject({ok: false, break: {seq, reason: expect.stringMatching(reason)}});
      // a bundle of a broken history is refused
      const e = await orx(['audit', 'export', '-o', 'a.json'], {cwd: dir});
      expect(e.code).toBe(1);
      expect(e.stderr).toContain(`broken at seq ${seq}`);
      expect(noStack(e.stderr)).toBe(true);
    });
  }

  it('outside a workspace: exit 1 with a clear message', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-e2e-none-'));
    const r = await orx(['audit', 'verify'], {cwd: empty});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not an orx workspace/);
    fs.rmSync(empty, {recursive: true, force: true});
  });
});

describe('orx audit export / verify-bundle', () => {
  it('round trip, then tampering each part is reported precisely', async () => {
    const exp = await orx(['audit', 'export', '-o', 'out/audit.json', '--json'], {cwd: dir});
    expect(exp.code, exp.stderr).toBe(0);
    expect(json(exp.stdout)).toMatchObject({
      events: 16,
      runs: 2,
      snapshots: 2,
      chain_head: {seq: 16},
      key_fingerprint: key.fingerprint,
      range: {from_seq: 1, to_seq: 16},
    });
    const file = path.join(dir, 'out/audit.json');
    const ok = await orx(['audit', 'verify-bundle', file], {cwd: dir});
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/signature {3}ok {2}signed by sha256:[0-9a-f]{64} \(the key in the bundle\)/);
    expect(ok.stdout).toMatch(/events {6}ok {2}16 \(seq 1\.\.16\), 16 hashes and 15 links verified/);
    expect(ok.stdout).toMatch(/Bundle verified\./);
    const pinned = await orx(['audit', 'verify-bundle', file, '--key', '.orx/keys/signing.pub', '--json'], {cwd: dir});
    expect(json(pinned.stdout)).toMatchObject({ok: true, signature: {ok: true, key: 'pinned'}});

    const original = fs.readFileSync(file, 'utf8');
    const variant = async (name: string, edit: (b: Record<string, any>) => void, args: string[] = []) => {
      const b = JSON.parse(original);
      edit(b);
      const f = path.join(dir, `${name}.json`);
      fs.writeFileSync(f, JSON.stringify(b, null, 2));
      const human = await orx(['audit', 'verify-bundle', f, ...args], {cwd: dir});
      const j = await orx(['audit', 'verify-bundle', f, '--json', ...args], {cwd: dir});
      return {human, j: json(j.stdout), code: j.code};
    };
    const ev = await variant('event', (b) => (b.events[6].message = 'edited'));
    expect(ev.code).toBe(5);
    expect(ev.j.problems).toEqual([
      expect.objectContaining({part: 'signature'}),
      {part: 'event', seq: 7, reason: expect.stringMatching(/hash does not match/)},
    ]);
    expect(ev.human.stdout).toMatch(/✗ event seq 7: hash does not match the event contents/);

    const head = await variant('head', (b) => (b.chain_head.hash = 'a'.repeat(64)));
    expect(head.j.problems.map((p: {part: string}) => p.part)).toEqual(['signature', 'chain_head']);
    expect(head.human.stdout).toMatch(/✗ chain head: the head hash aaaaaaaaaaaa… is not the hash of event seq 16/);

    const snap = await variant('snapshot', (b) => (b.snapshots[1].config.agents.researcher.env.LOG_LEVEL = 'trace'));
    expect(snap.j.problems).toEqual([
      expect.objectContaining({part: 'signature'}),
      expect.objectContaining({part: 'snapshot', id: snaps[1]}),
    ]);
    expect(snap.human.stdout).toContain(`✗ snapshot ${snaps[1].slice(0, 12)}…: its config hashes to`);

    const sig = await variant('sig', (b) => {
      const s = Buffer.from(b.signature.messageSignature.signature, 'base64');
      s[10] ^= 0xff;
      b.signature.messageSignature.signature = s.toString('base64');
    });
    expect(sig.code).toBe(5);
    expect(sig.j.problems.map((p: {part: string}) => p.part)).toEqual(['signature']);
    expect(sig.human.stdout).toMatch(/Bundle FAILED verification \(signature\)\./);

    const other = initWorkspaceKey(fs.mkdtempSync(path.join(os.tmpdir(), 'orx-e2e-otherkey-')));
    const pk = await variant('pubkey', (b) => (b.public_key = {pem: other.publicKeyPem, fingerprint: other.fingerprint}));
    expect(pk.code).toBe(5);
    expect(pk.j.problems.map((p: {part: string}) => p.part)).toEqual(['signature']);
    const otherPub = path.join(dir, 'other.pub');
    fs.writeFileSync(otherPub, other.publicKeyPem);
    const wrongPin = await variant('pin', () => undefined, ['--key', otherPub]);
    expect(wrongPin.code).toBe(5);
    expect(wrongPin.j.signature.reason).toMatch(new RegExp(`names key ${key.fingerprint}, not the pinned key ${other.fingerprint}`));

    const notBundle = path.join(dir, 'x.json');
    fs.writeFileSync(notBundle, '[1,2]');
    const nb = await orx(['audit', 'verify-bundle', notBundle], {cwd: dir});
    expect(nb.code).toBe(1);
    expect(nb.stderr).toMatch(/is not an orx audit bundle/);
  });

  it("--run exports that run's stretch; the first link is taken as given and said so", async () => {
    const r = await orx(['audit', 'export', '--run', runs[1], '-o', 'run.json', '--json'], {cwd: dir});
    expect(r.code, r.stderr).toBe(0);
    expect(json(r.stdout)).toMatchObject({events: 8, runs: 1, snapshots: 1, range: {run_id: runs[1], from_seq: 9, to_seq: 16}});
    const v = await orx(['audit', 'verify-bundle', 'run.json'], {cwd: dir});
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/note: The first event \(seq 9\) links to prev_hash [0-9a-f]{12}…, which is taken as given/);
    const none = await orx(['audit', 'export', '--since', 'nonsense', '-o', 'n.json'], {cwd: dir});
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/--since "nonsense" is not a time/);
  });

  it('export without a signing key says how to make one', async () => {
    fs.rmSync(path.join(dir, '.orx/keys'), {recursive: true});
    const r = await orx(['audit', 'export', '-o', 'a.json'], {cwd: dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no signing key/);
    expect(r.stderr).toMatch(/orx keys init/);
  });

  it('exports and verifies while another process appends batches in a loop', {timeout: 120_000}, async () => {
    const ledgerUrl = pathToFileURL(path.join(repoRoot, 'dist/src/ledger/ledger.js')).href;
    const script = `
      const {Ledger} = await import(${JSON.stringify(ledgerUrl)});
      const l = Ledger.open(${JSON.stringify(dir)});
      const lock = l.acquireLock({pid: process.pid, host: 'test', command: 'orx apply (stand-in writer)'});
      let n = 0;
      process.stdout.write('ready\\n');
      for (;;) {
        l.appendEvents(Array.from({length: 50}, (_, i) => ({level: 'info', message: 'batch ' + n + ' #' + i, payload: {n, i}})));
        n++;
        await new Promise((r) => setTimeout(r, 5));
      }`;
    const writer = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'pipe']});
    let err = '';
    writer.stderr.on('data', (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      writer.stdout.once('data', () => resolve());
      writer.once('exit', (code) => reject(new Error(`writer exited ${code}: ${err}`)));
    });
    try {
      const heads: number[] = [];
      for (let i = 0; i < 3; i++) {
        const e = await orx(['audit', 'export', '-o', `live${i}.json`, '--json'], {cwd: dir});
        expect(e.code, e.stderr).toBe(0);
        const out = json(e.stdout);
        expect(out.range.to_seq).toBe(out.chain_head.seq);
        heads.push(out.chain_head.seq);
        const v = await orx(['audit', 'verify-bundle', `live${i}.json`, '--json'], {cwd: dir});
        expect(json(v.stdout)).toMatchObject({ok: true});
        const a = await orx(['audit', 'verify', '--json'], {cwd: dir});
        expect(json(a.stdout)).toMatchObject({ok: true});
      }
      expect(heads[2]).toBeGreaterThan(heads[0]); // the writer really was writing meanwhile
    } finally {
      writer.kill('SIGKILL');
      await new Promise((r) => writer.once('close', r));
    }
    expect(err).toBe('');
  });
});

describe('orx history', () => {
  it('lists snapshots and diffs two of them by unique prefix', async () => {
    const list = await orx(['history'], {cwd: dir});
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^\\*\\s+${snaps[1].slice(0, 12)}\\s+\\S+\\s+${runs[1]}\\s+p-debug\\s+${snaps[0].slice(0, 12)}$`, 'm'),
    );
    expect(list.stdout).toMatch(new RegExp(`^\\s+${snaps[0].slice(0, 12)}\\s+\\S+\\s+${runs[0]}\\s+p-info\\s+-$`, 'm'));
    const j = json((await orx(['history', '--json'], {cwd: dir})).stdout);
    expect(j.snapshots.map((s: {id: string}) => s.id)).toEqual([snaps[1], snaps[0]]);
    expect(j.current).toMatchObject({id: snaps[1], policy_digest: 'p-debug'});

    const d = await orx(['history', 'diff', snaps[0].slice(0, 8), snaps[1].slice(0, 8)], {cwd: dir});
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('~ agents.researcher.env.LOG_LEVEL: "info" -> "debug"');
    expect(d.stdout).toContain('~ (policy digest): p-info -> p-debug');
    const dj = json((await orx(['history', 'diff', snaps[0], snaps[1], '--json'], {cwd: dir})).stdout);
    expect(dj.changes).toEqual([{op: 'change', path: 'agents.researcher.env.LOG_LEVEL', before: 'info', after: 'debug'}]);

    const bad = await orx(['history', 'diff', 'zz', snaps[1]], {cwd: dir});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"zz" is not a snapshot id/);
    const missing = await orx(['history', 'diff', '0000000000', snaps[1], '--json'], {cwd: dir});
    expect(missing.code).toBe(1);
    expect(json(missing.stdout).error).toMatchObject({code: 'not_found'});
  });
});
