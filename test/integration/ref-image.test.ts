import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {actions, apply, converge, plan, withLedger} from '../helpers/engine.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {buildImage} from '../../src/drivers/image-build.js';

let ws: TestWorkspace;
let tag: string;
beforeEach(async () => {
  ws = makeWorkspace('ref');
  tag = `orx-test-${ws.name}:1`;
  const ctx = path.join(ws.dir, 'images/agent-base');
  await buildImage(docker, {context: ctx, src: fs.readdirSync(ctx)}, {t: tag});
});
afterEach(async () => {
  await ws.cleanup();
  await docker
    .getImage(tag)
    .remove({force: true})
    .catch(() => undefined);
});

const yaml = (ref: string) => `workspace: __WS__
autonomy: 3
images:
  tools: {ref: "${ref}"}
agents:
  t:
    image: tools
    command: ["/bin/sh", "-c", "sleep 3600"]
    resources: {cpus: 0.2, memory: 32m}
`;

describe('ref images', () => {
  it('pins a local image by id at plan time, runs agents on it, and destroy leaves the shared image alone', async () => {
    ws.write(yaml(tag));
    const id = (await docker.getImage(tag).inspect()).Id;
    const doc = await plan(ws.dir);
    expect(doc.steps.find((s) => s.address === 'image.tools')!.after).toEqual({source: 'ref', ref: tag, id});
    expect(doc.steps.find((s) => s.address === 'agent.t')!.after!.image_ref).toBe(id);
    // the operator's own image: found, not left behind by a cut-short apply
    expect(doc.steps.find((s) => s.address === 'image.tools')!.reasons).toEqual(['found on this machine: will be recorded']);
    const out = await apply(ws.dir, doc);
    expect(out.failed).toBe(false);
    expect(out.results.find((r) => r.step.address === 'image.tools')!.adopted).toBe(true);
    expect(withLedger(ws.dir, (l) => l.getResource('image.tools')!.object_id)).toBe(id);
    expect(actions(await plan(ws.dir))).toEqual([]);
    expect(actions(await plan(ws.dir, {refresh: false}))).toEqual([]);

    await converge(ws.dir, {mode: 'destroy'});
    expect((await docker.getImage(tag).inspect()).Id).toBe(id);
  });

  it('a ref that cannot be pulled fails its step clearly', async () => {
    ws.write(yaml('127.0.0.1:1/orx-nothing:1'));
    // a plan that may ask the engine refuses it before anything (test/e2e/preflight.test.ts);
    // one made offline cannot know, and its apply fails at the image step
    await expect(plan(ws.dir)).rejects.toMatchObject({code: 'image_unavailable'});
    const doc = await plan(ws.dir, {refresh: false});
    expect(doc.steps.find((s) => s.address === 'image.tools')!.after).toMatchObject({id: null});
    const out = await apply(ws.dir, doc);
    expect(out.failed).toBe(true);
    const r = out.results.find((x) => x.step.address === 'image.tools')!;
    expect(r.error).toMatch(/cannot pull 127.0.0.1:1\/orx-nothing:1/);
    // with the fix, as the plan would have said it
    expect(r.error).toContain('docker load -i FILE.tar');
    expect(out.results.find((x) => x.step.address === 'agent.t')!.status).toBe('skipped');
  });
});
