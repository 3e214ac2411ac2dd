import fs from 'node:fs';
import {afterEach, beforeEach, describe, expect, it, onTestFinished} from 'vitest';
import {agentSecretsPort} from '../../src/engine/agent-secrets.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {connectDocker} from '../../src/drivers/docker.js';
import {ACTIONS} from '../../src/engine/actions.js';
import {silentLogger} from '../../src/ui/logger.js';
import {apply, plan} from '../helpers/engine.js';
import {BASE_YAML, docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('rb');
});
afterEach(async () => {
  await ws.cleanup();
});

describe('Action.rollback', () => {
  it("undoes each kind's create on the real engine, dependents first", async () => {
    ws.write(BASE_YAML);
    const doc = await plan(ws.dir);
    const out = await apply(ws.dir, doc);
    expect(out.failed).toBe(false);
    const ledger = Ledger.open(ws.dir);
    onTestFinished(() => ledger.close());
    const secrets = agentSecretsPort({
      dir: ws.dir,
      workspace: ws.name,
      ledger,
      runId: 'run-test',
      actor: 'test',
      key: null,
      resolved: {values: new Map(), fingerprints: new Map()},
    });
    const ctx = {
      docker: await connectDocker(),
      workspace: ws.name,
      dir: ws.dir,
      log: silentLogger,
      memo: new Map(),
      secrets,
      ledger,
      runId: 'run-test',
      version: '0.0.0-test',
    };
    const secretsDir = secrets.dirFor(`orx-${ws.name}-alpha`);
    expect(fs.existsSync(secretsDir)).toBe(true);
    const byAddress = new Map(out.results.map((r) => [r.step.address, r]));
    const outcome = (address: string) => {
      const step = byAddress.get(address)!.step;
      return {object_id: null as string | null, attributes: step.after, step};
    };
    const filters = {label: [`io.orchestrix.workspace=${ws.name}`]};
    const container = (await docker.listContainers({all: true, filters}))[0];
    await ACTIONS.agent.rollback({...outcome('agent.alpha'), object_id: container.Id}, ctx);
    expect(await docker.listContainers({all: true, filters})).toHaveLength(0);
    expect(fs.existsSync(secretsDir)).toBe(false);

    const net = (await docker.listNetworks({filters}))[0];
    await ACTIONS.network.rollback({...outcome('network.backplane'), object_id: net.Id}, ctx);
    expect(await docker.listNetworks({filters})).toHaveLength(0);

    await ACTIONS.volume.rollback({...outcome('volume.memory'), object_id: `orx-${ws.name}-memory`}, ctx);
    expect((await docker.listVolumes({filters})).Volumes ?? []).toHaveLength(0);

    await ACTIONS.image.rollback(outcome('image.base'), ctx);
    expect(await docker.listImages({filters})).toHaveLength(0);
  });
});
