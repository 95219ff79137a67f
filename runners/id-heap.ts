/**
 * A min-heap of entry ids. Ids start with a fixed-width time, so the smallest
 * id is the oldest entry (or, in `retry`, the one due first). A runner keeps
 * its slice's waiting ids here, fed by file events, instead of listing its
 * directories for every entry.
 */
export class IdHeap {
  private readonly items: string[] = [];
  private readonly members = new Set<string>();

  get size(): number {
    return this.items.length;
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  push(id: string): void {
    if (this.members.has(id)) return;
    this.members.add(id);
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

  pop(): string | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    this.members.delete(top);
    const last = items.pop()!;
    if (items.length > 0) {
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
    return top;
  }
}
