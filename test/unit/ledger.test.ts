import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {afterEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {LATEST_SCHEMA_VERSION, MIGRATIONS} from '../../src/ledger/migrations.js';
import {caught} from '../helpers/errors.js';
import {rawSqlite} from '../helpers/ledger-sql.js';

const dirs: string[] = [];
const open: Ledger[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-ledger-'));
  dirs.push(d);
  return d;
}
function openLedger(dir: string, opts?: {readonly?: boolean}): Ledger {
  const l = Ledger.open(dir, opts);
  open.push(l);
  return l;
}
afterEach(() => {
  for (const l of open.splice(0)) l.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, {recursive: true, force: true});
});

const put = (address: string, attributes: Record<string, unknown> = {}) =>
  ({op: 'put', address, kind: address.split('.')[0], attributes, object_id: `id-${address}`}) as const;

describe('Ledger.open', () => {
  it('creates .orx (0700) and ledger.db with WAL and the latest schema', () => {
    const dir = tmp();
    expect(Ledger.exists(dir)).toBe(false);
    const l = openLedger(dir);
    expect(Ledger.exists(dir)).toBe(true);
    expect(l.path).toBe(path.join(dir, '.orx', 'ledger.db'));
    expect(fs.statSync(path.join(dir, '.orx')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(l.path).mode & 0o077).toBe(0);
    expect(rawSqlite(l).pragma('journal_mode', {simple: true})).toBe('wal');
    expect(rawSqlite(l).pragma('foreign_keys', {simple: true})).toBe(1);
    expect(rawSqlite(l).pragma('busy_timeout', {simple: true})).toBe(5000);
    const m = l.meta();
    expect(m.schema_version).toBe(LATEST_SCHEMA_VERSION);
    expect(m.serial).toBe(0);
    expect(m.lineage).toMatch(/^[0-9a-f-]{36}$/);
    const tables = (rawSqlite(l).prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {name: string}[]).map(
      (r) => r.name,
    );
    for (const t of ['meta', 'resources', 'runs', 'steps', 'events', 'locks', 'approvals', 'backups']) expect(tables).toContain(t);
  });

  it('is idempotent on reopen and keeps the lineage', () => {
    const dir = tmp();
    const a = openLedger(dir);
    const {lineage} = a.meta();
    a.applyStateChange(put('network.a'));
    a.close();
    const b = openLedger(dir);
    expect(b.meta()).toEqual({lineage, serial: 1, schema_version: LATEST_SCHEMA_VERSION});
    expect(b.listResources()).toHaveLength(1);
    expect(openLedger(tmp()).meta().lineage).not.toBe(lineage);
  });

  it('upgrades a ledger made by an older schema in place', () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, '.orx'));
    const raw = new Database(Ledger.fileFor(dir));
    MIGRATIONS[0].up(raw);
    raw.pragma('user_version = 1');
    const lineage = (raw.prepare("SELECT value FROM meta WHERE key = 'lineage'").get() as {value: string}).value;
    raw.close();
    const l = openLedger(dir);
    expect(l.meta()).toMatchObject({lineage, schema_version: LATEST_SCHEMA_VERSION});
    expect(l.forgotten().size).toBe(0);
  });

  it('reports a corrupt file as a clear OrxError', () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, '.orx'));
    fs.writeFileSync(path.join(dir, '.orx', 'ledger.db'), 'this is not sqlite '.repeat(300));
    const err = caught(() => Ledger.open(dir));
    expect(err.code).toBe('ledger_corrupt');
    expect(err.kind).toBe('user');
    expect(err.message).toContain(path.join(dir, '.orx', 'ledger.db'));
    expect(err.actions.join(' ')).toMatch(/mv .*damaged/);
  });

  it('reports a truncated ledger (valid header, missing pages) as corrupt', () => {
    const dir = tmp();
    const l = Ledger.open(dir);
    for (let i = 0; i < 50; i++) l.applyStateChange(put(`agent.a${i}`, {blob: 'x'.repeat(2000)}));
    l.close();
    const file = Ledger.fileFor(dir);
    fs.truncateSync(file, 4096 * 2);
    expect(caught(() => Ledger.open(dir)).code).toBe('ledger_corrupt');
  });

  it('refuses a ledger from a newer schema without touching it', () => {
    const dir = tmp();
    openLedger(dir).close();
    const raw = new Database(Ledger.fileFor(dir));
    raw.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    raw.close();
    const err = caught(() => Ledger.open(dir));
    expect(err.code).toBe('ledger_newer');
    expect(err.actions[0]).toMatch(/Upgrade orx/);
  });

  it('opens read-only: reads work, writes fail, a missing ledger is not_found', () => {
    const dir = tmp();
    expect(caught(() => Ledger.open(dir, {readonly: true})).code).toBe('not_found');
    expect(fs.existsSync(path.join(dir, '.orx'))).toBe(false);
    const w = openLedger(dir);
    w.applyStateChange(put('volume.v'));
    const r = openLedger(dir, {readonly: true});
    expect(r.getResource('volume.v')?.kind).toBe('volume');
    expect(() => r.applyStateChange(put('volume.x'))).toThrow(/readonly/);
  });

  it("two handles on one file see each other's writes", () => {
    const dir = tmp();
    const a = openLedger(dir);
    const b = openLedger(dir);
    a.applyStateChange(put('agent.a'));
    expect(b.getResource('agent.a')).toBeDefined();
    expect(b.applyStateChange(put('agent.b'))).toBe(2);
    expect(a.meta().serial).toBe(2);
    expect(a.listResources().map((r) => r.address)).toEqual(['agent.a', 'agent.b']);
    expect(a.verifyChain()).toMatchObject({ok: true, count: 2});
  });

  it('backs up to a file that opens as a ledger', async () => {
    const dir = tmp();
    const l = openLedger(dir);
    l.applyStateChange(put('volume.data'));
    const dest = tmp();
    fs.mkdirSync(path.join(dest, '.orx'));
    await l.backup(Ledger.fileFor(dest));
    const copy = openLedger(dest);
    expect(copy.meta().lineage).toBe(l.meta().lineage);
    expect(copy.getResource('volume.data')).toBeDefined();
  });
});

