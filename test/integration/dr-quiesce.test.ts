// Agents held still for a backup are given back whatever happens: the copy failing, or orx
// being killed (the next command finds them through the ledger).
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {heldByDeadBackup, recoverQuiesced, withQuiesced} from '../../src/dr/quiesce.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {converge} from '../helpers/engine.js';
import {BASE_YAML, docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {rawSqlite} from '../helpers/ledger-sql.js';

let ws: TestWorkspace;
let ledger: Ledger;
beforeEach(() => {
  ws = makeWorkspace('dq');
});
afterEach(async () => {
  ledger?.close();
  await ws.cleanup();
});

async function alpha(): Promise<{id: string; address: string}> {
  const [c] = await docker.listContainers({
    all: true,
    filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.alpha']},
  });
  return {id: c.Id, address: 'agent.alpha'};
}
const state = async (id: string) => (await docker.getContainer(id).inspect()).State;

describe('quiesce', () => {
  for (const how of ['pause', 'stop'] as const) {
    it(`${how}: the agent is held during the copy and resumed when the copy throws`, async () => {
      ws.write(BASE_YAML);
      await converge(ws.dir);
      ledger = Ledger.open(ws.dir);
      const c = await alpha();
      let during: string | undefined;
      await expect(
        withQuiesced(docker, ledger, how, [c], async () => {
          during = (await state(c.id)).Status;
          expect(heldByDeadBackup(ledger)).toBe(false); // held, but by a live process (this one)
          throw new Error('the archive stream broke');
        }),
      ).rejects.toThrow(/the archive stream broke/);
      expect(during).toBe(how === 'pause' ? 'paused' : 'exited');
      expect((await state(c.id)).Running).toBe(true);
      expect((await state(c.id)).Paused).toBe(false);
      expect(rawSqlite(ledger).prepare("SELECT count(*) AS n FROM meta WHERE key = 'dr_quiesced'").get()).toEqual({n: 0});
    });
  }

  it('agents recorded as held by a process that is gone are resumed by recoverQuiesced, and the ledger says so', async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    ledger = Ledger.open(ws.dir);
    const c = await alpha();
    await docker.getContainer(c.id).pause();
    // what a killed backup leaves behind: its pid no longer exists
    rawSqlite(ledger)
      .prepare("INSERT INTO meta (key, value) VALUES ('dr_quiesced', ?)")
      .run(
        JSON.stringify([
          {pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), at: new Date().toISOString(), how: 'pause', containers: [c]},
        ]),
      );
    expect(heldByDeadBackup(ledger)).toBe(true);
    expect(await recoverQuiesced(docker, ledger)).toEqual([{address: 'agent.alpha', how: 'pause'}]);
    expect((await state(c.id)).Paused).toBe(false);
    expect(heldByDeadBackup(ledger)).toBe(false);
    expect(ledger.listEvents().at(-1)!.message).toMatch(/resumed 1 agent\(s\) an interrupted backup had left paused/);
  });
});
