import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {until} from '../helpers/cli.js';
import {docker, makeWorkspace, repoRoot, type TestWorkspace} from '../helpers/workspace.js';

// The real terminal path: `orx apply` on a TTY opens the ink review screen; tmux types.
let ws: TestWorkspace;
let session: string;
beforeEach(() => {
  ws = makeWorkspace('tmux');
  session = `orx-${ws.name}`;
});
afterEach(async () => {
  spawnSync('tmux', ['kill-session', '-t', session]);
  await ws.cleanup();
});

const tmux = (...args: string[]): string => execFileSync('tmux', args, {encoding: 'utf8'});
const screen = (): string => tmux('capture-pane', '-p', '-t', session);
const keys = async (...k: string[]): Promise<void> => {
  for (const key of k) {
    tmux('send-keys', '-t', session, key);
    await new Promise((r) => setTimeout(r, 150));
  }
};

describe('the ink review screen in a real terminal', () => {
  it('approves two steps and rejects one, and exactly those are applied', async () => {
    let y =
      'workspace: __WS__\nautonomy: 1\nnetworks:\n  backplane: {internal: true}\nimages:\n  base:\n    build: {context: images/agent-base}\nagents:\n';
    for (const a of ['alpha', 'beta', 'gamma'])
      y += `  ${a}:\n    image: base\n    command: ["/bin/sh", "-c", "sleep 3600"]\n    resources: {cpus: 0.1, memory: 32m}\n    networks: [backplane]\n`;
    ws.write(y);
    const exitFile = path.join(ws.dir, 'exit-code');
    // CI=true on purpose: the screen must be live whenever there is a terminal
    const cmd = `cd ${ws.dir} && CI=true NO_COLOR=1 ${process.execPath} ${path.join(repoRoot, 'bin/run.js')} apply; echo $? > ${exitFile}; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', cmd);
    await until('the review screen', () => screen().includes('Reason for access'), 30_000);
    expect(screen()).toMatch(/\? +DEPLOY +\+ +agent\.alpha/);
    expect(screen()).toMatch(/auto WRITE +\+ +network\.backplane/);

    // rows: network, image, alpha, beta, gamma
    await keys('j', 'j', 'a', 'j', 'a', 'j', 'r');
    await keys('Enter');
    await until('the missing reason to be refused', () => /reason/i.test(screen()), 5_000);
    expect(fs.existsSync(exitFile)).toBe(false);
    await keys('Tab', 'ticket 42', 'Enter');
    await until('the apply to finish', () => fs.existsSync(exitFile) && fs.readFileSync(exitFile, 'utf8').trim() !== '', 60_000);
    expect(fs.readFileSync(exitFile, 'utf8').trim()).toBe('0');
    expect(screen()).toMatch(/Rejected, not applied: agent\.gamma/);

    const running = await docker.listContainers({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}});
    expect(running.map((c) => c.Labels['io.orchestrix.address']).sort()).toEqual(['agent.alpha', 'agent.beta']);
    const runs = JSON.parse(
      execFileSync(process.execPath, [path.join(repoRoot, 'bin/run.js'), 'runs', '--json'], {cwd: ws.dir, encoding: 'utf8'}),
    ).runs;
    const run = JSON.parse(
      execFileSync(process.execPath, [path.join(repoRoot, 'bin/run.js'), 'runs', runs[0].id, '--json'], {cwd: ws.dir, encoding: 'utf8'}),
    );
    expect(
      run.approvals.map((a: {address: string; decision: string; reason: string}) => `${a.decision} ${a.address} ${a.reason}`).sort(),
    ).toEqual(['approved agent.alpha ticket 42', 'approved agent.beta ticket 42', 'rejected agent.gamma ticket 42']);
  }, 120_000);
});
