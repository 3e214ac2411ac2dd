// Handing a volume to a uid:gid and reading its owner, on the real engine: only an empty volume
// is handed over, data is never re-owned, and nothing is left behind.
import {Readable} from 'node:stream';
import type Dockerode from 'dockerode';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {ensureOwnerImage, OWNER_DIR} from '../../src/drivers/owner-image.js';
import {tarFile} from '../../src/util/tar-write.js';
import {LABEL} from '../../src/util/labels.js';
import {handOver, readRoot} from '../../src/resources/volume-owner.js';
import type {ApplyContext, PlannedStep} from '../../src/resources/types.js';
import {volumeAction} from '../../src/resources/volume.js';
import {docker, makeWorkspace, removeWorkspaceObjects, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('own');
});
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f().catch(() => undefined);
  await ws.cleanup();
});

async function volume(suffix: string): Promise<string> {
  const name = `${ws.name}-${suffix}`;
  await docker.createVolume({Name: name, Labels: {[LABEL.workspace]: ws.name}});
  return name;
}

/** One file, root's, put in through a created, never started container. */
async function putFile(vol: string): Promise<void> {
  const image = await ensureOwnerImage(docker, 0, 0);
  const c: Dockerode.Container = await docker.createContainer({
    Image: image,
    Cmd: ['/x'],
    Labels: {[LABEL.workspace]: ws.name},
    HostConfig: {
      Mounts: [{Type: 'volume', Source: vol, Target: OWNER_DIR, VolumeOptions: {NoCopy: true} as Dockerode.MountSettings['VolumeOptions']}],
    },
  });
  const tar = Buffer.concat([...tarFile('f', Buffer.from('hi\n')), Buffer.alloc(1024)]);
  await c.putArchive(Readable.from([tar]), {path: OWNER_DIR});
  await c.remove({force: true});
}

describe('volume owner helpers', () => {
  it('hands an empty volume over, mode 0755, and reads it back', async () => {
    const v = await volume('fresh');
    expect(await readRoot(docker, v, ws.name)).toEqual({owner: '0:0', empty: true});
    expect(await handOver(docker, v, {uid: 1234, gid: 5678}, ws.name)).toEqual({owner: '1234:5678', empty: true});
    // no helper left behind
    expect(await docker.listContainers({all: true, filters: {label: [`${LABEL.workspace}=${ws.name}`]}})).toEqual([]);
  });

  it('never re-owns a volume with data in it', async () => {
    const v = await volume('data');
    await putFile(v);
    expect(await handOver(docker, v, {uid: 1000, gid: 1000}, ws.name)).toEqual({owner: '0:0', empty: false});
  });

  it('refuses a volume that does not exist rather than making one', async () => {
    const missing = `${ws.name}-missing`;
    await expect(readRoot(docker, missing, ws.name)).rejects.toThrow(/cannot read the owner of volume .*-missing: .*no such volume/i);
    expect((await docker.listVolumes({filters: {name: [missing]}})).Volumes ?? []).toEqual([]);
  });

  it('a volume an interrupted orx left an owner helper on is still deleted', async () => {
    const v = await volume('left');
    const image = await ensureOwnerImage(docker, 0, 0);
    const helperLabels = {[LABEL.workspace]: ws.name, 'io.orchestrix.helper': 'volume-owner'};
    await docker.createContainer({
      Image: image,
      Cmd: ['/x'],
      Labels: helperLabels,
      HostConfig: {Mounts: [{Type: 'volume', Source: v, Target: OWNER_DIR}]},
    });
    const del = (name: string) =>
      volumeAction.apply(
        {action: 'delete', address: 'volume.left', object_id: name, before: {name}} as unknown as PlannedStep,
        {docker, workspace: ws.name} as unknown as ApplyContext,
      );
    await del(v);
    expect((await docker.listVolumes({filters: {name: [v]}})).Volumes?.filter((x) => x.Name === v) ?? []).toEqual([]);
    // another workspace's helper is never removed for it (the test's cleanup does, by its label)
    const used = await volume('used');
    await docker.createContainer({
      Image: image,
      Cmd: ['/x'],
      Labels: {...helperLabels, [LABEL.workspace]: `${ws.name}-other`},
      HostConfig: {Mounts: [{Type: 'volume', Source: used, Target: OWNER_DIR}]},
    });
    cleanups.push(() => removeWorkspaceObjects(`${ws.name}-other`));
    await expect(del(used)).rejects.toThrow(/cannot remove volume .*-used: .*in use/);
  });
});
