/**
 * Entry file names read straight from a directory listing, without an
 * object or a regular expression per name: a queue of 100,000 entries is
 * listed by `queue list`, `queue count`, every runner's rescan and every
 * recovery, and per-entry work there is most of their time.
 *
 * A name is `<10 digits>.<6 digits>+<40 lower-case hex>.<state>` (entry-id.ts
 * plus the state suffix); its time part orders the queue. A listing reads
 * what it needs to order a name and to find its file: the length, the
 * separators, the time's digits and the state. It does not read the sha1's
 * 40 characters: a queue only ever writes hex there, and checking them was
 * the largest part of a 100,000-entry listing's cost beyond readdir (about
 * 10 ms of 70). They are checked where an id is used (parseEntryId,
 * isEntryId), and a hand-made name of an entry's shape with anything else
 * there is skipped by those who use it (see Switchboard.scan). Reads only.
 */

/** Length of an entry id and of an entry file name (id, '.', three-letter state). */
export const ID_LENGTH = 58;
export const NAME_LENGTH = ID_LENGTH + 4;

/** The state suffixes, in the order of their bits in a state mask (switchboard.ts ENTRY_STATES). */
export const NAME_STATES = ['pck', 'bak', 'psv'] as const;

/** Bit of each state in a state mask, in NAME_STATES order. */
export function stateMask(states: readonly string[]): number {
  let mask = 0;
  for (const state of states) {
    const index = (NAME_STATES as readonly string[]).indexOf(state);
    if (index >= 0) mask |= 1 << index;
  }
  return mask;
}

/** The index in NAME_STATES of a name's state suffix (`pck` 0, `bak` 1, `psv` 2), or -1. */
export function stateIndexOfName(name: string): number {
  const a = name.charCodeAt(ID_LENGTH + 1);
  const b = name.charCodeAt(ID_LENGTH + 2);
  const c = name.charCodeAt(ID_LENGTH + 3);
  if (a === 0x70 && b === 0x63 && c === 0x6b) return 0; // pck
  if (a === 0x62 && b === 0x61 && c === 0x6b) return 1; // bak
  if (a === 0x70 && b === 0x73 && c === 0x76) return 2; // psv
  return -1;
}

/**
 * The index in NAME_STATES of the state of a name shaped like an entry's
 * (its length and separators), or -1: what a count needs. The digits and hex
 * are not read (they were most of a 100,000-entry count's time beyond
 * readdir); temp files (`.tmp`) and strangers of another length or shape are
 * not counted, and a name of exactly an entry's shape is only ever written
 * by a queue.
 */
export function stateIndexOfEntryShape(name: string): number {
  if (name.length !== NAME_LENGTH || name.charCodeAt(ID_LENGTH) !== 0x2e || name.charCodeAt(17) !== 0x2b || name.charCodeAt(10) !== 0x2e) return -1;
  return stateIndexOfName(name);
}

/**
 * The time part of a name of an entry file's shape (microseconds), or -1
 * when `name` is not one in `mask`'s states. The sha1 is not read (see the
 * head of this file): a name with other characters there passes.
 */
export function entryNameMicros(name: string, mask: number): number {
  if (name.length !== NAME_LENGTH || name.charCodeAt(ID_LENGTH) !== 0x2e || name.charCodeAt(17) !== 0x2b || name.charCodeAt(10) !== 0x2e) return -1;
  const state = stateIndexOfName(name);
  if (state < 0 || (mask & (1 << state)) === 0) return -1;
  // Digits by an unsigned range test (`(c - '0') >>> 0 > 9` is one comparison).
  let seconds = 0;
  for (let i = 0; i < 10; i++) {
    const digit = name.charCodeAt(i) - 0x30;
    if (digit >>> 0 > 9) return -1;
    seconds = seconds * 10 + digit;
  }
  let micros = 0;
  for (let i = 11; i < 17; i++) {
    const digit = name.charCodeAt(i) - 0x30;
    if (digit >>> 0 > 9) return -1;
    micros = micros * 10 + digit;
  }
  return seconds * 1_000_000 + micros;
}

