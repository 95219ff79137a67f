import { fsync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEntry, DirectorySync, StreamEnqueue, Switchboard, type FsyncDescriptor } from '../../queues/index.js';
import { payload } from '../fixtures/queue-payload.js';
import { killLiveChildren, makeTempDir, removeTempDir, startFixture, walkFiles } from './harness.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await killLiveChildren();
  await removeTempDir(root);
});

/**
 * The real fsync(2), but each call's completion is held until the test
 * releases it: the test decides when "the fsync completes" and can look at
 * who was told what meanwhile. `failing` makes a call fail for real (fsync
 * of a descriptor that is not open: EBADF from the kernel).
 */
class HeldFsync {
  readonly calls: Array<{ release: () => void }> = [];
  private waiter: (() => void) | undefined;
  failing = false;
  /** Let every fsync complete as soon as it has run, from now on. */
  private passing = false;

  readonly fsync: FsyncDescriptor = (fd, callback) => {
    const target = this.failing ? 0x7fff_fff0 : fd;
    fsync(target, (error) => {
      this.calls.push({ release: () => callback(error) });
      if (this.passing) this.calls.at(-1)!.release();
      this.waiter?.();
    });
  };

  /** Release the held fsyncs and every later one as it comes. */
  releaseAll(): void {
    this.passing = true;
    for (const call of this.calls) call.release();
  }

  /** Resolves once `count` fsyncs have been made (and are held). */
  async made(count: number): Promise<void> {
    while (this.calls.length < count) await new Promise<void>((resolve) => (this.waiter = resolve));
  }
}

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  return { settled: () => done, promise };
}

/** Let every pending callback and microtask run (fs callbacks need turns of the loop). */
/**
 * Makes a queue's shard directories (durably, with the real fsync) before a
 * test holds or fails fsyncs: what these tests count and fail is the entry's
 * directory fsync, not the one-time fsyncs of a directory's creation.
 */
async function madeQueues(...names: string[]): Promise<void> {
  for (const name of names) (await new Switchboard({ root, name }).watch()).close();
}

async function turns(count = 20): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('group commit of directory fsyncs', () => {
  it('resolves nobody before the fsync covering their request completes, and gives everyone who asked meanwhile one shared next fsync', async () => {
    const held = new HeldFsync();
    const syncer = new DirectorySync(held.fsync);
    const first = track(syncer.sync(root));
    await held.made(1);
    const joined = [track(syncer.sync(root)), track(syncer.sync(root)), track(syncer.sync(root))];
    await turns();
    // The first fsync has run but not completed: nobody is told anything, and the joiners wait for the next one.
    expect(first.settled()).toBe(false);
    expect(joined.map((waiter) => waiter.settled())).toEqual([false, false, false]);
    expect(held.calls).toHaveLength(1);

    held.calls[0]!.release();
    await first.promise;
    await held.made(2);
    await turns();
    // One fsync for the three that asked while the first was in flight, which it could not cover.
    expect(held.calls).toHaveLength(2);
    expect(joined.map((waiter) => waiter.settled())).toEqual([false, false, false]);

    held.calls[1]!.release();
    await Promise.all(joined.map((waiter) => waiter.promise));
    expect(syncer.stats).toEqual({ fsyncs: 2, requests: 4 });
  });

  it('rejects every caller waiting on a shared fsync that fails, with its error, and starts afresh for the next caller', async () => {
    const held = new HeldFsync();
    const syncer = new DirectorySync(held.fsync);
    const first = track(syncer.sync(root));
    await held.made(1);
    held.failing = true;
    const joined = [syncer.sync(root), syncer.sync(root), syncer.sync(root)];
    held.calls[0]!.release();
    await first.promise;
    await held.made(2);
    held.calls[1]!.release();
    const outcomes = await Promise.allSettled(joined);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const outcome of outcomes) expect(((outcome as PromiseRejectedResult).reason as NodeJS.ErrnoException).code).toBe('EBADF');

    held.failing = false;
    const later = syncer.sync(root);
    await held.made(3);
    held.calls[2]!.release();
    await expect(later).resolves.toBeUndefined();
  });

  it('keeps directories apart: an fsync of one directory never answers a caller of another', async () => {
    const held = new HeldFsync();
    const syncer = new DirectorySync(held.fsync);
    const other = await makeTempDir();
    try {
      const a = track(syncer.sync(root));
      const b = track(syncer.sync(other));
      await held.made(2);
      held.calls[0]!.release();
      await turns();
      expect([a.settled(), b.settled()].filter(Boolean)).toHaveLength(1);
      held.calls[1]!.release();
      await Promise.all([a.promise, b.promise]);
    } finally {
      await removeTempDir(other);
    }
  });
});

