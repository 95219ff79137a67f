/**
 * A min-heap of entry ids. Ids start with a fixed-width time, so the smallest
 * id is the oldest entry (or, in `retry`, the one due first). A runner keeps
 * its slice's waiting ids here, fed by file events, instead of listing its
 * directories for every entry.
 *
 * One array of strings and nothing else: with 100,000 entries waiting, a Set
 * beside it (to refuse an id already in) cost as much again as the array and
 * its strings. An id pushed twice is instead stored twice, and pop() takes
 * every copy at once: equal ids leave a heap one after another, so the
 * runner still sees each id once. Duplicates are rare (an entry's event
 * arriving after a listing that already had it) and a full listing replaces
 * the whole array (replace()).
 */
export class IdHeap {
  private items: string[] = [];

  /** Ids stored, an id pushed twice while in the heap counted twice. */
  get size(): number {
    return this.items.length;
  }

  /**
   * Replace the contents with `sortedIds`, ascending and without repeats (a
   * slice's listing): an ascending array is already a heap, so this costs
   * nothing, and the heap keeps `sortedIds` itself, not a copy.
   */
  replace(sortedIds: string[]): void {
    this.items = sortedIds;
  }

  push(id: string): void {
    const items = this.items;
    items.push(id);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent]! <= id) break;
      items[index] = items[parent]!;
      index = parent;
    }
    items[index] = id;
  }

  peek(): string | undefined {
    return this.items[0];
  }

  /** The smallest id, with every copy of it taken out. */
  pop(): string | undefined {
    const top = this.items[0];
    if (top === undefined) return undefined;
    do this.removeTop();
    while (this.items[0] === top);
    return top;
  }

  private removeTop(): void {
    const items = this.items;
    const last = items.pop()!;
    if (items.length === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]! < items[left]! ? right : left;
      if (items[child]! >= last) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = last;
  }
}
