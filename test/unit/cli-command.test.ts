// The command layer (src/cli/command.ts) in-process: a small OrxCommand run the way oclif runs
// one, its result rendered as text or JSON, its errors mapped to the exit-code table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Config, Flags} from '@oclif/core';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {JSON_FORMAT_VERSION, OrxCommand, exitCodeHelp, type CommandResult, type StreamedResult} from '../../src/cli/command.js';
import {toolFlags} from '../../src/cli/flags.js';
import {toolCommand} from '../../src/drivers/tools.js';
import {OrxError} from '../../src/errors.js';
import {EXIT} from '../../src/exit-codes.js';
import type {OrxContext} from '../../src/engine/context.js';
import {repoRoot} from '../helpers/workspace.js';
import {captureOutput} from '../helpers/capture.js';

let config: Config;
let dir: string;

/** What the probe command saw, for the test to check. */
const seen: {ctx?: OrxContext; terminal?: {json: boolean; stdinIsTTY: boolean; stderrIsTTY: boolean}; kind?: string | null} = {};

class Probe extends OrxCommand {
  static override id = 'probe';
  static override flags = {
    ...toolFlags,
    outcome: Flags.string({default: 'ok'}),
  };

  async exec(): Promise<CommandResult | StreamedResult> {
    const {flags} = await this.parse(Probe);
    await this.setup(flags);
    seen.ctx = this.orx;
    seen.terminal = this.terminal;
    seen.kind = toolCommand('kind', undefined, {PATH: ''});
    switch (flags.outcome) {
      case 'ok':
        return {data: {answer: 42}, human: 'the answer is 42'};
      case 'newline':
        return {data: {}, human: 'ends with a newline\n'};
      case 'silent':
        return {data: {answer: 0}};
      case 'streamed':
        process.stdout.write('already written\n');
        return {streamed: true};
      case 'partial':
        return {data: {done: 1}, human: 'half done', exit: EXIT.PARTIAL};
      case 'orx-error':
        throw new OrxError({code: 'not_found', message: 'no such thing', actions: ['Look elsewhere.', 'Or not.']});
      case 'diagnostics':
        throw new OrxError({
          code: 'config_invalid',
          message: 'orchestration.yml is invalid',
          diagnostics: [
            {file: 'orchestration.yml', line: 3, col: 5, path: 'agents.a', message: 'unknown key'},
            {file: 'orchestration.yml', path: 'x', message: 'no line'},
          ],
        });
      default:
        throw new TypeError('something nobody expected');
    }
  }
}

/** Runs the probe as `orx probe ARGS`, in this process. */
function probe(args: string[]) {
  return captureOutput(() => new Probe(args, config).run());
}

beforeAll(async () => {
  config = await Config.load(repoRoot);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-cli-cmd-'));
});
afterAll(() => {
  fs.rmSync(dir, {recursive: true, force: true});
});

