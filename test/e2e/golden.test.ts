import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx, orxApproved} from '../helpers/cli.js';
import {BASE_YAML, docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('e2e');
});
afterEach(async () => {
  await ws.cleanup();
});

describe('the CLI golden path', () => {
  it('plan -out, apply FILE, then plan --detailed-exitcode is 0', {timeout: 180_000}, async () => {
    ws.write(BASE_YAML);
    const p = await orx(['plan', '-out', 'plans/first.plan.json'], {cwd: ws.dir});
    // the first saved plan makes the workspace's signing key; nothing else goes to stderr
    expect(p.stderr.trim()).toMatch(/^created the workspace signing key sha256:[0-9a-f]{64} in \.orx\/keys\/ \(orx keys show\)$/);
    expect(p.code).toBe(0);
    const saved = JSON.parse(fs.readFileSync(path.join(ws.dir, 'plans/first.plan.json'), 'utf8'));
    expect(saved.signature).toMatchObject({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {publicKey: {hint: expect.any(String)}},
    });
    expect(p.stdout).toContain('+ agent.alpha');
    expect(p.stdout).toContain('Plan: 4 to add, 0 to change, 0 to replace, 0 to destroy.');
    expect(fs.existsSync(path.join(ws.dir, 'plans/first.plan.json'))).toBe(true);

    const changes = await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir});
    expect(changes.code).toBe(2);

    const shown = await orx(['show', 'plans/first.plan.json', '--json'], {cwd: ws.dir});
    expect(JSON.parse(shown.stdout).plan.summary).toEqual({create: 4, update: 0, replace: 0, delete: 0});

    const a = await orx(['apply', 'plans/first.plan.json'], {cwd: ws.dir});
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('Apply complete! Resources: 4 added');
    // no TTY: one plain line per finished step on stderr
    expect(
      a.stderr
        .trim()
        .split('\n')
        .filter((l) => /: create succeeded/.test(l)),
    ).toHaveLength(4);

    const again = await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir});
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('No changes.');

    const list = await orx(['state', 'list', '--json'], {cwd: ws.dir});
    const parsed = JSON.parse(list.stdout);
    expect(parsed.formatVersion).toBe('1');
    expect(parsed.resources.map((r: {address: string}) => r.address)).toEqual([
      'agent.alpha',
      'image.base',
      'network.backplane',
      'volume.memory',
    ]);

    const runs = JSON.parse((await orx(['runs', '--json'], {cwd: ws.dir})).stdout).runs;
    // newest first: the apply of the saved plan, then the PLAN run that saved it
    expect(runs.map((r: {mode: string}) => r.mode)).toEqual(['APPLY', 'PLAN']);
    expect(runs[0]).toMatchObject({status: 'succeeded', plan_id: runs[1].plan_id, plan_digest: runs[1].plan_digest});
    const run = JSON.parse((await orx(['runs', runs[0].id, '--json'], {cwd: ws.dir})).stdout);
    expect(run.steps.map((s: {status: string}) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const events = JSON.parse((await orx(['events', '--run', runs[0].id, '--json'], {cwd: ws.dir})).stdout).events;
    expect(events.length).toBeGreaterThanOrEqual(4);

    // deletes always need a human (the built-in approve-destroy): approved, then applied with JSON logs
    const logs = await orxApproved('destroy', {cwd: ws.dir}, ['--log-format', 'json']);
    expect(logs.code, logs.stderr).toBe(0);
    const jsonLines = logs.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const stepLines = jsonLines.filter((l) => l.address);
    expect(stepLines.map((l) => l.address).sort()).toEqual(['agent.alpha', 'image.base', 'network.backplane', 'volume.memory']);
    expect(stepLines.every((l) => l.level === 'info' && l.status === 'succeeded' && l.action === 'delete' && /^run-/.test(l.run_id))).toBe(
      true,
    );
    expect(await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})).toHaveLength(0);
  });

  it('refuses a stale plan with exit 5: config changed, or the state moved', async () => {
    ws.write(BASE_YAML);
    expect((await orx(['plan', '-out', 'plans/a.json'], {cwd: ws.dir})).code).toBe(0);
    expect((await orx(['plan', '-out', 'plans/b.json'], {cwd: ws.dir})).code).toBe(0);
    ws.write(BASE_YAML.replace('LOG_LEVEL: info', 'LOG_LEVEL: warn'));
    const changed = await orx(['apply', 'plans/a.json'], {cwd: ws.dir});
    expect(changed.code).toBe(5);
    expect(changed.stderr).toMatch(/stale: orchestration.yml or a build context changed/);
    ws.write(BASE_YAML);
    expect((await orx(['apply', 'plans/b.json'], {cwd: ws.dir})).code).toBe(0);
    const moved = await orx(['apply', 'plans/a.json', '--json'], {cwd: ws.dir});
    expect(moved.code).toBe(5);
    expect(JSON.parse(moved.stdout).error).toMatchObject({code: 'plan_stale', status: 5});
    const tampered = path.join(ws.dir, 'plans/t.json');
    fs.writeFileSync(tampered, '{"formatVersion": "1", "steps": "nope"');
    expect((await orx(['apply', 'plans/t.json'], {cwd: ws.dir})).code).toBe(5);
  });

  it('never prompts without a TTY: exit 3 and nothing created', async () => {
    ws.write(BASE_YAML);
    const r = await orx(['apply'], {cwd: ws.dir});
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--auto-approve/);
    expect(await docker.listNetworks({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})).toHaveLength(0);
    const env = await orx(['apply'], {cwd: ws.dir, env: {ORX_AUTO_APPROVE: '1', ORX_PARALLELISM: '2'}});
    expect(env.code, env.stderr).toBe(0);
  });

  it('says which engine it could not reach, in one line, exit 1', async () => {
    ws.write(BASE_YAML);
    const r = await orx(['plan'], {cwd: ws.dir, env: {DOCKER_HOST: 'unix:///nonexistent/docker.sock'}});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Cannot reach the Docker engine at DOCKER_HOST=unix:\/\/\/nonexistent\/docker.sock/);
    expect(noStack(r.stderr)).toBe(true);
  });

  it('init scaffolds a workspace that validates; schema prints JSON Schemas', async () => {
    const target = path.join(ws.dir, 'fresh');
    const r = await orx(['init', 'fresh'], {cwd: ws.dir});
    expect(r.code, r.stderr).toBe(0);
    const yml = fs.readFileSync(path.join(target, 'orchestration.yml'), 'utf8');
    expect(yml).toMatch(/^# yaml-language-server: \$schema=.*orchestration\.schema\.json/);
    expect(fs.readFileSync(path.join(target, '.gitignore'), 'utf8')).toContain('.orx/');
    expect(fs.existsSync(path.join(target, 'policies'))).toBe(true);
    expect(fs.existsSync(path.join(target, 'plans'))).toBe(true);
    const v = await orx(['validate'], {cwd: target});
    expect(v.code, v.stderr).toBe(0);
    // the scaffolded image is registry-free: the host's static busybox was copied in
    expect(fs.statSync(path.join(target, 'templates/images/agent-base/busybox')).mode & 0o111).toBeTruthy();
    const p = await orx(['plan', '--json'], {cwd: target});
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).summary).toEqual({create: 4, update: 0, replace: 0, delete: 0});
    expect((await orx(['init', 'fresh'], {cwd: ws.dir})).code).toBe(1);
    for (const which of ['config', 'plan']) {
      const s = await orx(['schema', which], {cwd: ws.dir});
      expect(JSON.parse(s.stdout).$schema).toMatch(/json-schema.org/);
    }
  });
});
