// `orx dr verify`: the manifest's signature and every archive's digest; with --drill, every
// archive is restored into a scratch volume and its content digest recomputed and compared
// with the one taken at backup time. Only a drill that passed marks a backup verified.
import {randomBytes} from 'node:crypto';
import type Dockerode from 'dockerode';
import path from 'node:path';
import {isNotFound} from '../drivers/docker.js';
import type {TrustedKey} from '../trust/keys.js';
import {restoreVolume, volumeContentDigest} from './archive.js';
import {checkBackup, type BackupCheck} from './manifest.js';

export interface DrillResult {
  volume: string;
  ok: boolean;
  expected: string;
  actual: string | null;
  error: string | null;
  ms: number;
}

export interface Verification extends BackupCheck {
  drill: DrillResult[] | null;
}

export async function verifyBackup(dir: string, keys: TrustedKey[], drill: {docker: Dockerode; image: string; workspace: string} | null): Promise<Verification> {
  const check = await checkBackup(dir, keys);
  if (!drill || !check.ok || !check.manifest) return {...check, drill: null};
  const results: DrillResult[] = [];
  for (const a of check.manifest.archives) {
    const scratch = `orx-${drill.workspace}-drill-${randomBytes(4).toString('hex')}`;
    const labels = {'io.orchestrix.workspace': drill.workspace, 'io.orchestrix.dr-drill': '1'};
    const t0 = Date.now();
    let actual: string | null = null;
    let error: string | null = null;
    try {
      await drill.docker.createVolume({Name: scratch, Labels: labels});
      await restoreVolume(drill.docker, {volume: scratch, image: drill.image, archive: path.join(dir, a.file), sha256: a.sha256, labels});
      actual = (await volumeContentDigest(drill.docker, {volume: scratch, image: drill.image, labels})).content_digest;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      await drill.docker.getVolume(scratch).remove({force: true}).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    }
    const ok = error === null && actual === a.content_digest;
    results.push({volume: a.volume, ok, expected: a.content_digest, actual, error: error ?? (ok ? null : 'the restored content differs from what was backed up'), ms: Date.now() - t0});
  }
  const failed = results.filter((r) => !r.ok);
  return {
    ...check,
    ok: failed.length === 0,
    problems: [...check.problems, ...failed.map((f) => ({part: 'archive' as const, file: `${f.volume} (drill)`, reason: f.error ?? 'content differs'}))],
    drill: results,
  };
}
