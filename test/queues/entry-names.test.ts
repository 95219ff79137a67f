import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { entryNameMicros, sortEntryNames, stateIndexOfEntryShape, stateMask } from '../../queues/entry-names.js';

const ALL = stateMask(['pck', 'bak', 'psv']);

function sha1(i: number): string {
  return createHash('sha1').update(String(i)).digest('hex');
}

function entryName(seconds: number, micros: number, i: number, state = 'pck'): string {
  return `${String(seconds).padStart(10, '0')}.${String(micros).padStart(6, '0')}+${sha1(i)}.${state}`;
}

/** sortEntryNames of `names` with their times read by entryNameMicros. */
function sortByTime(names: string[]): string[] {
  return sortEntryNames(
    names,
    names.map((name) => entryNameMicros(name, ALL)),
  );
}

describe('entry file names', () => {
  it('reads the time of a well-formed name and rejects every malformed one', () => {
    const name = entryName(1765000000, 4838, 1);
    expect(entryNameMicros(name, ALL)).toBe(1765000000_004838);
    expect(entryNameMicros(name, stateMask(['bak']))).toBe(-1);
    // The sha1 is not read: a queue writes only hex there, and ids are checked where they are used.
    for (const other of ['g', 'A', 'F', '/', ':', '`', '{', 'İ']) {
      expect(entryNameMicros(`${name.slice(0, 30)}${other}${name.slice(31)}`, ALL)).toBe(1765000000_004838);
    }
    for (const bad of ['/', ':', 'a']) {
      expect(entryNameMicros(`${bad}${name.slice(1)}`, ALL)).toBe(-1);
      expect(entryNameMicros(`${name.slice(0, 12)}${bad}${name.slice(13)}`, ALL)).toBe(-1);
    }
    expect(entryNameMicros(`${name.slice(0, 17)}-${name.slice(18)}`, ALL)).toBe(-1);
    expect(entryNameMicros(`${name}.tmp`, ALL)).toBe(-1);
    expect(entryNameMicros(name.replace('.pck', '.raw'), ALL)).toBe(-1);
  });

  it('rejects a name with any one character changed to anything its place does not allow, the sha1 read by its length alone', () => {
    const name = entryName(1765000000, 4838, 1);
    const shape = /^\d{10}\.\d{6}\+[^]{40}\.(?:pck|bak|psv)$/;
    // Each place's neighbours of the allowed ranges, other ranges, and characters beyond Latin-1.
    const characters = ['\0', ' ', '+', '-', '.', '/', '0', '5', '9', ':', '@', 'A', 'F', 'G', '`', 'a', 'c', 'f', 'g', 'z', '\u00b2', '\u0130', '\u0660', '\uffff'];
    for (let at = 0; at < name.length; at++) {
      for (const character of characters) {
        const changed = `${name.slice(0, at)}${character}${name.slice(at + 1)}`;
        const expected = shape.test(changed) ? Number(changed.slice(0, 10)) * 1_000_000 + Number(changed.slice(11, 17)) : -1;
        expect(entryNameMicros(changed, ALL), JSON.stringify(changed)).toBe(expected);
      }
    }
  });

  it('counts by shape: states of entry-shaped names, -1 for temp files and strangers', () => {
    expect(stateIndexOfEntryShape(entryName(1765000000, 0, 1, 'pck'))).toBe(0);
    expect(stateIndexOfEntryShape(entryName(1765000000, 0, 1, 'bak'))).toBe(1);
    expect(stateIndexOfEntryShape(entryName(1765000000, 0, 1, 'psv'))).toBe(2);
    expect(stateIndexOfEntryShape(`${entryName(1765000000, 0, 1)}.0123456789ab.tmp`)).toBe(-1);
    expect(stateIndexOfEntryShape('README.pck')).toBe(-1);
    expect(stateIndexOfEntryShape(`x${entryName(1765000000, 0, 1)}`)).toBe(-1);
  });

  it('sorts names into name order, which is time order, whatever the spread of their times', () => {
    const shapes: Record<string, string[]> = {
      'one time span of hours': Array.from({ length: 3000 }, (_, i) => entryName(1765000000 + ((i * 7919) % 36000), (i * 31) % 1_000_000, i)),
      'many equal times': Array.from({ length: 3000 }, (_, i) => entryName(1765000000, i % 7, i)),
      'decades apart': Array.from({ length: 3000 }, (_, i) => entryName(1_000_000_000 + ((i * 7919) % 2_000_000_000), (i * 31) % 1_000_000, i)),
      'near the epoch': Array.from({ length: 300 }, (_, i) => entryName(i % 3, i % 2, i)),
      'past the safe integers': Array.from({ length: 100 }, (_, i) => entryName(9_999_999_999 - (i % 2), i, i)),
    };
    for (const [shape, names] of Object.entries(shapes)) {
      expect(sortByTime(names), shape).toEqual([...names].sort());
    }
    for (let count = 0; count < 4; count++) {
      const names = Array.from({ length: count }, (_, i) => entryName(1765000000 - i, 0, i));
      expect(sortByTime(names)).toEqual([...names].sort());
    }
  });
});
