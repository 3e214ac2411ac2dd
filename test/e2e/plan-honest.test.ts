// A short, honest plan through the built CLI against the real engine and ledger: attributes in
// the units the user wrote, hardening in one line, what will need a human said at plan time,
// readiness only where it is knowledge, a stale plan refused before any of it is printed, and
// hints that name a command that can pass.
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {orx} from '../helpers/cli.js';
import {BASE_YAML, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('honest');
});
afterEach(async () => {
  await ws.cleanup();
});

const run = (args: string[]) => orx(args, {cwd: ws.dir});

describe('a short, honest plan', () => {
  it('lists what the user set, in their units, hardening as one line, nested values as YAML', {timeout: 120_000}, async () => {
    ws.write(BASE_YAML);
    const p = await run(['plan']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/^ {6}\+ memory += "128m"$/m);
    expect(p.stdout).toMatch(/^ {8}hardening: defaults$/m);
    expect(p.stdout).toMatch(/^ {6}\+ env:\n {10}LOG_LEVEL: info$/m);
    for (const hidden of ['memory_bytes', 'secrets_mount', 'token', 'labels', 'allow_root', 'image_ref', 'config_hash', 'read_only_rootfs'])
      expect(p.stdout, hidden).not.toContain(hidden);

    expect((await run(['apply', '--auto-approve'])).code).toBe(0);
    ws.write(BASE_YAML.replace('memory: 128m', 'memory: 256m, pids: 512'));
    const u = await run(['plan']);
    expect(u.stdout).toMatch(/^ {6}~ memory += "128m" -> "256m"$/m);
    expect(u.stdout).toMatch(/~ pids_limit += 256 -> 512$/m);
    expect(u.stdout).not.toContain('134217728');
    // a change that forces a new container still says so
    ws.write(BASE_YAML.replace('LOG_LEVEL: info', 'LOG_LEVEL: debug'));
    expect((await run(['plan'])).stdout).toMatch(/~ env\.LOG_LEVEL += "info" -> "debug" # forces replacement$/m);
  });

  it('says at plan time which steps autonomy will stop at for a human, and why', {timeout: 60_000}, async () => {
    ws.write(BASE_YAML.replace('autonomy: 3', 'autonomy: 1'));
    const p = await run(['plan']);
    expect(p.code, p.stderr).toBe(0);
    const agent = p.stdout.slice(p.stdout.indexOf('# agent.alpha'));
    expect(agent).toMatch(/^ {4}\? needs approval: autonomy 1 \(DEPLOY\)$/m);
    // creating a network is WRITE: autonomy 1 lets it through
    const network = p.stdout.slice(p.stdout.indexOf('# network.backplane'), p.stdout.indexOf('# volume.memory'));
    expect(network).not.toContain('needs approval');
    // the same, for scripts: each step apply will stop at, and why
    const j = JSON.parse((await run(['plan', '--json'])).stdout) as {approvals_needed: {address: string; why: string[]}[]};
    expect(j.approvals_needed.map((n) => n.address)).toEqual(['agent.alpha']);
    expect(j.approvals_needed[0].why).toEqual(['autonomy 1: DEPLOY steps need a human']);
    const saved = await run(['plan', '-out', 'plans/up.json']);
    expect(saved.code).toBe(0);
    expect((await run(['show', 'plans/up.json'])).stdout).toContain('? needs approval: autonomy 1 (DEPLOY)');
  });

  it('shows readiness only with enough history; --readiness forces the estimate', {timeout: 120_000}, async () => {
    ws.write(BASE_YAML);
    const fresh = await run(['plan']);
    expect(fresh.stdout).toMatch(/^Readiness: not enough history \(agent: 0 runs, image: 0 runs, network: 0 runs, volume: 0 runs; /m);
    expect(fresh.stdout).not.toMatch(/likely to apply cleanly/);
    const forced = await run(['plan', '--readiness']);
    expect(forced.stdout).toMatch(/^Readiness: \d+\.\d% likely to apply cleanly \(90% interval \d+\.\d%–\d+\.\d%\) · /m);
    expect(forced.stdout).toContain('mostly the prior: agent 0 runs');
    expect((await run(['apply', '--auto-approve'])).code).toBe(0);
    ws.write(BASE_YAML.replace('memory: 128m', 'memory: 256m'));
    expect((await run(['plan'])).stdout).toMatch(/^Readiness: not enough history \(agent: 1 run; /m);
  });

  it('refuses a stale or unreadable saved plan before printing any of it', {timeout: 60_000}, async () => {
    ws.write(BASE_YAML);
    expect((await run(['plan', '-out', 'plans/old.json'])).code).toBe(0);
    ws.write(BASE_YAML.replace('LOG_LEVEL: info', 'LOG_LEVEL: debug'));
    const stale = await run(['apply', 'plans/old.json']);
    expect(stale.code).toBe(5);
    expect(stale.stdout).toBe('');
    expect(stale.stderr).toMatch(/^Error: plan plan-\S+ is stale/m);
    expect(stale.stderr).not.toContain('agent.alpha');
    fs.writeFileSync(path.join(ws.dir, 'plans/bad.json'), '{"formatVersion": "1", "steps": "nope"');
    const bad = await run(['apply', 'plans/bad.json']);
    expect(bad.code).toBe(5);
    expect(bad.stdout).toBe('');
  });

  it('without a terminal, hints at the command that can pass', {timeout: 180_000}, async () => {
    ws.write(BASE_YAML.replace('autonomy: 3', 'autonomy: 1'));
    // a saved plan at autonomy 1: approve that file and apply it, nothing to save again
    expect((await run(['plan', '-out', 'plans/up.json'])).code).toBe(0);
    const up = await run(['apply', 'plans/up.json']);
    expect(up.code).toBe(3);
    expect(up.stderr).toContain('orx approve plans/up.json --all --reason "…" && orx apply plans/up.json');
    expect(up.stderr).not.toMatch(/orx plan .*-out/);
    expect((await run(['approve', 'plans/up.json', '--all', '--reason', 'test'])).code).toBe(0);
    expect((await run(['apply', 'plans/up.json'])).code).toBe(0);
    // --auto-approve cannot pass a DESTROY: the hint saves a destroy plan, approves it, applies it
    for (const args of [['destroy'], ['destroy', '--auto-approve']]) {
      const d = await run(args);
      expect(d.code, args.join(' ')).toBe(3);
      expect(d.stderr).toContain(
        'orx plan -destroy -out plans/destroy.json && orx approve plans/destroy.json --all --reason "…" && orx apply plans/destroy.json',
      );
      expect(d.stderr).not.toMatch(/rerun with --auto-approve/);
    }
    // the hint works as written
    expect((await run(['plan', '-destroy', '-out', 'plans/destroy.json'])).code).toBe(0);
    expect((await run(['approve', 'plans/destroy.json', '--all', '--reason', 'test'])).code).toBe(0);
    expect((await run(['apply', 'plans/destroy.json'])).code).toBe(0);
  });
});
