import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {followProgress} from '../../src/drivers/docker.js';
import {orx} from '../helpers/cli.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {buildImage} from '../../src/drivers/image-build.js';

// A real Debian docker-registry on 127.0.0.1: images are signed with `orx image sign` and
// verified at plan time; apply pulls exactly the verified digest.
let reg: TestRegistry;
let ws: TestWorkspace;
const refs: string[] = [];

async function buildAndPush(repoTag: string, marker: string): Promise<void> {
  const ctx = path.join(ws.dir, `ctx-${marker}`);
  fs.cpSync(path.join(ws.dir, 'images/agent-base'), ctx, {recursive: true});
  fs.appendFileSync(path.join(ctx, 'Dockerfile'), `\nLABEL marker=${marker}\n`);
  await buildImage(docker, {context: ctx, src: fs.readdirSync(ctx)}, {t: repoTag});
  await followProgress(docker, await docker.getImage(repoTag).push({authconfig: {}}));
  refs.push(repoTag);
}

async function forgetLocal(ref: string): Promise<void> {
  await docker
    .getImage(ref)
    .remove({force: true})
    .catch(() => undefined);
}

beforeAll(async () => {
  reg = await startRegistry();
  ws = makeWorkspace('imgsig');
}, 60_000);
afterAll(async () => {
  await ws?.cleanup();
  for (const r of refs) await forgetLocal(r);
  await reg?.stop();
});

const yaml = (ref: string) => `workspace: __WS__
autonomy: 3
images:
  tools: {ref: "${ref}", verify: {key: .orx/keys/signing.pub}}
agents:
  worker:
    image: tools
    command: ["/bin/sh", "-c", "sleep 3600"]
    resources: {cpus: 0.1, memory: 32m}
`;

describe('image signatures before anything runs', () => {
  it('signed: planned with its digest, pulled by digest, run; tag moved to an unsigned image: denied; unsigned: denied', async () => {
    const ref = `${reg.host}/orx/tools:1`;
    await buildAndPush(ref, 'one');
    expect((await orx(['keys', 'init'], {cwd: ws.dir})).code).toBe(0);
    const signed = await orx(['image', 'sign', ref], {cwd: ws.dir});
    expect(signed.code, signed.stderr).toBe(0);
    const digest = (await docker.getImage(ref).inspect()).RepoDigests.find((d) => d.startsWith(`${reg.host}/orx/tools@`))!.split('@')[1];
    await forgetLocal(ref);

    ws.write(yaml(ref));
    const plan = await orx(['plan', '--json'], {cwd: ws.dir});
    expect(plan.code, plan.stderr).toBe(0);
    const doc = JSON.parse(plan.stdout);
    // verified: nothing denies it (the built-in baseline only warns that a tag is not a digest)
    expect(doc.policy.decisions.map((d: {rule: string; effect: string}) => `${d.effect} ${d.rule}`)).toEqual(['warn warn-unpinned-image']);
    expect(doc.steps.find((s: {address: string}) => s.address === 'image.tools').after).toMatchObject({ref, digest});
    const applied = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(applied.code, applied.stderr).toBe(0);
    const c = await docker.getContainer(`orx-${ws.name}-worker`).inspect();
    expect(c.State.Running).toBe(true);
    expect((await docker.getImage(c.Image).inspect()).RepoDigests).toContain(`${reg.host}/orx/tools@${digest}`);
    expect((await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir})).code).toBe(0);

    // someone pushes another image under the same tag, unsigned
    await buildAndPush(ref, 'two');
    await forgetLocal(ref);
    const moved = await orx(['plan'], {cwd: ws.dir});
    expect(moved.code).toBe(3);
    expect(moved.stdout).toMatch(
      /image tools \(.*orx\/tools:1\) is not verified: signature is for digest sha256:[0-9a-f]+, not sha256:[0-9a-f]+ \(rule image-signature\)/,
    );

    const other = `${reg.host}/orx/unsigned:1`;
    await buildAndPush(other, 'three');
    ws.write(yaml(other));
    const unsigned = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(unsigned.code).toBe(3);
    expect(unsigned.stderr).toMatch(/image\.tools: image tools \(.*\) is not verified: no signature/);
  }, 180_000);
});
