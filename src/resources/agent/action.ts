import {obj} from '../check.js';
import {planByDiff} from '../plan-helper.js';
import {blueGreenReplace, wantsBlueGreen} from './blue-green.js';
import {recreateReplace} from './recreate.js';
import {applyKubeAgent, isKubeAgent, planKubeAgent, rollbackKubeAgent, validateKubeAgent} from './kubernetes.js';
import type {Action} from '../types.js';
import {UPDATABLE, validateAgentAttrs, type AgentAttrs} from './attrs.js';
import {createAgent, forceRemove, removeAgent, updateAgent} from './container.js';

export const agentAction: Action<AgentAttrs> = {
  kind: 'agent',
  version: '1.0.0',
  safety: {category: 'DEPLOY', budget: {timeMs: 120_000, network: 'internal'}},
  updatable: UPDATABLE,
  computed: new Set(['name']),
  // between Docker containers a replace is one step, new container first (recreate or blue-green)
  ownsReplace: (step) => step.action === 'replace' && step.before !== null && !isKubeAgent(step.before) && !isKubeAgent(step.after),

  validate(input) {
    const a = obj('agent', input);
    if (isKubeAgent(a)) return validateKubeAgent(a) as unknown as AgentAttrs;
    return validateAgentAttrs(a);
  },

  plan(desired, base) {
    if (isKubeAgent(desired?.attributes) || isKubeAgent(base?.attributes)) return planKubeAgent(desired, base);
    // config_hash restates the other attributes: show it only when nothing else explains a replace
    return planByDiff(this, desired, base, 'DEPLOY', new Set(['config_hash']));
  },

  async apply(step, ctx) {
    // a replace from one target to the other removes by the old attributes, creates by the new
    if (isKubeAgent(step.action === 'delete' ? step.before : step.after)) return applyKubeAgent(step, ctx);
    if (step.action === 'delete') {
      await removeAgent(step, ctx);
      return {object_id: null, attributes: null};
    }
    if (step.action === 'update') return updateAgent(step, ctx);
    if (wantsBlueGreen(step)) return blueGreenReplace(step, ctx);
    if (step.action === 'replace' && this.ownsReplace?.(step)) return recreateReplace(step, ctx);
    if (step.action === 'replace') await removeAgent(step, ctx);
    return createAgent(step, ctx);
  },

  async rollback(outcome, ctx) {
    if (isKubeAgent(outcome.attributes)) return rollbackKubeAgent(outcome, ctx);
    if (outcome.object_id) await forceRemove(ctx.docker.getContainer(outcome.object_id));
    const name = outcome.attributes?.name;
    if (typeof name === 'string') ctx.secrets.remove(null, name, 'agent rolled back');
  },
};
