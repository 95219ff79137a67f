/**
 * The phrase tables of the generic detectors (simple-match.ts for failures,
 * simple-warning.ts for delays), after flufl.bounce's simplematch and
 * simplewarning: a block starts at a line matching `start`, ends at `end`
 * (or, without one, at the first blank line after an address), and each
 * line of it gives the addresses `address` captures (group 1), or, without
 * `address`, the address that is alone on the line.
 *
 * Not itself a detector: its default export is undefined, so the loader
 * skips it.
 */
import { addressesIn } from '../addresses.js';
import { addressesInBlocks, lineAddress } from '../detector.js';
import { LiteralGate } from '../literal-gate.js';

export interface Pattern {
  /** Who sends this phrasing, for readers. */
  source: string;
  start: RegExp;
  end?: RegExp;
  address?: RegExp;
}

function picker(address: RegExp | undefined): (line: string) => string[] {
  if (address === undefined) return lineAddress;
  return (line) => {
    const match = address.exec(line);
    return match?.[1] === undefined ? [] : addressesIn(match[1]);
  };
}

/**
 * Each pattern's start as one multiline search of the whole text (one scan instead of a test per line),
 * behind its literal gate: most starts begin with `^\s*`, which no search can skip ahead for, and the
 * localized ones are long alternations, while their literals are absent from most texts.
 */
const gates = new WeakMap<Pattern, LiteralGate>();

function gate(pattern: Pattern): LiteralGate {
  let found = gates.get(pattern);
  if (found === undefined) {
    found = new LiteralGate(new RegExp(pattern.start.source, pattern.start.flags.replace(/[gmy]/g, '') + 'm'));
    gates.set(pattern, found);
  }
  return found;
}

/**
 * Addresses the first matching pattern finds in `lines` (the lines of `text`; `lower` is text in lower
 * case), or [] when none finds any.
 * A pattern whose start appears nowhere in the text is passed over after one search of it: most
 * messages that get here match none, and a line-by-line test of every pattern would cost the most.
 */
export function matchPatterns(patterns: readonly Pattern[], text: string, lower: string, lines: readonly string[]): string[] {
  for (const pattern of patterns) {
    if (!gate(pattern).test(text, lower)) continue;
    const found = addressesInBlocks(lines, {
      start: pattern.start,
      ...(pattern.end === undefined ? { stopAtBlankAfterAddress: true } : { end: pattern.end }),
      pick: picker(pattern.address),
    });
    // A start line that itself names the address ("Undeliverable Address: x").
    if (pattern.address !== undefined) {
      for (const line of lines) if (pattern.start.test(line)) found.push(...picker(pattern.address)(line));
    }
    if (found.length > 0) return found;
  }
  return [];
}

/**
 * A recipient line of a localized report: the address alone (perhaps after a
 * bullet or a display name, in `<>` or `()`), or followed by the time it was
 * tried, as Exchange writes it in every language ("anne@example.de am
 * 03.03.2025 10:02", "... le 03/03/2025", "... el", "... il", "... em", "... op").
 */
export const LISTED_ADDRESS =
  /^\s*(?:[*•-]\s+)?(?:[^<>()@]*[<(])?\s*(?:mailto:)?([^\s@<>()]+@[^\s@<>()]+?)\s*[>)]?\s*(?:[:.;,]\s*)?(?:\s(?:on|am|le|el|il|em|op|den|à|a)\s.*|\s\d.*)?$/i;
