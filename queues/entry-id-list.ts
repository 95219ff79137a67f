/**
 * Entry ids kept compactly: the two numbers of the time part and the sha1 as
 * 20 bytes, in typed arrays, with the id string rebuilt when one is asked
 * for. A runner holds every waiting id of its slice while it waits; as
 * strings, 100,000 ids cost about 11 MB of V8 heap (a 58-character string
 * sliced from its 62-character file name, and the name behind it), and the
 * names of the listing they came from were promoted to the old generation
 * first: the process's RSS grew by some 45 MB. Here they cost 32 bytes each,
 * outside the V8 heap, and a shard's names are garbage as soon as its
 * readdir has been parsed.
 *
 * An id `SSSSSSSSSS.UUUUUU+<40 hex>` sorts as its string does when compared
 * by seconds, then microseconds, then the sha1's bytes (lower-case hex digits
 * sort as the nibbles they stand for).
 *
 * Reads and writes no files.
 */
import { ID_LENGTH, NAME_LENGTH, stateIndexOfName, timeOrder } from './entry-names.js';

export const SHA1_BYTES = 20;
/** Where the sha1 starts in an id. */
const SHA1_OFFSET = 18;

/** The value of a lower-case hex digit's character code, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Parse the id at the start of `text` (an id, or an entry file name) into
 * slot `index` of the arrays. False, and the slot half written, when it is not
 * an id's shape.
 */
export function writeId(text: string, seconds: Float64Array, micros: Uint32Array, sha1: Uint8Array, index: number): boolean {
  let s = 0;
  for (let i = 0; i < 10; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit >>> 0 > 9) return false;
    s = s * 10 + digit;
  }
  if (text.charCodeAt(10) !== 0x2e) return false;
  let u = 0;
  for (let i = 11; i < 17; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit >>> 0 > 9) return false;
    u = u * 10 + digit;
  }
  if (text.charCodeAt(17) !== 0x2b) return false;
  const at = index * SHA1_BYTES;
  for (let i = 0; i < SHA1_BYTES; i++) {
    const high = hexValue(text.charCodeAt(SHA1_OFFSET + 2 * i));
    const low = hexValue(text.charCodeAt(SHA1_OFFSET + 2 * i + 1));
    if (high < 0 || low < 0) return false;
    sha1[at + i] = (high << 4) | low;
  }
  seconds[index] = s;
  micros[index] = u;
  return true;
}

const HEX = '0123456789abcdef';

/** The id string of slot `index`. */
export function readId(seconds: Float64Array, micros: Uint32Array, sha1: Uint8Array, index: number): string {
  let hex = '';
  const at = index * SHA1_BYTES;
  for (let i = 0; i < SHA1_BYTES; i++) {
    const byte = sha1[at + i] as number;
    hex += HEX[byte >> 4]! + HEX[byte & 15]!;
  }
  return `${String(seconds[index]).padStart(10, '0')}.${String(micros[index]).padStart(6, '0')}+${hex}`;
}

