import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEntry, readEntryHead, StreamEnqueue, Switchboard, type JsonObject } from '../../queues/index.js';
import { fixturePath, makeTempDir, removeTempDir, walkFiles } from './harness.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await removeTempDir(root);
});

function board(name: string): Switchboard {
  return new Switchboard({ root, name });
}

async function read(queue: Switchboard, id: string): Promise<{ metadata: JsonObject; message: Buffer }> {
  return decodeEntry(await readFile(queue.path(id, 'pck')));
}

/** Write `payload` in pieces of `piece` bytes. */
async function writeInPieces(stream: StreamEnqueue, payload: Buffer, piece: number): Promise<void> {
  for (let at = 0; at < payload.length; at += piece) await stream.write(payload.subarray(at, at + piece));
}

describe('StreamEnqueue', () => {
  it('enqueues a payload that fits in memory as one plain entry per target', async () => {
    const inQueue = board('in');
    const stream = new StreamEnqueue([{ switchboard: inQueue, metadata: { n: 1 } }]);
    await stream.write(Buffer.from('Subject: small\r\n\r\n'));
    await stream.write(Buffer.from('hi\r\n'));
    expect(await walkFiles(root)).toEqual([]);
    const [outcome] = await stream.commit();
    expect(outcome).toMatchObject({ status: 'fulfilled' });
    const id = (outcome as PromiseFulfilledResult<string>).value;
    expect(await read(inQueue, id)).toMatchObject({ metadata: { n: 1 }, message: Buffer.from('Subject: small\r\n\r\nhi\r\n') });
  });

  it('with openOffLoop (the LMTP runner) writes the same entries, one per target, and leaves no temp file when a target fails', async () => {
    const inQueue = board('in');
    const bounces = board('bounces');
    const stream = new StreamEnqueue(
      [
        { switchboard: inQueue, metadata: { n: 1 } },
        { switchboard: bounces, metadata: { n: 2 } },
        // A queue whose directory cannot be made (a file is in the way): that target alone fails.
        { switchboard: new Switchboard({ root: `${root}/blocked/file`, name: 'x' }), metadata: { n: 3 } },
      ],
      { openOffLoop: true },
    );
    await mkdir(`${root}/blocked`);
    await writeFile(`${root}/blocked/file`, '');
    await stream.write(Buffer.from('Subject: small\r\n\r\nhi\r\n'));
    const [first, second, third] = await stream.commit();
    expect(await read(inQueue, (first as PromiseFulfilledResult<string>).value)).toMatchObject({ metadata: { n: 1 }, message: Buffer.from('Subject: small\r\n\r\nhi\r\n') });
    expect(await read(bounces, (second as PromiseFulfilledResult<string>).value)).toMatchObject({ metadata: { n: 2 }, message: Buffer.from('Subject: small\r\n\r\nhi\r\n') });
    expect(third).toMatchObject({ status: 'rejected' });
    expect((await walkFiles(root)).filter((path) => path.endsWith('.tmp'))).toEqual([]);
  });

  it('streams a large payload into the first target\'s temp file and copies it for the others, byte-exact, each with its own metadata', async () => {
    const inQueue = board('in');
    const bounces = board('bounces');
    const payload = randomBytes(1_000_003);
    const stream = new StreamEnqueue(
      [
        { switchboard: inQueue, metadata: { recipient: 'a' } },
        { switchboard: bounces, metadata: { recipient: 'b' } },
        { switchboard: inQueue, metadata: { recipient: 'c' } },
      ],
      { spillBytes: 4096 },
    );
    await writeInPieces(stream, payload, 65_537);
    // Spilled: a temp file of the first target grows while the payload arrives; no entry yet.
    const temps = (await walkFiles(root)).filter((path) => path.endsWith('.tmp'));
    expect(temps).toHaveLength(1);
    expect(temps[0]).toMatch(/^in\//);
    expect(await inQueue.files()).toEqual([]);
    const outcomes = await stream.commit();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const [a, b, c] = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<string>).value);
    for (const [queue, id, recipient] of [[inQueue, a, 'a'], [bounces, b, 'b'], [inQueue, c, 'c']] as const) {
      const entry = await read(queue, id!);
      expect(entry.metadata).toEqual({ recipient });
      expect(entry.message.equals(payload)).toBe(true);
      expect(await readEntryHead(queue.path(id!, 'pck'))).toMatchObject({ metadata: { recipient } });
    }
    expect((await walkFiles(root)).filter((path) => path.endsWith('.tmp'))).toEqual([]);
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('a streamed entry is dequeued like any other (the zero-padded length is read back)', async () => {
    const inQueue = board('in');
    const stream = new StreamEnqueue([{ switchboard: inQueue, metadata: {} }], { spillBytes: 1 });
    await stream.write(Buffer.from('x'.repeat(10)));
    const [outcome] = await stream.commit();
    const id = (outcome as PromiseFulfilledResult<string>).value;
    const file = await readFile(inQueue.path(id, 'pck'));
    expect(file.subarray(0, file.indexOf(0x0a)).toString('latin1')).toMatch(/^SWITCHYARD-QUEUE 1 \d+ 0{13}10$/);
    const entry = await inQueue.dequeue(id);
    expect(entry.message.toString()).toBe('x'.repeat(10));
    await inQueue.finish(id);
  });

  it('discard leaves nothing behind, in memory or spilled, and a discarded stream takes no more writes', async () => {
    const inQueue = board('in');
    const spilled = new StreamEnqueue([{ switchboard: inQueue, metadata: {} }], { spillBytes: 16 });
    await spilled.write(Buffer.alloc(100, 0x61));
    expect((await walkFiles(root)).filter((path) => path.endsWith('.tmp'))).toHaveLength(1);
    await spilled.discard();
    await spilled.discard();
    expect((await walkFiles(root)).filter((path) => path.endsWith('.tmp'))).toEqual([]);
    await expect(spilled.write(Buffer.from('more'))).rejects.toThrow(/closed/);
    await expect(spilled.commit()).rejects.toThrow(/closed/);
    expect(await inQueue.files()).toEqual([]);
  });

  it('a temp file left by a writer killed mid-stream is removed by the stale-temp cleanup', async () => {
    const inQueue = board('in');
    const stream = new StreamEnqueue([{ switchboard: inQueue, metadata: {} }], { spillBytes: 16 });
    await stream.write(Buffer.alloc(100, 0x61));
    // As after a SIGKILL: the stream is never committed nor discarded.
    expect(await inQueue.files()).toEqual([]);
    expect(await inQueue.removeStaleTemps(0, Date.now() + 1000)).toBe(1);
    expect(await walkFiles(root)).toEqual([]);
    // The descriptor a killed process would have lost: closed here, not by the garbage collector.
    await stream.discard();
  });

  // Where a held payload's file is created: with the process's only
  // thread-pool thread held (test/fixtures/stream-enqueue-open.ts), a commit
  // that opens on the loop finishes before the next macrotask; one that opens
  // on the pool waits for the thread. The LMTP runner's message committing
  // alone, and inject, take the first path: a pool round trip less each.
  it.each([
    ['no', (id: string) => `synchronous ${id}`],
    ['yes', () => 'pool'],
  ])('with openOffLoop %s, creates the entry file of a held payload where asked', async (offLoop, expected) => {
    const fifo = `${root}/pool-holder`;
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const { stdout } = await promisify(execFile)(process.execPath, [fixturePath('stream-enqueue-open'), root, fifo, offLoop], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
    });
    const [id] = await board('in').files();
    expect(stdout.trim()).toBe(expected(id!));
    expect(await read(board('in'), id!)).toMatchObject({ metadata: { n: 1 }, message: Buffer.from('Subject: alone\r\n\r\nhi\r\n') });
  });

  it('refuses a second write while one is in progress', async () => {
    const stream = new StreamEnqueue([{ switchboard: board('in'), metadata: {} }], { spillBytes: 1 });
    const first = stream.write(Buffer.from('a'));
    await expect(stream.write(Buffer.from('b'))).rejects.toThrow(/in progress/);
    await first;
    await stream.discard();
  });
});
