// orchestration.yml mistakes -> one OrxError with every problem, each at file:line:col.
import {afterAll, describe, expect, it} from 'vitest';
import {mkdtempSync, mkdirSync, writeFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {parseConfig} from '../../src/config/load.js';
import {OrxError, type Diagnostic} from '../../src/errors.js';
import {cpuMs} from '../helpers/cpu-time.js';

const WS = mkdtempSync(join(tmpdir(), 'orx-config-errors-'));
mkdirSync(join(WS, 'ctx'));
writeFileSync(join(WS, 'ctx', 'Dockerfile'), 'FROM scratch\n');
afterAll(() => rmSync(WS, {recursive: true, force: true}));

function fail(text: string, label = 'orchestration.yml'): OrxError {
  try {
    parseConfig(text, WS, label);
  } catch (err) {
    expect(err).toBeInstanceOf(OrxError);
    const e = err as OrxError;
    expect(e.code).toBe('config_invalid');
    expect(e.kind).toBe('user');
    expect(e.exit).toBe(1);
    return e;
  }
  throw new Error('expected parseConfig to throw');
}

/** "line:col: message" for each diagnostic, the way a person reads them. */
function lines(e: OrxError): string[] {
  return e.diagnostics.map((d: Diagnostic) => `${d.line}:${d.col}: ${d.message}`);
}

const BASE = 'workspace: lab\nimages:\n  base: {ref: alpine}\n';

describe('positions', () => {
  it('type error points at the value', () => {
    const e = fail('workspace: lab\nautonomy: high\n');
    expect(lines(e)).toEqual(['2:11: autonomy must be a whole number (got "high")']);
    expect(e.diagnostics[0]).toMatchObject({file: 'orchestration.yml', line: 2, col: 11, path: 'autonomy'});
    expect(e.message).toBe('orchestration.yml:2:11: autonomy must be a whole number (got "high")');
  });

  it('unknown key points at the key and suggests the nearest allowed key', () => {
    const text = [
      'workspace: lab', // 1
      'autonomy: 1',
      'kill_switch: false',
      'networks:',
      '  backplane: {internal: true}', // 5
      'volumes:',
      '  memory: {backup: true}',
      'images:',
      '  base: {ref: alpine}',
      'agents:', // 10
      '  researcher:',
      '    imgae: base', // 12
      '    image: base',
      '',
    ].join('\n');
    const e = fail(text);
    expect(e.message).toBe('orchestration.yml:12:5: unknown key "imgae" in agents.researcher (did you mean "image"?)');
    expect(e.diagnostics).toEqual([
      {
        file: 'orchestration.yml',
        line: 12,
        col: 5,
        path: 'agents.researcher.imgae',
        message: 'unknown key "imgae" in agents.researcher (did you mean "image"?)',
      },
    ]);
    expect(e.actions.join(' ')).toMatch(/orx validate/);
  });

  it('cross-reference error points at the reference and suggests an existing name', () => {
    const e = fail(`${BASE}  tools: {ref: "ghcr.io/example/tools:1.4"}\nagents:\n  worker:\n    image: tols\n`);
    expect(lines(e)).toEqual(['7:12: unknown image "tols" in agents.worker.image: not defined under images (did you mean "tools"?)']);
  });

  it('YAML syntax error uses the parser position and no parser jargon dump', () => {
    const e = fail('workspace: lab\nagents: [a, b\nimages: {}\n');
    expect(e.diagnostics).toHaveLength(1);
    expect(lines(e)[0]).toMatch(/^3:1: YAML syntax error: /);
    expect(e.message).not.toMatch(/\n\s*\^/); // no caret excerpt: the position says where
  });

  it('unclosed quote and tab indentation are syntax errors with positions', () => {
    expect(lines(fail('workspace: "lab\n'))).toEqual(['2:1: YAML syntax error: Missing closing "quote']);
    expect(lines(fail('workspace: lab\n\tagents: {}\n'))[0]).toMatch(/^2:1: YAML syntax error: Tabs/);
  });

  it('missing required key points at the entry that lacks it', () => {
    const e = fail(`${BASE}agents:\n  researcher:\n    tier: pro\n`);
    expect(lines(e)).toEqual(['5:3: missing required key "image" in agents.researcher']);
    expect(lines(fail('autonomy: 1\n'))).toEqual(['1:1: missing required key "workspace" at the top level']);
  });

  it('an empty value is reported at its key', () => {
    const e = fail(`${BASE}agents:\n  researcher:\n`);
    expect(lines(e)).toEqual(['5:3: agents.researcher must be a mapping (got nothing)']);
  });
});

describe('every problem at once', () => {
  it('reports schema, reference and semantic errors together, in file order', () => {
    const text = [
      'workspace: Lab', // 1: uppercase name
      'autonomy: 7', // 2: out of range
      'images:',
      '  base: {ref: alpine}',
      'agents:', // 5
      '  a:',
      '    image: base',
      '    tier: gold', // 8
      '    networks: [nope]', // 9
      '    depends_on: [b]',
      '  b:',
      '    image: bsae', // 12
      '    depends_on: [a]', // 13
      '    helth: {}', // 14
      '',
    ].join('\n');
    const e = fail(text);
    expect(lines(e)).toEqual([
      '1:12: workspace is not a valid name: use 1-63 lowercase letters, digits and "-", starting and ending with a letter or digit (got "Lab")',
      '2:11: autonomy must be between 0 and 3 (got 7)',
      '8:11: agents.a.tier must be basic, pro or enterprise (got "gold")',
      '9:16: unknown network "nope" in agents.a.networks[0]: not defined under networks (there is no `networks` section)',
      '12:12: unknown image "bsae" in agents.b.image: not defined under images (did you mean "base"?)',
      '13:18: dependency cycle: a -> b -> a',
      '14:5: unknown key "helth" in agents.b (did you mean "health"?)',
    ]);
    expect(e.message.split('\n')).toHaveLength(7);
    expect(e.message.split('\n')[0]).toMatch(/^orchestration\.yml:1:12: /);
  });

  it('caps a flood of problems and says how many were left out', () => {
    const text = 'workspace: lab\n' + Array.from({length: 500}, (_, i) => `k${i}: 1`).join('\n');
    const e = fail(text);
    expect(e.diagnostics).toHaveLength(50);
    expect(e.data.error_count).toBe(500);
    expect(e.message.split('\n').at(-1)).toBe('... and 450 more errors');
  });

  it('CRLF line endings give the same positions', () => {
    const e = fail('workspace: lab\r\nagents:\r\n  a:\r\n    imgae: x\r\n');
    expect(lines(e)).toEqual([
      '3:3: missing required key "image" in agents.a',
      '4:5: unknown key "imgae" in agents.a (did you mean "image"?)',
    ]);
  });

  it('uses the given file label', () => {
    expect(fail('autonomy: x\n', 'conf/prod.yml').message).toMatch(/^conf\/prod\.yml:1:1: /m);
  });
});

describe('types and values', () => {
  it('names the expected and the actual type in user terms', () => {
    const e = fail(
      `${BASE}agents:\n  a:\n    image: base\n    command: [1]\n    env: {X: null}\n    labels: {v: 1}\n    ports: [5]\n    networks: backplane\n`,
    );
    expect(lines(e)).toEqual([
      '7:15: agents.a.command[0] must be a string (got 1); put it in quotes: "1"',
      '8:14: agents.a.env.X must be a string, a number or true/false (got nothing)',
      '9:17: agents.a.labels.v must be a string (got 1); put it in quotes: "1"',
      '10:13: agents.a.ports[0] must be a "HOST:CONTAINER" string or a mapping with container and host (got 5)',
      '11:15: agents.a.networks must be a list (got "backplane")',
    ]);
    expect(e.message).not.toMatch(/must NOT|must match|additional properties|anyOf|oneOf|instancePath/);
  });

  it('image needs exactly one of ref or build; health exactly one check', () => {
    const e = fail(
      'workspace: lab\nimages:\n  x: {ref: alpine, build: {context: ctx}}\n  y: {}\nagents:\n  a:\n    image: x\n    health: {http: {port: 80}, shell: "true"}\n',
    );
    expect(lines(e)).toEqual([
      '3:6: images.x must have only one of "ref" or "build" (found "ref" and "build")',
      '4:6: images.y needs one of "ref" or "build"',
      '8:13: agents.a.health must have only one of "http", "cmd", "shell", "exec" or "host_http" (found "http" and "shell")',
    ]);
  });

  it('verify is only for ref images', () => {
    const e = fail('workspace: lab\nimages:\n  x:\n    build: {context: ctx}\n    verify: {key: k.pub}\n');
    expect(lines(e)).toEqual(['5:5: "verify" needs "ref" in images.x']);
  });

  it('checks formats: durations, memory, ports, user, image refs, IPs', () => {
    const e = fail(
      `${BASE}agents:\n  a:\n    image: base\n    health: {cmd: [x], interval: 5 seconds, timeout: 0s}\n    resources: {memory: 2 gigs, cpus: 0}\n    ports: ["80", "70000:80", {container: 80, host: 8080, host_ip: "1.2.3"}]\n    user: "root;id"\n  b:\n    image: base\n    resources: {memory: 1k, pids: 0}\n`,
    );
    const text = lines(e).join('\n');
    expect(text).toContain('7:34: agents.a.health.interval must be a duration like "500ms", "5s", "1m" or "1m30s" (got "5 seconds")');
    expect(text).toContain('7:54: agents.a.health.timeout must be between 1ms and 24h (got "0s")');
    expect(text).toContain(
      '8:25: agents.a.resources.memory must be a size like "512m", "2g" or "2GiB", or a number of bytes (got "2 gigs")',
    );
    expect(text).not.toContain('too large');
    expect(text).toContain('agents.a.resources.cpus must be greater than 0 and at most 1024 (got 0)');
    expect(text).toContain('agents.a.ports[0] must look like "HOST:CONTAINER"');
    expect(text).toContain('agents.a.ports[1]: port "70000:80" is out of range: ports are 1-65535');
    expect(text).toContain('agents.a.ports[2]: host_ip "1.2.3" is not an IP address');
    expect(text).toContain('agents.a.user must be a user name or id');
    expect(text).toContain('agents.b.resources.memory must be at least 6MiB (got "1k")');
    expect(text).toContain('agents.b.resources.pids must be between 16 and 4194304 (got 0)');
    expect(fail('workspace: lab\nimages:\n  x: {ref: "ghcr.io/Example/Tools:1"}\n').message).toMatch(
      /images\.x\.ref must be an image reference/,
    );
  });

  it('empty and oversized collections', () => {
    const many = Array(1001).fill('x').join(', ');
    const env = Array.from({length: 1001}, (_, i) => `V${i}: x`).join(', ');
    const e = fail(
      `workspace: ""\n${BASE.slice('workspace: lab\n'.length)}agents:\n  a:\n    image: base\n    command: []\n    health: {cmd: [${many}]}\n    env: {${env}}\n`,
    );
    const text = lines(e);
    expect(text).toEqual([
      '1:12: workspace must not be empty',
      '7:14: agents.a.command must not be an empty list',
      '8:19: agents.a.health.cmd has too many entries (1001, at most 1000)',
      '9:10: agents.a.env has too many entries (1001, at most 1000)',
    ]);
    expect(text.join('\n')).not.toMatch(/workspace is not a valid name/);
  });

  it('keys must be plain scalars, not collections or aliases', () => {
    expect(lines(fail('workspace: lab\n? [a, b]\n: 1\n'))).toEqual([
      '2:3: keys must be plain strings at the top level (found a collection)',
    ]);
    expect(lines(fail('workspace: &w lab\n*w : 1\n'))).toEqual(['2:1: keys must be plain strings at the top level (found an alias)']);
  });

  it('integers too large to keep exactly must be quoted', () => {
    const e = fail(`${BASE}agents:\n  a:\n    image: base\n    env: {BIG: 12345678901234567890}\n`);
    expect(lines(e)).toEqual(['7:16: agents.a.env.BIG is too large to keep exactly; put it in quotes']);
  });

  it('top level must be a mapping and the file must not be empty', () => {
    expect(lines(fail('- a\n- b\n'))).toEqual([
      '1:1: orchestration.yml must be a mapping of keys such as workspace and agents (got a list)',
    ]);
    expect(lines(fail('just text\n'))).toEqual([
      '1:1: orchestration.yml must be a mapping of keys such as workspace and agents (got "just text")',
    ]);
    expect(lines(fail(''))).toEqual(['1:1: orchestration.yml is empty; it needs at least "workspace: NAME"']);
    expect(lines(fail('# only a comment\n'))).toEqual(['1:1: orchestration.yml is empty; it needs at least "workspace: NAME"']);
  });
});

describe('unknown keys', () => {
  it('suggests by edit distance, case, camelCase and compose synonyms', () => {
    const e = fail(
      `${BASE}agents:\n  a:\n    image: base\n    Tier: pro\n    dependsOn: []\n    healthcheck: {}\n    environment: {}\n    memory: 1g\n    secret: {K: op://x/y/z}\n`,
    );
    expect(lines(e)).toEqual([
      '7:5: unknown key "Tier" in agents.a (did you mean "tier"?)',
      '8:5: unknown key "dependsOn" in agents.a (did you mean "depends_on"?)',
      '9:5: unknown key "healthcheck" in agents.a (did you mean "health"?)',
      '10:5: unknown key "environment" in agents.a (did you mean "env"?)',
      '11:5: unknown key "memory" in agents.a (did you mean "resources"?)',
      '12:5: unknown key "secret" in agents.a (did you mean "secrets"?)',
    ]);
  });

  it('top-level and nested unknown keys', () => {
    expect(lines(fail('workspace: lab\nagnets: {}\n'))).toEqual(['2:1: unknown key "agnets" at the top level (did you mean "agents"?)']);
    expect(lines(fail('workspace: lab\nnetworks:\n  n: {internel: true}\n'))).toEqual([
      '3:7: unknown key "internel" in networks.n (did you mean "internal"?)',
    ]);
    expect(lines(fail('workspace: lab\nimages:\n  x: {build: {context: ctx, dockerfil: D}}\n'))).toEqual([
      '3:29: unknown key "dockerfil" in images.x.build (did you mean "dockerfile"?)',
    ]);
  });

  it('never suggests something unrelated', () => {
    expect(fail('workspace: lab\nzzzzzz: 1\n').message).toBe('orchestration.yml:2:1: unknown key "zzzzzz" at the top level');
  });
});

describe('YAML-level hazards', () => {
  it('duplicate keys name the key and the first occurrence', () => {
    const e = fail(`${BASE}agents:\n  a:\n    image: base\n    image: base\n`);
    expect(lines(e)).toEqual(['7:5: duplicate key "image" in agents.a (first defined on line 6)']);
  });

  it('refuses the billion-laughs alias bomb quickly', () => {
    const lol = Array(9).fill('"lol"').join(',');
    let text = `workspace: lab\na0: &a0 [${lol}]\n`;
    for (let i = 1; i < 9; i++)
      text += `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]\n`;
    const {value: e, ms} = cpuMs(() => fail(text));
    expect(ms).toBeLessThan(1000);
    expect(e.diagnostics).toHaveLength(1);
    expect(e.message).toBe('orchestration.yml:8:30: too many YAML aliases (more than 50)');
  });

  it('refuses alias expansion even under the alias count limit', () => {
    const lol = Array(9).fill('"lol"').join(',');
    let text = `workspace: lab\nlabels0: &a0 [${lol}]\n`;
    for (let i = 1; i < 5; i++)
      text += `labels${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]\n`;
    expect(fail(text).message).toMatch(/too many YAML aliases/);
  });

  it('many problems under an aliased node are still reported quickly', () => {
    const bad = Array.from({length: 1000}, (_, i) => `k${i}: 1`).join(', ');
    const uses = Array.from({length: 40}, (_, i) => `  n${i}: *bad`).join('\n');
    const {value: e, ms} = cpuMs(() => fail(`workspace: lab\nvolumes:\n  base: &bad {${bad}}\n${uses}\n`));
    expect(ms).toBeLessThan(3000);
    expect(e.data.error_count).toBe(41_000);
    expect(e.diagnostics[0].message).toBe('unknown key "k0" in volumes.base');
  });

  it('a flood of near-miss references stays fast', () => {
    const stem = 'a'.repeat(60);
    const images = Array.from({length: 900}, (_, i) => `  ${stem}${String(i).padStart(3, '0')}: {ref: alpine}`).join('\n');
    const agents = Array.from({length: 900}, (_, i) => `  x${i}: {image: ${stem}${String(i).padStart(3, '0')}x}`).join('\n');
    const {value: e, ms} = cpuMs(() => fail(`workspace: lab\nimages:\n${images}\nagents:\n${agents}\n`));
    expect(ms).toBeLessThan(3000);
    expect(e.data.error_count).toBe(900);
  });

  it('a few aliases are fine', () => {
    const cfg = parseConfig(
      `${BASE}agents:\n  a: &agent\n    image: base\n    env: &env {A: "1"}\n  b: *agent\n  c:\n    image: base\n    env: *env\n`,
      WS,
    );
    expect(cfg.agents.b).toEqual(cfg.agents.a);
    expect(cfg.agents.c.env).toEqual({A: '1'});
  });

  it('refuses deep nesting without running the parser into the ground', () => {
    for (const text of [
      `workspace: lab\nx: ${'['.repeat(2_000_000)}`,
      `workspace: lab\nx: ${'{a: '.repeat(400_000)}`,
      `workspace: lab\nx: ${'- '.repeat(900_000)}`,
    ]) {
      const {value: e, ms} = cpuMs(() => fail(text));
      expect(ms).toBeLessThan(1000);
      expect(e.message).toMatch(/^orchestration\.yml:2:\d+: YAML nesting is too deep/);
    }
  });

  it('refuses huge entry counts quickly', () => {
    const text = 'workspace: lab\n' + Array.from({length: 150_000}, (_, i) => `k${i}: 1`).join('\n');
    const {value: e, ms} = cpuMs(() => fail(text));
    expect(ms).toBeLessThan(1500);
    expect(e.message).toMatch(/too many YAML entries/);
  });

  it('refuses tags, directives and multiple documents', () => {
    expect(lines(fail('workspace: lab\nx: !!binary aGVsbG8=\n'))).toEqual(['2:13: unsupported YAML tag !!binary at x']);
    expect(lines(fail('workspace: !custom lab\n'))[0]).toMatch(/^1:12: unsupported YAML tag !custom/);
    expect(lines(fail('%YAML 1.1\n---\nworkspace: lab\n'))).toEqual([
      '1:1: YAML directives (%YAML, %TAG) are not supported in orchestration.yml',
    ]);
    expect(lines(fail('workspace: lab\n---\nworkspace: other\n'))).toEqual([
      '2:1: orchestration.yml must hold a single YAML document (found a second one after ---)',
    ]);
    expect(lines(fail('workspace: lab\n<<: {autonomy: 1}\n'))).toEqual([
      '2:1: YAML merge keys (<<) are not supported at the top level; write the keys out',
    ]);
  });

  it('plain tags that restate the type are fine', () => {
    expect(parseConfig('workspace: !!str lab\nautonomy: !!int 2\n', WS)).toMatchObject({workspace: 'lab', autonomy: 2});
  });
});

describe('hostile strings', () => {
  it.each([
    ['a;rm -rf /', '"a;rm -rf /"'],
    ['$(touch pwned)', '"$(touch pwned)"'],
    ['`id`', '"`id`"'],
    ['Researcher', 'Researcher'],
    ['a|b', '"a|b"'],
    ['-lead', '"-lead"'],
  ])('refuses the agent name %s', (name, yamlKey) => {
    const e = fail(`${BASE}agents:\n  ${yamlKey}:\n    image: base\n`);
    expect(lines(e)).toEqual([
      `5:3: invalid name ${JSON.stringify(name)} in agents: use 1-63 lowercase letters, digits and "-", starting and ending with a letter or digit`,
    ]);
  });

  it('refuses metacharacters in every kind of name', () => {
    const e = fail('workspace: "lab$(id)"\nnetworks:\n  "n;x": {}\nvolumes:\n  "v`x`": {}\nimages:\n  "i&x": {ref: alpine}\n');
    const text = lines(e);
    expect(text).toHaveLength(4);
    expect(text[0]).toMatch(/^1:12: workspace is not a valid name/);
    expect(text[1]).toMatch(/^3:3: invalid name "n;x" in networks/);
    expect(text[2]).toMatch(/^5:3: invalid name "v`x`" in volumes/);
    expect(text[3]).toMatch(/^7:3: invalid name "i&x" in images/);
  });

  it('keeps messages short for long values and strips control characters', () => {
    const long = 'x'.repeat(1_000_000);
    const {value: e, ms} = cpuMs(() => fail(`workspace: lab\nimages:\n  i: {ref: "${long}"}\nagents:\n  a:\n    image: "${long}"\n`));
    expect(ms).toBeLessThan(1000);
    expect(e.message.length).toBeLessThan(600);
    expect(e.message).toContain('images.i.ref is too long (1000000 characters, at most 512)');
    expect(e.message).toContain('agents.a.image is too long (1000000 characters, at most 253)');
    const ctl = fail(`${BASE}agents:\n  "a\\e[31mred":\n    image: base\n`);
    expect(ctl.message).not.toMatch(/\u001b/);
  });

  it('long keys are previewed, not echoed', () => {
    const e = fail(`workspace: lab\n"${'k'.repeat(1000)}": 1\n`);
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).toMatch(/unknown key "k+… \(1000 chars\)" at the top level/);
    // YAML itself refuses implicit keys over 1024 characters; the message stays short too.
    const e2 = fail(`workspace: lab\n"${'k'.repeat(5000)}": 1\n`);
    expect(e2.message.length).toBeLessThan(250);
    expect(e2.message).toMatch(/^orchestration\.yml:2:1: YAML syntax error/);
  });
});

