import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSlicing, parseEntryId, QueueOptionsError, shardOf, shardsOfSlice, sliceOf, Switchboard } from '../../queues/index.js';
import { makeTempDir, mapLimit, removeTempDir } from './harness.js';

const POWERS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** Mailman's rule, computed independently: the top log2(N) bits of the 160-bit hash. */
function mailmanSlice(sha1: string, numSlices: number): number {
  return Number((BigInt(`0x${sha1}`) * BigInt(numSlices)) >> 160n);
}

describe('sliceOf and shardsOfSlice', () => {
  it('put random sha1s in the slice Mailman\'s hash-range rule names, whose shard list contains their shard', () => {
    const sha1s = Array.from({ length: 5000 }, () => randomBytes(20).toString('hex'));
    for (const numSlices of POWERS) {
      const shardsBySlice = Array.from({ length: numSlices }, (_, slice) => new Set(shardsOfSlice(slice, numSlices)));
      for (const sha1 of sha1s) {
        const slice = sliceOf(sha1, numSlices);
        expect(slice).toBe(mailmanSlice(sha1, numSlices));
        expect(shardsBySlice[slice]!.has(shardOf(sha1))).toBe(true);
      }
    }
  });

  it('give every slice of N the same number of consecutive shards, together exactly 00 to ff once each', () => {
    const all = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
    for (const numSlices of POWERS) {
      const lists = Array.from({ length: numSlices }, (_, slice) => shardsOfSlice(slice, numSlices));
      for (const list of lists) expect(list).toHaveLength(256 / numSlices);
      expect(lists.flat()).toEqual(all);
      lists.forEach((list, slice) => {
        for (const shard of list) expect(sliceOf(`${shard}${'0'.repeat(38)}`, numSlices)).toBe(slice);
      });
    }
  });

  it('place the boundary hashes: 00..0 in the first slice, ff..f in the last, 7f../80.. on either side of the half', () => {
    for (const numSlices of POWERS) {
      expect(sliceOf('0'.repeat(40), numSlices)).toBe(0);
      expect(sliceOf('f'.repeat(40), numSlices)).toBe(numSlices - 1);
    }
    expect(sliceOf(`7f${'f'.repeat(38)}`, 2)).toBe(0);
    expect(sliceOf(`80${'0'.repeat(38)}`, 2)).toBe(1);
    expect(shardsOfSlice(0, 256)).toEqual(['00']);
    expect(shardsOfSlice(171, 256)).toEqual(['ab']);
    expect(shardsOfSlice(255, 256)).toEqual(['ff']);
    expect(shardsOfSlice(0, 1)).toHaveLength(256);
  });

  it('reject slice counts that are not a power of two from 1 to 256, and slices outside 0..N-1', () => {
    for (const numSlices of [3, 0, 512, -1, 1.5, 6, 255, 257, Number.NaN]) {
      expect(() => assertSlicing(0, numSlices), `numSlices ${numSlices}`).toThrow(QueueOptionsError);
      expect(() => shardsOfSlice(0, numSlices), `numSlices ${numSlices}`).toThrow(/numSlices must be a power of two from 1 to 256/);
      expect(() => new Switchboard({ root: '/nonexistent', name: 'in', numSlices })).toThrow(QueueOptionsError);
    }
    for (const [slice, numSlices] of [[2, 2], [-1, 4], [256, 256], [0.5, 2]] as const) {
      expect(() => shardsOfSlice(slice, numSlices)).toThrow(/slice must be an integer from 0 to/);
    }
    expect(() => assertSlicing(255, 256)).not.toThrow();
  });
});

// 10,000: every one of 64 slices still holds ~156 entries, enough for the disjoint/complete
// checks and the spread bound; the queue's size is not what these tests are about.
describe('slices of a real queue of 10,000 entries', () => {
  const TOTAL = 10_000;
  let root: string;
  let all: Set<string>;

  beforeAll(async () => {
    root = await makeTempDir();
    const producer = new Switchboard({ root, name: 'in', durability: 'none' });
    const ids = await mapLimit(Array.from({ length: TOTAL }, (_, i) => i), 64, (i) =>
      // Varying list ids: the hash key must not bias the spread.
      producer.enqueue(`message ${i}`, { listId: `list${i % 97}.example.org` }),
    );
    all = new Set(ids);
    expect(all.size).toBe(TOTAL);
  });

  afterAll(async () => {
    await removeTempDir(root);
  });

  for (const numSlices of [1, 2, 4, 8, 16, 32, 64]) {
    it(`are disjoint and complete for numSlices ${numSlices}, each entry listed by the slice that owns it`, async () => {
      const seen = new Map<string, number>();
      const listedTwice: string[] = [];
      const misplaced: string[] = [];
      for (let slice = 0; slice < numSlices; slice++) {
        const board = new Switchboard({ root, name: 'in', slice, numSlices });
        const files = await board.files();
        for (const id of files) {
          if (seen.has(id)) listedTwice.push(`${id} in slices ${seen.get(id)} and ${slice}`);
          seen.set(id, slice);
          if (sliceOf(parseEntryId(id).sha1, numSlices) !== slice || !board.owns(id)) misplaced.push(`${id} in slice ${slice}`);
        }
        // Hashes spread evenly: no slice is far from its share (a loose bound, 6 standard deviations).
        const share = TOTAL / numSlices;
        expect(Math.abs(files.length - share)).toBeLessThan(6 * Math.sqrt(share));
      }
      expect(listedTwice).toEqual([]);
      expect(misplaced).toEqual([]);
      expect(seen.size).toBe(TOTAL);
      expect([...all].filter((id) => !seen.has(id))).toEqual([]);
    });
  }
});
