import {agentAction} from '../resources/agent/action.js';
import {imageAction} from '../resources/image.js';
import {networkAction} from '../resources/network.js';
import type {Action, ResourceKind, StepKind} from '../resources/types.js';
import {drAction} from '../dr/action.js';
import {volumeAction} from '../resources/volume.js';
import {clusterAction} from '../resources/cluster.js';
import {manifestsAction} from '../resources/manifests.js';
import {moveAction} from '../resources/move.js';
import {gatewayAction} from '../egress/gateway.js';

export const ACTIONS: Record<StepKind, Action> = {
  network: networkAction,
  volume: volumeAction,
  image: imageAction,
  agent: agentAction,
  cluster: clusterAction,
  manifests: manifestsAction,
  gateway: gatewayAction,
  dr: drAction,
  move: moveAction,
};

export function parseAddress(address: string): {kind: ResourceKind; name: string} | null {
  const m = /^(network|volume|image|agent|cluster|manifests|gateway)\.([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/.exec(address);
  return m ? {kind: m[1] as ResourceKind, name: m[2]} : null;
}
