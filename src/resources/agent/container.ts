// A Docker agent: one container, replaced new-first (recreate or blue-green).
import {planByDiff} from '../plan-helper.js';
import type {AgentTarget, PlannedStep, SafetyInfo} from '../types.js';
import {UPDATABLE, agentAttrs, type AgentAttrs} from './attrs.js';
import {blueGreenReplace, wantsBlueGreen} from './blue-green.js';
import {createAgent, dropOldLink, forceRemove, removeAgent, updateAgent} from './container-ops.js';
import {isKubeAgent} from './kubernetes.js';
import {recreateReplace} from './recreate.js';

export const AGENT_SAFETY: SafetyInfo = {category: 'DEPLOY', budget: {timeMs: 120_000, network: 'internal'}};
export const AGENT_COMPUTED: ReadonlySet<string> = new Set(['name']);

// between Docker containers a replace is one step, new container first (recreate or blue-green);
// from a Kubernetes agent it is a delete there, then a create here
function ownsReplace(step: PlannedStep): boolean {
  return step.action === 'replace' && step.before !== null && !isKubeAgent(step.before) && !isKubeAgent(step.after);
}

export const containerAgent: AgentTarget<AgentAttrs> = {
  ownsReplace,

  validate: agentAttrs,

  plan(desired, base) {
    // config_hash restates the other attributes: show it only when nothing else explains a replace
    return planByDiff(
      {kind: 'agent', safety: AGENT_SAFETY, updatable: UPDATABLE, computed: AGENT_COMPUTED},
      desired,
      base,
      'DEPLOY',
      new Set(['config_hash']),
    );
  },

  async apply(step, ctx) {
    if (step.action === 'delete') {
      await removeAgent(step, ctx);
      return {object_id: null, attributes: null};
    }
    if (step.action === 'update') return updateAgent(step, ctx);
    if (wantsBlueGreen(step) || ownsReplace(step)) {
      const outcome = await (wantsBlueGreen(step) ? blueGreenReplace(step, ctx) : recreateReplace(step, ctx));
      await dropOldLink(step, ctx);
      return outcome;
    }
    if (step.action === 'replace') await removeAgent(step, ctx);
    return createAgent(step, ctx);
  },

  async rollback(outcome, ctx) {
    if (outcome.object_id) await forceRemove(ctx.docker.getContainer(outcome.object_id));
    const name = outcome.attributes?.name;
    if (typeof name === 'string') ctx.secrets.remove(null, name, 'agent rolled back');
  },
};
