// Shell completion in real interactive shells driven through tmux: the scripts of
// `orx autocomplete` load, complete commands (`orx pl<TAB>` -> plan) and complete resource
// addresses from the recorded state of the workspace and its configuration.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, afterEach, describe, expect, it} from 'vitest';
import {orx, orxApproved, until} from '../helpers/cli.js';
import {makeWorkspace, repoRoot, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
let home: string;
let env: Record<string, string>;
const sessions: string[] = [];

beforeAll(async () => {
  ws = makeWorkspace('compl');
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-compl-home-'));
  fs.mkdirSync(path.join(home, 'bin'));
  fs.writeFileSync(path.join(home, 'bin/orx'), `#!/bin/sh\nexec ${process.execPath} ${path.join(repoRoot, 'bin/run.js')} "$@"\n`, {
    mode: 0o755,
  });
  env = {XDG_CACHE_HOME: path.join(home, 'cache'), HOME: home};
  // network.gone is only in the recorded state once the configuration drops it; network.kept is in both
  ws.write('workspace: __WS__\nautonomy: 0\nnetworks:\n  gone: {}\n  kept: {}\n');
  const applied = await orxApproved('apply', {cwd: ws.dir});
  expect(applied.code, applied.stderr).toBe(0);
  ws.write('workspace: __WS__\nautonomy: 0\nnetworks:\n  kept: {}\n  planned: {}\n');
}, 300_000);
afterEach(() => {
  for (const s of sessions.splice(0)) spawnSync('tmux', ['kill-session', '-t', s]);
});
afterAll(async () => {
  await ws.cleanup();
  fs.rmSync(home, {recursive: true, force: true});
});

const tmux = (...args: string[]): string => execFileSync('tmux', args, {encoding: 'utf8'});

/** An interactive shell in a tmux session of its own, with nothing of the host's rc files. */
function shell(
  name: string,
  argv: string[],
): {screen: () => string; keys: (...k: string[]) => void; waitFor: (what: string | RegExp) => Promise<string>} {
  const session = `orx-${name}-${ws.name}`;
  sessions.push(session);
  const pathEnv = `${path.join(home, 'bin')}:${process.env.PATH}`;
  tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', 'env', '-i', `HOME=${home}`, 'TERM=xterm', `PATH=${pathEnv}`, ...argv);
  const screen = () => tmux('capture-pane', '-p', '-J', '-t', session);
  return {
    screen,
    keys: (...k) => tmux('send-keys', '-t', session, ...k),
    waitFor: (what) =>
      until(
        `${name}: ${String(what)}\n${screen()}`,
        () => {
          const s = screen();
          return (typeof what === 'string' ? s.includes(what) : what.test(s)) && s;
        },
        120_000,
      ),
  };
}

async function script(shellName: string): Promise<string> {
  const r = await orx(['autocomplete', 'script', shellName], {cwd: ws.dir, env});
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('bash', () => {
  it('loads the scripts and completes a command and addresses', {timeout: 600_000}, async () => {
    // what `orx autocomplete bash` tells the user to do: build the cache, source the setup line
    const built = await orx(['autocomplete', 'bash'], {cwd: ws.dir, env});
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toContain('orx autocomplete script bash');
    const rc = path.join(home, 'bashrc');
    fs.writeFileSync(
      rc,
      `export XDG_CACHE_HOME=${env.XDG_CACHE_HOME}\n${await script('bash')}\ncd ${ws.dir}\ndeclare -F _orx_autocomplete >/dev/null && echo PLUGIN-LOADED\nPS1='ready$ '\n`,
    );
    const sh = shell('bash', ['bash', '--norc', '--noprofile', '-i']);
    sh.keys(`source ${rc}`, 'Enter');
    await sh.waitFor('PLUGIN-LOADED');
    await sh.waitFor('ready$ ');

    sh.keys('orx pl', 'Tab');
    await sh.waitFor(/ready\$ orx plan $/m);
    sh.keys('C-c');

    sh.keys('orx state show network.g', 'Tab');
    await sh.waitFor(/ready\$ orx state show network\.gone $/m);
    sh.keys('C-c');

    sh.keys('orx plan --target network.pl', 'Tab');
    await sh.waitFor(/ready\$ orx plan --target network\.planned $/m);
    sh.keys('C-c');

    sh.keys('orx -C . state rm network.', 'Tab', 'Tab');
    const listed = await sh.waitFor(/network\.gone\s+network\.kept\s+network\.planned/);
    expect(listed).not.toContain('agent.');
  });
});

describe('zsh and fish', () => {
  it('zsh: the setup line and orx.zsh; fish: a whole script; both complete orx pl<TAB> and an address', {timeout: 600_000}, async () => {
    const zsh = await script('zsh');
    expect(zsh).toMatch(/ORX_AC_ZSH_SETUP_PATH=.*zsh_setup/);
    expect(zsh).toContain('templates/completion/orx.zsh');
    const fish = await script('fish');
    expect(fish).toContain("complete -c orx -f -a '(__orx_complete)'");

    const have = (bin: string) => spawnSync(bin, ['--version']).status === 0;
    if (have('zsh')) {
      const built = await orx(['autocomplete', 'zsh', '--refresh-cache'], {cwd: ws.dir, env});
      expect(built.code, built.stderr).toBe(0);
      const rc = path.join(home, 'zshrc');
      fs.writeFileSync(rc, `export XDG_CACHE_HOME=${env.XDG_CACHE_HOME}\n${zsh}\ncd ${ws.dir}\nPS1='ready%# '\n`);
      const sh = shell('zsh', ['zsh', '-f', '-i']);
      sh.keys(`source ${rc}`, 'Enter');
      await sh.waitFor('ready# ');
      sh.keys('orx pl', 'Tab');
      await sh.waitFor(/ready# orx plan $/m);
      sh.keys('C-c');
      sh.keys('orx state show network.g', 'Tab');
      await sh.waitFor(/ready# orx state show network\.gone $/m);
    }
    if (have('fish')) {
      const file = path.join(home, 'orx.fish');
      fs.writeFileSync(file, fish);
      const sh = shell('fish', [
        'fish',
        '--no-config',
        '-i',
        '-C',
        `function fish_prompt; echo 'ready> '; end; cd ${ws.dir}; source ${file}`,
      ]);
      await sh.waitFor('ready> ');
      sh.keys('orx pl', 'Tab');
      await sh.waitFor(/ready> orx plan $/m);
      sh.keys('C-c');
      sh.keys('orx state show network.g', 'Tab');
      await sh.waitFor(/ready> orx state show network\.gone $/m);
    }
  });
});
