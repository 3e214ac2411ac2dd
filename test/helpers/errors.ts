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
