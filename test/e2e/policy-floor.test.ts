// The built-in floor: a hand-written workspace with no policies/ gets every baseline rule; a
// waiver is the only way past one and a human approves it; a saved plan is decided again at
// approve and apply, so an edited, re-signed plan is refused.
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import type {PlanDocument} from '../../src/engine/planfile.js';
import {signPlan} from '../../src/engine/plan-signature.js';
import {signingKey} from '../../src/trust/keys.js';
import {noStack, orx} from '../helpers/cli.js';
import {docker, makeWorkspace, type TestWorkspace, SLEEP_CMD} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('floor');
});
afterEach(async () => {
  await ws.cleanup();
});

const header = (autonomy = 3) => `workspace: __WS__
autonomy: ${autonomy}
networks:
  backplane: {internal: true}
images:
  base:
    build: {context: images/agent-base}
agents:
`;
const agent = (name: string, extra = '') => `  ${name}:
    image: base
    command: ${SLEEP_CMD}
    resources: {cpus: 0.2, memory: 32m}
    networks: [backplane]
${extra}`;

const objects = async () => [
  ...(await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})),
  ...(await docker.listNetworks({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})),
  ...(await docker.listImages({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})),
];
const ROOTS = ['0', '00', 'root', '0:x', 'root:root', '000:1000'];

describe('a workspace without policies/ gets the whole baseline', () => {
  it(
    'privileged and every spelling of root are denied (exit 3), nothing is created; host mounts are a config error',
    {timeout: 120_000},
    async () => {
      ws.write(header() + agent('priv', '    privileged: true\n') + ROOTS.map((u, i) => agent(`root${i}`, `    user: "${u}"\n`)).join(''));
      expect(fs.existsSync(path.join(ws.dir, 'policies'))).toBe(false);
      const p = await orx(['plan', '--json'], {cwd: ws.dir});
      expect(p.code, p.stderr).toBe(3);
      const decisions = JSON.parse(p.stdout).policy.decisions as Array<{rule: string; address: string; effect: string}>;
      const denied = decisions
        .filter((d) => d.effect === 'deny')
        .map((d) => `${d.rule} ${d.address}`)
        .sort();
      expect(denied).toEqual(['deny-privileged agent.priv', ...ROOTS.map((_u, i) => `deny-root-user agent.root${i}`)].sort());

      const a = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
      expect(a.code).toBe(3);
      expect(a.stderr).toMatch(/agent\.root1: agent agent\.root1 runs as uid 0 \(user: 00, .*\(rule deny-root-user\)/);
      expect(a.stderr).toMatch(/\(rule deny-privileged\)/);
      expect(noStack(a.stderr)).toBe(true);
      expect(await objects()).toEqual([]);

      ws.write(header() + agent('sock', '    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]\n'));
      const mount = await orx(['plan'], {cwd: ws.dir});
      expect(mount.code).toBe(1);
      expect(mount.stderr).toMatch(/orchestration\.yml:\d+:\d+: .*mounts the Docker socket/);
      expect(await objects()).toEqual([]);

      const tests = await orx(['policy', 'test'], {cwd: ws.dir});
      expect(tests.code, tests.stdout).toBe(0);
      // the built-in baseline's own cases, the only test file there is
      expect(tests.stdout).toMatch(/\na hardened agent orx creates passes every rule +PASS\n/);
      expect(tests.stdout).toMatch(/ in 1 file\)/);
      expect(tests.stdout).toMatch(/\n(\d{2,}) passed, 0 failed/);
    },
  );

  it(
    'a waiver lets root through only as a step a human approves, and the plan, the run and the audit export show it',
    {timeout: 180_000},
    async () => {
      const waivers = `waivers:
  - {rule: deny-root-user, address: agent.vendor, reason: "vendor image needs uid 0", expires: 2099-12-31}
  - {rule: deny-privileged, address: agent.vendor, reason: "long gone", expires: 2020-01-31}
`;
      ws.write(header() + agent('vendor', '    user: "00"\n') + waivers);
      const plan = await orx(['plan', '-out', 'plans/w.json'], {cwd: ws.dir});
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(
        /\? waived, needs approval: agent agent\.vendor runs as uid 0 .*\[waived through 2099-12-31: vendor image needs uid 0\] \(rule deny-root-user\)/,
      );
      expect(plan.stdout).toMatch(
        /Waivers in orchestration\.yml:\n +deny-root-user at agent\.vendor through 2099-12-31 \(vendor image needs uid 0\): passes a deny in this plan, as a step a human approves\n +deny-privileged at agent\.vendor through 2020-01-31 \(long gone\): expired: the rule applies again/,
      );

      // autonomy 3 and --auto-approve: a waiver still needs a human
      const auto = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
      expect(auto.code).toBe(3);
      expect(auto.stderr).toMatch(
        /need a human's approval .*\n +DEPLOY +create agent\.vendor: rule deny-root-user: .*waived through 2099-12-31/,
      );
      const early = await orx(['apply', 'plans/w.json'], {cwd: ws.dir});
      expect(early.code).toBe(3);
      expect(await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})).toEqual([]);

      const ok = await orx(['approve', 'plans/w.json', '--step', 'agent.vendor', '--reason', 'vendor ticket 12'], {cwd: ws.dir});
      expect(ok.code, ok.stderr).toBe(0);
      const applied = await orx(['apply', 'plans/w.json'], {cwd: ws.dir});
      expect(applied.code, applied.stderr).toBe(0);
      expect((await docker.getContainer(`orx-${ws.name}-vendor`).inspect()).Config.User).toBe('00');

      const runs = JSON.parse((await orx(['runs', '--json'], {cwd: ws.dir})).stdout).runs as Array<{id: string; mode: string}>;
      const run = JSON.parse((await orx(['runs', runs.find((r) => r.mode === 'APPLY')!.id, '--json'], {cwd: ws.dir})).stdout);
      expect(run.run.summary.waivers).toEqual([
        {rule: 'deny-root-user', address: 'agent.vendor', reason: 'vendor image needs uid 0', expires: '2099-12-31', status: 'applied'},
      ]);
      expect(run.approvals).toMatchObject([{address: 'agent.vendor', decision: 'approved', reason: 'vendor ticket 12'}]);
      const events = await orx(['events', '--json'], {cwd: ws.dir});
      expect(events.stdout).toMatch(/waivers in force: deny-root-user at agent\.vendor through 2099-12-31 \(vendor image needs uid 0\)/);
      const exp = await orx(['audit', 'export', '-o', 'audit.json'], {cwd: ws.dir});
      expect(exp.code, exp.stderr).toBe(0);
      expect(fs.readFileSync(path.join(ws.dir, 'audit.json'), 'utf8')).toMatch(/waivers in force: deny-root-user at agent\.vendor/);
    },
  );

  it('an expired waiver waives nothing: the deny stands', async () => {
    ws.write(
      header() +
        agent('vendor', '    user: root\n') +
        'waivers:\n  - {rule: deny-root-user, address: agent.vendor, reason: "old", expires: 2020-01-31}\n',
    );
    const p = await orx(['plan'], {cwd: ws.dir});
    expect(p.code).toBe(3);
    expect(p.stdout).toMatch(/✗ denied: agent agent\.vendor runs as uid 0/);
    expect(p.stdout).toMatch(/deny-root-user at agent\.vendor through 2020-01-31 \(old\): expired: the rule applies again/);
  });
});