describe('resources', () => {
  it('put/delete bump the serial and write it on the row, with an event each', () => {
    const l = openLedger(tmp());
    expect(l.applyStateChange(put('network.b', {internal: true}))).toBe(1);
    expect(l.applyStateChange(put('network.a', {internal: false}))).toBe(2);
    expect(l.applyStateChange(put('network.b', {internal: false}))).toBe(3);
    const b = l.getResource('network.b')!;
    expect(b).toMatchObject({
      kind: 'network',
      attributes: {internal: false},
      object_id: 'id-network.b',
      serial: 3,
      secret_fingerprints: {},
    });
    expect(b.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(l.listResources().map((r) => [r.address, r.serial])).toEqual([
      ['network.a', 2],
      ['network.b', 3],
    ]);
    expect(l.applyStateChange({op: 'delete', address: 'network.a'}, {message: 'deleted a'})).toBe(4);
    expect(l.getResource('network.a')).toBeUndefined();
    expect(l.meta().serial).toBe(4);
    const events = l.listEvents();
    expect(events).toHaveLength(4);
    expect(events[3]).toMatchObject({message: 'deleted a', payload: {change: {op: 'delete', address: 'network.a', serial: 4}}});
    expect(events[0].payload?.change).toMatchObject({op: 'put', attributes_sha256: expect.stringMatching(/^[0-9a-f]{64}$/)});
  });

  it('stores secret fingerprints given with a put, never other secret data', () => {
    const l = openLedger(tmp());
    l.applyStateChange({...put('agent.a'), secret_fingerprints: {KEY: 'hmac:abc'}});
    expect(l.getResource('agent.a')?.secret_fingerprints).toEqual({KEY: 'hmac:abc'});
  });

  it('removeResource forgets an address in one transaction and refuses an unknown one', () => {
    const l = openLedger(tmp());
    l.applyStateChange(put('agent.a'));
    expect(l.removeResource('agent.a', 'adopted by another workspace')).toBe(2);
    expect(l.getResource('agent.a')).toBeUndefined();
    expect(l.listEvents().at(-1)).toMatchObject({level: 'warn', message: 'state rm agent.a: adopted by another workspace'});
    const err = caught(() => l.removeResource('agent.a', 'again'));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain('agent.a');
    expect(l.meta().serial).toBe(2);
    expect(l.listEvents()).toHaveLength(2);
  });
});

describe('forgotten objects', () => {
  it('state rm forgets the object id; importing it again ends that', () => {
    const l = openLedger(tmp());
    l.applyStateChange(put('agent.a'));
    l.applyStateChange({op: 'put', address: 'volume.v', kind: 'volume', attributes: {}, object_id: null});
    l.removeResource('agent.a', 'state rm');
    l.removeResource('volume.v', 'state rm');
    expect([...l.forgotten()]).toEqual(['id-agent.a']);
    l.forget('id-agent.a'); // idempotent, keeps the recorded address
    expect(rawSqlite(l).prepare('SELECT address, reason FROM forgotten').all()).toEqual([{address: 'agent.a', reason: 'state rm'}]);
    l.forget('other-object', 'agent.b');
    expect(l.forgotten()).toEqual(new Set(['id-agent.a', 'other-object']));
    l.applyStateChange(put('agent.a'), {message: 'agent.a: imported id-agent.a'});
    expect(l.forgotten()).toEqual(new Set(['other-object']));
  });
});

describe('runs and steps', () => {
  it('starts, finishes, lists newest first and finds by unique prefix', () => {
    const l = openLedger(tmp());
    const r1 = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 1, actor: 'alice', reason: 'deploy'});
    const r2 = l.startRun({kind: 'plan', mode: 'PLAN', autonomy: 1, actor: 'alice'});
    expect(r1.id).toMatch(/^run-[0-9a-z]{15}$/);
    expect(r1.id.slice(0, 13) <= r2.id.slice(0, 13)).toBe(true); // the time part sorts
    expect(r1).toMatchObject({status: 'running', reason: 'deploy', plan_id: null, finished_at: null, summary: null});
    const done = l.finishRun(r1.id, 'succeeded', {created: 2});
    expect(done).toMatchObject({status: 'succeeded', summary: {created: 2}});
    expect(done.finished_at).toMatch(/Z$/);
    expect(l.listRuns().map((r) => r.id)).toEqual([r2.id, r1.id]);
    expect(l.listRuns({limit: 1}).map((r) => r.id)).toEqual([r2.id]);
    expect(l.getRun(r1.id)?.summary).toEqual({created: 2});
    expect(l.getRun(r1.id.slice(0, -2))?.id).toBe(r1.id);
    expect(l.getRun('run-zzzz')).toBeUndefined();
    expect(caught(() => l.getRun('run-')).code).toBe('ambiguous');
    expect(caught(() => l.finishRun('run-nope', 'failed')).code).toBe('not_found');
  });

  it('finishStep updates the step, applies the change and appends an event together', () => {
    const l = openLedger(tmp());
    const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 0, actor: 'ci'});
    const s = l.startStep({run_id: run.id, address: 'agent.a', action: 'create', idempotency_key: 'k1'});
    expect(s).toMatchObject({status: 'running', attempt: 1, error: null, outcome: null});
    const {serial} = l.finishStep({step_id: s.id, status: 'succeeded', outcome: {container: 'c1'}, change: put('agent.a')});
    expect(serial).toBe(1);
    expect(l.getResource('agent.a')?.serial).toBe(1);
    const [step] = l.listSteps(run.id);
    expect(step).toMatchObject({status: 'succeeded', outcome: {container: 'c1'}});
    expect(step.finished_at).toMatch(/Z$/);
    const last = l.listEvents({run_id: run.id}).at(-1)!;
    expect(last).toMatchObject({step_id: s.id, payload: {status: 'succeeded', change: {op: 'put', serial: 1}}});
    const s2 = l.startStep({run_id: run.id, address: 'agent.b', action: 'create', idempotency_key: 'k2'});
    expect(l.finishStep({step_id: s2.id, status: 'failed', error: 'boom'})).toEqual({serial: 1});
    expect(l.listEvents().at(-1)).toMatchObject({level: 'error', payload: {error: 'boom', change: null}});
    expect(caught(() => l.finishStep({step_id: 'step-nope', status: 'failed'})).code).toBe('not_found');
  });

  it('a failing state change rolls back the step update and the event', () => {
    const l = openLedger(tmp());
    const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 0, actor: 'ci'});
    const s = l.startStep({run_id: run.id, address: 'agent.a', action: 'create', idempotency_key: 'k1'});
    const before = l.listEvents().length;
    const bad = {op: 'put', address: 'agent.a', kind: null, attributes: {}, object_id: null} as unknown as Parameters<
      Ledger['finishStep']
    >[0]['change'];
    expect(() => l.finishStep({step_id: s.id, status: 'succeeded', change: bad})).toThrow();
    expect(l.listSteps(run.id).find((x) => x.id === s.id)?.status).toBe('running');
    expect(l.listEvents()).toHaveLength(before);
    expect(l.meta().serial).toBe(0);
  });

  it('knownStepKeys says which idempotency keys steps have used', () => {
    const l = openLedger(tmp());
    const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 0, actor: 'ci'});
    for (let i = 0; i < 3; i++) l.startStep({run_id: run.id, address: `agent.a${i}`, action: 'create', idempotency_key: `k${i}`});
    expect(l.knownStepKeys([])).toEqual(new Set());
    expect(l.knownStepKeys(['k0', 'k2', 'nope', 'k0'])).toEqual(new Set(['k0', 'k2']));
    const many = Array.from({length: 1200}, (_, i) => `x${i}`).concat('k1');
    expect(l.knownStepKeys(many)).toEqual(new Set(['k1']));
  });

  it('a re-run with the same idempotency key resumes the step as attempt 2', () => {
    const l = openLedger(tmp());
    const r1 = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 0, actor: 'ci', plan_id: 'p1'});
    const s1 = l.startStep({run_id: r1.id, address: 'agent.a', action: 'create', idempotency_key: 'p1:agent.a'});
    l.finishRun(r1.id, 'interrupted');
    const r2 = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 0, actor: 'ci', plan_id: 'p1'});
    const s2 = l.startStep({run_id: r2.id, address: 'agent.a', action: 'create', idempotency_key: 'p1:agent.a'});
    expect(s2).toMatchObject({id: s1.id, run_id: r2.id, attempt: 2, status: 'running'});
    expect(l.listSteps(r2.id)).toHaveLength(1);
    expect(l.listEvents({run_id: r2.id}).at(-1)?.message).toContain('attempt 2');
  });
});
