import {defineConfig} from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // integration and e2e tests share one Docker engine on a 2-core machine
    fileParallelism: true,
    maxWorkers: 2,
    // as the CLI does before it loads ink (commands/apply-flow.ts): a CI=true would make
    // ink draw only the last frame of the review screen
    env: {CI: 'false', CONTINUOUS_INTEGRATION: 'false'},
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'src/**/*.tsx'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {lines: 90},
    },
  },
});