describe('concurrent enqueues under group commit', () => {
  it('resolves no enqueue before the directory fsync after its rename completes; all share fsyncs and are all on disk', async () => {
    await madeQueues('in');
    const held = new HeldFsync();
    const queue = new Switchboard({ root, name: 'in', directorySync: new DirectorySync(held.fsync) });
    const enqueues = Array.from({ length: 8 }, (_, n) => track(queue.enqueue(payload('group', n), { n })));
    await held.made(1);
    await turns();
    // A directory fsync has been made (so at least one rename is done), yet nobody is accepted while the fsyncs are held.
    expect(enqueues.some((enqueue) => enqueue.settled())).toBe(false);
    held.releaseAll();
    const ids = await Promise.all(enqueues.map((enqueue) => enqueue.promise));
    expect(new Set(await queue.files())).toEqual(new Set(ids));
    // Never more directory fsyncs than enqueues (fewer when several landed in one shard directory).
    expect(held.calls.length).toBeLessThanOrEqual(8);
    for (const [n, id] of ids.entries()) expect(decodeEntry(readFileSync(queue.path(id, 'pck'))).message.equals(payload('group', n))).toBe(true);
  });

  it('rejects every enqueue waiting on a failed shared directory fsync, and withdraws their files (the senders retry: no duplicate)', async () => {
    const held = new HeldFsync();
    held.failing = true;
    const queue = new Switchboard({ root, name: 'in', directorySync: new DirectorySync(held.fsync) });
    held.releaseAll();
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, n) => queue.enqueue(payload('fail', n), { n })));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(8).fill('rejected'));
    for (const outcome of outcomes) expect(((outcome as PromiseRejectedResult).reason as NodeJS.ErrnoException).code).toBe('EBADF');
    // Renamed into place before the fsync failed, then withdrawn: nothing for a runner to process, no temp left.
    expect(held.calls.length).toBeGreaterThan(0);
    expect(await queue.files()).toEqual([]);
    expect(await walkFiles(root)).toEqual([]);
  });

  it('a streamed enqueue (spilled, two targets) whose directory fsync fails withdraws both entries', async () => {
    await madeQueues('in', 'bounces');
    const held = new HeldFsync();
    held.failing = true;
    held.releaseAll();
    const syncer = new DirectorySync(held.fsync);
    const inQueue = new Switchboard({ root, name: 'in', directorySync: syncer });
    const bounces = new Switchboard({ root, name: 'bounces', directorySync: syncer });
    const stream = new StreamEnqueue([{ switchboard: inQueue, metadata: { n: 1 } }, { switchboard: bounces, metadata: { n: 2 } }], { spillBytes: 16 });
    await stream.write(Buffer.alloc(1000, 0x61));
    const outcomes = await stream.commit();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await inQueue.files()).toEqual([]);
    expect(await bounces.files()).toEqual([]);
    expect(await walkFiles(root)).toEqual([]);
  });

  it('loses no accepted entry when the process is SIGKILLed right after printing "accepted", with 64 enqueues in flight', async () => {
    const child = startFixture('queue-group-commit-worker', [root, 'kill', '64']);
    await child.waitForLine((line) => line.startsWith('accepted ') && child.lines.length >= 300);
    child.kill('SIGKILL');
    await child.exited;
    const accepted = child.lines.filter((line) => line.startsWith('accepted ')).map((line) => {
      const [, id, n] = line.split(' ');
      return { id: id!, n: Number(n) };
    });
    expect(accepted.length).toBeGreaterThanOrEqual(300);
    const queue = new Switchboard({ root, name: 'in' });
    const onDisk = new Set(await queue.files());
    const missing = accepted.filter(({ id }) => !onDisk.has(id));
    expect(missing).toEqual([]);
    for (const { id, n } of accepted) {
      const entry = decodeEntry(readFileSync(queue.path(id, 'pck')));
      expect(entry.message.equals(payload('kill', n))).toBe(true);
      expect(entry.metadata.n).toBe(n);
    }
    // Nothing but entries and writers' temp files: no partial entry under a final name.
    const files = await walkFiles(root);
    expect(files.filter((path) => !path.endsWith('.pck') && !path.endsWith('.tmp'))).toEqual([]);
    expect(files.filter((path) => path.endsWith('.pck'))).toHaveLength(onDisk.size);
    expect(await readdir(join(root, 'in'))).not.toHaveLength(0);
  }, 120_000);
});
