// Variables through the built CLI: the four sources and their precedence, typed values, and the
// mistakes a user makes (a missing value, an unknown name, a secret in a variable), all before
// anything reaches the Docker engine.
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx} from '../helpers/cli.js';
import {makeWorkspace, SLEEP_CMD, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('vars');
});
afterEach(async () => {
  await ws.cleanup();
});

const YAML = `workspace: __WS__
autonomy: 3
variables:
  a: {default: from-default}
  b: {default: from-default}
  c: {default: from-default}
  d: {default: from-default}
  memory: {type: string, default: 64m}
  replicas_note: {type: number, default: 1, validation: {condition: "var.replicas_note < 10", message: "at most 9"}}
  cmd: {type: list, default: ${SLEEP_CMD}}
images:
  base: {build: {context: images/agent-base}}
agents:
  alpha:
    image: base
    command: "\${var.cmd}"
    resources: {cpus: 0.1, memory: "\${var.memory}"}
    env: {A: "\${var.a}", B: "\${var.b}", C: "\${var.c}", D: "\${var.d}", N: "n=\${var.replicas_note}", LIT: "$\${var.a}"}
`;

interface PlanDoc {
  variables: Record<string, unknown>;
  steps: Array<{address: string; after: {env: Record<string, string>; command: string[]; memory_bytes: number}}>;
}

async function plan(args: string[], env: Record<string, string> = {}): Promise<PlanDoc> {
  const r = await orx(['plan', '--refresh=false', '--json', ...args], {cwd: ws.dir, env});
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout) as PlanDoc;
}

describe('variables', () => {
  it('come from defaults, ORX_VAR_, -var-file and -var, later command-line values winning, typed as declared', async () => {
    ws.write(YAML);
    fs.writeFileSync(path.join(ws.dir, 'one.yml'), 'c: from-file\nd: from-file\n');
    fs.writeFileSync(path.join(ws.dir, 'two.json'), JSON.stringify({d: 'from-second-file', replicas_note: 3}));
    const env = {ORX_VAR_b: 'from-env', ORX_VAR_c: 'from-env', ORX_VAR_d: 'from-env', ORX_VAR_undeclared: 'ignored'};
    const doc = await plan(['-var', 'd=from-var', '-var-file', 'one.yml', '-var=memory=128m', '-var-file=two.json', '-var', 'a=x=y'], env);
    expect(doc.variables).toEqual({
      a: 'x=y',
      b: 'from-env',
      c: 'from-file',
      d: 'from-second-file',
      memory: '128m',
      replicas_note: 3,
      cmd: JSON.parse(SLEEP_CMD) as string[],
    });
    const alpha = doc.steps.find((s) => s.address === 'agent.alpha')!.after;
    expect(alpha.env).toEqual({A: 'x=y', B: 'from-env', C: 'from-file', D: 'from-second-file', N: 'n=3', LIT: '${var.a}'});
    expect(alpha.memory_bytes).toBe(128 * 1024 ** 2);
    // a list given on the command line replaces the command as a list, not as a string
    const typed = await plan(['-var', 'cmd=["/bin/sh", "-c", "sleep 5"]']);
    expect(typed.steps.find((s) => s.address === 'agent.alpha')!.after.command).toEqual(['/bin/sh', '-c', 'sleep 5']);

    const human = await orx(['plan', '--refresh=false', '-var', 'a=shown'], {cwd: ws.dir});
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/\nVariables:\n {2}a += "shown"\n/);
  });

  it('a value of the wrong type, an unknown name and a failed validation are errors that name the variable', async () => {
    ws.write(YAML);
    const bad = await orx(['validate', '-var', 'replicas_note=many'], {cwd: ws.dir});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('variable "replicas_note" (-var): must be a number, got "many"');
    const unknown = await orx(['plan', '-var', 'memroy=1g'], {cwd: ws.dir});
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('-var memroy: no variable "memroy" is declared in orchestration.yml (did you mean "memory"?)');
    const invalid = await orx(['validate'], {cwd: ws.dir, env: {ORX_VAR_replicas_note: '12'}});
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/orchestration\.yml:9:3: variable "replicas_note" = 12 is not valid: at most 9/);
    expect(noStack(bad.stderr + unknown.stderr + invalid.stderr)).toBe(true);
  });

  it('a required variable without a value fails validate and plan, naming it and the three ways to set it', async () => {
    ws.write(`workspace: __WS__
variables:
  region: {type: string, description: where it runs}
agents:
  alpha: {image: base, env: {REGION: "\${var.region}"}}
images:
  base: {build: {context: images/agent-base}}
`);
    for (const cmd of ['validate', 'plan']) {
      const r = await orx([cmd], {cwd: ws.dir});
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toContain(
        'orchestration.yml:3:3: variable "region" has no value: it has no default; set it with -var region=..., -var-file FILE, ORX_VAR_region=..., or give it a default',
      );
      expect(noStack(r.stderr)).toBe(true);
    }
    expect((await orx(['validate'], {cwd: ws.dir, env: {ORX_VAR_region: 'eu'}})).code).toBe(0);
  });

  it('a reference to an undeclared variable is reported at file:line:col with a suggestion', async () => {
    ws.write(`workspace: __WS__
variables:
  region: {default: eu}
agents:
  alpha: {image: base, env: {REGION: "at-\${var.regoin}"}}
images:
  base: {build: {context: images/agent-base}}
`);
    const r = await orx(['validate'], {cwd: ws.dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('orchestration.yml:5:42: var.regoin is not declared (did you mean "region"?)');
  });

  it('a variable that holds a credential is refused at validate, pointing at secrets:', async () => {
    ws.write(`workspace: __WS__
variables:
  openai_api_key: {type: string, default: sk-not-a-real-key}
agents: {}
`);
    const r = await orx(['validate'], {cwd: ws.dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/orchestration\.yml:3:3: variable "openai_api_key": its name says it holds a credential; .*`secrets:`/);
  });

  it('-var cannot change a saved plan: apply and simulate refuse it', async () => {
    ws.write(YAML);
    const saved = await orx(['plan', '--refresh=false', '-var', 'a=planned', '-out', 'plans/p.json'], {cwd: ws.dir});
    expect(saved.code, saved.stderr).toBe(0);
    for (const cmd of [
      ['apply', 'plans/p.json', '-var', 'a=other'],
      ['simulate', 'plans/p.json', '-var-file', 'x.yml'],
    ]) {
      const r = await orx(cmd, {cwd: ws.dir});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /-var(-file)? cannot be used with a saved plan \(plans\/p\.json\): it carries the variable values it was made with/,
      );
    }
    const doc = JSON.parse(fs.readFileSync(path.join(ws.dir, 'plans/p.json'), 'utf8')) as PlanDoc;
    expect(doc.variables.a).toBe('planned');
  });
});
