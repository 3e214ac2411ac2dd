import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {verifyAudit} from '../../src/audit/chain.js';
import {diffConfigs, formatChange, joinPath} from '../../src/audit/diff.js';
import {historyDiff, historyList} from '../../src/audit/history.js';
import {canonicalJson, sha256Hex} from '../../src/util/canonical-json.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {currentSnapshot, listSnapshots, recordSnapshot, resolveSnapshot, snapshotsForRuns} from '../../src/ledger/snapshots.js';
import {renderHistory, renderHistoryDiff} from '../../src/ui/audit-view.js';

const base = {
  workspace: 'lab',
  autonomy: 1,
  networks: {backplane: {internal: true}},
  agents: {researcher: {image: 'agent-base', env: {LOG_LEVEL: 'info'}, networks: ['backplane'], ports: [{container: 8080, host: 18080}]}},
};
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

let dir: string;
let l: Ledger;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-audit-hist-'));
  l = Ledger.open(dir);
});
afterEach(() => {
  l.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

const run = () => l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 1, actor: 't'}).id;

describe('contract snapshots', () => {
  it('content-addressed: the id is the sha256 of the canonical JSON, whatever the key order', () => {
    const r1 = run();
    const a = recordSnapshot(l, {run_id: r1, config: base, policy_digest: 'p1'});
    expect(a).toEqual({id: sha256Hex(canonicalJson(base)), parent: null, created: true});
    const reordered = {agents: base.agents, networks: base.networks, autonomy: 1, workspace: 'lab'};
    expect(sha256Hex(canonicalJson(reordered))).toBe(a.id);
    const events = l.listEvents().filter((e) => (e.payload as {snapshot?: unknown} | null)?.snapshot);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({run_id: r1, payload: {snapshot: {id: a.id, parent: null, policy_digest: 'p1', created: true}}});
    // the same configuration again: same id, no new row, no new event
    expect(recordSnapshot(l, {run_id: run(), config: reordered, policy_digest: 'p1'})).toEqual({id: a.id, parent: null, created: false});
    expect(listSnapshots(l)).toHaveLength(1);
    expect(l.listEvents().filter((e) => (e.payload as {snapshot?: unknown} | null)?.snapshot)).toHaveLength(1);
    expect(resolveSnapshot(l, a.id)).toMatchObject({id: a.id, run_id: r1, config: base, policy_digest: 'p1', parent: null});
  });

  it('each new snapshot points at the one in force before it; re-applying an older one moves what is in force', () => {
    const a = recordSnapshot(l, {run_id: run(), config: base, policy_digest: 'p1'});
    const changed = clone(base);
    changed.agents.researcher.env.LOG_LEVEL = 'debug';
    const r2 = run();
    const b = recordSnapshot(l, {run_id: r2, config: changed, policy_digest: 'p1'});
    expect(b).toEqual({id: sha256Hex(canonicalJson(changed)), parent: a.id, created: true});
    expect(currentSnapshot(l)).toMatchObject({id: b.id, run_id: r2, policy_digest: 'p1'});

    // rolled back to A: no new row, but an event, and A is in force
    expect(recordSnapshot(l, {run_id: run(), config: base, policy_digest: 'p1'})).toEqual({id: a.id, parent: null, created: false});
    expect(currentSnapshot(l)?.id).toBe(a.id);
    expect(l.listEvents().at(-1)).toMatchObject({
      message: expect.stringMatching(/applied again/),
      payload: {snapshot: {id: a.id, created: false, previous: b.id}},
    });

    // a third configuration's parent is A, the one really applied before it
    const third = {...clone(base), autonomy: 2};
    expect(recordSnapshot(l, {run_id: run(), config: third, policy_digest: 'p1'}).parent).toBe(a.id);

    // same configuration under other policy files: recorded as an event, what is in force changes
    const r5 = run();
    const before = l.chainHead().seq;
    expect(recordSnapshot(l, {run_id: r5, config: third, policy_digest: 'p2'}).created).toBe(false);
    expect(l.chainHead().seq).toBe(before + 1);
    expect(currentSnapshot(l)).toMatchObject({id: sha256Hex(canonicalJson(third)), policy_digest: 'p2'});
    expect(verifyAudit(l).ok).toBe(true);
  });

  it('a failed write leaves neither a row nor an event', () => {
    const seq = l.chainHead().seq;
    expect(() =>
      l.write(() => {
        recordSnapshot(l, {run_id: null, config: base, policy_digest: null});
        throw new Error('apply failed after recording');
      }),
    ).toThrow(/apply failed/);
    expect(listSnapshots(l)).toHaveLength(0);
    expect(l.chainHead().seq).toBe(seq);
    expect(currentSnapshot(l)).toBeNull();
  });

  it('resolves full ids and unique prefixes; ambiguous, unknown and non-hex ids are errors', () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(recordSnapshot(l, {run_id: null, config: {...base, autonomy: i}, policy_digest: null}).id);
    expect(resolveSnapshot(l, ids[3]).id).toBe(ids[3]);
    expect(resolveSnapshot(l, ids[3].slice(0, 12).toUpperCase()).id).toBe(ids[3]);
    // with 40 ids, some one-character prefix is shared by two of them
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id[0], (counts.get(id[0]) ?? 0) + 1);
    const shared = [...counts.entries()].find(([, n]) => n > 1)![0];
    expect(() => resolveSnapshot(l, shared)).toThrow(expect.objectContaining({code: 'ambiguous'}));
    const unused = '0123456789abcdef'.split('').find((ch) => !ids.some((id) => id.startsWith(`${ids[0].slice(0, 10)}${ch}`)))!;
    expect(() => resolveSnapshot(l, `${ids[0].slice(0, 10)}${unused}`)).toThrow(expect.objectContaining({code: 'not_found'}));
    expect(() => resolveSnapshot(l, 'HEAD~1')).toThrow(expect.objectContaining({code: 'invalid_input'}));
    expect(() => resolveSnapshot(l, '%')).toThrow(expect.objectContaining({code: 'invalid_input'}));
  });

  it('snapshotsForRuns returns what those runs first applied', () => {
    const r1 = run();
    const r2 = run();
    const a = recordSnapshot(l, {run_id: r1, config: base, policy_digest: 'p'});
    const b = recordSnapshot(l, {run_id: r2, config: {...base, autonomy: 3}, policy_digest: 'p'});
    expect(snapshotsForRuns(l, [r2]).map((s) => s.id)).toEqual([b.id]);
    expect(snapshotsForRuns(l, [r2, r1, r1]).map((s) => s.id)).toEqual([a.id, b.id]);
    expect(snapshotsForRuns(l, ['run-none'])).toEqual([]);
  });
});

