import {configInvalid} from '../src/config/diagnostics.js';
import {diagnosticsAt, loadConfig} from '../src/config/load.js';
import {secretSyntaxProblems} from '../src/config/secrets.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';

export default class Validate extends OrxCommand {
  static override summary = 'Check orchestration.yml against the schema and its cross-references.';
  static override description =
    'Reports every problem at once as FILE:LINE:COL: message; exit 1 when there is any. Secret references are checked for syntax only (offline); `orx secrets check` resolves them.';

  async exec(): Promise<CommandResult> {
    const {flags} = await this.parse(Validate);
    await this.setup(flags);
    const loaded = loadConfig(this.orx.dir);
    const c = loaded.config;
    // checked offline, without resolving anything
    const secretProblems = await secretSyntaxProblems(c);
    if (secretProblems.length > 0) throw configInvalid(diagnosticsAt(loaded, secretProblems));
    const counts = {
      networks: Object.keys(c.networks).length,
      volumes: Object.keys(c.volumes).length,
      images: Object.keys(c.images).length,
      agents: Object.keys(c.agents).length,
    };
    return {
      data: {valid: true, workspace: c.workspace, counts, diagnostics: []},
      human: `Success! orchestration.yml is valid (workspace ${c.workspace}: ${counts.agents} agents, ${counts.networks} networks, ${counts.volumes} volumes, ${counts.images} images).`,
    };
  }
}
