/**
 * Files a consumer cannot read (a disk error, an operator's editor, a future
 * version) must neither stop the queue nor be lost: each is quarantined in
 * `bad` with its bytes untouched, and the good entries around it flow on.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BAD_QUEUE,
  CorruptEntryError,
  decodeEntry,
  encodeEntry,
  entryPath,
  makeEntryId,
  Switchboard,
  type EntryControl,
} from '../../queues/index.js';
import { makeTempDir, removeTempDir, walkFiles } from './harness.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await removeTempDir(root);
});

const BASE = 1_750_000_000_000_000n;
const control: EntryControl = { restores: 0, enqueuedAt: '2026-01-01T00:00:00.000Z' };

function validFile(message: string): Buffer {
  return Buffer.concat(encodeEntry({ listId: 'l' }, control, Buffer.from(message)));
}

function withJson(json: string): Buffer {
  return Buffer.concat([Buffer.from(`SWITCHYARD-QUEUE 1 ${Buffer.byteLength(json)} 1\n`), Buffer.from(json), Buffer.from('\nm')]);
}

/** Garbage with a valid entry name, and what the quarantine reason must say. */
const CORRUPT: [string, () => Buffer, RegExp][] = [
  ['an empty file', () => Buffer.alloc(0), /empty file/],
  ['random bytes', () => Buffer.concat([Buffer.from([0xff, 0x00]), randomBytes(4096)]), /not a switchyard queue file/],
  ['a valid file truncated by 7 bytes', () => validFile('Subject: cut\n\nthis body loses its end\n').subarray(0, -7), /truncated file/],
  ['a valid file truncated to its header line', () => validFile('Subject: cut\n\n').subarray(0, 30), /truncated file/],
  ['a valid file with header version 2', () => Buffer.from(validFile('Subject: v2\n\n').toString('latin1').replace('SWITCHYARD-QUEUE 1 ', 'SWITCHYARD-QUEUE 2 '), 'latin1'), /unknown queue file format version "2"/],
  ['JSON that is not an object', () => withJson('[{"metadata":{},"control":{"restores":0}}]'), /lacks the metadata and control objects/],
  ['JSON that does not parse', () => withJson('{"metadata":'), /not valid JSON/],
  ['a valid file with bytes appended', () => Buffer.concat([validFile('Subject: long\n\n'), Buffer.from('junk')]), /overlong file/],
];

async function writeRaw(queue: string, id: string, state: 'pck' | 'bak', bytes: Buffer): Promise<string> {
  const path = entryPath(root, queue, id, state);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return path;
}

describe('corrupt and truncated queue files', () => {
  it('are quarantined by dequeue() with CorruptEntryError, bytes preserved, while good entries still dequeue in FIFO order', async () => {
    const queue = new Switchboard({ root, name: 'in' });
    const good: string[] = [];
    const bad = new Map<string, { bytes: Buffer; reason: RegExp; name: string }>();
    let tick = 0n;
    for (const [name, make, reason] of CORRUPT) {
      good.push(await queue.enqueue(`Subject: good ${tick}\n\n`, { n: Number(tick) }, { micros: BASE + tick++ }));
      const id = makeEntryId(Buffer.from(name), '', BASE + tick++);
      const bytes = make();
      await writeRaw('in', id, 'pck', bytes);
      bad.set(id, { bytes, reason, name });
    }
    good.push(await queue.enqueue('Subject: last\n\n', {}, { micros: BASE + tick++ }));
    const listed = await queue.files();
    expect(listed).toHaveLength(good.length + bad.size);

    const dequeued: string[] = [];
    for (const id of listed) {
      if (bad.has(id)) {
        const { bytes, reason, name } = bad.get(id)!;
        const error = await queue.dequeue(id).catch((e: unknown) => e);
        expect(error, name).toBeInstanceOf(CorruptEntryError);
        expect((error as CorruptEntryError).code).toBe('SY_QUEUE_CORRUPT');
        expect((error as CorruptEntryError).id).toBe(id);
        expect((error as CorruptEntryError).reason).toMatch(reason);

        const quarantined = decodeEntry(await readFile(entryPath(root, BAD_QUEUE, id, 'psv')));
        expect(quarantined.control.corrupt, name).toBe(true);
        expect(quarantined.control.reason, name).toMatch(/^corrupt queue file: /);
        expect(quarantined.control.reason, name).toMatch(reason);
        expect(quarantined.control.originalQueue).toBe('in');
        expect(quarantined.message.equals(bytes), `${name}: original bytes kept`).toBe(true);
      } else {
        const entry = await queue.dequeue(id);
        expect(entry.message.toString()).toMatch(/^Subject: (good \d+|last)\n\n$/);
        await queue.finish(id);
        dequeued.push(id);
      }
    }
    expect(dequeued).toEqual(good);
    // Nothing is left in `in`; everything bad is in `bad`, once.
    const files = await walkFiles(root);
    expect(files.filter((path) => path.startsWith('in/'))).toEqual([]);
    expect(files.filter((path) => path.startsWith(`${BAD_QUEUE}/`)).sort()).toEqual(
      [...bad.keys()].map((id) => entryPath(root, BAD_QUEUE, id, 'psv').slice(root.length + 1)).sort(),
    );
  });

  it('are quarantined by recoverBackupFiles() when a .bak is corrupt, while a good .bak is restored', async () => {
    const queue = new Switchboard({ root, name: 'in' });
    const goodId = await queue.enqueue('Subject: interrupted\n\n', { listId: 'l' }, { micros: BASE });
    await queue.dequeue(goodId); // now a .bak, as if its runner was killed
    const corrupt = new Map<string, Buffer>();
    for (const [index, [name, make]] of CORRUPT.entries()) {
      const id = makeEntryId(Buffer.from(name), '', BASE + BigInt(index + 1));
      const bytes = make();
      await writeRaw('in', id, 'bak', bytes);
      corrupt.set(id, bytes);
    }

    const report = await queue.recoverBackupFiles();
    expect(report.restored).toEqual([goodId]);
    expect(report.quarantined.sort()).toEqual([...corrupt.keys()].sort());

    for (const [id, bytes] of corrupt) {
      const quarantined = decodeEntry(await readFile(entryPath(root, BAD_QUEUE, id, 'psv')));
      expect(quarantined.control.corrupt).toBe(true);
      expect(quarantined.control.reason).toMatch(/^corrupt queue file: /);
      expect(quarantined.control.originalQueue).toBe('in');
      expect(quarantined.message.equals(bytes)).toBe(true);
    }
    expect(await queue.files()).toEqual([goodId]);
    expect((await queue.dequeue(goodId)).control.restores).toBe(1);
    expect((await walkFiles(root)).filter((path) => path.startsWith('in/') && !path.endsWith(`${goodId}.bak`))).toEqual([]);
  });
});

