// The kill switch's work on agents: every running container of the workspace stopped and every
// Kubernetes agent scaled to zero, all in parallel. Nothing is deleted: resume starts exactly
// what was stopped.
import {engineMessage, isNotFound, labelFilter, statusCode, type Docker} from '../../drivers/docker.js';
import {SECRETS_MOUNT} from '../../config/mounts.js';
import type {ResourceRecord} from '../../ledger/types.js';
import {LABEL} from '../../util/labels.js';
import {isKubeAgent, stopKubeAgent, validateKubeAgent} from './kubernetes.js';

export interface StoppedAgents {
  /** by address */
  stopped: Array<{address: string; object_id: string}>;
  failures: Array<{address: string; error: string}>;
  /** the host directories the stopped containers had bind-mounted at their secrets mount */
  secrets_mounts: string[];
}

/**
 * Containers are found by the workspace's label (null: the configuration could not be read)
 * and by the ledger's bindings, so neither a broken file nor a relabelled container escapes.
 */
export async function stopAllAgents(
  docker: Docker,
  dir: string,
  workspace: string | null,
  records: ResourceRecord[],
): Promise<StoppedAgents> {
  const agents = records.filter((r) => r.kind === 'agent');
  const byId = new Map(agents.filter((r) => r.object_id).map((r) => [r.object_id!, r.address]));
  const [labelled, bound] = await Promise.all([
    workspace
      ? docker.listContainers({filters: {...labelFilter({[LABEL.workspace]: workspace}), status: ['running']}})
      : Promise.resolve([]),
    byId.size ? docker.listContainers({filters: {id: [...byId.keys()], status: ['running']}}) : Promise.resolve([]),
  ]);
  const running = new Map([...labelled, ...bound].map((c) => [c.Id, byId.get(c.Id) ?? c.Labels?.[LABEL.address] ?? c.Names?.[0] ?? c.Id]));
  const result: StoppedAgents = {stopped: [], failures: [], secrets_mounts: []};
  await Promise.all(
    [...running].map(async ([id, address]) => {
      try {
        await docker.getContainer(id).stop({t: 10});
        result.stopped.push({address, object_id: id});
      } catch (err) {
        if (statusCode(err) === 304 || isNotFound(err)) return;
        result.failures.push({address, error: engineMessage(err)});
      }
    }),
  );
  // Kubernetes agents: scaled to zero, their Secret deleted; resume's apply brings both back
  await Promise.all(
    agents
      .filter((r) => isKubeAgent(r.attributes))
      .map(async (r) => {
        try {
          await stopKubeAgent(dir, validateKubeAgent(r.attributes));
          result.stopped.push({address: r.address, object_id: r.object_id ?? r.address});
        } catch (err) {
          result.failures.push({address: r.address, error: err instanceof Error ? err.message : String(err)});
        }
      }),
  );
  result.stopped.sort((a, b) => (a.address < b.address ? -1 : 1));
  result.secrets_mounts = [...labelled, ...bound].flatMap(
    (c) => c.Mounts?.filter((m) => m.Type === 'bind' && m.Destination === SECRETS_MOUNT).map((m) => m.Source) ?? [],
  );
  return result;
}
