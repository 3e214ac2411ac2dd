// `orx dr verify` without --drill: a correctly signed backup whose archive holds an entry no
// restore could put back faithfully does not check out, and the entry is named; a good one
// checks out, its content digest recomputed from the file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {parseConfig} from '../../src/config/load.js';
import {fileSha256, TarDigest} from '../../src/dr/archive.js';
import {verifyBackup} from '../../src/dr/drill.js';
import {MANIFEST_FORMAT, writeSignedManifest, type BackupManifest} from '../../src/dr/manifest.js';
import {workspaceKey} from '../../src/engine/workspace-key.js';
import {signerKeys} from '../../src/trust/keys.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-dr-verify-'));
});
afterEach(() => {
  fs.rmSync(dir, {recursive: true, force: true});
});

function header(name: string, type: string, size = 0, link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'latin1');
  h.write('0000755\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(type, 156, 'latin1');
  h.write(link, 157, 'latin1');
  h.write('ustar\x0000', 257, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

async function backupOf(tar: Buffer): Promise<string> {
  const backup = path.join(dir, 'backup');
  fs.mkdirSync(backup);
  const file = path.join(backup, 'memory.tar.gz');
  fs.writeFileSync(file, zlib.gzipSync(tar));
  const d = new TarDigest(2);
  d.push(tar);
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    format_version: 1,
    id: '20260101T000000Z-abcdef',
    workspace: 'w',
    lineage: 'l',
    created_at: new Date(0).toISOString(),
    orx_version: '0.0.0',
    config_snapshot: null,
    ledger: null,
    archives: [
      {
        volume: 'memory',
        volume_name: 'orx-w-memory',
        file: 'memory.tar.gz',
        size: fs.statSync(file).size,
        sha256: await fileSha256(file),
        ...d.end(),
        content_digest_format: 2,
        quiesce: {how: 'none', agents: [], ms: 0},
      },
    ],
  };
  await writeSignedManifest(backup, manifest, await workspaceKey({dir, version: '0.0.0'}, parseConfig('workspace: w\n', dir)));
  return backup;
}

describe('orx dr verify (no drill)', () => {
  it('names the first entry a restore could not put back, though signature and sha256 are fine', async () => {
    const tar = Buffer.concat([
      header('./', '5'),
      header('./l', '2', 0, '/etc'),
      header('./l/planted', '0', 1),
      Buffer.from('x'.padEnd(512, '\0')),
      Buffer.alloc(1024),
    ]);
    const v = await verifyBackup(await backupOf(tar), signerKeys(dir), null);
    expect(v.signed_by).toBeTruthy();
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([
      {
        part: 'archive',
        file: 'memory.tar.gz',
        reason: 'cannot be restored: entry ./l/planted: its parent path passes through a symlink or a file',
      },
    ]);
  });

  it("checks out a restorable archive whose content digest is the manifest's", async () => {
    const tar = Buffer.concat([
      header('./', '5'),
      header('./up', '2', 0, '../../../../'),
      header('./f', '0', 1),
      Buffer.from('x'.padEnd(512, '\0')),
      Buffer.alloc(1024),
    ]);
    expect(await verifyBackup(await backupOf(tar), signerKeys(dir), null)).toMatchObject({ok: true, problems: []});
  });
});
