import { defineConfig } from 'vitest/config';

/**
 * Test files that share nothing through module state, process listeners or
 * fixed paths: they run without per-file isolation, one worker process
 * reusing its loaded modules across files (about 1 s of CPU saved per file
 * on a 2-core machine, where the suite is CPU-bound). Each directory here
 * passed a `--no-isolate --sequence.shuffle` run. The other directories
 * start masters, HTTP services and browsers through shared fixtures that
 * assume a fresh module graph per file, and keep isolation: a file added to
 * a directory below must not keep state in a module another file imports.
 */
const SHARED_WORKER_DIRS = ['app', 'architecture', 'bounce', 'build', 'config', 'errors', 'mail', 'pipeline', 'queues', 'store'];
const sharedWorkerFiles = SHARED_WORKER_DIRS.map((dir) => `test/${dir}/**/*.test.ts`);

export default defineConfig({
  test: {
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
    projects: [
      { extends: true, test: { name: 'shared-worker', include: sharedWorkerFiles, isolate: false } },
      { extends: true, test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: ['dist/**', 'node_modules/**', ...sharedWorkerFiles] } },
    ],
  },
});