describe('cross-references and mounts', () => {
  const head = 'workspace: lab\nimages:\n  base: {ref: alpine}\nnetworks:\n  backplane:\nvolumes:\n  memory:\nagents:\n';

  it('networks and volumes must exist, with suggestions', () => {
    const e = fail(`${head}  a:\n    image: base\n    networks: [backplan]\n    volumes: ["memroy:/data"]\n`);
    expect(lines(e)).toEqual([
      '11:16: unknown network "backplan" in agents.a.networks[0]: not defined under networks (did you mean "backplane"?)',
      '12:15: unknown volume "memroy" in agents.a.volumes[0]: not defined under volumes (did you mean "memory"?)',
    ]);
  });

  it('an image written as a registry ref gets a hint', () => {
    const e = fail(`${head}  a:\n    image: "ghcr.io/x/y:1"\n`);
    expect(e.message).toMatch(/unknown image "ghcr\.io\/x\/y:1".*add it under images, e\.g\. \{ref: "ghcr\.io\/x\/y:1"\}/);
  });

  it.each([
    ['/var/run/docker.sock:/var/run/docker.sock', 'the Docker socket'],
    ['./dir:/x', 'a host path'],
    ['/home/me:/x', 'a host path'],
    ['~/x:/x', 'a host path'],
    ['/dev/sda:/x', 'a host device'],
  ])('refuses host mount %s', (spec, what) => {
    const e = fail(`${head}  a:\n    image: base\n    volumes: ["${spec}"]\n`);
    expect(lines(e)).toEqual([
      `11:15: agents.a.volumes[0] mounts ${what} (${JSON.stringify(spec)}): host paths, docker.sock and devices are not allowed; mount a named volume from \`volumes\` instead`,
    ]);
  });

  it('mount paths must be absolute, clean, not system paths, and not reused', () => {
    const e = fail(
      `${head}  a:\n    image: base\n    volumes: ["memory:data", "memory:/a/../b", "memory:/proc/x", "memory:/", "memory:/d:rx", "memory", "memory:/data", "memory:/data/:ro"]\n`,
    );
    expect(e.diagnostics.map((d) => d.message)).toEqual([
      'agents.a.volumes[0] mount path "data" must be absolute (start with /)',
      'agents.a.volumes[1] mount path "/a/../b" must not contain ".."',
      'agents.a.volumes[2] cannot mount a volume at "/proc/x": /proc is the kernel\'s; choose a path of your own (e.g. /data)',
      'agents.a.volumes[3] cannot mount a volume over "/"',
      'agents.a.volumes[4] has mode "rx"; use "ro" or "rw" (got "memory:/d:rx")',
      'agents.a.volumes[5] must look like "NAME:/path" or "NAME:/path:ro" (got "memory")',
      'agents.a.volumes[7] mounts a second volume at "/data" (see volumes[6])',
    ]);
  });

  it('duplicate list entries are reported once', () => {
    const e = fail(`${head}  a:\n    image: base\n    networks: [backplane, backplane]\n`);
    expect(lines(e)).toEqual(['11:27: duplicate entry "backplane" in agents.a.networks']);
  });

  it('depends_on: unknown, self and cycles (named)', () => {
    const e = fail(
      `${head}  a:\n    image: base\n    depends_on: [a, ghost]\n  b:\n    image: base\n    depends_on: [c]\n  c:\n    image: base\n    depends_on: [d]\n  d:\n    image: base\n    depends_on: [b]\n`,
    );
    expect(lines(e)).toEqual([
      '11:18: agent "a" depends on itself (agents.a.depends_on[0])',
      '11:21: unknown agent "ghost" in agents.a.depends_on[1]: not defined under agents (defined: a, b, c, d)',
      '20:18: dependency cycle: b -> c -> d -> b',
    ]);
  });

  it('duplicate host ports across agents, including wildcard binds', () => {
    const e = fail(
      `${head.replace('  backplane:\n', '  backplane:\n  out: {internal: false}\n')}  a:\n    image: base\n    networks: [out]\n    ports: ["18080:8080", "5353:53/udp"]\n  b:\n    image: base\n    networks: [out]\n    ports: [{container: 80, host: 18080}, {container: 53, host: 5353}]\n  c:\n    image: base\n    networks: [out]\n    ports: [{container: 53, host: 5353, protocol: udp, host_ip: 0.0.0.0}, {container: 1, host: 18080, host_ip: "::1"}]\n`,
    );
    expect(lines(e)).toEqual([
      '17:13: host port 127.0.0.1:18080/tcp in agents.b.ports[0] is already published by agents.a.ports[0]',
      '21:13: host port 0.0.0.0:5353/udp in agents.c.ports[0] is already published by agents.a.ports[1]',
    ]);
  });

  it('labels under io.orchestrix. are reserved', () => {
    const e = fail(`${head}  a:\n    image: base\n    labels: {io.orchestrix.workspace: other}\n`);
    expect(lines(e)).toEqual(['11:14: label "io.orchestrix.workspace" in agents.a.labels uses the reserved prefix "io.orchestrix."']);
  });
});