describe('a saved plan is decided again at approve and apply', () => {
  /** Edits a saved plan's agent step and re-signs it with the workspace's own key, as a thief with that key would. */
  async function tamper(file: string, edit: (after: Record<string, unknown>, doc: PlanDocument) => void): Promise<void> {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as PlanDocument;
    const step = doc.steps.find((s) => s.address === 'agent.plain')!;
    edit(step.after!, doc);
    doc.policy = {decisions: []};
    doc.signature = null;
    fs.writeFileSync(file, JSON.stringify(await signPlan(doc, signingKey(ws.dir).key), null, 2));
  }

  it(
    'privileged, a host namespace or uid 0 added to a re-signed plan is refused (exit 3), nothing created',
    {timeout: 180_000},
    async () => {
      ws.write(header() + agent('plain', '    user: "1000:1000"\n'));
      const edits: Array<[string, (a: Record<string, unknown>) => void]> = [
        ['deny-privileged', (a) => ((a.hardening as Record<string, unknown>).privileged = true)],
        ['deny-host-namespaces', (a) => ((a.hardening as Record<string, unknown>).pid_host = true)],
        ['deny-root-user', (a) => (a.user = '00')],
      ];
      for (const [rule, edit] of edits) {
        const file = path.join(ws.dir, `plans/${rule}.json`);
        const made = await orx(['plan', '-out', file], {cwd: ws.dir});
        expect(made.code, made.stderr).toBe(0);
        await tamper(file, edit);
        const approve = await orx(['approve', file, '--all', '--reason', 'looks fine'], {cwd: ws.dir});
        expect(approve.code, `${rule}: ${approve.stderr}`).toBe(3);
        expect(approve.stderr).toMatch(new RegExp(`policy denies plan .*\\n +agent\\.plain: .*\\(rule ${rule}\\)`));
        const apply = await orx(['apply', file], {cwd: ws.dir});
        expect(apply.code, `${rule}: ${apply.stderr}`).toBe(3);
        expect(apply.stderr).toMatch(new RegExp(`\\(rule ${rule}\\)`));
        expect(noStack(apply.stderr)).toBe(true);
      }
      expect(await objects()).toEqual([]);
    },
  );

  it("a re-signed plan cannot raise its autonomy or lower a step's category", {timeout: 120_000}, async () => {
    ws.write(header(1) + agent('plain', '    user: "1000:1000"\n'));
    const file = path.join(ws.dir, 'plans/p.json');
    expect((await orx(['plan', '-out', file], {cwd: ws.dir})).code).toBe(0);
    await tamper(file, (_a, doc) => (doc.autonomy = 3));
    const raised = await orx(['apply', file], {cwd: ws.dir});
    expect(raised.code).toBe(3);
    expect(raised.stderr).toMatch(/need a human's approval \(autonomy 1\)/);

    expect((await orx(['plan', '-out', file], {cwd: ws.dir})).code).toBe(0);
    await tamper(file, (_a, doc) => doc.steps.forEach((s) => (s.category = 'READ')));
    const lowered = await orx(['apply', file], {cwd: ws.dir});
    expect(lowered.code).toBe(5);
    expect(lowered.stderr).toMatch(/plan step network\.backplane: a network create is at least WRITE, the plan says READ/);
    expect(await objects()).toEqual([]);
  });
});