/**
 * `names` (entry file names, all NAME_LENGTH long) in name order, which is
 * time order; `micros[i]` is the time part of `names[i]`.
 */
export function sortEntryNames(names: readonly string[], micros: ArrayLike<number>): string[] {
  const order = entryNameOrder(names, micros);
  const sorted = new Array<string>(order.length);
  for (let i = 0; i < order.length; i++) sorted[i] = names[order[i] as number] as string;
  return sorted;
}

/**
 * The indices of `names` (as sortEntryNames) in name order: a listing
 * makes its results straight from them, without a sorted copy of 100,000
 * names first. Sorting numbers is several times cheaper than comparing
 * strings: the indices are put in time order by a radix sort (a pass per
 * 16 bits of the span from earliest to latest, three times cheaper than
 * sorting packed doubles natively), and those of names with the same time
 * then in name order among themselves.
 */
export function entryNameOrder(names: readonly string[], micros: ArrayLike<number>): Uint32Array {
  const count = names.length;
  let earliest = Number.POSITIVE_INFINITY;
  let latest = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const time = micros[i] as number;
    if (time < earliest) earliest = time;
    if (time > latest) latest = time;
  }
  if (count < 2 || !Number.isSafeInteger(latest) || !Number.isSafeInteger(earliest)) {
    const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => compareNames(names, a, b));
    return Uint32Array.from(order);
  }
  const order = timeOrder(micros, earliest, latest - earliest);
  let runStart = 0;
  for (let i = 1; i <= count; i++) {
    if (i < count && micros[order[i] as number] === micros[order[runStart] as number]) continue;
    if (i - runStart > 1) sortRun(order, runStart, i, names);
    runStart = i;
  }
  return order;
}

const DIGIT_BITS = 16;
const DIGIT_VALUES = 1 << DIGIT_BITS;
const WORD = 2 ** 32;

/**
 * The indices of `micros` in time order, stably: a least-significant-digit
 * radix sort of each time less `earliest` (at most `span`, a safe integer),
 * split into two 32-bit words, 16 bits a pass, only as many passes as `span` has digits.
 */
export function timeOrder(micros: ArrayLike<number>, earliest: number, span: number): Uint32Array {
  const count = micros.length;
  const low = new Uint32Array(count);
  const high = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const offset = (micros[i] as number) - earliest;
    const upper = Math.floor(offset / WORD);
    high[i] = upper;
    low[i] = offset - upper * WORD;
  }
  let order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  let next = new Uint32Array(count);
  const starts = new Uint32Array(DIGIT_VALUES);
  for (let pass = 0; pass < 4 && span >= 2 ** (DIGIT_BITS * pass); pass++) {
    const words = pass < 2 ? low : high;
    const shift = (pass & 1) * DIGIT_BITS;
    starts.fill(0);
    for (let i = 0; i < count; i++) (starts[((words[i] as number) >>> shift) & (DIGIT_VALUES - 1)] as number)++;
    let sum = 0;
    for (let digit = 0; digit < DIGIT_VALUES; digit++) {
      const inDigit = starts[digit] as number;
      starts[digit] = sum;
      sum += inDigit;
    }
    for (let i = 0; i < count; i++) {
      const index = order[i] as number;
      next[(starts[((words[index] as number) >>> shift) & (DIGIT_VALUES - 1)] as number)++] = index;
    }
    const done = order;
    order = next;
    next = done;
  }
  return order;
}

/** The indices in `order` from `start` to `end`, of names with the same time part, in name order (by their sha1). */
function sortRun(order: Uint32Array, start: number, end: number, names: readonly string[]): void {
  order.set(
    Array.from(order.subarray(start, end)).sort((a, b) => compareNames(names, a, b)),
    start,
  );
}

function compareNames(names: readonly string[], a: number, b: number): number {
  const first = names[a] as string;
  const second = names[b] as string;
  return first < second ? -1 : first > second ? 1 : 0;
}
