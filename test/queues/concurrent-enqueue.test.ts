import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEntry, Switchboard } from '../../queues/index.js';
import { payload } from '../fixtures/queue-payload.js';
import { killLiveChildren, makeTempDir, mapLimit, removeTempDir, startFixture, walkFiles } from './harness.js';

const PER_CHILD = 10_000;

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await killLiveChildren();
  await removeTempDir(root);
});

describe('two processes enqueueing into one queue at once', () => {
  it('lose nothing and collide nowhere: 2 x 10,000 fsynced entries, each acknowledged id on disk exactly once with its payload', async () => {
    const tags = ['alpha', 'beta'];
    const children = tags.map((tag) => startFixture('queue-enqueue-burst', [root, tag, String(PER_CHILD), '16', 'fsync']));
    await Promise.all(children.map((child) => child.waitForLine((line) => line === 'ready')));
    for (const child of children) child.send('go');
    await Promise.all(children.map((child) => child.succeeded()));

    // What each child acknowledged: id -> (tag, n).
    const acked = new Map<string, { tag: string; n: number }>();
    const duplicateAcks: string[] = [];
    children.forEach((child, index) => {
      const tag = tags[index]!;
      expect(child.lines.at(-1)).toBe('end');
      const acks = child.lines.filter((line) => line.startsWith('ack '));
      expect(acks).toHaveLength(PER_CHILD);
      const numbers = new Set<number>();
      for (const line of acks) {
        const [, id, n] = line.split(' ');
        if (acked.has(id!)) duplicateAcks.push(id!);
        acked.set(id!, { tag, n: Number(n) });
        numbers.add(Number(n));
      }
      expect(numbers.size).toBe(PER_CHILD);
    });
    expect(duplicateAcks).toEqual([]);
    expect(acked.size).toBe(2 * PER_CHILD);

    // The two really overlapped: each started before the other ended.
    const queue = new Switchboard({ root, name: 'in' });
    const files = await queue.files();
    const order = files.map((id) => acked.get(id)?.tag);
    const firstOf = (tag: string) => order.indexOf(tag);
    const lastOf = (tag: string) => order.lastIndexOf(tag);
    expect(firstOf('alpha')).toBeLessThan(lastOf('beta'));
    expect(firstOf('beta')).toBeLessThan(lastOf('alpha'));

    // Exactly the acknowledged entries are on disk, once each, and nothing else is.
    expect(files).toHaveLength(2 * PER_CHILD);
    expect(new Set(files).size).toBe(files.length);
    expect(files.filter((id) => !acked.has(id))).toEqual([]);
    const all = await walkFiles(root);
    expect(all.filter((path) => !path.endsWith('.pck'))).toEqual([]);
    expect(all).toHaveLength(2 * PER_CHILD);

    // And every one decodes to the payload its child wrote.
    const wrong = (
      await mapLimit(files, 64, async (id) => {
        const { tag, n } = acked.get(id)!;
        const entry = decodeEntry(await readFile(queue.path(id, 'pck')));
        const ok = entry.message.equals(payload(tag, n)) && entry.metadata.tag === tag && entry.metadata.n === n && entry.control.restores === 0;
        return ok ? undefined : id;
      })
    ).filter((id) => id !== undefined);
    expect(wrong).toEqual([]);
  }, 150_000);
});
