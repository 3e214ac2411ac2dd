// Global options where Terraform puts them (before the command) and -lock-timeout, through the
// built CLI against the real ledger.
import {execFileSync, spawnSync} from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {orx, startOrx, until} from '../helpers/cli.js';
import {makeWorkspace, repoRoot, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('glob');
  ws.write('workspace: __WS__\nnetworks:\n  n: {}\n  m: {}\n');
});
afterEach(async () => {
  await ws.cleanup();
});

/** the plan id and its time vary between two runs; everything else must not */
const stable = (s: string) => s.replace(/plan-\d{14}-[0-9a-f]+/g, 'plan-ID');

describe('global options before the command', () => {
  it('orx -C DIR plan, -chdir=DIR, --chdir DIR and plan -C DIR print the same plan', async () => {
    const elsewhere = os.tmpdir();
    const seed = ['--sim-seed', '7'];
    const forms = [
      ['-C', ws.dir, 'plan', ...seed],
      ['-chdir=' + ws.dir, 'plan', ...seed],
      ['--chdir', ws.dir, 'plan', ...seed],
      ['--chdir=' + ws.dir, '-no-color', '-input=false', 'plan', ...seed],
      ['plan', '-C', ws.dir, ...seed],
    ];
    const results = [];
    for (const args of forms) results.push(await orx(args, {cwd: elsewhere}));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(results[0].stdout).toContain('network.n will be created');
    for (const r of results.slice(1)) expect(stable(r.stdout)).toBe(stable(results[0].stdout));
  });

  it('a multi-word command after global options: orx -C DIR state list / --json', async () => {
    const r = await orx(['-C', ws.dir, '--json', 'state', 'list'], {cwd: os.tmpdir()});
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({formatVersion: '1', resources: []});
  });
});

describe('-lock-timeout', () => {
  /** the lock an apply in another process would hold: this test process, alive, on this host */
  function holdLock(): {release: () => void} {
    const ledger = Ledger.open(ws.dir);
    const lock = ledger.acquireLock({pid: process.pid, host: os.hostname(), command: 'orx apply (held by the test)'});
    return {
      release: () => {
        ledger.releaseLock(lock.id);
        ledger.close();
      },
    };
  }

  it('gives up with exit 4 naming the holder after the timeout; without it, at once', async () => {
    const held = holdLock();
    try {
      const now = await orx(['state', 'rm', 'network.n'], {cwd: ws.dir});
      expect(now.code).toBe(4);
      expect(now.stderr).toContain('locked by pid');
      expect(now.stderr).not.toContain('Waited');
      const waited = await orx(['-lock-timeout=1s', 'state', 'rm', 'network.n'], {cwd: ws.dir});
      expect(waited.code).toBe(4);
      expect(waited.stderr).toContain(`locked by pid ${process.pid}`);
      expect(waited.stderr).toContain('orx apply (held by the test)');
      expect(waited.stderr).toMatch(/Waited \d+(\.\d)?s \(-lock-timeout\)/);
    } finally {
      held.release();
    }
  });

  it('waits for a lock released during the wait, then goes on', async () => {
    const held = holdLock();
    let released = false;
    try {
      const child = startOrx(['state', 'rm', 'network.n', '-lock-timeout', '5m'], {cwd: ws.dir});
      let stderr = '';
      child.child.stderr?.on('data', (d) => (stderr += d));
      // it says once that it waits: only then is the lock let go
      await until('orx to wait for the lock', () => stderr.includes('waiting up to 300s for the workspace lock'), 120_000);
      held.release();
      released = true;
      const r = await child.done;
      // it took the lock: what follows is state rm's own answer (nothing recorded yet)
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('network.n is not in the state');
      expect(r.stderr).not.toContain('locked');
    } finally {
      if (!released) held.release();
    }
  });

  it('refuses a duration it cannot read', async () => {
    const r = await orx(['state', 'rm', 'network.n', '--lock-timeout', 'soon'], {cwd: ws.dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--lock-timeout: "soon" is not a duration');
  });
});

describe('-input=false', () => {
  it('on a terminal, apply shows no review screen: it stops as without one (exit 3, approval required)', {timeout: 300_000}, async () => {
    ws.write('workspace: __WS__\nautonomy: 0\nnetworks:\n  n: {}\n');
    const session = `orx-input-${ws.name}`;
    const screen = () => execFileSync('tmux', ['capture-pane', '-p', '-J', '-t', session], {encoding: 'utf8'});
    const cmd = `cd ${ws.dir} && NO_COLOR=1 ${process.execPath} ${path.join(repoRoot, 'bin/run.js')} -input=false apply; echo EXIT=$?; sleep 60`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '50', cmd]);
    try {
      const s = await until('apply to end', () => /EXIT=\d+/.test(screen()) && screen(), 120_000);
      expect(s).toContain('EXIT=3');
      expect(s).not.toContain('Reason for access');
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });
});
