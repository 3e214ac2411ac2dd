// What backup, restore and prune plans hold, from the ledger's records and the backups on disk.
import {describe, expect, it} from 'vitest';
import {parseConfig} from '../../src/config/load.js';
import {backupSteps, pruneSteps, restoreSteps} from '../../src/dr/plans.js';
import type {BackupManifest} from '../../src/dr/manifest.js';
import type {ResourceRecord} from '../../src/ledger/types.js';

const WS = '/tmp/orx-dr-plans';
const config = parseConfig('workspace: lab\nvolumes:\n  memory: {backup: true}\n  scratch: {}\n  db: {backup: true, quiesce: stop}\n', WS);
const rec = (address: string, kind: string, attributes: Record<string, unknown>, object_id: string | null = null): ResourceRecord => ({
  address,
  kind,
  attributes,
  object_id,
  secret_fingerprints: {},
  serial: 1,
  updated_at: '',
});
const records = [
  rec('volume.memory', 'volume', {name: 'orx-lab-memory'}),
  rec('volume.db', 'volume', {name: 'orx-lab-db'}),
  rec(
    'agent.a',
    'agent',
    {name: 'orx-lab-a', image_ref: 'orx-lab-base:abc', mounts: [{source: 'orx-lab-memory', target: '/data', read_only: false}]},
    'c-a',
  ),
  rec(
    'agent.b',
    'agent',
    {name: 'orx-lab-b', image_ref: 'orx-lab-base:abc', mounts: [{source: 'orx-lab-db', target: '/db', read_only: false}]},
    'c-b',
  ),
];

describe('backup plans', () => {
  it('one step per volume with backup: true (its agents held as the volume says), then the ledger, then the manifest', () => {
    const steps = backupSteps({config, records, volumes: [], root: '/b', backupId: 'id1'});
    expect(steps.map((s) => `${s.address} ${s.category}`)).toEqual([
      'backup.db WRITE',
      'backup.memory WRITE',
      'backup.ledger WRITE',
      'backup.manifest WRITE',
    ]);
    expect(
      backupSteps({
        config: parseConfig('workspace: lab\nvolumes:\n  db: {backup: true}\ndr: {skip_special: true, max_volume_bytes: 1GiB}\n', WS),
        records,
        volumes: [],
        root: '/b',
        backupId: 'id1',
      })[0].after,
    ).toMatchObject({skip_special: true, max_volume_bytes: 1024 ** 3});
    expect(steps[0].after).toMatchObject({
      op: 'backup-volume',
      volume_name: 'orx-lab-db',
      quiesce: 'stop',
      skip_special: false,
      max_volume_bytes: 20 * 1024 ** 3,
      agents: [{address: 'agent.b', container: 'c-b'}],
    });
    expect(steps[3].depends_on).toEqual(['backup.db', 'backup.memory', 'backup.ledger']);
    expect(backupSteps({config, records, volumes: ['memory'], root: '/b', backupId: 'id1'}).map((s) => s.address)).toEqual([
      'backup.memory',
      'backup.ledger',
      'backup.manifest',
    ]);
  });

  it('volumes of one agent are copied one after the other (it is held once at a time); others in parallel', () => {
    const shared = [
      ...records,
      rec(
        'agent.c',
        'agent',
        {
          name: 'orx-lab-c',
          image_ref: 'x',
          mounts: [
            {source: 'orx-lab-memory', target: '/m', read_only: false},
            {source: 'orx-lab-db', target: '/d', read_only: false},
          ],
        },
        'c-c',
      ),
    ];
    const steps = backupSteps({config, records: shared, volumes: [], root: '/b', backupId: 'id1'});
    expect(steps.map((s) => [s.address, s.depends_on])).toEqual([
      ['backup.db', []],
      ['backup.memory', ['backup.db']],
      ['backup.ledger', []],
      ['backup.manifest', ['backup.db', 'backup.memory', 'backup.ledger']],
    ]);
    expect(backupSteps({config, records, volumes: [], root: '/b', backupId: 'id1'})[1].depends_on).toEqual([]);
  });

  it("refuses unknown volumes and volumes never applied; needs no image of the workspace (the helper is orx's own)", () => {
    expect(() => backupSteps({config, records, volumes: ['nope'], root: '/b', backupId: 'x'})).toThrow(/--volume nope: no such volume/);
    expect(() => backupSteps({config, records, volumes: ['scratch'], root: '/b', backupId: 'x'})).toThrow(
      /volume\.scratch has not been applied yet/,
    );
    expect(backupSteps({config, records: records.slice(0, 2), volumes: ['memory'], root: '/b', backupId: 'x'})[0].after).toMatchObject({
      op: 'backup-volume',
      agents: [],
    });
  });
});

