// The kill switch and the state commands in-process (src/app/halt.ts, resume.ts, state-ops.ts)
// against a real agent on the real engine: halt stops it and revokes its identity, resume
// plans it back, `state rm` forgets without deleting and `import` binds objects back.
import {spawn} from 'node:child_process';
import os from 'node:os';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {applyReviewed} from '../../src/app/apply.js';
import {haltNow} from '../../src/app/halt.js';
import {planForApply} from '../../src/app/plan.js';
import {resumeAfterHalt} from '../../src/app/resume.js';
import {agentAttrsFromInspect, importIntoState, removeFromState} from '../../src/app/state-ops.js';
import type {PlanDocument} from '../../src/engine/planfile.js';
import {haltState} from '../../src/ledger/halt.js';
import {listTokens} from '../../src/ledger/tokens.js';
import {context, withLedger} from '../helpers/engine.js';
import {BASE_YAML, docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {recordingIO} from '../helpers/app-io.js';
import {caughtAsync} from '../helpers/errors.js';

let ws: TestWorkspace;

async function applyDoc(doc: PlanDocument) {
  const out = await applyReviewed(
    context(ws.dir),
    {doc, fromFile: false, autoApprove: true, parallelism: 4, autonomy: doc.autonomy},
    recordingIO(),
  );
  expect(out.result.steps.filter((s) => s.status !== 'succeeded')).toEqual([]);
  return out;
}

const rec = (address: string) => withLedger(ws.dir, (l) => l.getResource(address));
const running = async (id: string) => (await docker.getContainer(id).inspect()).State.Running;

beforeAll(async () => {
  ws = makeWorkspace('app-halt');
  ws.write(BASE_YAML);
  await applyDoc(await planForApply(context(ws.dir), {mode: 'apply', refresh: true, targets: [], replace: []}));
}, 120_000);
afterAll(async () => {
  await ws?.cleanup();
});

describe('halt and resume', () => {
  it('refuses to resume a workspace that is not halted', async () => {
    const err = await caughtAsync(resumeAfterHalt(context(ws.dir), {reason: 'nothing'}));
    expect(err.code).toBe('not_halted');
  });

  it('stops the running agent, revokes its token, nudges a running apply, and resume starts it again', async () => {
    const agent = rec('agent.alpha')!;
    expect(await running(agent.object_id!)).toBe(true);
    expect(withLedger(ws.dir, (l) => listTokens(l, {address: 'agent.alpha', live: true})).length).toBe(1);

    // an apply of another process holds the lock: it is told (SIGUSR2) and waited for, briefly
    const other = spawn('sleep', ['30'], {stdio: 'ignore'});
    const lock = withLedger(ws.dir, (l) => l.acquireLock({pid: other.pid!, host: os.hostname(), command: 'orx apply (other)'}));
    const exited = new Promise<NodeJS.Signals | null>((r) => other.on('exit', (_code, sig) => r(sig)));
    let halted;
    try {
      halted = await haltNow(context(ws.dir), {reason: 'incident 42', waitMs: 300});
    } finally {
      withLedger(ws.dir, (l) => l.releaseLock(lock.id));
      other.kill();
    }
    expect(await exited).toBe('SIGUSR2');
    expect(halted.interrupted_apply).toEqual({pid: other.pid, command: 'orx apply (other)'});
    expect(halted.state).toMatchObject({by: 'test', reason: 'incident 42'});
    expect(halted.state.stopped).toEqual([{address: 'agent.alpha', object_id: agent.object_id}]);
    expect(halted.failures).toEqual([]);
    expect(halted.tokens_revoked).toBe(1);
    expect(halted.secrets_removed).toBe(1);
    expect(await running(agent.object_id!)).toBe(false);
    expect(withLedger(ws.dir, (l) => haltState(l)?.reason)).toBe('incident 42');
    expect(withLedger(ws.dir, (l) => listTokens(l, {address: 'agent.alpha', live: true}))).toEqual([]);

    // while halted, applies are refused
    const refused = await caughtAsync(
      planForApply(context(ws.dir), {mode: 'apply', refresh: true, targets: [], replace: []}).then(applyDoc),
    );
    expect(refused.code).toMatch(/halt/);

    const resumed = await resumeAfterHalt(context(ws.dir), {reason: 'fixed'});
    expect(resumed.resumed.reason).toBe('incident 42');
    expect(resumed.targets).toEqual(['agent.alpha']);
    expect(resumed.doc?.targets).toEqual(['agent.alpha']);
    expect(withLedger(ws.dir, (l) => haltState(l))).toBeNull();
    await applyDoc(resumed.doc!);
    const after = rec('agent.alpha')!;
    expect(await running(after.object_id!)).toBe(true);
    expect(withLedger(ws.dir, (l) => listTokens(l, {address: 'agent.alpha', live: true})).length).toBe(1);
  }, 120_000);

  it('a halt with nothing running stops nothing, and resume has nothing to plan', async () => {
    const agent = rec('agent.alpha')!;
    await docker.getContainer(agent.object_id!).stop({t: 1});
    const halted = await haltNow(context(ws.dir), {reason: 'quiet'});
    expect(halted.state.stopped).toEqual([]);
    expect(halted.interrupted_apply).toBeNull();
    const resumed = await resumeAfterHalt(context(ws.dir), {reason: 'done'});
    expect(resumed).toMatchObject({targets: [], doc: null});
    // the next plan starts it again (its secrets afresh)
    await applyDoc(await planForApply(context(ws.dir), {mode: 'apply', refresh: true, targets: [], replace: []}));
    expect(await running(rec('agent.alpha')!.object_id!)).toBe(true);
  }, 120_000);
});

describe('state rm and import', () => {
  it('forgets a volume without deleting it, and imports it back under its address', async () => {
    const ctx = context(ws.dir);
    const before = rec('volume.memory')!;
    const forgotten = await removeFromState(ctx, 'volume.memory');
    expect(forgotten.object_id).toBe(before.object_id);
    expect(rec('volume.memory')).toBeUndefined();
    expect((await docker.getVolume(before.object_id!).inspect()).Name).toBe(before.object_id);
    expect((await caughtAsync(removeFromState(ctx, 'volume.memory'))).code).toBe('not_found');

    const imported = await importIntoState(ctx, 'volume.memory', before.object_id!);
    expect(imported).toMatchObject({address: 'volume.memory', kind: 'volume', object_id: before.object_id});
    expect(imported.attributes).toMatchObject({name: before.object_id, backup: true, labels: {}});
    expect((await caughtAsync(importIntoState(ctx, 'volume.memory', before.object_id!))).code).toBe('already_managed');
  });

  it('imports a network and the agent container back, in orx terms', async () => {
    const ctx = context(ws.dir);
    const net = rec('network.backplane')!;
    await removeFromState(ctx, 'network.backplane');
    const n = await importIntoState(ctx, 'network.backplane', `orx-${ws.name}-backplane`);
    expect(n.object_id).toBe(net.object_id);
    expect(n.attributes).toMatchObject({name: `orx-${ws.name}-backplane`, internal: true});

    const agent = rec('agent.alpha')!;
    await removeFromState(ctx, 'agent.alpha');
    const a = await importIntoState(ctx, 'agent.alpha', agent.object_id!);
    expect(a.object_id).toBe(agent.object_id);
    expect(a.attributes).toMatchObject({
      image: 'base',
      cpus: 0.5,
      memory_bytes: 128 * 1024 * 1024,
      networks: [`orx-${ws.name}-backplane`],
      mounts: [{source: `orx-${ws.name}-memory`, target: '/data', read_only: false}],
      hardening: {read_only_rootfs: true, cap_drop: ['ALL'], no_new_privileges: true, privileged: false, tmpfs: '/tmp'},
      running: true,
    });
    expect((a.attributes.env as Record<string, string>).LOG_LEVEL).toBe('info');
    expect(a.attributes.config_hash).toMatch(/\S/);
  });

  it('refuses what cannot be imported, naming why', async () => {
    const ctx = context(ws.dir);
    expect((await caughtAsync(importIntoState(ctx, 'nonsense', 'x'))).code).toBe('bad_address');
    expect((await caughtAsync(importIntoState(ctx, 'cluster.lab', 'x'))).message).toContain(
      'a kind cluster orx did not create is never adopted',
    );
    expect((await caughtAsync(importIntoState(ctx, 'manifests.app', 'x'))).message).toContain('manifests are applied from their files');
    expect((await caughtAsync(importIntoState(ctx, 'volume.other', 'x'))).code).toBe('not_in_config');
    expect((await caughtAsync(importIntoState(ctx, 'agent.beta', 'x'))).actions[0]).toContain('agents.beta');
    expect((await caughtAsync(importIntoState(ctx, 'image.base', 'x'))).message).toContain('only `ref` images can be imported');

    await removeFromState(ctx, 'volume.memory');
    try {
      expect((await caughtAsync(importIntoState(ctx, 'volume.memory', `orx-${ws.name}-no-such-volume`))).code).toBe('not_found');
      const foreign = `orx-${ws.name}-foreign`;
      await docker.createVolume({Name: foreign, Labels: {'io.orchestrix.workspace': `${ws.name}-other`}});
      try {
        const err = await caughtAsync(importIntoState(ctx, 'volume.memory', foreign));
        expect(err.code).toBe('import_refused');
        expect(err.message).toContain(`belongs to workspace "${ws.name}-other"`);
      } finally {
        await docker.getVolume(foreign).remove();
      }
    } finally {
      await importIntoState(ctx, 'volume.memory', `orx-${ws.name}-memory`);
    }
    await removeFromState(ctx, 'network.backplane');
    try {
      const err = await caughtAsync(importIntoState(ctx, 'network.backplane', 'host'));
      expect(err.code).toBe('import_refused');
      expect(err.actions[0]).toContain('orx creates network.backplane');
    } finally {
      await importIntoState(ctx, 'network.backplane', `orx-${ws.name}-backplane`);
    }
  });

  it('imports a ref image by id', async () => {
    const image = rec('image.base')!;
    const tag = (await docker.getImage(image.object_id!).inspect()).RepoTags[0];
    ws.write(BASE_YAML.replace('images:\n', `images:\n  snap: {ref: "${tag}"}\n`));
    try {
      const got = await importIntoState(context(ws.dir), 'image.snap', image.object_id!);
      expect(got.attributes).toEqual({source: 'ref', ref: tag, id: image.object_id});
    } finally {
      ws.write(BASE_YAML);
    }
  });
});

describe('agentAttrsFromInspect', () => {
  it('reads ports, health checks, seccomp and a missing config the way a plan compares them', () => {
    const attrs = agentAttrsFromInspect(
      {
        Name: '/hand-made',
        Config: {
          Image: 'busybox',
          Cmd: null,
          Env: ['A=1=2', 'B='],
          User: '',
          Labels: {'io.orchestrix.workspace': 'w', team: 'red'},
          Healthcheck: {Test: ['CMD', 'true'], Interval: 2e9, Timeout: 1e9, Retries: 3, StartPeriod: 0},
        },
        HostConfig: {
          PortBindings: {'8080/tcp': [{HostIp: '', HostPort: '18080'}], '53/udp': [{HostIp: '127.0.0.1', HostPort: '5353'}]},
          SecurityOpt: ['seccomp=unconfined'],
        },
        NetworkSettings: {Networks: {none: {}, lab: {}}},
        Mounts: [{Type: 'bind', Source: '/x', Destination: '/y', RW: true}],
        State: {Running: false},
      } as never,
      'img',
    );
    expect(attrs).toMatchObject({
      name: 'hand-made',
      image: 'img',
      image_ref: 'busybox',
      command: null,
      env: {A: '1=2', B: ''},
      user: null,
      cpus: 0,
      memory_bytes: 0,
      networks: ['lab'],
      mounts: [],
      ports: [
        {container: 8080, host: 18080, host_ip: '0.0.0.0', protocol: 'tcp'},
        {container: 53, host: 5353, host_ip: '127.0.0.1', protocol: 'udp'},
      ],
      health: {test: ['CMD', 'true'], interval_ms: 2000, timeout_ms: 1000, retries: 3, start_period_ms: 0},
      labels: {team: 'red'},
      hardening: {seccomp: 'unconfined', no_new_privileges: false, tmpfs: '', cap_drop: []},
      running: false,
    });
  });
});
