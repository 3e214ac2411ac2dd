// The kill switch's first act: the egress gateway is killed, not stopped, so every agent loses
// its way out at once, before any agent is asked to stop. Resume's apply starts it again.
import {engineMessage, isNotFound, labelFilter, statusCode, type Docker} from '../drivers/docker.js';
import type {ResourceRecord} from '../ledger/types.js';
import {LABEL} from '../util/labels.js';
import {GATEWAY_ADDRESS} from './attrs.js';

export interface EgressCut {
  stopped: Array<{address: string; object_id: string}>;
  failures: Array<{address: string; error: string}>;
}

/** Found by the workspace's label and by the ledger's binding, like the agents. */
export async function cutEgress(docker: Docker, workspace: string | null, records: ResourceRecord[]): Promise<EgressCut> {
  const bound = records.find((r) => r.address === GATEWAY_ADDRESS)?.object_id ?? null;
  const labelled = workspace
    ? await docker.listContainers({
        filters: {...labelFilter({[LABEL.workspace]: workspace, [LABEL.address]: GATEWAY_ADDRESS}), status: ['running']},
      })
    : [];
  const ids = new Set([...labelled.map((c) => c.Id), ...(bound ? [bound] : [])]);
  const out: EgressCut = {stopped: [], failures: []};
  await Promise.all(
    [...ids].map(async (id) => {
      try {
        // no restart: the restart policy does not bring back a container its user stopped
        await docker.getContainer(id).update({RestartPolicy: {Name: 'no'}});
        await docker.getContainer(id).kill({signal: 'SIGKILL'});
        out.stopped.push({address: GATEWAY_ADDRESS, object_id: id});
      } catch (err) {
        // 409: not running already
        if (isNotFound(err) || statusCode(err) === 409) return;
        out.failures.push({address: GATEWAY_ADDRESS, error: engineMessage(err)});
      }
    }),
  );
  return out;
}