describe('OrxCommand', () => {
  it('prints the human rendering and exits 0, with the context built from the flags and environment', async () => {
    process.env.ORX_KILL_SWITCH = 'yes';
    process.env.ORX_ACTOR = 'ci-pipeline';
    let r;
    try {
      r = await probe(['-C', dir, '--tool-kind', '/opt/kind/bin/kind']);
    } finally {
      delete process.env.ORX_KILL_SWITCH;
      delete process.env.ORX_ACTOR;
    }
    expect(r.stdout).toBe('the answer is 42\n');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(EXIT.OK);
    expect(seen.ctx).toMatchObject({dir, actor: 'ci-pipeline', killSwitch: true, version: config.version});
    expect(seen.ctx!.command).toBe(`orx -C ${dir} --tool-kind /opt/kind/bin/kind`);
    expect(seen.terminal).toEqual({json: false, stdinIsTTY: Boolean(process.stdin.isTTY), stderrIsTTY: Boolean(process.stderr.isTTY)});
    // the operator's tool choice holds for the command, and only for it
    expect(seen.kind).toBe('/opt/kind/bin/kind');
    expect(toolCommand('kind', undefined, {PATH: ''})).toBeNull();

    expect((await probe(['--outcome', 'newline'])).stdout).toBe('ends with a newline\n');
    expect((await probe(['--outcome', 'silent'])).stdout).toBe('');
    expect((await probe(['--outcome', 'streamed'])).stdout).toBe('already written\n');
    const partial = await probe(['--outcome', 'partial']);
    expect(partial.stdout).toBe('half done\n');
    expect(partial.exitCode).toBe(EXIT.PARTIAL);
  });

  it('prints one JSON document with the format version under --json', async () => {
    const r = await probe(['--json']);
    expect(JSON.parse(r.stdout)).toEqual({formatVersion: JSON_FORMAT_VERSION, answer: 42});
    expect(seen.terminal?.json).toBe(true);
    process.env.ORX_JSON = '1';
    try {
      const viaEnv = await probe(['--outcome', 'orx-error']);
      expect(JSON.parse(viaEnv.stdout)).toMatchObject({
        formatVersion: JSON_FORMAT_VERSION,
        error: {code: 'not_found', message: 'no such thing'},
      });
      expect(viaEnv.exitCode).toBe(new OrxError({code: 'not_found', message: ''}).exit);
    } finally {
      delete process.env.ORX_JSON;
    }
  });

  it('renders an error with its actions on stderr and exits with its code', async () => {
    const r = await probe(['--outcome', 'orx-error']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('Error: no such thing\n  → Look elsewhere.\n  → Or not.\n');
    expect(r.exitCode).toBe(new OrxError({code: 'not_found', message: ''}).exit);

    const diag = await probe(['--outcome', 'diagnostics']);
    expect(diag.stderr.split('\n').slice(0, 2)).toEqual(['Error: orchestration.yml:3:5: unknown key', 'orchestration.yml: no line']);

    const debug = await probe(['--outcome', 'orx-error', '--debug']);
    expect(debug.stderr).toMatch(/^Error: no such thing\n[^]*OrxError: no such thing\n\s+at /);
  });

  it('reports anything else thrown as a bug, with its stack', async () => {
    const r = await probe(['--outcome', 'bug']);
    expect(r.stderr).toMatch(
      /^Error: something nobody expected\n {2}→ This is a bug in orx: rerun with --debug and report the output\.\nTypeError: something nobody expected\n\s+at /,
    );
    expect(r.exitCode).toBe(toOrxExit('bug'));
  });

  it('turns flag errors into usage errors naming the command help, as text or JSON', async () => {
    const r = await probe(['--no-such-flag']);
    expect(r.stderr).toMatch(/^Error: `orx probe` has no flag --no-such-flag\n {2}→ See `orx probe --help`\.\n$/);
    expect((await probe(['--jsno'])).stderr).toContain('has no flag --jsno (did you mean `--json`?)');
    expect(r.exitCode).toBe(EXIT.ERROR);
    const j = await probe(['--json', '--log-format', 'xml']);
    expect(JSON.parse(j.stdout).error).toMatchObject({code: 'usage'});
    expect(j.exitCode).toBe(EXIT.ERROR);
  });

  it('refuses a relative tool path before anything runs', async () => {
    const r = await probe(['--tool-kubectl', 'bin/kubectl']);
    expect(r.stderr).toContain('--tool-kubectl (ORX_KUBECTL) is "bin/kubectl", not an absolute path');
    expect(r.stdout).toBe('');
    expect(r.exitCode).not.toBe(EXIT.OK);
  });

  it('re-exports the exit-code help for commands', () => {
    expect(exitCodeHelp().split('\n')[0]).toBe('EXIT CODES');
  });
});

function toOrxExit(kind: 'bug'): number {
  return new OrxError({code: 'internal', kind, message: ''}).exit;
}
