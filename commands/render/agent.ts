import {Args} from '@oclif/core';
import {renderAgent} from '../../src/app/kube-info.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import type {ResultOf} from '../../src/app/results.js';

export default class RenderAgent extends OrxCommand {
  static override summary =
    'Print the Kubernetes objects of an agent with target kubernetes (ServiceAccount, Deployment, NetworkPolicy, and its egress gateway when it has egress).';
  static override description =
    'Offline: nothing is sent to a cluster. The Secret holding its secret files and identity token is made at apply time and never printed.';
  static override examples = ['orx render agent worker', 'orx render agent worker --json'];
  static override args = {name: Args.string({description: 'The agent (agents.NAME).', required: true})};

  async exec(): Promise<CommandResult<ResultOf<'render agent'>>> {
    const {args, flags} = await this.parse(RenderAgent);
    await this.setup(flags);
    const view = await renderAgent(this.orx, args.name);
    return {
      data: {address: view.address, context: view.context, namespace: view.namespace, objects: view.objects},
      human: view.yaml.trimEnd(),
    };
  }
}