describe('history', () => {
  it('lists snapshots newest first and marks the one in force', () => {
    expect(renderHistory(historyList(l))).toMatch(/No configuration has been applied yet/);
    const r1 = run();
    const a = recordSnapshot(l, {run_id: r1, config: base, policy_digest: 'f'.repeat(64)});
    const b = recordSnapshot(l, {run_id: run(), config: {...base, autonomy: 2}, policy_digest: 'f'.repeat(64)});
    const h = historyList(l);
    expect(h.snapshots.map((s) => [s.id, s.parent, s.current])).toEqual([
      [b.id, a.id, true],
      [a.id, null, false],
    ]);
    const text = renderHistory(h);
    expect(text).toMatch(new RegExp(`^\\*\\s+${b.id.slice(0, 12)}`, 'm'));
    expect(text).toContain(a.id.slice(0, 12));
    expect(text).toContain(r1);
    expect(text).toMatch(/in force: /);
    expect(historyList(l, {limit: 1}).snapshots).toHaveLength(1);
  });

  it('diff: added, removed and changed paths, key by key', () => {
    const next = clone(base) as Record<string, any>;
    next.agents.researcher.env.LOG_LEVEL = 'debug';
    next.agents.researcher.env.TRACE = '1';
    next.agents.researcher.ports[0].host = 18081;
    next.agents.researcher.networks = ['backplane', 'frontdoor'];
    delete next.networks.backplane.internal;
    next.agents.planner = {image: 'tools'};
    next.networks['front.door'] = {internal: false};
    const a = recordSnapshot(l, {run_id: null, config: base, policy_digest: 'p1'});
    const b = recordSnapshot(l, {run_id: null, config: next, policy_digest: 'p2'});
    const d = historyDiff(l, a.id.slice(0, 10), b.id.slice(0, 10));
    expect(d.changes.map(formatChange)).toEqual([
      '+ agents.planner: {"image":"tools"}',
      '~ agents.researcher.env.LOG_LEVEL: "info" -> "debug"',
      '+ agents.researcher.env.TRACE: "1"',
      '~ agents.researcher.networks: ["backplane"] -> ["backplane","frontdoor"]',
      '~ agents.researcher.ports[0].host: 18080 -> 18081',
      '- networks.backplane.internal: true',
      '+ networks["front.door"]: {"internal":false}',
    ]);
    expect(d.policy_changed).toBe(true);
    expect(d.from).not.toHaveProperty('config');
    const text = renderHistoryDiff(d);
    expect(text).toContain('~ agents.researcher.env.LOG_LEVEL: "info" -> "debug"');
    expect(text).toMatch(/~ \(policy digest\): p1 -> p2/);
    expect(text).toMatch(/3 added, 3 changed, 1 removed; policy files changed\./);
    expect(renderHistoryDiff(historyDiff(l, a.id, a.id))).toMatch(/No changes/);
  });

  it('diffConfigs edge cases', () => {
    expect(diffConfigs({a: 1}, {a: 1})).toEqual([]);
    expect(diffConfigs(1, 2)).toEqual([{op: 'change', path: '(root)', before: 1, after: 2}]);
    expect(diffConfigs({a: {b: 1}}, {a: 'x'})).toEqual([{op: 'change', path: 'a', before: {b: 1}, after: 'x'}]);
    expect(diffConfigs({a: null}, {a: {b: 1}})).toEqual([{op: 'change', path: 'a', before: null, after: {b: 1}}]);
    expect(diffConfigs({l: [{x: 1}, {x: 2}]}, {l: [{x: 1}, {x: 3}]})).toEqual([{op: 'change', path: 'l[1].x', before: 2, after: 3}]);
    expect(diffConfigs({a: undefined}, {})).toEqual([]);
    expect(joinPath('', 'with space')).toBe('["with space"]');
    expect(joinPath('x', 'ok_name-1')).toBe('x.ok_name-1');
  });
});
