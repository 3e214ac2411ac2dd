// Variables: type conversion, precedence, interpolation and where their problems are reported.
import {mkdtempSync, realpathSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {Problems} from '../../src/config/diagnostics.js';
import {rewriteVar} from '../../src/config/expressions.js';
import {interpolate} from '../../src/config/interpolate.js';
import {checkExpressions, loadConfig} from '../../src/config/load.js';
import type {Problem} from '../../src/config/problem.js';
import {convertText, convertTyped, envVariables, orderedVariableArgs, type VariableInputs} from '../../src/config/variables.js';
import {OrxError} from '../../src/errors.js';
import {caught} from '../helpers/errors.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, {recursive: true, force: true})));

function workspace(yaml: string, files: Record<string, string> = {}): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'orx-vars-')));
  made.push(dir);
  writeFileSync(join(dir, 'orchestration.yml'), yaml);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

const inputs = (o: Partial<VariableInputs>): VariableInputs => ({env: {}, args: [], flags: true, ...o});

describe('values typed as text are converted to the declared type', () => {
  it('bool, number, list and map', () => {
    expect(convertText('true', 'bool')).toEqual({ok: true, value: true});
    expect(convertText('false', 'bool')).toEqual({ok: true, value: false});
    expect(convertText('yes', 'bool').ok).toBe(false);
    expect(convertText('8080', 'number')).toEqual({ok: true, value: 8080});
    expect(convertText('0.5', 'number')).toEqual({ok: true, value: 0.5});
    expect(convertText('', 'number').ok).toBe(false);
    expect(convertText('12abc', 'number').ok).toBe(false);
    expect(convertText('["a", "b"]', 'list')).toEqual({ok: true, value: ['a', 'b']});
    expect(convertText('[a, 1]', 'list')).toEqual({ok: true, value: ['a', 1]});
    expect(convertText('{"k": "v"}', 'map')).toEqual({ok: true, value: {k: 'v'}});
    expect(convertText('{k: v}', 'map')).toEqual({ok: true, value: {k: 'v'}});
    expect(convertText('a, b', 'list').ok).toBe(false);
    expect(convertText('[1]', 'map').ok).toBe(false);
    expect(convertText('anything = at all', 'string')).toEqual({ok: true, value: 'anything = at all'});
  });

  it('typed values (defaults, var-files) must match; numbers and bools read as text where a string is declared', () => {
    expect(convertTyped(3, 'string')).toEqual({ok: true, value: '3'});
    expect(convertTyped('3', 'number')).toEqual({ok: true, value: 3});
    expect(convertTyped({a: 1}, 'list').ok).toBe(false);
    expect(convertTyped([1], 'list')).toEqual({ok: true, value: [1]});
  });
});

describe('command-line order and the environment', () => {
  it('-var and -var-file keep their interleaving, in every spelling; -- ends the flags', () => {
    expect(
      orderedVariableArgs([
        '--var',
        'a=1',
        '--var-file=f.yml',
        '--var=b=c=d',
        '--target',
        'x',
        '--var-file',
        'g.json',
        '--',
        '--var',
        'z=1',
      ]),
    ).toEqual([
      {kind: 'var', text: 'a=1'},
      {kind: 'file', path: 'f.yml'},
      {kind: 'var', text: 'b=c=d'},
      {kind: 'file', path: 'g.json'},
    ]);
  });

  it('only ORX_VAR_* names, without the prefix', () => {
    expect(envVariables({ORX_VAR_port: '1', ORX_VARx: '2', ORX_VAR_: '3', PATH: '/bin'})).toEqual({port: '1'});
  });
});

const DECLS = `workspace: lab
variables:
  a: {default: from-default}
  b: {default: from-default}
  c: {default: from-default}
  d: {default: from-default}
  e: {default: from-default}
agents:
  x:
    image: base
    env: {A: "\${var.a}", B: "\${var.b}", C: "\${var.c}", D: "\${var.d}", E: "\${var.e}"}
images:
  base: {ref: "busybox:1"}
`;

describe('precedence: default < ORX_VAR_ < -var-file and -var in command-line order', () => {
  it('each source wins over the ones before it, and later command-line values over earlier', () => {
    const dir = workspace(DECLS, {'one.yml': 'c: from-file\nd: from-file\ne: from-file\n', 'two.json': '{"e": "from-second-file"}'});
    const loaded = loadConfig(dir, {
      vars: inputs({
        env: {b: 'from-env', c: 'from-env', d: 'from-env', undeclared: 'ignored'},
        args: [
          {kind: 'var', text: 'e=from-var'},
          {kind: 'file', path: 'one.yml'},
          {kind: 'var', text: 'd=from-var'},
          {kind: 'file', path: 'two.json'},
        ],
      }),
    });
    expect(loaded.variables?.values).toEqual({a: 'from-default', b: 'from-env', c: 'from-file', d: 'from-var', e: 'from-second-file'});
    expect(loaded.variables?.sources).toEqual({a: 'default', b: 'env', c: '-var-file one.yml', d: '-var', e: '-var-file two.json'});
    expect(loaded.config.agents.x.env).toEqual({A: 'from-default', B: 'from-env', C: 'from-file', D: 'from-var', E: 'from-second-file'});
  });

  it("a saved plan's values stand in for the defaults, and the environment still overrides them", () => {
    const dir = workspace(DECLS);
    const loaded = loadConfig(dir, {vars: inputs({planned: {a: 'planned', b: 'planned'}, env: {b: 'from-env'}})});
    expect(loaded.variables?.values).toMatchObject({a: 'planned', b: 'from-env'});
  });

  it('an unknown name on the command line or in a var-file is an error with a suggestion; a file without variables loads as before', () => {
    const dir = workspace(DECLS, {'bad.yml': 'dd: 1\n'});
    expect(caught(() => loadConfig(dir, {vars: inputs({args: [{kind: 'var', text: 'aa=1'}]})})).message).toBe(
      '-var aa: no variable "aa" is declared in orchestration.yml (did you mean "a"?)',
    );
    expect(caught(() => loadConfig(dir, {vars: inputs({args: [{kind: 'file', path: 'bad.yml'}]})})).message).toMatch(
      /^-var-file bad\.yml: no variable "dd" is declared .*\(did you mean "d"\?\)/,
    );
    expect(caught(() => loadConfig(dir, {vars: inputs({args: [{kind: 'var', text: 'novalue'}]})})).message).toMatch(/expected NAME=VALUE/);
    const plain = workspace('workspace: lab\n');
    const loaded = loadConfig(plain);
    expect('variables' in loaded || 'outputs' in loaded).toBe(false);
  });
});