describe('stale temp files', () => {
  it('removeStaleTemps(maxAge) removes temp files older than maxAge and keeps fresh ones and entries', async () => {
    const queue = new Switchboard({ root, name: 'in' });
    const entries = [await queue.enqueue('a'), await queue.enqueue('b'), await queue.enqueue('c')];
    const now = Date.now();
    const old: string[] = [];
    const fresh: string[] = [];
    for (const [index, id] of entries.entries()) {
      for (const [age, list] of [[2 * 3600_000, old], [60_000, fresh]] as const) {
        const path = `${queue.path(id, index === 2 ? 'bak' : 'pck')}.${randomBytes(6).toString('hex')}.tmp`;
        await writeFile(path, 'half written');
        const seconds = (now - age) / 1000;
        await utimes(path, seconds, seconds);
        list.push(path);
      }
    }
    // An old entry file is not a temp file, however old.
    const ancient = (now - 30 * 86_400_000) / 1000;
    await utimes(queue.path(entries[0]!, 'pck'), ancient, ancient);

    expect(await queue.removeStaleTemps(3600_000, now)).toBe(old.length);
    const left = (await walkFiles(root)).map((path) => join(root, path));
    for (const path of old) expect(left).not.toContain(path);
    for (const path of fresh) expect(left).toContain(path);
    expect(await queue.files()).toEqual(entries);

    expect(await queue.removeStaleTemps(3600_000, now)).toBe(0);
    expect(await queue.removeStaleTemps(0, now + 1)).toBe(fresh.length);
    expect((await walkFiles(root)).filter((path) => path.endsWith('.tmp'))).toEqual([]);
    expect(await queue.files()).toEqual(entries);
  });

  it('removeStaleTemps() of one slice leaves the temp files of other slices alone', async () => {
    const slice0 = new Switchboard({ root, name: 'in', slice: 0, numSlices: 2 });
    const slice1 = new Switchboard({ root, name: 'in', slice: 1, numSlices: 2 });
    const temps = new Map<number, string>();
    for (let i = 0; temps.size < 2; i++) {
      const id = makeEntryId(Buffer.from(`t${i}`), '', BASE);
      const owner = slice0.owns(id) ? 0 : 1;
      if (temps.has(owner)) continue;
      const path = `${entryPath(root, 'in', id, 'pck')}.0123456789ab.tmp`;
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, '');
      temps.set(owner, path);
    }
    expect(await slice0.removeStaleTemps(0, Date.now() + 1000)).toBe(1);
    const left = (await walkFiles(root)).map((path) => join(root, path));
    expect(left).toEqual([temps.get(1)]);
    expect(await slice1.removeStaleTemps(0, Date.now() + 1000)).toBe(1);
  });
});
