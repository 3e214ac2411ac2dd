// manifest.json says what a backup holds (each archive's name, size, sha256 and content
// digest, the ledger copy, the chain head, the configuration snapshot), and
// manifest.sigstore.json signs it with the workspace key. Checking a backup is: the signature,
// then every file against the digest the manifest gives for it.
import fs from 'node:fs';
import path from 'node:path';
import {readBoundedFile, readBoundedText} from '../util/bounded-file.js';
import {fileSha256} from './archive.js';
import type {DigestFormat} from './tar-digest.js';
import {MANIFEST_BUNDLE, MANIFEST_FILE} from './layout.js';
import type {TrustedKey, WorkspaceKey} from '../trust/keys.js';

export const MANIFEST_FORMAT = 'orx.backup-manifest';
/** a manifest lists a few files; its bundle is one signature */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

export interface ArchiveEntry {
  /** the volume's name in orchestration.yml */
  volume: string;
  /** the Docker volume it was taken from */
  volume_name: string;
  file: string;
  size: number;
  sha256: string;
  content_digest: string;
  /** tar-digest.ts's format of content_digest; absent in backups made before format 2: 1 */
  content_digest_format?: DigestFormat;
  /** FIFOs, sockets and devices left out (dr.skip_special), paths %XX-escaped */
  skipped?: Array<{kind: string; path: string}>;
  files: number;
  bytes: number;
  /** how its agents were held still, and for how long (the backup's RPO-relevant pause) */
  quiesce: {how: 'pause' | 'stop' | 'none'; agents: string[]; ms: number};
}

export type BackupManifest = {
  format: typeof MANIFEST_FORMAT;
  format_version: 1;
  id: string;
  workspace: string;
  lineage: string;
  created_at: string;
  orx_version: string;
  /** the content-addressed configuration snapshot in force (orx history) */
  config_snapshot: string | null;
  ledger: {file: string; size: number; sha256: string; serial: number; chain_head: {seq: number; hash: string}} | null;
  archives: ArchiveEntry[];
};

export async function writeSignedManifest(dir: string, manifest: BackupManifest, key: WorkspaceKey): Promise<void> {
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  const {signBlob} = await import('../trust/blob.js');
  const bundle = await signBlob(bytes, key);
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), bytes, {mode: 0o600, flag: 'wx'});
  fs.writeFileSync(path.join(dir, MANIFEST_BUNDLE), `${JSON.stringify(bundle, null, 2)}\n`, {mode: 0o600, flag: 'wx'});
}

export interface BackupProblem {
  part: 'manifest' | 'signature' | 'archive' | 'ledger';
  file?: string;
  reason: string;
}

export interface BackupCheck {
  ok: boolean;
  manifest: BackupManifest | null;
  signed_by: string | null;
  problems: BackupProblem[];
}

/** Signature first, then every file's sha256; every problem is reported, not just the first. */
export async function checkBackup(dir: string, keys: TrustedKey[]): Promise<BackupCheck> {
  const problems: BackupProblem[] = [];
  let bytes: Buffer;
  try {
    bytes = readBoundedFile(path.join(dir, MANIFEST_FILE), MAX_MANIFEST_BYTES, {label: MANIFEST_FILE});
  } catch (err) {
    return {
      ok: false,
      manifest: null,
      signed_by: null,
      problems: [{part: 'manifest', file: MANIFEST_FILE, reason: `cannot read it: ${(err as Error).message}`}],
    };
  }
  let signedBy: string | null = null;
  try {
    const bundle = JSON.parse(readBoundedText(path.join(dir, MANIFEST_BUNDLE), MAX_MANIFEST_BYTES, {label: MANIFEST_BUNDLE})) as unknown;
    const {verifyBlob} = await import('../trust/blob.js');
    signedBy = (await verifyBlob(bytes, bundle, keys)).fingerprint;
  } catch (err) {
    problems.push({
      part: 'signature',
      file: MANIFEST_BUNDLE,
      reason: `the manifest's signature does not verify: ${(err as Error).message}`,
    });
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as BackupManifest;
    if (manifest.format !== MANIFEST_FORMAT || !Array.isArray(manifest.archives)) throw new Error(`not an ${MANIFEST_FORMAT} document`);
  } catch (err) {
    problems.push({part: 'manifest', file: MANIFEST_FILE, reason: `unreadable: ${(err as Error).message}`});
    return {ok: false, manifest: null, signed_by: signedBy, problems};
  }
  const files = [
    ...manifest.archives.map((a) => ({part: 'archive' as const, file: a.file, size: a.size, sha256: a.sha256})),
    ...(manifest.ledger
      ? [{part: 'ledger' as const, file: manifest.ledger.file, size: manifest.ledger.size, sha256: manifest.ledger.sha256}]
      : []),
  ];
  for (const f of files) {
    // names come from a signed manifest, but are still kept inside the backup directory
    if (path.basename(f.file) !== f.file) {
      problems.push({part: f.part, file: f.file, reason: 'is not a plain file name'});
      continue;
    }
    const full = path.join(dir, f.file);
    if (!fs.existsSync(full)) {
      problems.push({part: f.part, file: f.file, reason: 'is missing'});
      continue;
    }
    let actual: string;
    try {
      actual = await fileSha256(full);
    } catch (err) {
      problems.push({part: f.part, file: f.file, reason: `cannot be read: ${(err as Error).message}`});
      continue;
    }
    if (actual !== f.sha256)
      problems.push({
        part: f.part,
        file: f.file,
        reason: `sha256 ${actual.slice(0, 16)}… does not match the manifest's ${f.sha256.slice(0, 16)}… (changed or corrupted)`,
      });
  }
  return {ok: problems.length === 0, manifest, signed_by: signedBy, problems};
}
