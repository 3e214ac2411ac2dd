// ESLint for orx: typescript-eslint's type-checked recommended rules; formatting is
// Prettier's (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import globals from 'globals';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {ignores: ['dist/', 'coverage/', 'node_modules/', 'templates/', 'plans/', '**/*.cjs']},
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname},
    },
    rules: {
      // `catch {}` and `_`-prefixed names are how this code says "deliberately unused"
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
      // orx strips control characters out of untrusted text (YAML, engine output, tokens): those regexes are the point
      'no-control-regex': 'off',
      // String(v) over `unknown` is how messages quote untrusted values; objects are described before they get there
      '@typescript-eslint/no-base-to-string': 'off',
      // `async` is kept on functions that only return a promise: a synchronous throw inside
      // them must still reach the caller as a rejection
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // published Lanczos coefficients, kept as printed so they can be checked against the source
    files: ['src/sim/rng.ts'],
    rules: {'no-loss-of-precision': 'off'},
  },
  {
    files: ['commands/**/*.ts'],
    rules: {
      // a command parses, calls a use-case and renders; ending the process is the CLI layer's job
      'no-restricted-properties': ['error', {object: 'process', property: 'exit', message: 'exit codes come from the result; see src/cli'}],
    },
  },
  {
    // tests read the CLI's JSON output, which is `any` by nature; the rest of the type-checked rules apply
    files: ['test/**/*.ts', 'test/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {...globals.node},
    },
  },
  prettier,
);
