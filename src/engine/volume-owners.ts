// The owner of a volume that orx did not just create (imported, found, made by an orx that did
// not hand volumes over, or chowned since) is not in Docker's volume list. It is read, one
// never-started container per volume, only where the record does not already show the owner
// the agents need; a volume owned by someone else is shown in the plan with the fix.
import type {WorkspaceConfig} from '../config/types.js';
import {rwMounters} from '../config/volume-owners.js';
import type {Docker} from '../drivers/docker.js';
import type {DesiredResource} from '../resources/types.js';
import {readRoot} from '../resources/volume-owner.js';
import type {Observation} from './refresh.js';

/** Sets the observed owner of the volumes where it matters; returns the plan notes for those owned by someone else. */
export async function observeVolumeOwners(
  docker: Docker,
  cfg: WorkspaceConfig,
  desired: Map<string, DesiredResource>,
  observation: Observation,
): Promise<string[]> {
  const notes: string[] = [];
  const checks = [...desired.values()].flatMap((d) => {
    const o = observation.observed.get(d.address);
    const wanted = d.attributes.owner;
    return d.kind === 'volume' && o && typeof wanted === 'string' && o.attributes.owner !== wanted ? [{d, o, wanted}] : [];
  });
  await Promise.all(
    checks.map(async ({d, o, wanted}) => {
      const root = await readRoot(docker, o.object_id, cfg.workspace);
      o.attributes = {...o.attributes, owner: root.owner};
      if (root.owner === wanted) return;
      const agents = rwMounters(
        d.name,
        cfg.agents,
        () => undefined,
        () => [],
      ).map((m) => `agents.${m.agent}`);
      const who =
        cfg.volumes[d.name]?.owner !== null
          ? `volumes.${d.name}.owner says ${wanted}`
          : `${agents.join(', ')} ${agents.length === 1 ? 'runs' : 'run'} as ${wanted} and mount${agents.length === 1 ? 's' : ''} it read-write`;
      const sameUid = root.owner.split(':')[0] === wanted.split(':')[0];
      notes.push(
        `${d.address}: volume ${o.object_id} is owned by ${root.owner}${root.empty ? '' : ' and holds data'}, but ${who}${sameUid ? '' : ': they cannot write to it'}. orx hands over only the volumes it creates; ` +
          `fix it with \`docker run --rm --network none -v ${o.object_id}:/v busybox chown -R ${wanted} /v\` (any image with chown), or set volumes.${d.name}.owner: "${root.owner}" if that owner is meant`,
      );
    }),
  );
  return notes.sort();
}
