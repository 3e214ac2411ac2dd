// `orx dr verify`: the manifest's signature, every archive's sha256, then every archive read
// as a restore would read it: each entry restorable (restorable.ts) and the content digest
// the manifest's. With --drill, every archive is restored into a scratch volume and that
// volume's content digest compared with the one taken at backup time. Only a drill that
// passed marks a backup verified.
import {randomBytes} from 'node:crypto';
import type Dockerode from 'dockerode';
import path from 'node:path';
import {isNotFound} from '../drivers/docker.js';
import type {TrustedKey} from '../trust/keys.js';
import {inspectArchive, restoreVolume, volumeContentDigest} from './archive.js';
import {checkBackup, type BackupCheck, type BackupProblem} from './manifest.js';

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

export async function verifyBackup(
  dir: string,
  keys: TrustedKey[],
  drill: {docker: Dockerode; workspace: string} | null,
): Promise<Verification> {
  const checked = await checkBackup(dir, keys);
  const check = checked.ok && checked.manifest ? await checkArchives(dir, checked) : checked;
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
      await restoreVolume(drill.docker, {volume: scratch, archive: path.join(dir, a.file), sha256: a.sha256, labels});
      actual = (await volumeContentDigest(drill.docker, {volume: scratch, format: a.content_digest_format ?? 1, labels})).content_digest;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      await drill.docker
        .getVolume(scratch)
        .remove({force: true})
        .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err as Error)));
    }
    const ok = error === null && actual === a.content_digest;
    results.push({
      volume: a.volume,
      ok,
      expected: a.content_digest,
      actual,
      error: error ?? (ok ? null : 'the restored content differs from what was backed up'),
      ms: Date.now() - t0,
    });
  }
  const failed = results.filter((r) => !r.ok);
  return {
    ...check,
    ok: failed.length === 0,
    problems: [
      ...check.problems,
      ...failed.map((f) => ({part: 'archive' as const, file: `${f.volume} (drill)`, reason: f.error ?? 'content differs'})),
    ],
    drill: results,
  };
}

/** Every archive read through as a restore would: the first entry it could not restore, and its content digest. */
async function checkArchives(dir: string, check: BackupCheck): Promise<BackupCheck> {
  const problems: BackupProblem[] = [];
  for (const a of check.manifest!.archives) {
    try {
      const seen = await inspectArchive(path.join(dir, a.file), a.content_digest_format ?? 1);
      if (seen.unrestorable)
        problems.push({
          part: 'archive',
          file: a.file,
          reason: `cannot be restored: entry ${seen.unrestorable.path}: ${seen.unrestorable.reason}`,
        });
      else if (seen.content_digest !== a.content_digest)
        problems.push({
          part: 'archive',
          file: a.file,
          reason: `its content digest ${seen.content_digest.slice(0, 16)}… is not the manifest's ${a.content_digest.slice(0, 16)}…`,
        });
    } catch (err) {
      problems.push({part: 'archive', file: a.file, reason: `cannot be read as an archive: ${(err as Error).message}`});
    }
  }
  return problems.length ? {...check, ok: false, problems: [...check.problems, ...problems]} : check;
}
