import {expect} from 'vitest';
import {OrxError} from '../../src/errors.js';

/** Runs fn, which must throw an OrxError, and returns it for closer checks. */
export function caught(fn: () => unknown): OrxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OrxError);
    return err as OrxError;
  }
  throw new Error('expected an OrxError');
}

/** Awaits p, which must reject with an OrxError, and returns it for closer checks. */
export async function caughtAsync(p: Promise<unknown>): Promise<OrxError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(OrxError);
    return err as OrxError;
  }
  throw new Error('expected an OrxError');
}
