#!/usr/bin/env node
// Entry point of the packaged CLI (compiled commands in dist/).
import {readFileSync} from 'node:fs';
import {normalizeArgv} from '../dist/src/cli-argv.js';

let argv = normalizeArgv(process.argv.slice(2));
// `orx --version --json` is `orx version --json`, a document like every other command's
if (argv.length > 1 && (argv[0] === '--version' || argv[0] === '-v')) argv = ['version', ...argv.slice(1)];

// `orx --version` answers without loading oclif: scripts call it often and it is
// the same line oclif would print (and `orx version` prints).
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else {
  const {execute} = await import('@oclif/core');
  await execute({args: argv, dir: import.meta.url});
}
