// What the rest of orx receives: every default filled in, every unit resolved.
import {waiverEnd, waiverInForce} from '../../src/config/waivers.js';
import {afterAll, describe, expect, it} from 'vitest';
import {mkdtempSync, mkdirSync, realpathSync, writeFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {parseConfig} from '../../src/config/load.js';
import type {AgentSpec} from '../../src/config/types.js';

const WS = mkdtempSync(join(tmpdir(), 'orx-config-norm-'));
mkdirSync(join(WS, 'ctx'));
writeFileSync(join(WS, 'ctx', 'Dockerfile'), 'FROM scratch\n');
afterAll(() => rmSync(WS, {recursive: true, force: true}));

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function agent(body: string): AgentSpec {
  const text = `workspace: lab\nimages:\n  base: {ref: alpine}\nnetworks:\n  net:\n  out: {internal: false}\nvolumes:\n  data:\nagents:\n  a:\n    image: base\n${body
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n')}\n`;
  return parseConfig(text, WS).agents.a;
}

describe('defaults', () => {
  it('a minimal file gets every default', () => {
    expect(parseConfig('workspace: lab\n', WS)).toEqual({
      workspace: 'lab',
      autonomy: 0,
      kill_switch: false,
      networks: {},
      volumes: {},
      images: {},
      agents: {},
      clusters: {},
      manifests: {},
      chaos: {allowed: false},
      dr: {destination: '.orx/backups', health_timeout_ms: 120_000, skip_special: false, max_volume_bytes: 20 * GiB},
      budgets: {},
      signing_key: null,
      signing_key_ref: null,
      secrets: {onepassword: {token: null, account: null}},
      waivers: [],
      egress_gateway: {image: 'ubuntu/squid:5.2-22.04_beta', uplinks: [], link_pool: '10.213.0.0/16'},
    });
  });

  it('budgets are read with their units', () => {
    const cfg = parseConfig(
      'workspace: lab\nbudgets: {agent: 90s, image: 15m}\nimages:\n  base: {ref: alpine}\nagents:\n  a:\n    image: base\n    budget: {time: 45s}\n',
      WS,
    );
    expect(cfg.budgets).toEqual({agent: 90_000, image: 900_000});
    expect(cfg.agents.a).toMatchObject({allow_root: null, budget_ms: 45_000});
  });

  it('allow_root is refused, saying how to write the waiver instead', () => {
    expect(() =>
      parseConfig(
        'workspace: lab\nimages:\n  base: {ref: alpine}\nagents:\n  a:\n    image: base\n    allow_root: {reason: "raw sockets"}\n',
        WS,
      ),
    ).toThrow(
      /orchestration\.yml:7:5: allow_root no longer lets an agent run as root: .*waivers: \[\{rule: deny-root-user, address: agent\.a, reason: "\.\.\.", expires: YYYY-MM-DD\}\]/,
    );
  });

  it('waivers: built-in rules at addresses the file defines, with a reason and a real date', () => {
    const base = 'workspace: lab\nimages:\n  base: {ref: alpine}\nagents:\n  a: {image: base, user: "0"}\nwaivers:\n';
    const cfg = parseConfig(
      `${base}  - {rule: deny-root-user, address: agent.a, reason: "vendor image", expires: 2027-01-31}\n  - {rule: quota-cpus, address: plan, reason: "burst week", expires: "2027-02-01"}\n`,
      WS,
    );
    expect(cfg.waivers).toEqual([
      {rule: 'deny-root-user', address: 'agent.a', reason: 'vendor image', expires: '2027-01-31'},
      {rule: 'quota-cpus', address: 'plan', reason: 'burst week', expires: '2027-02-01'},
    ]);
    // the agent is marked as expected to run as root (for review and Kubernetes' runAsNonRoot)
    expect(cfg.agents.a.allow_root).toEqual({reason: 'vendor image'});
    const err = (w: string) => () => parseConfig(`${base}  - ${w}\n`, WS);
    expect(err('{rule: deny-root-usr, address: agent.a, reason: r, expires: 2027-01-31}')).toThrow(
      /orchestration\.yml:7:12: waiver for "deny-root-usr": not a built-in rule \(did you mean "deny-root-user"\?\)/,
    );
    expect(err('{rule: my-own-rule, address: agent.a, reason: r, expires: 2027-01-31}')).toThrow(
      /a rule of your own in policies\/ is changed there/,
    );
    expect(err('{rule: deny-privileged, address: agent.b, reason: r, expires: 2027-01-31}')).toThrow(
      /agent\.b is not defined in this file \(did you mean "agent\.a"\?\)/,
    );
    expect(err('{rule: deny-privileged, address: agent.a, reason: "  ", expires: 2027-01-31}')).toThrow(/the reason must say why/);
    expect(err('{rule: deny-privileged, address: agent.a, reason: r, expires: 2027-02-30}')).toThrow(
      /expires must be a date like 2027-01-31/,
    );
    expect(err('{rule: deny-privileged, address: agent.a, reason: r}')).toThrow(/expires/);
    expect(() =>
      parseConfig(
        `${base}  - {rule: deny-privileged, address: agent.a, reason: r, expires: 2027-01-31}\n  - {rule: deny-privileged, address: agent.a, reason: s, expires: 2028-01-31}\n`,
        WS,
      ),
    ).toThrow(/a second waiver for deny-privileged at agent\.a/);
  });

  it('a waiver holds through the end of its day (UTC), and not a moment longer', () => {
    const w = {rule: 'deny-root-user', address: 'agent.a', reason: 'r', expires: '2027-01-31'};
    expect(waiverInForce(w, new Date('2027-01-31T23:59:59.999Z'))).toBe(true);
    expect(waiverInForce(w, new Date('2027-02-01T00:00:00.000Z'))).toBe(false);
    expect(waiverEnd('2027-13-01')).toBeNull();
    expect(waiverEnd('2028-02-29')?.toISOString()).toBe('2028-03-01T00:00:00.000Z');
    expect(waiverEnd('2027-02-29')).toBeNull();
  });

  it('a user id larger than any uid is refused (it could wrap around to 0)', () => {
    expect(() =>
      parseConfig('workspace: lab\nimages:\n  base: {ref: alpine}\nagents:\n  a: {image: base, user: "4294967296"}\n', WS),
    ).toThrow(/user "4294967296": 4294967296 is larger than any uid or gid/);
  });

  it('empty sections and empty network/volume entries mean defaults', () => {
    const cfg = parseConfig(
      'workspace: lab\nnetworks:\n  a:\n  b: {}\n  c: {internal: false, labels: {team: x}}\nvolumes:\n  v:\n  w: {backup: true}\nimages:\nagents:\n',
      WS,
    );
    expect(cfg.networks).toEqual({
      a: {internal: true, labels: {}},
      b: {internal: true, labels: {}},
      c: {internal: false, labels: {team: 'x'}},
    });
    expect(cfg.volumes).toEqual({
      v: {labels: {}, backup: false, quiesce: 'pause', owner: null},
      w: {labels: {}, backup: true, quiesce: 'pause', owner: null},
    });
    expect(cfg.images).toEqual({});
    expect(cfg.agents).toEqual({});
  });

  it('an agent with only an image', () => {
    expect(agent('')).toEqual({
      image: 'base',
      command: null,
      env: {},
      tier: 'basic',
      cpus: 1,
      memory_bytes: 2 * GiB,
      pids_limit: 256,
      networks: [],
      volumes: [],
      ports: [],
      health: null,
      user: null,
      allow_root: null,
      privileged: false,
      budget_ms: null,
      labels: {},
      depends_on: [],
      secrets: {},
      token: {ttl_ms: 3_600_000, scopes: [], audience: 'orchestrix'},
      update: {strategy: 'recreate', health_timeout_ms: 60_000, rollback_on: ['unhealthy', 'exit', 'timeout']},
      egress: {mode: 'none'},
      talks_to: [],
      target: 'docker',
      kube: null,
    });
  });

  it('top-level settings are kept', () => {
    const cfg = parseConfig('workspace: research-lab\nautonomy: 3\nkill_switch: true\ndr: {destination: /mnt/backups}\n', WS);
    expect(cfg).toMatchObject({workspace: 'research-lab', autonomy: 3, kill_switch: true, dr: {destination: '/mnt/backups'}});
    expect(parseConfig('workspace: w\ndr: {skip_special: true, max_volume_bytes: 512MiB}\n', WS).dr).toMatchObject({
      skip_special: true,
      max_volume_bytes: 512 * 1024 * 1024,
    });
    expect(parseConfig('workspace: w\ndr: {max_volume_bytes: 1073741824}\n', WS).dr.max_volume_bytes).toBe(GiB);
  });
});

describe('tiers and resources', () => {
  it.each([
    ['basic', 1, 2 * GiB, 256],
    ['pro', 4, 8 * GiB, 1024],
    ['enterprise', 16, 32 * GiB, 4096],
  ])('tier %s', (tier, cpus, memory, pids) => {
    expect(agent(`tier: ${tier}`)).toMatchObject({tier, cpus, memory_bytes: memory, pids_limit: pids});
  });

  it('resources override the tier one field at a time', () => {
    expect(agent('tier: pro\nresources: {cpus: 0.5}')).toMatchObject({tier: 'pro', cpus: 0.5, memory_bytes: 8 * GiB, pids_limit: 1024});
    expect(agent('tier: pro\nresources: {memory: 512m}')).toMatchObject({cpus: 4, memory_bytes: 512 * MiB, pids_limit: 1024});
    expect(agent('resources: {pids: 64}')).toMatchObject({cpus: 1, memory_bytes: 2 * GiB, pids_limit: 64});
    expect(agent('tier: enterprise\nresources: {cpus: 2, memory: 3g, pids: 100}')).toMatchObject({
      tier: 'enterprise',
      cpus: 2,
      memory_bytes: 3 * GiB,
      pids_limit: 100,
    });
  });

  it.each([
    ['2GiB', 2 * GiB],
    ['2gib', 2 * GiB],
    ['2GB', 2 * GiB],
    ['2g', 2 * GiB],
    ['2G', 2 * GiB],
    ['512m', 512 * MiB],
    ['512MiB', 512 * MiB],
    ['1.5g', 1.5 * GiB],
    ['8192k', 8 * MiB],
    ['1t', 1024 * GiB],
    ['7340032b', 7 * MiB],
    ['7340032', 7 * MiB],
    [1073741824, GiB],
  ])('memory %s', (mem, bytes) => {
    expect(agent(`resources: {memory: ${typeof mem === 'string' ? `"${mem}"` : mem}}`).memory_bytes).toBe(bytes);
  });
});

describe('health', () => {
  it('http check with defaults', () => {
    expect(agent('health: {http: {port: 8080}}').health).toEqual({
      test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'],
      interval_ms: 10_000,
      timeout_ms: 5_000,
      retries: 3,
      start_period_ms: 0,
    });
  });

  it('http path and timings', () => {
    expect(
      agent('health: {http: {port: 8080, path: /healthz}, interval: 5s, timeout: 500ms, start_period: 1m, retries: 5}').health,
    ).toEqual({
      test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/healthz'],
      interval_ms: 5000,
      timeout_ms: 500,
      retries: 5,
      start_period_ms: 60_000,
    });
  });

  it('cmd and shell forms, compound durations', () => {
    expect(agent('health: {cmd: [/bin/check, --quick], interval: 1m30s}').health).toMatchObject({
      test: ['CMD', '/bin/check', '--quick'],
      interval_ms: 90_000,
    });
    expect(agent('health: {shell: "test -f /tmp/ready", start_period: 2h}').health).toMatchObject({
      test: ['CMD-SHELL', 'test -f /tmp/ready'],
      start_period_ms: 7_200_000,
    });
  });
});

describe('ports, env, command, volumes, the rest', () => {
  it('ports in both forms, loopback by default', () => {
    expect(
      agent(
        'networks: [out]\nports: ["18080:8080", "5353:53/udp", "9000:9000/tcp", {container: 80, host: 8080}, {container: 53, host: 53, host_ip: 0.0.0.0, protocol: udp}, {container: 1, host: 2, host_ip: "::1"}]',
      ).ports,
    ).toEqual([
      {container: 8080, host: 18080, host_ip: '127.0.0.1', protocol: 'tcp'},
      {container: 53, host: 5353, host_ip: '127.0.0.1', protocol: 'udp'},
      {container: 9000, host: 9000, host_ip: '127.0.0.1', protocol: 'tcp'},
      {container: 80, host: 8080, host_ip: '127.0.0.1', protocol: 'tcp'},
      {container: 53, host: 53, host_ip: '0.0.0.0', protocol: 'udp'},
      {container: 1, host: 2, host_ip: '::1', protocol: 'tcp'},
    ]);
  });

  it('the same host port over tcp and udp, or on different addresses, is fine', () => {
    expect(agent('networks: [out]\nports: ["53:53", "53:53/udp", {container: 53, host: 53, host_ip: 10.0.0.1}]').ports).toHaveLength(3);
  });

  it('ports need a network with a route out: none and internal networks publish nothing', () => {
    expect(() => agent('ports: ["18080:8080"]')).toThrow(/publishes ports but is on no network with `internal: false`/);
    expect(() => agent('networks: [net]\nports: ["18080:8080"]')).toThrow(/orchestration.yml:\d+:\d+: agent "a" publishes ports/);
  });

  it('env values become strings; YAML 1.2 keeps yes/no as text', () => {
    expect(agent('env: {LOG_LEVEL: info, WORKERS: 4, RATIO: 0.5, DEBUG: true, ANSWER: yes, EMPTY: "", _X: "007"}').env).toEqual({
      LOG_LEVEL: 'info',
      WORKERS: '4',
      RATIO: '0.5',
      DEBUG: 'true',
      ANSWER: 'yes',
      EMPTY: '',
      _X: '007',
    });
  });

  it('command: a string runs through /bin/sh -c, a list is used as is', () => {
    expect(agent('command: "echo hi && sleep 1"').command).toEqual(['/bin/sh', '-c', 'echo hi && sleep 1']);
    expect(agent('command: ["/bin/agent", "--serve"]').command).toEqual(['/bin/agent', '--serve']);
  });

  it('volumes, networks, user, labels, depends_on', () => {
    const cfg = parseConfig(
      'workspace: lab\nimages:\n  base: {ref: "ghcr.io/example/tools:1.4@sha256:' +
        'a'.repeat(64) +
        '"}\nnetworks:\n  net:\n  out: {internal: false}\nvolumes:\n  data:\n  cache:\nagents:\n  a:\n    image: base\n    networks: [net]\n    volumes: ["data:/data", "cache:/var/cache/:ro", "data:/srv/x:rw"]\n    user: "1000:1000"\n    labels: {com.example/team: research}\n    depends_on: [b]\n  b:\n    image: base\n    user: agent\n',
      WS,
    );
    expect(cfg.images.base).toEqual({ref: `ghcr.io/example/tools:1.4@sha256:${'a'.repeat(64)}`});
    expect(cfg.agents.a).toMatchObject({
      networks: ['net'],
      volumes: [
        {volume: 'data', path: '/data', read_only: false},
        {volume: 'cache', path: '/var/cache', read_only: true},
        {volume: 'data', path: '/srv/x', read_only: false},
      ],
      user: '1000:1000',
      labels: {'com.example/team': 'research'},
      depends_on: ['b'],
    });
    expect(cfg.agents.b.user).toBe('agent');
  });

  it('build images resolve their context and default the Dockerfile', () => {
    const cfg = parseConfig(
      'workspace: lab\nimages:\n  x: {build: {context: ctx, args: {VERSION: "1.10"}}}\n  y: {build: {context: ./ctx/, dockerfile: Dockerfile}}\n',
      WS,
    );
    expect(cfg.images.x).toEqual({
      build: {context: 'ctx', context_path: join(realpathSync(WS), 'ctx'), dockerfile: 'Dockerfile', args: {VERSION: '1.10'}},
    });
    expect(cfg.images.y.build!.context_path).toBe(join(realpathSync(WS), 'ctx'));
  });

  it('ref images carry their verify key as an absolute path', () => {
    expect(
      parseConfig('workspace: lab\nimages:\n  t: {ref: "ghcr.io/example/tools:1.4", verify: {key: keys/cosign.pub}}\n', WS).images.t,
    ).toEqual({
      ref: 'ghcr.io/example/tools:1.4',
      verify_key: join(WS, 'keys/cosign.pub'),
    });
  });

  it('signing.key is a file path; secret references are refused for now', () => {
    expect(parseConfig('workspace: lab\nsigning: {key: keys/ci.key}\n', WS).signing_key).toBe(join(WS, 'keys/ci.key'));
    const byRef = parseConfig('workspace: lab\nsigning: {key: "op://vault/item/key"}\n', WS);
    expect([byRef.signing_key, byRef.signing_key_ref]).toEqual([null, 'op://vault/item/key']);
    expect(() => parseConfig('workspace: lab\nsigning: {key: "vault://x/y"}\n', WS)).toThrow(
      /not a key file path, and not a secret reference orx knows/,
    );
  });

  it('keys that name Object.prototype members stay plain data', () => {
    const cfg = parseConfig(
      'workspace: lab\nimages:\n  constructor: {build: {context: ctx, args: {__proto__: "1"}}}\nagents:\n  constructor:\n    image: constructor\n    env: {__proto__: x, constructor: y, toString: z}\n  tostring:\n    image: constructor\n    depends_on: [constructor]\n',
      WS,
    );
    expect(Object.keys(cfg.agents)).toEqual(['constructor', 'tostring']);
    expect(Object.getPrototypeOf(cfg.agents)).toBe(Object.prototype);
    const ctor: string = 'constructor';
    const env = cfg.agents[ctor].env;
    expect(Object.keys(env)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(env, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(env)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(cfg.images[ctor].build!.args, '__proto__')?.value).toBe('1');
  });

  it('a diamond of dependencies is not a cycle', () => {
    const cfg = parseConfig(
      'workspace: lab\nimages:\n  i: {ref: alpine}\nagents:\n  a: {image: i, depends_on: [b, c]}\n  b: {image: i, depends_on: [d]}\n  c: {image: i, depends_on: [d]}\n  d: {image: i}\n',
      WS,
    );
    expect(cfg.agents.a.depends_on).toEqual(['b', 'c']);
  });
});

describe('secrets and identity tokens', () => {
  it('keeps references, defaults the token, and reads the 1Password settings', () => {
    const a = agent(
      'secrets:\n  OPENAI_API_KEY: op://Private/openai/credential\n  DB_PASSWORD: env://DB_PASSWORD\n  TLS_KEY: file://certs/agent.key\ntoken: {ttl: 15m, scopes: [memory:read]}',
    );
    expect(a.secrets).toEqual({
      OPENAI_API_KEY: 'op://Private/openai/credential',
      DB_PASSWORD: 'env://DB_PASSWORD',
      TLS_KEY: 'file://certs/agent.key',
    });
    expect(a.token).toEqual({ttl_ms: 15 * 60_000, scopes: ['memory:read'], audience: 'orchestrix'});
    expect(agent('tier: pro').token).toEqual({ttl_ms: 3_600_000, scopes: [], audience: 'orchestrix'});
    expect(parseConfig('workspace: lab\nsecrets: {onepassword: {account: my.1password.com}}\n', WS).secrets).toEqual({
      onepassword: {token: null, account: 'my.1password.com'},
    });
  });

  it('a literal value is refused naming the key, never the value; so is a literal 1Password token', () => {
    const literal = 'sk-live-0123456789abcdef';
    for (const text of [
      `workspace: lab\nimages:\n  base: {ref: alpine}\nagents:\n  a:\n    image: base\n    secrets: {API_KEY: ${literal}}\n`,
      `workspace: lab\nsecrets: {onepassword: {token: ${literal}}}\n`,
      `workspace: lab\nimages:\n  base: {ref: alpine}\nagents:\n  a:\n    image: base\n    secrets: {API_KEY: 12345678}\n`,
    ]) {
      let message = '';
      try {
        parseConfig(text, WS);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(
        /orchestration\.yml:\d+:\d+: (agents\.a\.secrets\.API_KEY is a literal value|secrets\.onepassword\.token must say where)/,
      );
      expect(message).not.toContain(literal);
      expect(message).not.toContain('12345678');
    }
  });

  it('refuses reserved or unusable secret names, unknown schemes, and a bad token lifetime', () => {
    const fails = (body: string, re: RegExp) => expect(() => agent(body)).toThrow(re);
    fails('secrets: {orx-token: env://X}', /orx-token/);
    fails('secrets: {K: "vault://a/b"}', /"vault:\/\/" is not a secret provider orx knows/);
    fails('token: {ttl: 0s}', /must be between 1s and 720h/);
  });
});
