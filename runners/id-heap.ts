/**
 * A min-heap of entry ids. Ids start with a fixed-width time, so the smallest
 * id is the oldest entry (or, in `retry`, the one due first). A runner keeps
 * its slice's waiting ids here, fed by file events, instead of listing its
 * directories for every entry.
 *
 * The ids are kept as queues/entry-id-list.ts keeps them: seconds, micro-
 * seconds and the sha1's 20 bytes in typed arrays, 32 bytes an id outside the
 * V8 heap, the string rebuilt for the top only. With 100,000 entries waiting
 * as strings (and a Set beside them, before that) the heap was most of a
 * retry runner's memory.
 *
 * No Set refuses an id already in: an id pushed twice is stored twice, and
 * pop() takes every copy at once: equal ids leave a heap one after another,
 * so the runner still sees each id once. Duplicates are rare (an entry's
 * event arriving after a listing that already had it) and a full listing
 * replaces the whole heap (replace()).
 */
import { compareSlots, readId, SHA1_BYTES, writeId, type EntryIdList } from '../queues/entry-id-list.js';
import { isEntryId } from '../queues/entry-id.js';

export class IdHeap {
  private seconds: Float64Array = new Float64Array(0);
  private micros: Uint32Array = new Uint32Array(0);
  private sha1: Uint8Array = new Uint8Array(0);
  private count = 0;
  /** The id pop() is taking out, to compare its copies with. */
  private readonly taken = { seconds: new Float64Array(1), micros: new Uint32Array(1), sha1: new Uint8Array(SHA1_BYTES) };
  /** The top's id string, built once per top. */
  private top: string | undefined;

  /** Ids stored, an id pushed twice while in the heap counted twice. */
  get size(): number {
    return this.count;
  }

  /**
   * Replace the contents with `sorted` (a slice's listing, ascending and
   * without repeats): an ascending array is already a heap, so this costs
   * nothing, and the heap keeps the list's arrays themselves, not a copy.
   */
  replace(sorted: EntryIdList): void {
    this.seconds = sorted.seconds;
    this.micros = sorted.micros;
    this.sha1 = sorted.sha1;
    this.count = sorted.length;
    this.top = undefined;
  }

  /** Add `id` (an entry id; anything else is ignored). */
  push(id: string): void {
    if (!isEntryId(id)) return;
    if (this.count === this.seconds.length) this.grow();
    let index = this.count;
    writeId(id, this.seconds, this.micros, this.sha1, index);
    this.count++;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.compare(parent, index) <= 0) break;
      this.swap(parent, index);
      index = parent;
    }
    if (index === 0) this.top = undefined;
  }

  peek(): string | undefined {
    if (this.count === 0) return undefined;
    this.top ??= readId(this.seconds, this.micros, this.sha1, 0);
    return this.top;
  }

  /** The smallest id, with every copy of it taken out. */
  pop(): string | undefined {
    const top = this.peek();
    if (top === undefined) return undefined;
    const taken = this.taken;
    taken.seconds[0] = this.seconds[0] as number;
    taken.micros[0] = this.micros[0] as number;
    taken.sha1.set(this.sha1.subarray(0, SHA1_BYTES));
    do this.removeTop();
    while (this.count > 0 && compareSlots(this.seconds, this.micros, this.sha1, 0, taken.seconds, taken.micros, taken.sha1, 0) === 0);
    this.top = undefined;
    return top;
  }

  private compare(a: number, b: number): number {
    return compareSlots(this.seconds, this.micros, this.sha1, a, this.seconds, this.micros, this.sha1, b);
  }

  private swap(a: number, b: number): void {
    const { seconds, micros, sha1 } = this;
    const s = seconds[a] as number;
    seconds[a] = seconds[b] as number;
    seconds[b] = s;
    const u = micros[a] as number;
    micros[a] = micros[b] as number;
    micros[b] = u;
    const atA = a * SHA1_BYTES;
    const atB = b * SHA1_BYTES;
    for (let i = 0; i < SHA1_BYTES; i++) {
      const byte = sha1[atA + i] as number;
      sha1[atA + i] = sha1[atB + i] as number;
      sha1[atB + i] = byte;
    }
  }

  /** Move the last id to the top and sift it down. */
  private removeTop(): void {
    const last = --this.count;
    if (last === 0) return;
    this.seconds[0] = this.seconds[last] as number;
    this.micros[0] = this.micros[last] as number;
    this.sha1.copyWithin(0, last * SHA1_BYTES, (last + 1) * SHA1_BYTES);
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= this.count) break;
      const right = left + 1;
      const child = right < this.count && this.compare(right, left) < 0 ? right : left;
      if (this.compare(child, index) >= 0) break;
      this.swap(child, index);
      index = child;
    }
  }

  /** Room for more: a quarter more (a listing's arrays are exactly its size; doubling 100,000 ids for one event would waste 3 MB). */
  private grow(): void {
    const capacity = this.seconds.length + (this.seconds.length >> 2) + 64;
    const seconds = new Float64Array(capacity);
    seconds.set(this.seconds.subarray(0, this.count));
    const micros = new Uint32Array(capacity);
    micros.set(this.micros.subarray(0, this.count));
    const sha1 = new Uint8Array(capacity * SHA1_BYTES);
    sha1.set(this.sha1.subarray(0, this.count * SHA1_BYTES));
    this.seconds = seconds;
    this.micros = micros;
    this.sha1 = sha1;
  }
}
