// The locks table: the workspace lock every writing command takes, naming its holder.
import os from 'node:os';
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {sessionOf, type LedgerHandle} from './db.js';
import {insertEvent} from './events.js';
import {newId, now} from './rows.js';
import type {LockRecord} from './types.js';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else, so it is alive.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Takes the workspace lock or throws exit 4 naming the holder (and whether it is stale). */
export function acquireLock(ledger: LedgerHandle, input: {name?: string; pid: number; host: string; command: string}): LockRecord {
  const lock: LockRecord = {
    id: newId('lock'),
    name: input.name ?? 'workspace',
    pid: input.pid,
    host: input.host,
    command: input.command,
    since: now(),
  };
  const db = sessionOf(ledger);
  return db.write(() => {
    const held = currentLock(db, lock.name);
    if (held) throw lockedError(held);
    db.stmt('INSERT INTO locks (name, id, pid, host, command, since) VALUES (@name, @id, @pid, @host, @command, @since)').run(lock);
    return lock;
  });
}

/**
 * `-lock-timeout`: takes the lock, polling while another process holds it, for up to
 * `timeoutMs`; then the same exit 4 naming the holder. 0 fails at once, as acquireLock.
 */
export async function acquireLockWaiting(
  ledger: LedgerHandle,
  input: {name?: string; pid: number; host: string; command: string},
  timeoutMs: number,
  onWait?: (held: LockRecord) => void,
  pollMs = 200,
): Promise<LockRecord> {
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      return acquireLock(ledger, input);
    } catch (err) {
      const waited = Date.now() - started;
      if (!(err instanceof OrxError) || err.code !== 'locked' || waited >= timeoutMs) {
        if (timeoutMs > 0 && err instanceof OrxError && err.code === 'locked') {
          throw new OrxError({
            ...err,
            message: `${err.message} Waited ${Math.round(waited / 100) / 10}s (-lock-timeout).`,
            data: {...err.data, waited_ms: waited},
          });
        }
        throw err;
      }
      if (!told) onWait?.((err.data as {lock: LockRecord}).lock);
      told = true;
      await new Promise((r) => setTimeout(r, Math.min(pollMs, timeoutMs - waited)));
    }
  }
}

/** Removes the lock only if it is still ours: a force-unlocked holder must not free its successor's lock. */
export function releaseLock(ledger: LedgerHandle, id: string): boolean {
  const db = sessionOf(ledger);
  return db.write(() => db.stmt('DELETE FROM locks WHERE id = ?').run(id).changes > 0);
}

export function forceUnlock(ledger: LedgerHandle, id: string, reason: string, actor: string): LockRecord {
  if (!reason.trim()) {
    throw new OrxError({
      code: 'invalid_input',
      message: 'force-unlock needs a reason; it is recorded in the audit log.',
      actions: [`orx force-unlock ${id} --reason "..."`],
    });
  }
  const db = sessionOf(ledger);
  return db.write(() => {
    const lock = db.stmt('SELECT * FROM locks WHERE id = ?').get(id) as LockRecord | undefined;
    if (!lock) {
      const held = db.stmt('SELECT * FROM locks ORDER BY since').all() as LockRecord[];
      throw new OrxError({
        code: 'not_found',
        message: `No lock with id "${id}".${held.length ? ` Current lock${held.length > 1 ? 's' : ''}: ${held.map((l) => l.id).join(', ')}.` : ' The workspace is not locked.'}`,
        actions: held.length ? ['Check the lock id (it is printed in the "workspace locked" error) and retry.'] : [],
        data: {id, locks: held},
      });
    }
    db.stmt('DELETE FROM locks WHERE id = ?').run(id);
    insertEvent(db, {level: 'warn', message: `force-unlock ${id} by ${actor}: ${reason}`, payload: {lock: {...lock}, actor, reason}});
    return {...lock};
  });
}

export function currentLock(ledger: LedgerHandle, name = 'workspace'): LockRecord | undefined {
  const row = sessionOf(ledger).stmt('SELECT * FROM locks WHERE name = ?').get(name) as LockRecord | undefined;
  return row && {...row};
}

function lockedError(lock: LockRecord): OrxError {
  const stale = lock.host === os.hostname() && !pidAlive(lock.pid);
  const unlock = `orx force-unlock ${lock.id} --reason "..."`;
  const holder = `pid ${lock.pid} on ${lock.host} (\`${lock.command}\`) since ${lock.since}`;
  return new OrxError({
    code: 'locked',
    exit: EXIT.LOCKED,
    message: stale
      ? `The ${lock.name} lock ${lock.id} is STALE: held by pid ${lock.pid} which is no longer running (\`${lock.command}\` on ${lock.host} since ${lock.since}).`
      : `The ${lock.name} is locked by ${holder}, lock id ${lock.id}.`,
    actions: stale
      ? [`Check nothing else is changing this workspace, then: ${unlock}`]
      : [`Wait for pid ${lock.pid} to finish, then retry.`, `If you are sure it is gone: ${unlock}`],
    data: {lock: {...lock}, stale},
  });
}
