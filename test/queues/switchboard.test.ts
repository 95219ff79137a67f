import { randomBytes } from 'node:crypto';
import { mkdir, rm, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BAD_QUEUE,
  decodeEntry,
  EntryNotFoundError,
  InvalidEntryIdError,
  parseEntryId,
  queueShape,
  QueueOptionsError,
  sliceOf,
  Spool,
  Switchboard,
  type JsonObject,
} from '../../queues/index.js';
import { makeTempDir, removeTempDir, walkFiles } from './harness.js';
import { HOSTILE_MESSAGES } from './hostile-messages.js';

const FILE_NAME = /^\d{10}\.\d{6}\+[0-9a-f]{40}\.pck$/;

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await removeTempDir(root);
});

function board(name = 'in', extra: Partial<ConstructorParameters<typeof Switchboard>[0]> = {}): Switchboard {
  return new Switchboard({ root, name, ...extra });
}

/** Every file in the spool whose name starts with the id, as `<queue>/<shard>/<name>`. */
async function whereIs(id: string): Promise<string[]> {
  return (await walkFiles(root)).filter((path) => basename(path).startsWith(id));
}

describe('Switchboard enqueue and dequeue', () => {
  it('round-trips hostile message bytes exactly through enqueue and dequeue', async () => {
    const queue = board();
    const ids = new Map<string, Buffer>();
    for (const [name, message] of Object.entries(HOSTILE_MESSAGES)) ids.set(await queue.enqueue(message, { name }), message);
    for (const [id, message] of ids) {
      const entry = await queue.dequeue(id);
      expect(entry.message.equals(message), `message of ${String(entry.metadata.name)}`).toBe(true);
      await queue.finish(id);
    }
    expect(await queue.files()).toEqual([]);
  });

  it('round-trips a string message as its UTF-8 bytes', async () => {
    const queue = board();
    const id = await queue.enqueue('Sübject: ☃\r\n\r\nbody\0');
    expect((await queue.dequeue(id)).message.equals(Buffer.from('Sübject: ☃\r\n\r\nbody\0', 'utf8'))).toBe(true);
  });

  it('round-trips a 50 MB message byte for byte', async () => {
    const queue = board('in', { durability: 'none' });
    const block = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(1024 * 1024 - 256)]);
    const message = Buffer.concat(Array.from({ length: 50 }, (_, i) => {
      const copy = Buffer.from(block);
      copy.writeUInt32BE(i, 256); // no two megabytes alike: a misplaced chunk shows
      return copy;
    }));
    expect(message.length).toBe(50 * 1024 * 1024);
    const id = await queue.enqueue(message, { size: message.length });
    const entry = await queue.dequeue(id);
    expect(entry.message.length).toBe(message.length);
    expect(entry.message.equals(message)).toBe(true);
    expect(entry.metadata).toEqual({ size: message.length });
  });

  it('round-trips metadata and records restores 0 and the enqueue time in control', async () => {
    const queue = board();
    const metadata: JsonObject = {
      listId: 'test.example.org',
      recipients: ['a@example.org', 'ü@example.org'],
      nested: { n: 1.25, t: true, f: false, z: null, s: 'a\u0000b\r\n' },
    };
    const before = Date.now();
    const id = await queue.enqueue('m', metadata);
    const entry = await queue.dequeue(id);
    expect(entry.id).toBe(id);
    expect(entry.metadata).toEqual(metadata);
    expect(entry.control.restores).toBe(0);
    expect(Date.parse(entry.control.enqueuedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(entry.control.enqueuedAt)).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('names files <10 digits>.<6 digits>+<40 hex>.pck in the shard directory of the sha1, with the enqueue time in the name', async () => {
    const queue = board();
    const before = BigInt(Date.now() - 1000) * 1000n;
    for (let i = 0; i < 20; i++) {
      const id = await queue.enqueue(`message ${i}`);
      const [path, ...others] = await whereIs(id);
      expect(others).toEqual([]);
      expect(basename(path!)).toMatch(FILE_NAME);
      const { micros, sha1 } = parseEntryId(id);
      expect(path).toBe(['in', sha1.slice(0, 2), `${id}.pck`].join(sep));
      expect(micros).toBeGreaterThan(before);
      expect(micros).toBeLessThan(BigInt(Date.now() + 1000) * 1000n);
    }
  });

  it('gives the same message enqueued 200 times at once 200 different names', async () => {
    const queue = board('in', { durability: 'none' });
    const ids = await Promise.all(Array.from({ length: 200 }, () => queue.enqueue('same bytes', { listId: 'same' })));
    expect(new Set(ids).size).toBe(200);
    expect((await queue.files()).length).toBe(200);
  });

  it('keeps a 7-bit message verbatim after the JSON line, readable in less', async () => {
    const queue = board();
    const text = 'From: alice@example.org\nTo: list@example.org\nSubject: plain\n\nLine one.\nLine two.\n';
    const id = await queue.enqueue(text, { listId: 'list.example.org' });
    const file = await readFile(queue.path(id, 'pck'));
    const firstNewline = file.indexOf(0x0a);
    const secondNewline = file.indexOf(0x0a, firstNewline + 1);
    expect(file.subarray(0, firstNewline).toString('latin1')).toMatch(/^SWITCHYARD-QUEUE 1 \d+ \d+$/);
    expect(JSON.parse(file.subarray(firstNewline + 1, secondNewline).toString('utf8'))).toMatchObject({ metadata: { listId: 'list.example.org' } });
    expect(file.subarray(secondNewline + 1).toString('latin1')).toBe(text);
    // Every byte of the file is printable 7-bit text or a newline.
    expect([...file].every((byte) => byte === 0x0a || (byte >= 0x20 && byte < 0x7f))).toBe(true);
  });

  it('creates queue files with mode 0660 and shard directories with 0770 under umask 007', async () => {
    const previous = process.umask(0o007);
    try {
      const queue = board('in', { durability: 'fsync' });
      const id = await queue.enqueue('m');
      const path = queue.path(id, 'pck');
      expect((await stat(path)).mode & 0o777).toBe(0o660);
      expect((await stat(dirname(path))).mode & 0o777).toBe(0o770);
      // A restored entry is a rewritten file: it keeps the mode.
      await queue.dequeue(id);
      await queue.recoverBackupFiles();
      expect((await stat(path)).mode & 0o777).toBe(0o660);
    } finally {
      process.umask(previous);
    }
    expect(process.umask()).toBe(previous);
  });

  it('lists waiting entries oldest first (FIFO) across shard directories', async () => {
    const queue = board('in', { durability: 'none' });
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push(await queue.enqueue(`message ${i}`));
    expect(await queue.files()).toEqual(ids);
    expect(new Set(ids.map((id) => parseEntryId(id).sha1.slice(0, 2))).size).toBeGreaterThan(50);
  });

  it('orders entries by the time in their name, not by when they were written', async () => {
    const queue = board();
    const base = 1_700_000_000_000_000n;
    const offsets = [5n, 1n, 1_000_000n, 0n, 999_999n, 3n];
    const ids = new Map<bigint, string>();
    for (const offset of offsets) ids.set(offset, await queue.enqueue(`at ${offset}`, {}, { micros: base + offset }));
    const expected = [...offsets].sort((a, b) => (a < b ? -1 : 1)).map((offset) => ids.get(offset));
    expect(await queue.files()).toEqual(expected);
  });

  it('ignores files that are not entries (temp files, strangers, other states) when listing waiting entries', async () => {
    const queue = board();
    const id = await queue.enqueue('m');
    const other = await queue.enqueue('n');
    await queue.dequeue(other);
    const shard = dirname(queue.path(id, 'pck'));
    await writeFile(join(shard, `${id}.pck.0123456789ab.tmp`), 'partial');
    await writeFile(join(shard, 'README.pck'), 'not an entry');
    await writeFile(join(shard, `${id}x.pck`), 'not an entry');
    expect(await queue.files()).toEqual([id]);
    expect((await queue.list()).map((e) => [e.id, e.state])).toEqual([id, other].sort().map((x) => [x, x === id ? 'pck' : 'bak']));
    expect((await queue.count()).counts).toEqual({ pck: 1, bak: 1, psv: 0 });
  });

  it('leaves a hand-made file of an entry\'s shape whose sha1 is not hex where it is, whoever lists the queue', async () => {
    const queue = board();
    const spool = new Spool({ root });
    const waiting = await queue.enqueue('waiting', {}, { micros: 1_000_000_000_000_000n });
    const crashed = await queue.enqueue('crashed');
    await queue.dequeue(crashed);
    const shard = dirname(queue.path(waiting, 'pck'));
    // The listing reads a name's shape, not its sha1 (entry-names.ts): these two are listed, and each user of an id checks it.
    const stranger = `${waiting.slice(0, 20)}${'z'.repeat(38)}`;
    const strangers = [join(shard, `${stranger}.pck`), join(shard, `${stranger}.bak`)];
    for (const path of strangers) await writeFile(path, 'not an entry');

    const recovery = await queue.recoverBackupFiles();
    expect(recovery.restored).toEqual([crashed]);
    expect([...recovery.quarantined, ...recovery.moved, ...recovery.unreadable.map((e) => e.id)]).toEqual([]);
    expect((await spool.entries('in')).map((e) => e.id)).toEqual([waiting, crashed]);
    expect((await queue.waitingIds()).ids.toArray()).toEqual([waiting, crashed]);
    expect((await queueShape(spool)).find((shape) => shape.queue === 'in')?.total).toBe(2);
    await expect(queue.dequeue(stranger)).rejects.toBeInstanceOf(InvalidEntryIdError);
    expect(await spool.purge('in', 0)).toEqual([waiting, crashed]);
    for (const path of strangers) expect(await readFile(path, 'utf8')).toBe('not an entry');
  });
});

describe('Switchboard finish, quarantine and moves', () => {
  it('finish() deletes the .bak of a dequeued entry and leaves nothing behind', async () => {
    const queue = board();
    const id = await queue.enqueue('m');
    await queue.dequeue(id);
    expect(await whereIs(id)).toEqual([join('in', parseEntryId(id).sha1.slice(0, 2), `${id}.bak`)]);
    await queue.finish(id);
    expect(await whereIs(id)).toEqual([]);
    await expect(queue.finish(id)).rejects.toBeInstanceOf(EntryNotFoundError);
  });

  it('finish({preserve, reason}) moves the entry to bad as .psv with reason, original queue and time in control', async () => {
    const queue = board();
    const message = HOSTILE_MESSAGES['all 256 byte values']!;
    const id = await queue.enqueue(message, { listId: 'l' });
    await queue.dequeue(id);
    const before = Date.now();
    await queue.finish(id, { preserve: true, reason: 'shunted: handler threw' });
    const where = await whereIs(id);
    expect(where).toEqual([join(BAD_QUEUE, parseEntryId(id).sha1.slice(0, 2), `${id}.psv`)]);
    const entry = decodeEntry(await readFile(join(root, where[0]!)));
    expect(entry.message.equals(message)).toBe(true);
    expect(entry.metadata).toEqual({ listId: 'l' });
    expect(entry.control.reason).toBe('shunted: handler threw');
    expect(entry.control.originalQueue).toBe('in');
    expect(Date.parse(entry.control.movedAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(entry.control.movedAt!)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await queue.files()).toEqual([]);
  });

  it('moveTo() leaves the entry in exactly one place, records the original queue, and moving back clears it', async () => {
    const inQueue = board('in');
    const retry = board('retry');
    const message = HOSTILE_MESSAGES['mixed CR, LF, CRLF and LFCR']!;
    const id = await inQueue.enqueue(message, { listId: 'l' });
    await inQueue.dequeue(id);
    const shard = parseEntryId(id).sha1.slice(0, 2);

    expect(await inQueue.moveTo(id, 'retry', { reason: 'temporary failure' })).toBe(id);
    expect(await whereIs(id)).toEqual([join('retry', shard, `${id}.pck`)]);
    const moved = await retry.dequeue(id);
    expect(moved.message.equals(message)).toBe(true);
    expect(moved.control.originalQueue).toBe('in');
    expect(moved.control.reason).toBe('temporary failure');

    expect(await retry.moveTo(id, 'in')).toBe(id);
    expect(await whereIs(id)).toEqual([join('in', shard, `${id}.pck`)]);
    const back = await inQueue.dequeue(id);
    expect(back.control.originalQueue).toBeUndefined();
    expect(back.control.reason).toBeUndefined();
    expect(back.message.equals(message)).toBe(true);
    expect(back.metadata).toEqual({ listId: 'l' });
  });

  it('a move interrupted between its rewrite and its rename leaves the entry once, and the next recovery finishes the move', async () => {
    const inQueue = board('in');
    const message = HOSTILE_MESSAGES['all 256 byte values']!;
    const id = await inQueue.enqueue(message, { listId: 'l' });
    await inQueue.dequeue(id);
    // Stand-in for a SIGKILL at that moment: the final rename fails (a directory is in the way).
    await mkdir(board('retry').path(id, 'pck'), { recursive: true });
    await expect(inQueue.moveTo(id, 'retry', { reason: 'r' })).rejects.toMatchObject({ code: 'EISDIR' });
    const shard = parseEntryId(id).sha1.slice(0, 2);
    // Only files count: the directory in the way is not an entry.
    expect(await whereIs(id)).toEqual([join('in', shard, `${id}.bak`)]);
    await rm(board('retry').path(id, 'pck'), { recursive: true });
    // It was leaving, not crashing: recovery moves it on without counting a restore.
    expect(await inQueue.recoverBackupFiles()).toEqual({ restored: [], quarantined: [], moved: [id], unreadable: [], unlistable: [] });
    expect(await whereIs(id)).toEqual([join('retry', shard, `${id}.pck`)]);
    const entry = await board('retry').dequeue(id);
    expect(entry.message.equals(message)).toBe(true);
    expect(entry.metadata).toEqual({ listId: 'l' });
    expect(entry.control).toMatchObject({ restores: 0, originalQueue: 'in', reason: 'r' });
  });

  it('moveTo({forward: true}) starts the entry afresh in the target queue: restore count 0, no original queue, no reason', async () => {
    const inQueue = board('in');
    const id = await inQueue.enqueue('m', { listId: 'l' });
    await inQueue.dequeue(id);
    await inQueue.recoverBackupFiles(); // restores 1
    await inQueue.dequeue(id);
    await inQueue.moveTo(id, 'retry', { reason: 'deferred' });
    const retry = board('retry');
    expect((await retry.dequeue(id)).control).toMatchObject({ restores: 1, originalQueue: 'in', reason: 'deferred' });
    await retry.moveTo(id, 'out', { forward: true });
    expect(await whereIs(id)).toEqual([join('out', parseEntryId(id).sha1.slice(0, 2), `${id}.pck`)]);
    const entry = await board('out').dequeue(id);
    expect(entry.control.restores).toBe(0);
    expect(entry.control.originalQueue).toBeUndefined();
    expect(entry.control.reason).toBeUndefined();
    expect(entry.metadata).toEqual({ listId: 'l' });
  });

  it('moveTo({message}) hands on rewritten bytes and new metadata in the same move, leaving no copy behind', async () => {
    const inQueue = board('in');
    const id = await inQueue.enqueue('Subject: original\r\n\r\nbody', { listId: 'l' });
    await inQueue.dequeue(id);
    const rewritten = Buffer.from('Subject: [l] original\r\n\r\nbody');
    await inQueue.moveTo(id, 'out', { forward: true, message: rewritten, metadata: { listId: 'l', recipients: ['a@example.org'] } });
    expect(await whereIs(id)).toEqual([join('out', parseEntryId(id).sha1.slice(0, 2), `${id}.pck`)]);
    const entry = await board('out').dequeue(id);
    expect(entry.message.equals(rewritten)).toBe(true);
    expect(entry.metadata).toEqual({ listId: 'l', recipients: ['a@example.org'] });
  });

  it('moveTo({message, metadata}) keeps the control record the .bak holds: first enqueue time, the count resetRestores() wrote', async () => {
    const inQueue = board('in');
    const id = await inQueue.enqueue('m', { listId: 'l' });
    const enqueuedAt = (await inQueue.dequeue(id)).control.enqueuedAt;
    await inQueue.recoverBackupFiles(); // restores 1
    const entry = await inQueue.dequeue(id);
    expect(entry.control.restores).toBe(1);
    await inQueue.resetRestores(entry);
    await inQueue.moveTo(id, 'retry', { reason: 'deferred', message: Buffer.from('m2'), metadata: { listId: 'l', n: 2 } });
    const moved = await board('retry').dequeue(id);
    expect(moved.control).toMatchObject({ restores: 0, enqueuedAt, originalQueue: 'in', reason: 'deferred' });
    expect(moved.metadata).toEqual({ listId: 'l', n: 2 });
    expect(moved.message.toString()).toBe('m2');
  });

  it('release() gives a dequeued entry back to waiting untouched, restore count unchanged', async () => {
    const queue = board();
    const id = await queue.enqueue('m');
    const before = await readFile(queue.path(id, 'pck'));
    await queue.dequeue(id);
    await queue.release(id);
    expect(await queue.files()).toEqual([id]);
    expect((await readFile(queue.path(id, 'pck'))).equals(before)).toBe(true);
    await expect(queue.release(id)).rejects.toBeInstanceOf(EntryNotFoundError);
  });

  it('moveTo() with a new time keeps the sha1, and so the slice, of the entry', async () => {
    const queue = board();
    const id = await queue.enqueue('m');
    await queue.dequeue(id);
    const due = 2_000_000_000_000_000n;
    const newId = await queue.moveTo(id, 'retry', { micros: due });
    expect(parseEntryId(newId)).toEqual({ micros: due, sha1: parseEntryId(id).sha1 });
    expect(await whereIs(newId)).toEqual([join('retry', parseEntryId(id).sha1.slice(0, 2), `${newId}.pck`)]);
    expect(await whereIs(id)).toEqual([]);
  });

  it('refuses to dequeue, finish or move an entry of another slice and leaves it waiting', async () => {
    const slice0 = board('in', { slice: 0, numSlices: 2 });
    let foreign: string | undefined;
    while (foreign === undefined) {
      const id = await slice0.enqueue('m');
      if (sliceOf(parseEntryId(id).sha1, 2) === 1) foreign = id;
    }
    await expect(slice0.dequeue(foreign)).rejects.toBeInstanceOf(QueueOptionsError);
    await expect(slice0.dequeue(foreign)).rejects.toThrow(/belongs to slice 1 of 2/);
    await expect(slice0.finish(foreign)).rejects.toBeInstanceOf(QueueOptionsError);
    await expect(slice0.moveTo(foreign, 'retry')).rejects.toBeInstanceOf(QueueOptionsError);
    expect(await whereIs(foreign)).toEqual([join('in', parseEntryId(foreign).sha1.slice(0, 2), `${foreign}.pck`)]);
    expect(await slice0.files()).not.toContain(foreign);
    expect(await board('in', { slice: 1, numSlices: 2 }).files()).toContain(foreign);
  });

  it('throws EntryNotFoundError when dequeuing an entry already taken', async () => {
    const queue = board();
    const id = await queue.enqueue('m');
    await queue.dequeue(id);
    const error = await queue.dequeue(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EntryNotFoundError);
    expect((error as EntryNotFoundError).code).toBe('SY_QUEUE_ENTRY_MISSING');
    expect((error as EntryNotFoundError).id).toBe(id);
  });

  it('lets exactly one of two racing dequeues of the same entry win', async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => board().enqueue(`m${i}`)));
    for (const id of ids) {
      const results = await Promise.allSettled([board().dequeue(id), board().dequeue(id)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(EntryNotFoundError);
    }
  });

  it('recoverBackupFiles() returns an interrupted entry to waiting with its restore count raised, in its FIFO place', async () => {
    const queue = board();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await queue.enqueue(`m${i}`, { i }));
    await queue.dequeue(ids[0]!);
    expect(await queue.files()).toEqual(ids.slice(1));
    expect(await queue.recoverBackupFiles()).toEqual({ restored: [ids[0]], quarantined: [], moved: [], unreadable: [], unlistable: [] });
    expect(await queue.files()).toEqual(ids);
    const entry = await queue.dequeue(ids[0]!);
    expect(entry.control.restores).toBe(1);
    expect(entry.metadata).toEqual({ i: 0 });
    expect(entry.message.toString()).toBe('m0');
  });

  it('rejects bad queue names and restore limits at construction', () => {
    expect(() => board('../etc')).toThrow(/invalid queue name/);
    expect(() => board('In')).toThrow(/invalid queue name/);
    expect(() => board('in', { maxRestores: 0 })).toThrow(QueueOptionsError);
    expect(() => board('in', { numSlices: 3 })).toThrow(QueueOptionsError);
    expect(() => board('in', { slice: 2, numSlices: 2 })).toThrow(QueueOptionsError);
  });
});
