// oclif's command_not_found hook: loaded only when no command matched, so it costs nothing otherwise.
import type {Hook} from '@oclif/core';
import {jsonRequested, writeError} from '../render-error.js';
import {unknownCommandError} from '../unknown-input.js';

const hook: Hook<'command_not_found'> = async function (opts) {
  const visible = opts.config.commands.filter((c) => !c.hidden);
  const catalog = {ids: visible.map((c) => c.id), topics: opts.config.topics.filter((t) => !t.hidden).map((t) => t.name)};
  const words = opts.id.split(':');
  writeError(unknownCommandError(words, catalog), {json: jsonRequested(opts.argv ?? []), debug: false});
};

export default hook;
