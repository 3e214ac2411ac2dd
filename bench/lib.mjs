// Shared by the benchmarks: timing of whole processes, medians, temp workspaces.
import {spawnSync} from 'node:child_process';
import Dockerode from 'dockerode';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const orxBin = path.join(root, 'bin/run.js');

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function timeProcess(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, ...opts});
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr?.slice(0, 2000)}`);
  return {ms, ...r};
}

export function tempWorkspace(prefix) {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `orx-bench-${name}-`));
  return {name, dir};
}

export function row(label, value, floorLabel, floor, goal) {
  const ratio = value / floor;
  const verdict = goal === undefined ? '' : ratio <= goal ? `  ok (goal ≤ ${goal}×)` : `  MISSED (goal ≤ ${goal}×)`;
  console.log(
    `${label.padEnd(44)} ${value.toFixed(0).padStart(7)} ms  = ${ratio.toFixed(2)}× ${floorLabel} (${floor.toFixed(0)} ms)${verdict}`,
  );
  return ratio;
}

export const AGENT_CMD = ['/bin/sh', '-c', "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];

/**
 * Every Docker object of a bench workspace removed by its label, and its secrets directory:
 * cleanup must not depend on orx (a destroy needs a human at autonomy 1, and a failed run
 * leaves no saved plan to approve).
 */
export async function removeWorkspaceObjects(name, docker = new Dockerode()) {
  const filters = {label: [`io.orchestrix.workspace=${name}`]};
  const quiet = () => {};
  for (const c of await docker.listContainers({all: true, filters})) await docker.getContainer(c.Id).remove({force: true}).catch(quiet);
  for (const n of await docker.listNetworks({filters})) await docker.getNetwork(n.Id).remove().catch(quiet);
  for (const v of (await docker.listVolumes({filters})).Volumes ?? []) await docker.getVolume(v.Name).remove({force: true}).catch(quiet);
  for (const i of await docker.listImages({filters})) await docker.getImage(i.Id).remove({force: true}).catch(quiet);
  const shm = '/dev/shm/orchestrix';
  for (const d of fs.existsSync(shm) ? fs.readdirSync(shm) : [])
    if (d.startsWith(`${name}-`)) fs.rmSync(path.join(shm, d), {recursive: true, force: true});
}