describe('typed values and interpolation', () => {
  it('a whole-value reference keeps its type (a number into a port, a list into a command)', () => {
    const dir = workspace(`workspace: lab
variables:
  port: {type: number, default: 18080}
  cmd: {type: list}
networks:
  edge: {internal: false}
agents:
  web:
    image: base
    command: "\${var.cmd}"
    networks: [edge]
    ports: [{container: 8080, host: "\${ var.port }"}]
images:
  base: {ref: "busybox:1"}
`);
    const loaded = loadConfig(dir, {vars: inputs({args: [{kind: 'var', text: 'cmd=["/bin/sh", "-c", "sleep 1"]'}]})});
    expect(loaded.config.agents.web.command).toEqual(['/bin/sh', '-c', 'sleep 1']);
    expect(loaded.config.agents.web.ports[0].host).toBe(18080);
  });

  it('inside a longer string the value is text; $${ is a literal ${; a shell ${HOME} is left alone; lists cannot be spliced', () => {
    const problems: Problem[] = [];
    const out = interpolate(
      {a: 'x-${var.n}-${var.s}', b: '$${var.s}', c: 'echo ${HOME}', d: 'all: ${var.l}', variables: {keep: '${var.s}'}},
      {n: 3, s: 'str', l: [1]},
      new Set(['n', 's', 'l']),
      problems,
    );
    expect(out).toEqual({a: 'x-3-str', b: '${var.s}', c: 'echo ${HOME}', d: 'all: ${var.l}', variables: {keep: '${var.s}'}});
    expect(problems).toEqual([
      {path: ['d'], index: 5, message: expect.stringMatching(/^var\.l is a list: it can only be the whole value/)},
    ]);
  });

  it('an undeclared or malformed reference, and a missing value, are reported at file:line:col', () => {
    const dir = workspace(`workspace: lab
variables:
  region: {type: string}
agents:
  x:
    image: base
    env: {A: "x-\${var.regoin}", B: 'plain \${var.1x}'}
images:
  base: {ref: "busybox:1"}
`);
    const e = caught(() => loadConfig(dir, {vars: inputs({})}));
    expect(e.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`)).toEqual([
      '3:3: variable "region" has no value: it has no default; set it with -var region=..., -var-file FILE, ORX_VAR_region=..., or give it a default',
      '7:17: var.regoin is not declared (did you mean "region"?); declare it under `variables:` (e.g. variables: {regoin: {type: string}})',
      '7:43: malformed variable reference "${var.1x}": write ${var.NAME} (or $${ for a literal ${)',
    ]);
    expect(e.actions[0]).toMatch(/-var NAME=VALUE.*-var-file FILE.*ORX_VAR_NAME/);
  });

  it('a variable that looks like a credential is refused, pointing at secrets:', () => {
    const dir = workspace(`workspace: lab
variables:
  openai_api_key: {default: x}
  note: {default: x, description: "the admin password"}
  flagged: {default: x, sensitive: true}
`);
    const e = caught(() => loadConfig(dir));
    expect(e.diagnostics.map((d) => [d.line, d.col])).toEqual([
      [3, 3],
      [4, 3],
      [5, 3],
    ]);
    for (const d of e.diagnostics) expect(d.message).toMatch(/secrets:/);
  });
});

describe('validation conditions and output expressions (CEL)', () => {
  const yaml = `workspace: lab
variables:
  port: {type: number, default: 80, validation: {condition: "var.port > 1024", message: "use an unprivileged port"}}
agents:
  web: {image: base}
images:
  base: {ref: "busybox:1"}
outputs:
  url: {value: '"http://127.0.0.1:" + string(agent.web.ports[0].host)'}
  typo: {value: 'agent.webb.id'}
  root: {value: 'agnt.web'}
`;
  it('a value that fails its condition, and names the outputs cannot have, with file:line:col', async () => {
    const dir = workspace(yaml);
    const err = await checkExpressions(loadConfig(dir)).then(
      () => undefined,
      (e: unknown) => e as OrxError,
    );
    expect(err?.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`)).toEqual([
      '3:3: variable "port" = 80 is not valid: use an unprivileged port',
      '10:24: no agent "webb" in orchestration.yml (did you mean "web"?)',
      expect.stringMatching(/^11:18: outputs\.root: unknown name "agnt" \(did you mean "agent"\?\)/),
    ]);
    const ok = loadConfig(dir, {vars: inputs({env: {port: '8080'}})});
    const again = await checkExpressions(ok).then(
      () => undefined,
      (e: unknown) => e as OrxError,
    );
    expect(again?.diagnostics.map((d) => d.line)).toEqual([10, 11]);
  });

  it('`var` (reserved in CEL) is read outside string literals only', () => {
    expect(rewriteVar('var.a + "var.b" + x.var + vars')).toBe('__v.a + "var.b" + x.var + vars');
    expect(new Problems().size).toBe(0);
  });
});
