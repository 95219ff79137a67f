/** IdHeap: the runner's in-memory order of waiting ids (oldest, or in retry soonest due, first). */
import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeEntryId, nowMicros } from '../../queues/index.js';
import { IdHeap } from '../../runners/id-heap.js';

function randomIds(count: number): string[] {
  const base = nowMicros();
  return Array.from({ length: count }, () => makeEntryId(randomBytes(8), '', base + BigInt(randomInt(0, 5_000_000))));
}

describe('IdHeap', () => {
  it('pops random ids in sorted order (time first) and is empty afterwards', () => {
    const ids = randomIds(5_000);
    const heap = new IdHeap();
    for (const id of ids) heap.push(id);
    expect(heap.size).toBe(ids.length);
    const popped: string[] = [];
    for (let id = heap.pop(); id !== undefined; id = heap.pop()) popped.push(id);
    expect(popped).toEqual([...ids].sort());
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
  });

  it('ignores an id pushed again while it is in the heap, and accepts it again once popped', () => {
    const ids = randomIds(200);
    const heap = new IdHeap();
    for (const id of [...ids, ...ids.slice(0, 100), ...ids.slice(50, 150)]) heap.push(id);
    expect(heap.size).toBe(200);
    const sorted = [...ids].sort();
    expect(heap.peek()).toBe(sorted[0]);
    expect(heap.has(sorted[0]!)).toBe(true);
    expect(heap.pop()).toBe(sorted[0]);
    expect(heap.has(sorted[0]!)).toBe(false);
    heap.push(sorted[0]!);
    expect(heap.size).toBe(200);
    const popped: string[] = [];
    for (let id = heap.pop(); id !== undefined; id = heap.pop()) popped.push(id);
    expect(popped).toEqual(sorted);
  });

  it('keeps its order with pushes and pops interleaved', () => {
    const heap = new IdHeap();
    const model = new Set<string>();
    for (let round = 0; round < 2_000; round++) {
      if (model.size === 0 || randomInt(0, 3) > 0) {
        const [id] = randomIds(1);
        heap.push(id!);
        model.add(id!);
      } else {
        const smallest = [...model].sort()[0]!;
        expect(heap.pop()).toBe(smallest);
        model.delete(smallest);
      }
      expect(heap.size).toBe(model.size);
    }
  });
});
