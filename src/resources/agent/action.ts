import {obj} from '../check.js';
import type {Action, AgentTarget, Attrs} from '../types.js';
import {UPDATABLE, type AgentAttrs} from './attrs.js';
import {AGENT_COMPUTED, AGENT_SAFETY, containerAgent} from './container.js';
import {isKubeAgent, kubeAgent, type KubeAgentAttrs} from './kubernetes.js';

/** The target a step is for: a Kubernetes agent on either side makes it the cluster's. */
function target(...attrs: (Attrs | null | undefined)[]): AgentTarget<AgentAttrs> | AgentTarget<KubeAgentAttrs> {
  return attrs.some(isKubeAgent) ? kubeAgent : containerAgent;
}

export const agentAction: Action<AgentAttrs | KubeAgentAttrs> = {
  kind: 'agent',
  version: '1.0.0',
  safety: AGENT_SAFETY,
  updatable: UPDATABLE,
  computed: AGENT_COMPUTED,
  ownsReplace: (step) => target(step.before, step.after).ownsReplace(step),
  validate(input) {
    const a = obj('agent', input);
    return target(a).validate(a);
  },
  plan: (desired, base) => target(desired?.attributes, base?.attributes).plan(desired, base),
  // a replace from one target to the other removes by the old attributes, creates by the new
  apply: (step, ctx) => target(step.action === 'delete' ? step.before : step.after).apply(step, ctx),
  rollback: (outcome, ctx) => target(outcome.attributes).rollback(outcome, ctx),
};
