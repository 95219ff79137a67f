/**
 * Spool.requeueAll: many entries of the requeue sources (`bad`, `shunt`,
 * and the retry queue when named) back to the queue each came from, one
 * `requeue` each, as the CLI's `queue requeue --all`/`--queue` and the HTTP
 * API's requeue route ask for it. What it cannot requeue is reported with
 * its code and left byte for byte where it was. Real files in a temp spool.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entryPath, makeEntryId, NotRequeueSourceError, nowMicros, Spool, UnknownQueueError } from '../../queues/index.js';
import { makeTempDir, removeTempDir } from './harness.js';

let dir: string | undefined;
let spool: Spool;

beforeEach(async () => {
  dir = await makeTempDir();
  // As switchyard opens its spool (runners/queue-ids.ts SPOOL_OPTIONS).
  spool = new Spool({ root: dir, durability: 'none', standardQueues: ['in', 'out', 'retry', 'shunt', 'bad'], requeueFrom: ['bad', 'shunt'], retryQueue: 'retry' });
});

afterEach(async () => {
  await removeTempDir(dir);
});

/** An entry that failed in `from` and was moved to `to` by its runner (shunt, or retry due in an hour). */
async function movedEntry(from: string, to: 'shunt' | 'retry', subject: string): Promise<string> {
  const board = spool.switchboard(from);
  const id = await board.enqueue(`Subject: ${subject}\n\nbody\n`, { listId: 'dev.example.org' });
  await board.dequeue(id);
  return board.moveTo(id, to, to === 'retry' ? { reason: 'SMTP 451', micros: nowMicros() + 3_600_000_000n } : { reason: 'handler crashed' });
}

/** Taken by a runner and kept in bad with a reason. */
async function preservedInBad(from: string): Promise<string> {
  const board = spool.switchboard(from);
  const id = await board.enqueue('Subject: bad\n\nbody\n', { listId: 'dev.example.org' });
  await board.dequeue(id);
  await board.finish(id, { preserve: true, reason: 'SMTP 554' });
  return id;
}

/** A file in `queue` that is no queue file at all. */
async function corruptFile(queue: string): Promise<{ id: string; path: string; bytes: Buffer }> {
  const bytes = Buffer.from('not a queue file\n\0\xff');
  const id = makeEntryId(bytes, '', nowMicros());
  const path = entryPath(spool.root, queue, id, 'pck');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return { id, path, bytes };
}

async function queueOf(id: string): Promise<string> {
  return (await spool.find(id)).queue;
}

describe('Spool.requeueAll', () => {
  it('by default takes every entry of bad and shunt back to its queue, and leaves retry to its runner', async () => {
    const shunted = await movedEntry('in', 'shunt', 's');
    const bad = await preservedInBad('out');
    const waiting = await movedEntry('out', 'retry', 'r');
    const progress: [number, number][] = [];
    const result = await spool.requeueAll({ onProgress: (done, total) => progress.push([done, total]) });
    expect([...result.requeued].sort()).toEqual([shunted, bad].sort());
    expect(result.skipped).toEqual([]);
    expect(progress).toEqual([[1, 2], [2, 2]]);
    expect(result.moved).toEqual(expect.arrayContaining([{ id: shunted, from: 'shunt', to: 'in' }, { id: bad, from: 'bad', to: 'out' }]));
    expect(result.moved).toHaveLength(2);
    expect(await queueOf(shunted)).toBe('in');
    expect(await queueOf(bad)).toBe('out');
    expect(await queueOf(waiting)).toBe('retry');
  });

  it('queues: only the entries of the queues named; retry entries go back at once, not when due', async () => {
    const shunted = await movedEntry('in', 'shunt', 's');
    const bad = await preservedInBad('out');
    const waiting = await movedEntry('out', 'retry', 'r');
    const fromShunt = await spool.requeueAll({ queues: ['shunt'] });
    expect(fromShunt).toEqual({ requeued: [shunted], moved: [{ id: shunted, from: 'shunt', to: 'in' }], skipped: [] });
    expect(await queueOf(bad)).toBe('bad');
    const fromRetry = await spool.requeueAll({ queues: ['retry'] });
    expect(fromRetry).toEqual({ requeued: [waiting], moved: [{ id: waiting, from: 'retry', to: 'out' }], skipped: [] });
    const back = await spool.find(waiting);
    expect(back).toMatchObject({ queue: 'out', state: 'pck' });
    expect(back.control?.restores).toBe(0);
  });

  it('ids: only those; one elsewhere, unknown or given twice is skipped with its code, and the others are still done', async () => {
    const first = await movedEntry('in', 'shunt', 'one');
    const second = await movedEntry('in', 'shunt', 'two');
    const untouched = await movedEntry('in', 'shunt', 'three');
    const inRetry = await movedEntry('out', 'retry', 'r');
    const unknown = makeEntryId(Buffer.from('x'), '', nowMicros());
    const result = await spool.requeueAll({ queues: ['shunt'], ids: [first, inRetry, unknown, 'not-an-id', second, first] });
    expect(result.requeued).toEqual([first, second]);
    expect(result.skipped).toEqual([
      { id: inRetry, code: 'SY_QUEUE_ENTRY_UNKNOWN', reason: `no entry ${inRetry} in shunt (it is in retry)` },
      { id: unknown, code: 'SY_QUEUE_ENTRY_UNKNOWN', reason: `no entry ${unknown} in any queue` },
      { id: 'not-an-id', code: 'SY_QUEUE_ENTRY_ID', reason: expect.stringContaining('invalid queue entry id') },
    ]);
    expect(await queueOf(untouched)).toBe('shunt');
    expect(await queueOf(inRetry)).toBe('retry');
  });

  it('a corrupt entry is skipped with its reason and left byte for byte where it was, in shunt and in bad', async () => {
    const good = await movedEntry('in', 'shunt', 'good');
    const inShunt = await corruptFile('shunt');
    const inBad = await corruptFile('bad');
    const result = await spool.requeueAll({ queues: ['shunt', 'bad'] });
    expect(result.requeued).toEqual([good]);
    expect(result.skipped.map((s) => [s.id, s.code])).toEqual(
      expect.arrayContaining([
        [inShunt.id, 'SY_QUEUE_NOT_REQUEUEABLE'],
        [inBad.id, 'SY_QUEUE_NOT_REQUEUEABLE'],
      ]),
    );
    expect(result.skipped).toHaveLength(2);
    for (const skip of result.skipped) expect(skip.reason).toContain('corrupt');
    expect(await readFile(inShunt.path)).toEqual(inShunt.bytes);
    expect(await readFile(inBad.path)).toEqual(inBad.bytes);
  });

  it('refuses, before doing anything, a queue that is no requeue source, and one the spool does not have', async () => {
    const shunted = await movedEntry('in', 'shunt', 's');
    await expect(spool.requeueAll({ queues: ['shunt', 'in'] })).rejects.toThrow(NotRequeueSourceError);
    await expect(spool.requeueAll({ queues: ['shunt', 'in'] })).rejects.toMatchObject({ code: 'SY_QUEUE_REQUEUE_SOURCE', message: expect.stringContaining('only from bad, shunt or retry') });
    await expect(spool.requeueAll({ queues: ['nowhere'] })).rejects.toThrow(UnknownQueueError);
    await expect(spool.requeueAll({ queues: ['Not A Name'] })).rejects.toMatchObject({ code: 'SY_QUEUE_NAME' });
    expect(await queueOf(shunted)).toBe('shunt');
  });
});
