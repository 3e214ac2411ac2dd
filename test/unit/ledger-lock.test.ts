import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {EXIT} from '../../src/exit-codes.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {pidAlive} from '../../src/ledger/locks.js';
import {caught} from '../helpers/errors.js';

let dir: string;
let l: Ledger;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-lock-'));
  l = Ledger.open(dir);
});
afterEach(() => {
  l.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

const me = {pid: process.pid, host: os.hostname(), command: 'orx apply'};
/** A pid that surely belongs to no running process: a child we started and reaped. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  expect(r.status).toBe(0);
  expect(pidAlive(r.pid)).toBe(false);
  return r.pid;
}

describe('workspace lock', () => {
  it('acquires, reports the holder, and conflicts with exit code 4', () => {
    const lock = l.acquireLock(me);
    expect(lock).toMatchObject({name: 'workspace', pid: process.pid, host: os.hostname(), command: 'orx apply'});
    expect(lock.id).toMatch(/^lock-/);
    expect(lock.since).toMatch(/Z$/);
    expect(l.currentLock()).toEqual(lock);
    const err = caught(() => l.acquireLock({...me, command: 'orx destroy'}));
    expect(err.code).toBe('locked');
    expect(err.exit).toBe(EXIT.LOCKED);
    expect(err.exit).toBe(4);
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.message).toContain(os.hostname());
    expect(err.message).toContain('orx apply');
    expect(err.message).toContain(lock.since);
    expect(err.message).toContain(lock.id);
    expect(err.message).not.toMatch(/STALE/);
    expect(err.actions[0]).toMatch(/Wait for pid/);
    expect(err.actions.join('\n')).toContain(`orx force-unlock ${lock.id}`);
    expect(err.data).toMatchObject({lock, stale: false});
  });

  it('names are independent locks', () => {
    l.acquireLock(me);
    expect(l.acquireLock({...me, name: 'dr'}).name).toBe('dr');
  });

  it('release removes only a lock whose id matches', () => {
    const lock = l.acquireLock(me);
    expect(l.releaseLock('lock-someone-else')).toBe(false);
    expect(l.currentLock()).toBeDefined();
    expect(l.releaseLock(lock.id)).toBe(true);
    expect(l.currentLock()).toBeUndefined();
    expect(l.acquireLock(me).id).not.toBe(lock.id);
  });

  it('reports a lock held by a dead pid on this host as STALE with the force-unlock action', () => {
    const pid = deadPid();
    const lock = l.acquireLock({...me, pid});
    const err = caught(() => l.acquireLock(me));
    expect(err.exit).toBe(4);
    expect(err.message).toContain('STALE');
    expect(err.message).toContain(`held by pid ${pid} which is no longer running`);
    expect(err.actions).toHaveLength(1);
    expect(err.actions[0]).toContain(`orx force-unlock ${lock.id} --reason "..."`);
    expect(err.data).toMatchObject({stale: true});
  });

  it('does not call a lock on another host stale (its pid means nothing here)', () => {
    l.acquireLock({...me, pid: deadPid(), host: 'some-other-host'});
    const err = caught(() => l.acquireLock(me));
    expect(err.message).not.toContain('STALE');
    expect(err.data).toMatchObject({stale: false});
  });

  it('force-unlock refuses a wrong id or an empty reason, then unlocks with the right id and records it', () => {
    const lock = l.acquireLock({...me, pid: deadPid()});
    const wrong = caught(() => l.forceUnlock('lock-wrong', 'crashed', 'alice'));
    expect(wrong.code).toBe('not_found');
    expect(wrong.message).toContain(lock.id);
    expect(caught(() => l.forceUnlock(lock.id, '  ', 'alice')).code).toBe('invalid_input');
    expect(l.currentLock()).toEqual(lock);
    expect(l.forceUnlock(lock.id, 'apply crashed (kill -9)', 'alice')).toEqual(lock);
    expect(l.currentLock()).toBeUndefined();
    const ev = l.listEvents().at(-1)!;
    expect(ev).toMatchObject({level: 'warn', payload: {actor: 'alice', reason: 'apply crashed (kill -9)', lock: {id: lock.id}}});
    expect(ev.message).toContain('apply crashed (kill -9)');
    expect(l.verifyChain()).toMatchObject({ok: true});
    expect(caught(() => l.forceUnlock(lock.id, 'again', 'alice')).message).toMatch(/not locked/);
    // the old holder's release must not free a new holder's lock
    const next = l.acquireLock(me);
    expect(l.releaseLock(lock.id)).toBe(false);
    expect(l.currentLock()?.id).toBe(next.id);
  });

  it('two handles on one file (as two processes): exactly one acquires', () => {
    const a = Ledger.open(dir);
    const b = Ledger.open(dir);
    try {
      const results = [a, b].map((h, i) => {
        try {
          return h.acquireLock({...me, command: `orx apply #${i}`});
        } catch (err) {
          return err as OrxError;
        }
      });
      const winners = results.filter((r) => !(r instanceof OrxError));
      const losers = results.filter((r): r is OrxError => r instanceof OrxError);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(losers[0].exit).toBe(EXIT.LOCKED);
      expect(b.currentLock()).toEqual(winners[0]);
    } finally {
      a.close();
      b.close();
    }
  });
});
