import {generateKeyPairSync} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {orx} from '../helpers/cli.js';
import {makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('cli');
});
afterEach(async () => {
  await ws.cleanup();
});

describe('one actor for every command', () => {
  it('an approval is recorded under the same name as the run that applies it (USER, no ORX_ACTOR)', async () => {
    ws.write('workspace: __WS__\nautonomy: 0\nnetworks:\n  n: {}\n');
    const env = {USER: `op-${ws.name.slice(-6)}`};
    expect((await orx(['plan', '-out', 'p.json'], {cwd: ws.dir, env})).code).toBe(0);
    const approved = await orx(['approve', 'p.json', '--all', '--reason', 'reviewed'], {cwd: ws.dir, env});
    expect(approved.code, approved.stderr).toBe(0);
    const applied = await orx(['apply', 'p.json', '--json'], {cwd: ws.dir, env});
    expect(applied.code, applied.stderr).toBe(0);
    const runId = JSON.parse(applied.stdout).run_id as string;
    const shown = JSON.parse((await orx(['runs', runId, '--json'], {cwd: ws.dir})).stdout);
    expect(shown.run.actor).toBe(env.USER);
    expect(shown.approvals.map((a: {actor: string}) => a.actor)).toEqual([env.USER]);
  });
});

describe('--trusted-key is a path in the workspace, like every other path', () => {
  it('apply and approve under -C DIR find a relative --trusted-key from any current directory', async () => {
    const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'});
    fs.writeFileSync(path.join(ws.dir, 'ci.pub'), publicKey.export({type: 'spki', format: 'pem'}));
    ws.write('workspace: __WS__\nautonomy: 0\nsigning: {key: env://ORX_TEST_SIGNING_PEM}\nnetworks:\n  n: {}\n');
    const env = {ORX_TEST_SIGNING_PEM: privateKey.export({type: 'pkcs8', format: 'pem'}).toString()};
    const elsewhere = os.tmpdir();
    expect((await orx(['plan', '-C', ws.dir, '-out', 'p.json'], {cwd: elsewhere, env})).code).toBe(0);
    const approved = await orx(['approve', '-C', ws.dir, 'p.json', '--all', '--reason', 'ok', '--trusted-key', 'ci.pub'], {cwd: elsewhere});
    expect(approved.code, approved.stderr).toBe(0);
    const applied = await orx(['apply', '-C', ws.dir, 'p.json', '--trusted-key', 'ci.pub'], {cwd: elsewhere});
    expect(applied.code, applied.stderr).toBe(0);
    // and one that is not there is named as the workspace's file
    const missing = await orx(['apply', '-C', ws.dir, 'p.json', '--trusted-key', 'nope.pub'], {cwd: elsewhere});
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(path.join(ws.dir, 'nope.pub'));
  });
});