describe("orx's own mounts, Docker's networks, volume owners", () => {
  const head = 'workspace: lab\nimages:\n  base: {ref: alpine}\nnetworks:\n  backplane:\nvolumes:\n  memory:\nagents:\n';

  it('a volume cannot go where orx or the kernel mounts something', () => {
    const e = fail(
      `${head}  a:\n    image: base\n    volumes: ["memory:/run/secrets", "memory:/run/secrets/orx-token", "memory:/tmp", "memory:/tmp/cache", "memory:/dev/shm", "memory:/sys"]\n`,
    );
    const secrets = "/run/secrets holds orx's secrets and identity token (/run/secrets/orx-token); choose another path (e.g. /data)";
    const tmp = "/tmp holds the agent's tmpfs; choose another path (e.g. /data)";
    expect(lines(e)).toEqual([
      `11:15: agents.a.volumes[0] cannot mount a volume at "/run/secrets": ${secrets}`,
      `11:38: agents.a.volumes[1] cannot mount a volume at "/run/secrets/orx-token": ${secrets}`,
      `11:71: agents.a.volumes[2] cannot mount a volume at "/tmp": ${tmp}`,
      `11:86: agents.a.volumes[3] cannot mount a volume at "/tmp/cache": ${tmp}`,
      `11:107: agents.a.volumes[4] cannot mount a volume at "/dev/shm": /dev is the kernel's; choose a path of your own (e.g. /data)`,
      `11:126: agents.a.volumes[5] cannot mount a volume at "/sys": /sys is the kernel's; choose a path of your own (e.g. /data)`,
    ]);
    expect(e.message.split('\n')[0]).toMatch(/^orchestration\.yml:11:15: /);
  });

  it('paths that only look like them are fine', () => {
    expect(() =>
      parseConfig(`${head}  a:\n    image: base\n    volumes: ["memory:/run/secrets2", "memory:/tmpdata", "memory:/run/x"]\n`, WS),
    ).not.toThrow();
  });

  it("Docker's host, none and bridge are not workspace networks, and the error says what to write", () => {
    const e = fail(
      `workspace: lab\nimages:\n  base: {ref: alpine}\nnetworks:\n  host: {internal: false}\n  bridge:\nagents:\n  a:\n    image: base\n    networks: [none]\n  b:\n    image: base\n    networks: [host]\n`,
    );
    expect(lines(e)).toEqual([
      `5:3: networks.host: "host" is Docker's host network (the machine's own network stack, no isolation), never a workspace resource; give this network another name`,
      `6:3: networks.bridge: "bridge" is Docker's default bridge (shared with every container on the engine), never a workspace resource; give this network another name`,
      '10:16: agents.a.networks[0]: "none" is Docker\'s `none` network, never a workspace resource; for an agent with no network, leave its `networks` out (agents are on `none` by default)',
      '13:16: agents.b.networks[0]: "host" is Docker\'s host network (the machine\'s own network stack, no isolation), never a workspace resource; declare a network of this workspace under `networks` (e.g. `backplane: {internal: true}`, or `internal: false` for a route out) and list that',
    ]);
  });

  it('agents with different uids mounting one volume read-write need volumes.X.owner', () => {
    const agents = `  a:\n    image: base\n    user: "1000:1000"\n    volumes: ["memory:/data"]\n  b:\n    image: base\n    user: "2000"\n    volumes: ["memory:/state"]\n`;
    const e = fail(`${head}${agents}`);
    expect(lines(e)).toEqual([
      '16:15: agents.b.volumes[0]: volume "memory" is mounted read-write by agents.a (running as 1000:1000) and agents.b (running as 2000:2000); only one uid can own it: set volumes.memory.owner to the uid:gid that should (e.g. owner: "1000:1000"), or run them as one user',
    ]);
    // the owner settles it; a read-only mount, or a uid known only at apply, never conflicts
    expect(parseConfig(`${head.replace('  memory:\n', '  memory: {owner: "2000"}\n')}${agents}`, WS).volumes.memory.owner).toBe('2000');
    expect(() => parseConfig(`${head}${agents.replace('"memory:/state"', '"memory:/state:ro"')}`, WS)).not.toThrow();
    expect(() => parseConfig(`${head}${agents.replace('    user: "2000"\n', '')}`, WS)).not.toThrow();
  });

  it("a built image's Dockerfile USER counts, and no USER is root", () => {
    const e = fail(
      `workspace: lab\nimages:\n  built: {build: {context: ctx}}\nvolumes:\n  memory:\nagents:\n  a:\n    image: built\n    volumes: ["memory:/data"]\n  b:\n    image: built\n    user: "1000:1000"\n    volumes: ["memory:/data"]\n`,
    );
    expect(lines(e)[0]).toContain('agents.a (running as 0:0) and agents.b (running as 1000:1000)');
  });

  it('volumes.X.owner must be numeric', () => {
    const e = fail(`${head.replace('  memory:\n', '  memory: {owner: agent}\n')}`);
    expect(lines(e)).toEqual(['7:19: volumes.memory.owner must be a numeric uid or uid:gid (for example "1000:1000") (got "agent")']);
    expect(lines(fail(`${head.replace('  memory:\n', '  memory: {owner: "1000:4294967296"}\n')}`))).toEqual([
      '7:19: volumes.memory.owner "1000:4294967296": 4294967296 is larger than any uid or gid (at most 2147483647)',
    ]);
  });
});

describe('parseConfig input guard', () => {
  it('refuses text over 2 MiB before parsing', () => {
    const {value: e, ms} = cpuMs(() => fail(`workspace: lab\nx: "${'a'.repeat(2 * 1024 * 1024)}"\n`));
    expect(ms).toBeLessThan(200);
    expect(e.message).toMatch(/^orchestration\.yml: orchestration\.yml is too large \(\d+ bytes; at most 2097152 bytes, 2 MiB\)$/);
  });

  it('requires an absolute workspace directory', () => {
    expect(() => parseConfig('workspace: lab\n', 'relative/dir')).toThrow(/must be absolute/);
  });
});
