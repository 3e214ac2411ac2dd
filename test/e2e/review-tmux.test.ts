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

  it('at 80 columns: replaces the plan text, fits the width, pages a screen, ends on one clean line', async () => {
    const env = Array.from({length: 24}, (_, i) => `      K${String(i).padStart(2, '0')}: "${'value-with-no-spaces-'.repeat(6)}${i}"`).join(
      '\n',
    );
    ws.write(
      `workspace: __WS__\nautonomy: 1\nvariables:\n  tier: {type: string, default: gold}\nimages:\n  base:\n    build: {context: images/agent-base}\nagents:\n  alpha:\n    image: base\n    command: ["/bin/sh", "-c", "sleep 3600"]\n    resources: {cpus: 0.1, memory: 32m}\n    env:\n${env}\n`,
    );
    const exitFile = path.join(ws.dir, 'exit-code');
    const cmd = `cd ${ws.dir} && NO_COLOR=1 ${process.execPath} ${path.join(repoRoot, 'bin/run.js')} apply; echo $? > ${exitFile}; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', cmd);
    await until('the review screen', () => screen().includes('Reason for access'), 30_000);
    // everything the terminal got, scrollback included: the plan is said once, by the screen
    const all = (): string => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session);
    expect(all().match(/Plan: 2 to add/g)).toHaveLength(1);
    expect(all()).not.toContain('orx will perform the following actions');
    // what the screen does not show is printed above it: the plan's variables and its readiness
    expect(all()).toMatch(/Variables:\n +tier = "gold"/);
    expect(all().match(/Readiness: /g)).toHaveLength(1);
    // no line reaches the last column, so the terminal never wraps one on its own; long ones end in …
    // rows: image, alpha; the agent's diff is long: pgdn shows the lines right after the last one seen
    await keys('j');
    await until('the agent diff', () => /Diff \(lines 1-\d+ of \d+/.test(screen()), 5_000);
    const lines = screen().split('\n');
    for (const l of lines) expect(l.length, l).toBeLessThan(80);
    expect(lines.some((l) => l.includes('K00: value-with-no-spaces-') && l.trimEnd().endsWith('…'))).toBe(true);
    const [, last, total] = /Diff \(lines 1-(\d+) of (\d+)/.exec(screen())!;
    await keys('NPage');
    const next = Number(last) + 1;
    await until(
      'a page down',
      () => screen().includes(`Diff (lines ${next}-${Math.min(Number(total), 2 * Number(last))} of ${total}`),
      5_000,
    );
    await keys('PPage');
    await until('a page up', () => screen().includes(`Diff (lines 1-${last} of ${total}`), 5_000);

    await keys('A', 'Tab', 'ticket 7', 'Enter');
    await until('the apply to finish', () => fs.existsSync(exitFile) && fs.readFileSync(exitFile, 'utf8').trim() !== '', 60_000);
    expect(fs.readFileSync(exitFile, 'utf8').trim()).toBe('0');
    const end = all();
    expect(end).toMatch(/Submitted: 2 approved, 0 rejected; reason: ticket 7\./);
    expect(end).not.toContain('type the reason');
    expect(end).not.toContain('Reason for access');
  }, 120_000);
});
