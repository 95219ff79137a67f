import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    // Ceilings for a loaded 2-core machine, not paces: tests end at the event they await.
    // The waits inside them give up at 120 s (MASTER_WAIT_MS in test/master/harness.ts) with
    // a message saying what they waited for; the test's own limit is above that so the
    // message, not a bare "timed out", is what a failure shows.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Tests spawn real child processes and fsync real files; two cores run
    // two files at once without starving the kill-timing tests.
    maxWorkers: 2,
    // Tests run the CLI and runners from dist/: rebuild it first when the source changed (test/support/build-freshness.ts).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
