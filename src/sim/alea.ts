// seedrandom's alea alone, loaded on first use: the package's main module loads all its
// algorithms (5 ms at every start-up of a command that plans); alea is the one orx uses, same
// code, same numbers.
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
let generator: ((seed: string) => () => number) | undefined;

export function alea(seed: string): () => number {
  generator ??= require('seedrandom/lib/alea.js') as (seed: string) => () => number;
  return generator(seed);
}

/** The installed package's version, recorded with every seeded result. */
export function seedrandomVersion(): string {
  return (require('seedrandom/package.json') as {version: string}).version;
}
