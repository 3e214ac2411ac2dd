// oclif's help class (package.json oclif.helpClass), loaded only when help is shown: an
// unknown subject (`orx help plna`) is a usage error with the closest match, exit 1.
import {Help} from '@oclif/core';
import {jsonRequested, writeError} from './render-error.js';
import {unknownCommandError} from './unknown-input.js';

export default class OrxHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    const words: string[] = [];
    for (const a of argv) {
      if (a.startsWith('-')) break;
      words.push(a);
    }
    const known = (n: number) => {
      const id = words.slice(0, n).join(':');
      return {command: Boolean(this.config.findCommand(id)), topic: Boolean(this.config.findTopic(id))};
    };
    for (let n = 1; n <= words.length; n++) {
      const k = known(n);
      // a command: what follows are its arguments, as when it runs
      if (k.command) return super.showHelp(argv);
      if (!k.topic) {
        const visible = this.config.commands.filter((c) => !c.hidden);
        const catalog = {ids: visible.map((c) => c.id), topics: this.config.topics.filter((t) => !t.hidden).map((t) => t.name)};
        writeError(unknownCommandError(words.slice(0, n), catalog), {json: jsonRequested(argv), debug: false});
        return;
      }
    }
    return super.showHelp(argv);
  }
}
