/**
 * Where the test suite's temporary homes, spools and stores go: the TMPDIR
 * that vitest.config.ts gives every test worker (and so every master,
 * runner and CLI a test starts).
 *
 * On a RAM file system (/dev/shm) when this machine has one with room: the
 * suite makes tens of thousands of queue entries and SQLite commits, each
 * fsynced, and on a virtual disk an fsync costs 0.2–1.2 ms of kernel CPU,
 * about a third of the suite's CPU. On tmpfs the same fsync calls are made
 * (the code under test is the same) and return at once. What the tests
 * claim does not depend on it: they kill processes, and what a killed
 * process wrote is in the page cache whether or not it was synced; a power
 * cut is what fsync is for, and no test can cut the power.
 * `npm run bench` measures fsyncs on the real disk (benchBaseDir()).
 *
 * SWITCHYARD_TEST_TMPDIR overrides the choice (any directory; `os` for the
 * system's default). Without tmpfs, or with less than RAM_FS_MIN_BYTES free
 * there or in memory (a container's 64 MB /dev/shm, a small VM), the
 * system's default temporary directory is kept.
 */
import { mkdirSync, chmodSync, statfsSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';

const RAM_FS = '/dev/shm';
/** tmpfs's magic number in statfs(2). */
const TMPFS_MAGIC = 0x01021994;
/** Room the suite needs at its peak (lmtp-abuse holds 40 DATA of 24 MB in temp files at once) with a margin. */
const RAM_FS_MIN_BYTES = 4 * 1024 ** 3;

/** The TMPDIR the suite should run with, or undefined for the system's default. */
export function testTmpDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.SWITCHYARD_TEST_TMPDIR;
  if (chosen === 'os') return undefined;
  if (chosen !== undefined && chosen !== '') return chosen;
  if (!hasRoom(RAM_FS)) return undefined;
  const dir = join(RAM_FS, 'switchyard-tests');
  mkdirSync(dir, { recursive: true });
  // Like /tmp: anyone may create, only the owner removes (the Postfix and Mailman tests run parts as other users).
  chmodSync(dir, 0o1777);
  return dir;
}

function hasRoom(dir: string): boolean {
  try {
    const fs = statfsSync(dir);
    return fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= RAM_FS_MIN_BYTES && freemem() >= RAM_FS_MIN_BYTES;
  } catch {
    return false;
  }
}
