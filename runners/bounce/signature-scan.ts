/**
 * The classifier's one pass over a message before any MTA detector runs: it
 * tags the detectors the message can be for, so only those run (and the
 * detectors without a signature, which always do). A detector's signature
 * (detector.ts) names what it cannot answer without: words one of which the
 * message's text contains, or a test of its header fields (From, Subject,
 * X-Mailer, X-Failed-Recipients, ...). The words of every detector are found
 * in one search of the lower-cased text, instead of each detector searching
 * the text for its own.
 *
 * Exact: a detector is skipped only when its signature says it would answer
 * nothing. Every occurrence of every word is found: the search is a
 * lookahead tried at every position, the longest word first, and the words
 * that are prefixes of the one found there are counted as found too (two
 * words found at one position are one a prefix of the other).
 */
import type { BounceMessage } from './bounce-message.js';
import type { Detector } from './detector.js';

export class SignatureScan {
  private readonly detectors: readonly Detector[];
  /** One alternation of every word, longest first, inside a lookahead (so overlapping words are all seen). */
  private readonly words: RegExp | undefined;
  /** For each word: the indexes (into detectors) of the detectors whose words are that word or a prefix of it. */
  private readonly detectorsOfWord: ReadonlyMap<string, readonly number[]>;

  constructor(detectors: readonly Detector[]) {
    this.detectors = detectors;
    const owners = new Map<string, number[]>();
    detectors.forEach((detector, index) => {
      for (const word of detector.signature?.words ?? []) {
        if (word === '' || word !== word.toLowerCase()) throw new TypeError(`detector ${detector.name}: signature word ${JSON.stringify(word)} is not a lower-case word`);
        owners.set(word, [...(owners.get(word) ?? []), index]);
      }
    });
    const sorted = [...owners.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.detectorsOfWord = new Map(sorted.map((word) => [word, [...new Set(sorted.filter((other) => word.startsWith(other)).flatMap((other) => owners.get(other) ?? []))]]));
    this.words = sorted.length === 0 ? undefined : new RegExp(`(?=(${sorted.map((word) => word.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')).join('|')}))`, 'g');
  }

  /** For each detector (same order as given): whether it can answer for `message`. */
  possible(message: BounceMessage): boolean[] {
    const possible = this.detectors.map((detector) => detector.signature === undefined || detector.signature.test?.(message) === true);
    const words = this.words;
    if (words === undefined) return possible;
    const lower = message.lowerText();
    words.lastIndex = 0;
    for (let found = words.exec(lower); found !== null; found = words.exec(lower)) {
      for (const index of this.detectorsOfWord.get(found[1] as string) ?? []) possible[index] = true;
      words.lastIndex = found.index + 1;
    }
    return possible;
  }
}
