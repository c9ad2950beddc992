import { defineConfig } from 'vitest/config';

// The process-fault tests stop and kill the real daemons every other test
// uses, so they run on their own after the rest of the suite, one file at a
// time (test/run.sh).
export default defineConfig({
  test: {
    include: ['test/process-faults/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results-process-faults.json' },
  },
});
