/** IdHeap: the runner's in-memory order of waiting ids (oldest, or in retry soonest due, first). */
import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EntryIdList, makeEntryId, nowMicros } from '../../queues/index.js';
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

  it('gives an id pushed again while it is in the heap once, and accepts it again once popped', () => {
    const ids = randomIds(200);
    const heap = new IdHeap();
    for (const id of [...ids, ...ids.slice(0, 100), ...ids.slice(50, 150)]) heap.push(id);
    const sorted = [...ids].sort();
    expect(heap.peek()).toBe(sorted[0]);
    expect(heap.pop()).toBe(sorted[0]);
    expect(heap.peek()).toBe(sorted[1]);
    heap.push(sorted[0]!);
    const popped: string[] = [];
    for (let id = heap.pop(); id !== undefined; id = heap.pop()) popped.push(id);
    expect(popped).toEqual(sorted);
    expect(heap.size).toBe(0);
  });

  it('takes a sorted listing as it is, and keeps order with pushes after it', () => {
    const ids = randomIds(1_000);
    const sorted = [...ids].sort();
    const heap = new IdHeap();
    heap.push(sorted[10]!);
    heap.replace(EntryIdList.of(sorted.slice(0, 500)));
    expect(heap.size).toBe(500);
    // The rest arrive as events, some of them again (a listing and an event for the same file).
    for (const id of [...sorted.slice(500), ...sorted.slice(400, 600)]) heap.push(id);
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
