// Help and mistakes through the built CLI: help for commands and topics, -h everywhere, and
// unknown commands, topics and flags exiting 1 (never 2, --detailed-exitcode's "changes")
// with the closest match.
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {noStack, orx} from '../helpers/cli.js';
import {makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeAll(() => {
  ws = makeWorkspace('help');
  ws.write('workspace: __WS__\nnetworks:\n  n: {}\n');
});
afterAll(async () => {
  await ws.cleanup();
});

const run = (...args: string[]) => orx(args, {cwd: ws.dir});

describe('help', () => {
  it('orx help, orx -h and orx --help show the root help', async () => {
    const [help, h, long] = await Promise.all([run('help'), run('-h'), run('--help')]);
    for (const r of [help, h, long]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('USAGE');
      expect(r.stdout).toMatch(/plan +Show what apply would change/);
    }
    expect(h.stdout).toBe(long.stdout);
  });

  it('orx help plan = orx plan -h = orx plan --help, with defaults and env twins', async () => {
    const [help, h, long] = await Promise.all([run('help', 'plan'), run('plan', '-h'), run('plan', '--help')]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('$ orx plan');
    expect(help.stdout).toBe(h.stdout);
    expect(help.stdout).toBe(long.stdout);
    // a repeatable flag without a default shows none, not "default: "
    expect(help.stdout).not.toContain('default: ,');
    expect(help.stdout).toMatch(/--target=<value>\.\.\. +\[env: ORX_TARGET\]/);
    expect(help.stdout).toContain('[default: 1000, env: ORX_SIM_ITERATIONS]');
  });

  it('help for a multi-word command and for a topic', async () => {
    const [show, topic, topicH] = await Promise.all([run('help', 'state', 'show'), run('help', 'state'), run('state', '-h')]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('$ orx state show ADDRESS');
    expect(topic.code).toBe(0);
    expect(topic.stdout).toMatch(/state list +List the addresses/);
    expect(topic.stdout).toMatch(/state show +Show the recorded attributes/);
    expect(topicH.stdout).toBe(topic.stdout);
  });

  it('help for an unknown command or topic exits 1 with the closest match', async () => {
    const [cmd, sub] = await Promise.all([run('help', 'plna'), run('help', 'state', 'shwo')]);
    expect(cmd.code).toBe(1);
    expect(cmd.stderr).toContain('did you mean `orx plan`?');
    expect(sub.code).toBe(1);
    expect(sub.stderr).toContain('did you mean `orx state show`?');
  });
});

describe('mistakes', () => {
  it('an unknown command exits 1 with the closest match, also under --detailed-exitcode', async () => {
    const [plna, paln] = await Promise.all([run('plna'), run('paln', '--detailed-exitcode')]);
    for (const r of [plna, paln]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('did you mean `orx plan`?');
      expect(noStack(r.stderr)).toBe(true);
      expect(r.stdout).toBe('');
    }
    expect(plna.stderr).toMatch(/^Error: `orx plna` is not an orx command/);
  });

  it('an unknown subcommand is named without its arguments', async () => {
    const r = await run('state', 'frobnicate', 'a', 'b');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('`orx state frobnicate` is not an orx command; under `orx state`: list');
    expect(r.stderr).not.toMatch(/frobnicate[: ]a/);
    expect(r.stderr).toContain('See `orx help state`');
  });

  it('an unknown flag exits 1 with the closest flag', async () => {
    const r = await run('plan', '--targt', 'network.n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('`orx plan` has no flag --targt (did you mean `--target`?)');
    const single = await run('plan', '-targt=network.n');
    expect(single.code).toBe(1);
    expect(single.stderr).toContain('did you mean `--target`?');
  });

  it('with --json, the error is the usual JSON error document', async () => {
    const [cmd, flag] = await Promise.all([run('paln', '--json'), run('plan', '--targt', 'x', '--json')]);
    expect(cmd.code).toBe(1);
    const doc = JSON.parse(cmd.stdout);
    expect(doc).toMatchObject({
      formatVersion: '1',
      error: {status: 1, code: 'unknown_command', data: {command: 'paln', suggestion: 'plan'}},
    });
    expect(flag.code).toBe(1);
    expect(JSON.parse(flag.stdout).error).toMatchObject({status: 1, code: 'usage', data: {flags: ['--targt'], suggestions: ['--target']}});
  });
});

describe('version', () => {
  it('orx version prints the --version line; --json gives a document', async () => {
    const [v, long, json] = await Promise.all([run('version'), run('--version'), run('version', '--json')]);
    expect(v.stdout).toMatch(/^orchestrix\/\d+\.\d+\.\d+ \S+ node-v\d+/);
    expect(v.stdout).toBe(long.stdout);
    const doc = JSON.parse(json.stdout);
    expect(doc.formatVersion).toBe('1');
    expect(`${doc.line}\n`).toBe(v.stdout);
  });

  it("validate's summary counts in English", async () => {
    const r = await run('validate');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('0 agents, 1 network, 0 volumes, 0 images');
  });
});
