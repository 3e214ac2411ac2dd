import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {noStack, orx, startOrx, until} from '../helpers/cli.js';
import {docker, makeWorkspace, type TestWorkspace, SLEEP_CMD} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('rel');
});
afterEach(async () => {
  await ws.cleanup();
});

function agentsYaml(n: number): string {
  let y = `workspace: __WS__
autonomy: 3
networks:
  backplane: {internal: true}
images:
  base:
    build: {context: images/agent-base}
agents:
`;
  for (let i = 0; i < n; i++) {
    y += `  a${i}:
    image: base
    command: ${SLEEP_CMD}
    resources: {cpus: 0.1, memory: 32m}
    networks: [backplane]
`;
  }
  return y;
}

function peek<T>(dir: string, fn: (l: Ledger) => T): T | undefined {
  if (!Ledger.exists(dir)) return undefined;
  const l = Ledger.open(dir);
  try {
    return fn(l);
  } finally {
    l.close();
  }
}

const containers = () => docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}});

describe('reliability', () => {
  it('two concurrent applies: one runs, the other exits 4 naming the holder', async () => {
    ws.write(agentsYaml(4));
    const first = startOrx(['apply', '--auto-approve', '--parallelism', '1'], {cwd: ws.dir});
    const lock = await until('the first apply to take the lock', () => peek(ws.dir, (l) => l.currentLock()));
    // held still while the second one plans and applies: on a loaded machine the first could end first
    first.child.kill('SIGSTOP');
    const second = await orx(['apply', '--auto-approve'], {cwd: ws.dir}).finally(() => first.child.kill('SIGCONT'));
    expect(second.code, second.stderr).toBe(4);
    expect(second.stderr).toContain(`pid ${lock.pid}`);
    expect(noStack(second.stderr)).toBe(true);
    const r = await first.done;
    expect(r.code, r.stderr).toBe(0);
    expect(await containers()).toHaveLength(4);
  });

  it('kill -9 in the middle of a 20-agent apply, then apply again: 20 agents, no duplicates, next plan empty', async () => {
    ws.write(agentsYaml(20));
    const run = startOrx(['apply', '--auto-approve', '--parallelism', '4'], {cwd: ws.dir});
    await until('a few agents to be recorded', () =>
      (peek(ws.dir, (l) => l.listResources().filter((r) => r.kind === 'agent').length) ?? 0) >= 3 ? true : undefined,
    );
    run.child.kill('SIGKILL');
    await run.done;
    const partial = (await containers()).length;
    expect(partial).toBeGreaterThanOrEqual(3);
    expect(partial).toBeLessThan(20);

    const locked = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(locked.code).toBe(4);
    expect(locked.stderr).toMatch(/no longer running/);
    const lockId = /force-unlock (\S+)/.exec(locked.stderr)![1];
    expect((await orx(['force-unlock', lockId, '--reason', 'apply was killed by the test'], {cwd: ws.dir})).code).toBe(0);

    const again = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(again.code, again.stderr).toBe(0);
    const all = await containers();
    expect(all).toHaveLength(20);
    expect(new Set(all.map((c) => c.Labels['io.orchestrix.address'])).size).toBe(20);
    expect(all.every((c) => c.State === 'running')).toBe(true);
    const plan = await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir});
    expect(plan.code, plan.stdout).toBe(0);
  }, 240_000);
});

describe('hostile input: exit 1, one clear message, no stack trace, nothing created', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['malformed YAML', () => 'workspace: [unclosed\nagents: {', /orchestration\.yml:\d+:\d+/],
    [
      'an alias bomb',
      () =>
        `workspace: x\na: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n`,
      /alias/i,
    ],
    ['a 10 MB string', () => `workspace: "${'x'.repeat(10 * 1024 * 1024)}"\n`, /./],
    ['an unknown key', () => 'workspace: __WS__\nagents:\n  a:\n    imgae: base\n', /did you mean "image"/],
    ['a wrong type', () => 'workspace: __WS__\nautonomy: "high"\n', /autonomy/],
    [
      'a build context outside the workspace',
      () => 'workspace: __WS__\nimages:\n  base:\n    build: {context: ../..}\n',
      /escapes the workspace/,
    ],
    ['a name with shell metacharacters', () => 'workspace: "x; rm -rf / $(id) `id`"\n', /workspace/],
  ];
  for (const [name, yaml, pattern] of cases) {
    it(name, async () => {
      fs.writeFileSync(path.join(ws.dir, 'orchestration.yml'), yaml().replaceAll('__WS__', ws.name));
      for (const cmd of [['validate'], ['plan'], ['apply', '--auto-approve']]) {
        const r = await orx(cmd, {cwd: ws.dir});
        expect(r.code, `${cmd[0]}: ${r.stderr.slice(0, 300)}`).toBe(1);
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr.length).toBeLessThan(4000);
        expect(noStack(r.stderr)).toBe(true);
        expect(r.stdout).toBe('');
      }
      expect(await containers()).toHaveLength(0);
      expect(fs.existsSync(path.join(ws.dir, '.orx/ledger.db'))).toBe(false);
    });
  }
});
