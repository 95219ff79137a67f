import { defineConfig } from 'vitest/config';
import { testTmpDir } from './test/support/test-tmpdir.js';

/**
 * Test files that share nothing through module state, process listeners,
 * globals or environment variables: they run without per-file isolation, one
 * worker process reusing its loaded modules across files (about 1 s of CPU
 * saved per file on a 2-core machine, where the suite is CPU-bound).
 *
 * What decides is the test process itself, not what a file starts: masters,
 * runners, HTTP services, Postfix and browsers are child processes, fresh
 * either way, and files already run two at a time, so fixed ports and paths
 * would collide with isolation too. What a shared worker adds is only that a
 * file sees the modules, timers, listeners, process.env and globalThis the
 * files before it left. Each directory here passed
 * `npx vitest run test/DIR --no-isolate --sequence.shuffle.files` under
 * several seeds (`--sequence.shuffle` alone also shuffles the tests inside a
 * file, whose order some files rely on: not a leak between files).
 *
 * test/master keeps isolation: its files start and kill masters in ways
 * still being changed. test/e2e shares its worker: its harnesses (master,
 * ingress, SMTP sink, DNS responder, PostgreSQL, verifiers) register no
 * hooks or listeners at module level and keep no state a file depends on
 * (port and database counters only move on), and each file closes its
 * sinks, stores, clusters and masters in its own afterAll. A file added to a directory below must restore
 * what it changes in the process (env, listeners, fake timers) and close what
 * it opens by the end of the file.
 */
const SHARED_WORKER_DIRS = [
  'app',
  'architecture',
  'bounce',
  'build',
  'cli',
  'config',
  'deploy',
  'e2e',
  'errors',
  'http',
  'incoming',
  'ingress',
  'mail',
  'migrate',
  'mta',
  'pipeline',
  'queues',
  'runners',
  'store',
  'support',
  'web',
];
const sharedWorkerFiles = SHARED_WORKER_DIRS.map((dir) => `test/${dir}/**/*.test.ts`);
/** Temporary homes on tmpfs when the machine has room (test/support/test-tmpdir.ts). */
const tmpDir = testTmpDir();
/**
 * NODE_EXTRA_CA_CERTS, where the environment sets it (a VM pointing it at the
 * system's CA bundle), makes every node process read and parse that bundle at
 * start-up, before any of its code runs: about 50 ms of CPU each (measured,
 * `node -e 0`: 65 ms with it, 19 without), and the suite starts hundreds of
 * node processes (workers, masters, runners, CLI runs, fixtures). No
 * test needs another CA: their TLS is to loopback servers with certificates
 * the tests make and pass explicitly. Removed here, in the main process, so
 * that the workers and everything they start go without it.
 */
delete process.env.NODE_EXTRA_CA_CERTS;

export default defineConfig({
  test: {
    exclude: ['dist/**', 'node_modules/**'],
    env: tmpDir === undefined ? {} : { TMPDIR: tmpDir },
    // Ceilings for a loaded 2-core machine, not paces: tests end at the event they await.
    // The waits inside them give up at 120 s (MASTER_WAIT_MS in test/master/harness.ts) with
    // a message saying what they waited for; the test's own limit is above that so the
    // message, not a bare "timed out", is what a failure shows.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Three files at once on a 2-core machine: a file spends about a quarter
    // of its time waiting on the processes it started (masters starting,
    // runners restarting after a kill, Postfix and Mailman answering), and a
    // third file fills that time (quiet suite 317 s with two, 290 s with
    // three). The tests themselves wait on events with generous ceilings, so
    // they do not depend on how busy the cores are (they also pass beside
    // `stress-ng --cpu 4`).
    maxWorkers: 3,
    // Tests run the CLI and runners from dist/: rebuild it first when the source changed (test/support/build-freshness.ts).
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'shared-worker', include: sharedWorkerFiles, isolate: false } },
      { extends: true, test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: ['dist/**', 'node_modules/**', ...sharedWorkerFiles] } },
    ],
  },
});
