// Holding agents still while their volume is copied: `docker pause` (or stop, for volumes that
// say `quiesce: stop`), and always resumed, also when the copy fails. What is held is written
// to the ledger first, so that if orx is killed mid-backup the next orx command finds the
// agents it left paused and resumes them.
import os from 'node:os';
import type Dockerode from 'dockerode';
import {engineMessage, isNotFound, statusCode} from '../drivers/docker.js';
import type {Ledger} from '../ledger/ledger.js';
import {pidAlive} from '../ledger/locks.js';
import {quiescedHolds, setQuiescedHolds, type QuiescedHold} from '../ledger/quiesced.js';

async function release(docker: Dockerode, how: 'pause' | 'stop', id: string): Promise<void> {
  const c = docker.getContainer(id);
  try {
    if (how === 'pause') await c.unpause();
    else await c.start();
  } catch (err) {
    // not paused / already running / gone: nothing to give back
    if (isNotFound(err) || statusCode(err) === 304 || statusCode(err) === 409) return;
    throw new Error(`cannot ${how === 'pause' ? 'unpause' : 'start'} ${id.slice(0, 12)}: ${engineMessage(err)}`, {cause: err});
  }
}

/**
 * Pauses (or stops) the running containers given, runs `fn`, and resumes them whatever
 * happens. Returns fn's result and how long the agents were held (the backup's pause).
 */
export async function withQuiesced<T>(
  docker: Dockerode,
  ledger: Ledger,
  how: 'pause' | 'stop',
  containers: Array<{id: string; address: string}>,
  fn: () => Promise<T>,
): Promise<{result: T; ms: number}> {
  const running: Array<{id: string; address: string}> = [];
  for (const c of containers) {
    try {
      if ((await docker.getContainer(c.id).inspect()).State.Running) running.push(c);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  const mine: QuiescedHold = {pid: process.pid, host: os.hostname(), at: new Date().toISOString(), how, containers: running};
  if (running.length > 0) ledger.write(() => setQuiescedHolds(ledger, [...quiescedHolds(ledger), mine]));
  const t0 = Date.now();
  const held: string[] = [];
  // agents left paused are worse than a failed backup: a failure to resume wins over fn's
  const resume = async (failure?: unknown): Promise<void> => {
    const errors: string[] = [];
    for (const id of held) await release(docker, how, id).catch((err: Error) => errors.push(err.message));
    if (running.length > 0)
      ledger.write(() =>
        setQuiescedHolds(
          ledger,
          quiescedHolds(ledger).filter((h) => !(h.pid === mine.pid && h.at === mine.at)),
        ),
      );
    if (errors.length > 0)
      throw new Error(
        `could not resume every agent after the backup: ${errors.join('; ')}`,
        failure === undefined ? undefined : {cause: failure},
      );
  };
  let result: T;
  try {
    for (const c of running) {
      const target = docker.getContainer(c.id);
      if (how === 'pause') await target.pause();
      else await target.stop({t: 10});
      held.push(c.id);
    }
    result = await fn();
  } catch (err) {
    await resume(err);
    throw err;
  }
  const ms = Date.now() - t0;
  await resume();
  return {result, ms};
}

/**
 * Agents an interrupted backup left paused or stopped (its process is gone): resumed, and the
 * ledger says so. Returns what was resumed; a holder that is still running is left alone.
 */
export async function recoverQuiesced(docker: Dockerode, ledger: Ledger): Promise<Array<{address: string; how: string}>> {
  const held = quiescedHolds(ledger);
  const orphaned = held.filter((h) => h.host === os.hostname() && !pidAlive(h.pid));
  if (orphaned.length === 0) return [];
  const resumed: Array<{address: string; how: string}> = [];
  for (const h of orphaned) {
    for (const c of h.containers) {
      await release(docker, h.how, c.id);
      resumed.push({address: c.address, how: h.how});
    }
  }
  ledger.write(() => {
    setQuiescedHolds(
      ledger,
      quiescedHolds(ledger).filter((h) => !orphaned.some((o) => o.pid === h.pid && o.at === h.at)),
    );
    ledger.appendEvent({
      level: 'warn',
      message: `resumed ${resumed.length} agent(s) an interrupted backup had left ${orphaned[0].how === 'pause' ? 'paused' : 'stopped'}`,
      payload: {resumed},
    });
  });
  return resumed;
}

/** Whether an interrupted backup left agents held (for commands that do not talk to the engine). */
export function heldByDeadBackup(ledger: Ledger): boolean {
  return quiescedHolds(ledger).some((h) => h.host === os.hostname() && !pidAlive(h.pid));
}