describe('restore plans', () => {
  const manifest = {
    workspace: 'lab',
    archives: [{volume: 'memory', file: 'memory.tar.gz', sha256: 's', content_digest: 'c'}],
    ledger: {file: 'ledger.db', serial: 3},
  } as unknown as BackupManifest;

  it('checks first, restores each volume into a fresh one (DESTROY), and names the agents recreated', () => {
    const steps = restoreSteps({config, workspace: 'lab', records, backup: {id: 'b1', dir: '/b/b1', manifest}, volumes: [], ledger: true});
    expect(steps.map((s) => `${s.address} ${s.action} ${s.category}`)).toEqual([
      'restore.check create READ',
      'restore.ledger update DESTROY',
      'restore.memory update DESTROY',
    ]);
    expect(steps[2].after).toMatchObject({
      op: 'restore-volume',
      agents: ['agent.a'],
      new_name: expect.stringMatching(/^orx-lab-memory-r[0-9a-f]{6}$/),
      health_timeout_ms: 120_000,
    });
    expect(steps[2].depends_on).toEqual(['restore.check', 'restore.ledger']);
  });

  it("refuses another workspace's backup and volumes it does not hold", () => {
    expect(() =>
      restoreSteps({config, workspace: 'other', records, backup: {id: 'b1', dir: '/b', manifest}, volumes: [], ledger: false}),
    ).toThrow(/of workspace "lab", this is "other"/);
    expect(() =>
      restoreSteps({config, workspace: 'lab', records, backup: {id: 'b1', dir: '/b', manifest}, volumes: ['db'], ledger: false}),
    ).toThrow(/has no archive of volume db/);
  });
});

describe('prune plans', () => {
  const backups = [
    '20260101T000000Z-000001',
    '20260102T000000Z-000002',
    '20260103T000000Z-000003',
    '20260104T000000Z-000004',
    '20260105T000000Z-000005',
  ].map((id) => ({id, dir: `/b/${id}`}));
  const verified = (ids: string[]) =>
    ids.map((id) => ({id, path: `/b/${id}`, created_at: '', size: 1, verified_at: '2026-01-06T00:00:00Z', manifest: {}}));
  const deleted = (keep: number, keepVerified: number, v: string[]) =>
    pruneSteps({backups, recorded: verified(v), keep, keepVerified}).map((s) => s.address.slice('prune.'.length, 'prune.'.length + 8));

  it('keeps the newest N and never the last verified one', () => {
    expect(deleted(2, 1, [])).toEqual(['20260103', '20260102', '20260101']);
    expect(deleted(2, 1, ['20260101T000000Z-000001'])).toEqual(['20260103', '20260102']);
    expect(deleted(0, 0, ['20260102T000000Z-000002'])).toEqual(['20260105', '20260104', '20260103', '20260101']);
    expect(deleted(1, 2, ['20260101T000000Z-000001', '20260102T000000Z-000002', '20260103T000000Z-000003'])).toEqual([
      '20260104',
      '20260101',
    ]);
  });

  it('each deletion is DESTROY', () => {
    expect(pruneSteps({backups, recorded: [], keep: 4, keepVerified: 1}).map((s) => [s.action, s.category])).toEqual([
      ['delete', 'DESTROY'],
    ]);
  });
});
