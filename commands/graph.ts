import {Flags} from '@oclif/core';
import {configGraph, planGraph} from '../src/app/graph.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import {renderGraph, type GraphFormat} from '../src/ui/graph-view.js';
import type {ResultOf} from '../src/app/results.js';

export default class Graph extends OrxCommand {
  static override summary = 'Print the dependency graph of the configuration, or of a saved plan.';
  static override description =
    'Nodes are resource addresses, an edge A -> B says A needs B first (the order plan and apply follow). With --plan, the saved plan is verified as apply would (signature, ledger serial, configuration) and each step is labelled with its action. DOT is input for Graphviz (`orx graph | dot -Tsvg > graph.svg`); mermaid is a flowchart for Markdown. No Docker engine is needed.';
  static override examples = ['orx graph | dot -Tsvg > graph.svg', 'orx graph --format mermaid', 'orx graph --plan plans/next.plan.json'];
  static override flags = {
    format: Flags.string({description: 'Output format.', options: ['dot', 'mermaid'], default: 'dot', env: 'ORX_GRAPH_FORMAT'}),
    plan: Flags.string({description: 'A plan saved with `orx plan -out FILE`: graph its steps and their actions.', env: 'ORX_GRAPH_PLAN'}),
    'trusted-key': Flags.string({
      description: "Also accept saved plans signed by this public key (PEM file; repeatable), e.g. a CI plan job's.",
      multiple: true,
      default: [],
      env: 'ORX_TRUSTED_KEY',
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'graph'>>> {
    const {flags} = await this.parse(Graph);
    await this.setup(flags);
    const graph = flags.plan ? await planGraph(this.orx, flags.plan, flags['trusted-key']) : configGraph(this.orx);
    return {data: graph, human: renderGraph(graph, flags.format as GraphFormat)};
  }
}
