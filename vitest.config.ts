import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Tests spawn real child processes and fsync real files; two cores run
    // two files at once without starving the kill-timing tests.
    maxWorkers: 2,
    // Tests run the CLI and runners from dist/: rebuild it first when the source changed (test/support/build-freshness.ts).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