/** <0, 0, >0 as slot `a` of the first arrays sorts before, with or after slot `b` of the second. */
export function compareSlots(
  secondsA: Float64Array, microsA: Uint32Array, sha1A: Uint8Array, a: number,
  secondsB: Float64Array, microsB: Uint32Array, sha1B: Uint8Array, b: number,
): number {
  const ds = (secondsA[a] as number) - (secondsB[b] as number);
  if (ds !== 0) return ds;
  const du = (microsA[a] as number) - (microsB[b] as number);
  if (du !== 0) return du;
  const atA = a * SHA1_BYTES;
  const atB = b * SHA1_BYTES;
  for (let i = 0; i < SHA1_BYTES; i++) {
    const d = (sha1A[atA + i] as number) - (sha1B[atB + i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** Ids in ascending (time, then sha1) order, without repeats: a slice's listing (Switchboard.waitingIds). */
export class EntryIdList {
  constructor(
    readonly length: number,
    readonly seconds: Float64Array,
    readonly micros: Uint32Array,
    readonly sha1: Uint8Array,
  ) {}

  static readonly EMPTY = new EntryIdList(0, new Float64Array(0), new Uint32Array(0), new Uint8Array(0));

  /** The list of `ids` (entry ids in any order; anything else is left out). */
  static of(ids: Iterable<string>): EntryIdList {
    const builder = new EntryIdListBuilder();
    for (const id of ids) builder.addId(id);
    return builder.sorted();
  }

  /** The id at `index` (0 is the oldest). */
  id(index: number): string {
    return readId(this.seconds, this.micros, this.sha1, index);
  }

  /** Every id, oldest first, as strings (for tests and small lists: it builds a string per id). */
  toArray(): string[] {
    const ids = new Array<string>(this.length);
    for (let i = 0; i < this.length; i++) ids[i] = this.id(i);
    return ids;
  }

  /** Whether `id` is in the list (binary search). */
  has(id: string): boolean {
    const seconds = new Float64Array(1);
    const micros = new Uint32Array(1);
    const sha1 = new Uint8Array(SHA1_BYTES);
    if (id.length !== ID_LENGTH || !writeId(id, seconds, micros, sha1, 0)) return false;
    let low = 0;
    let high = this.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const order = compareSlots(this.seconds, this.micros, this.sha1, middle, seconds, micros, sha1, 0);
      if (order === 0) return true;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

/**
 * Collects the ids of entry file names (add(), a shard's names at a time, so
 * that each shard's array of names can be dropped once parsed), then sorts
 * them into an EntryIdList.
 */
export class EntryIdListBuilder {
  private seconds: Float64Array = new Float64Array(1024);
  private micros: Uint32Array = new Uint32Array(1024);
  private sha1: Uint8Array = new Uint8Array(1024 * SHA1_BYTES);
  private count = 0;

  /** Take the id of `name` when it is an entry file name in one of `mask`'s states (entry-names.ts stateMask). */
  add(name: string, mask: number): void {
    if (name.length !== NAME_LENGTH || name.charCodeAt(ID_LENGTH) !== 0x2e) return;
    const state = stateIndexOfName(name);
    if (state < 0 || (mask & (1 << state)) === 0) return;
    if (this.count === this.seconds.length) this.grow();
    if (writeId(name, this.seconds, this.micros, this.sha1, this.count)) this.count++;
  }

  /** Take `id` when it is an entry id. */
  addId(id: string): void {
    if (id.length !== ID_LENGTH) return;
    if (this.count === this.seconds.length) this.grow();
    if (writeId(id, this.seconds, this.micros, this.sha1, this.count)) this.count++;
  }

  private grow(): void {
    const capacity = this.seconds.length * 2;
    const seconds = new Float64Array(capacity);
    seconds.set(this.seconds);
    const micros = new Uint32Array(capacity);
    micros.set(this.micros);
    const sha1 = new Uint8Array(capacity * SHA1_BYTES);
    sha1.set(this.sha1);
    this.seconds = seconds;
    this.micros = micros;
    this.sha1 = sha1;
  }

  /** The ids taken, sorted, in arrays of exactly their size; repeats (a name listed twice) once. */
  sorted(): EntryIdList {
    const count = this.count;
    const { seconds, micros, sha1 } = this;
    const order = this.order();
    const outSeconds = new Float64Array(count);
    const outMicros = new Uint32Array(count);
    const outSha1 = new Uint8Array(count * SHA1_BYTES);
    let length = 0;
    for (let i = 0; i < count; i++) {
      const from = order[i] as number;
      if (length > 0 && compareSlots(seconds, micros, sha1, from, outSeconds, outMicros, outSha1, length - 1) === 0) continue;
      outSeconds[length] = seconds[from] as number;
      outMicros[length] = micros[from] as number;
      outSha1.set(sha1.subarray(from * SHA1_BYTES, (from + 1) * SHA1_BYTES), length * SHA1_BYTES);
      length++;
    }
    if (length === count) return new EntryIdList(length, outSeconds, outMicros, outSha1);
    return new EntryIdList(length, outSeconds.slice(0, length), outMicros.slice(0, length), outSha1.slice(0, length * SHA1_BYTES));
  }

  /**
   * The slots in id order: by time with entry-names.ts's radix sort when
   * every time in microseconds is a safe integer (until the year 2255), then
   * ties by sha1; otherwise by comparison.
   */
  private order(): Uint32Array {
    const count = this.count;
    const { seconds, micros, sha1 } = this;
    const compare = (a: number, b: number): number => compareSlots(seconds, micros, sha1, a, seconds, micros, sha1, b);
    const times = new Float64Array(count);
    let earliest = Number.POSITIVE_INFINITY;
    let latest = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < count; i++) {
      const time = (seconds[i] as number) * 1_000_000 + (micros[i] as number);
      times[i] = time;
      if (time < earliest) earliest = time;
      if (time > latest) latest = time;
    }
    if (count < 2 || !Number.isSafeInteger(latest)) {
      const order = new Uint32Array(count);
      for (let i = 0; i < count; i++) order[i] = i;
      return order.sort(compare);
    }
    const order = timeOrder(times, earliest, latest - earliest);
    // Runs of one time, in sha1 order among themselves.
    let runStart = 0;
    for (let i = 1; i <= count; i++) {
      if (i < count && times[order[i] as number] === times[order[runStart] as number]) continue;
      if (i - runStart > 1) order.subarray(runStart, i).sort(compare);
      runStart = i;
    }
    return order;
  }
}
