import {Args} from '@oclif/core';
import {kubeconfigFor} from '../src/app/kube-info.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';

export default class Kubeconfig extends OrxCommand {
  static override summary = "Print the path of a cluster's kubeconfig (never ~/.kube/config).";
  static override description =
    'With NAME, the kubeconfig of that cluster alone, its context current: `KUBECONFIG=$(orx kubeconfig dev) kubectl get pods`. Without, .orx/kubeconfig with every cluster of the workspace.';
  static override examples = ['KUBECONFIG=$(orx kubeconfig dev) kubectl get nodes', 'orx kubeconfig', 'orx kubeconfig dev --json'];
  static override args = {name: Args.string({description: 'A cluster of orchestration.yml (clusters.NAME).', required: false})};

  async exec(): Promise<CommandResult<ResultOf<'kubeconfig'>>> {
    const {args, flags} = await this.parse(Kubeconfig);
    await this.setup(flags);
    const info = kubeconfigFor(this.orx, args.name);
    return {data: {...info}, human: info.path};
  }
}
