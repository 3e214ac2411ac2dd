import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx, orxApproved} from '../helpers/cli.js';
import {docker, makeWorkspace, repoRoot, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('pol');
  fs.cpSync(path.join(repoRoot, 'policies'), path.join(ws.dir, 'policies'), {recursive: true});
});
afterEach(async () => {
  await ws.cleanup();
});

const yaml = (agent: string) => `workspace: __WS__
autonomy: 3
networks:
  backplane: {internal: true}
images:
  base:
    build: {context: images/agent-base}
agents:
  ok:
    image: base
    command: ["/bin/sh", "-c", "sleep 3600"]
    resources: {cpus: 0.2, memory: 32m}
    networks: [backplane]
  risky:
    image: base
    command: ["/bin/sh", "-c", "sleep 3600"]
    resources: {cpus: 0.2, memory: 32m}
${agent}`;

const anything = async () => [
  ...(await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})),
  ...(await docker.listNetworks({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})),
];

describe('policy as code on every plan', () => {
  it('a privileged agent is denied: plan exits 3, nothing is saved or created, apply refuses', async () => {
    ws.write(yaml('    privileged: true\n'));
    const p = await orx(['plan', '-out', 'plans/p.json'], {cwd: ws.dir});
    expect(p.code).toBe(3);
    expect(p.stdout).toMatch(/✗ denied: .*privileged.* \(rule deny-privileged\)/);
    expect(p.stdout).toMatch(/Policy denies this plan: it cannot be applied\. Not saved/);
    expect(fs.existsSync(path.join(ws.dir, 'plans/p.json'))).toBe(false);

    const a = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(a.code).toBe(3);
    expect(a.stderr).toMatch(/policy denies this plan:\n +agent\.risky: .* \(rule deny-privileged\)/);
    expect(noStack(a.stderr)).toBe(true);
    expect(await anything()).toEqual([]);

    const saved = await orx(['plan', '-out', 'plans/p.json', '--allow-denied', '--json'], {cwd: ws.dir});
    expect(saved.code).toBe(3);
    const doc = JSON.parse(saved.stdout);
    expect(doc.denied).toBe(true);
    expect(doc.policy.decisions).toContainEqual(expect.objectContaining({rule: 'deny-privileged', effect: 'deny', address: 'agent.risky'}));
    const fromFile = await orx(['apply', 'plans/p.json'], {cwd: ws.dir});
    expect(fromFile.code).toBe(3);
    expect(await anything()).toEqual([]);

    const ev = await orx(['policy', 'eval', '--plan', 'plans/p.json'], {cwd: ws.dir});
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/deny-privileged +agent\.risky +true +deny/);
    expect(ev.stdout).toMatch(/deny-privileged +agent\.ok +false/);
  });

  it('egress asks a human; root needs an approved waiver', async () => {
    ws.write(
      yaml('    user: "0:0"\n')
        .replace('backplane: {internal: true}', 'backplane: {internal: true}\n  out: {internal: false}')
        .replace('    networks: [backplane]\n  risky', '    networks: [out]\n  risky'),
    );
    const p = JSON.parse((await orx(['plan', '--json'], {cwd: ws.dir})).stdout);
    const rules = p.policy.decisions.map((d: {rule: string; address: string}) => `${d.rule} ${d.address}`).sort();
    expect(rules).toEqual(['approve-egress agent.ok', 'deny-root-user agent.risky']);
    ws.write(
      `${yaml('    user: "0:0"\n')}waivers:\n  - {rule: deny-root-user, address: agent.risky, reason: "binds a raw socket", expires: 2099-01-31}\n`,
    );
    const allowed = await orxApproved('apply', {cwd: ws.dir});
    expect(allowed.code, allowed.stderr).toBe(0);
    expect((await docker.getContainer(`orx-${ws.name}-risky`).inspect()).Config.User).toBe('0:0');
  });

  it('policy test passes on the baseline and the example, fails on a broken expectation; a broken rule is a located error', async () => {
    const ok = await orx(['policy', 'test'], {cwd: ws.dir});
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/orx:baseline_test\.yaml: .*PASS/);
    expect(ok.stdout).toMatch(/example_test\.yaml: a pro-tier agent needs approval +PASS/);
    expect(ok.stdout).toMatch(/\d+ passed, 0 failed \(\d+ cases in 2 files\)/);
    const tests = path.join(ws.dir, 'policies/tests/example_test.yaml');
    fs.writeFileSync(tests, fs.readFileSync(tests, 'utf8').replace('effect: require_approval', 'effect: warn'));
    const failed = await orx(['policy', 'test'], {cwd: ws.dir});
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/example_test\.yaml: a pro-tier agent needs approval +FAIL/);

    fs.appendFileSync(
      path.join(ws.dir, 'policies/example.yaml'),
      `  - id: broken\n    when: step.after.nope ==\n    effect: deny\n    message: x\n`,
    );
    ws.write(yaml(''));
    const broken = await orx(['plan'], {cwd: ws.dir});
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/policies\/example\.yaml:\d+:\d+: rule broken: /);
    expect(noStack(broken.stderr)).toBe(true);
    expect(fs.existsSync(path.join(ws.dir, '.orx/ledger.db'))).toBe(false);
  });
});
