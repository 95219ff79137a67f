/**
 * What a bounce detector is. Each detector is one module in detectors/ whose
 * default export is a Detector, registered in detectors/index.ts (the
 * registry sorts them by `order`), so adding a format is adding a file and
 * its line there.
 *
 * A detector recognises one family of bounce formats. It returns undefined
 * when the message is not in its format (the next detector gets a turn), and
 * the failed addresses when it is. A format recognised but naming no address
 * returns undefined too: the message goes on to the generic detectors.
 */
import type { BounceMessage } from './bounce-message.js';
import { addressesIn, uniqueAddresses } from './addresses.js';
import { requiredLiterals } from './literal-gate.js';

/** Detectors from this order on are the generic phrase matchers, run only after the auto-reply check. */
export const GENERIC_ORDER = 900;

export interface Failures {
  permanent: string[];
  temporary: string[];
  /**
   * What the report says about each address (lower case), when the detector
   * knows which words belong to whom: the remote reply, a reason line.
   * Without it, classify.ts looks for the words around the address.
   */
  diagnostics?: Record<string, string>;
}

/** `found` with `diagnostics` attached (undefined stays undefined). */
export function withDiagnostics(found: Failures | undefined, diagnostics: ReadonlyMap<string, string>): Failures | undefined {
  if (found === undefined || diagnostics.size === 0) return found;
  return { ...found, diagnostics: Object.fromEntries([...diagnostics].map(([address, text]) => [address.toLowerCase(), text])) };
}

/**
 * What a detector cannot answer without (signature-scan.ts): one of `words` (lower case) in the message's
 * text, or `test` true of the message (its header fields). A message with neither is not given to the
 * detector. Each must be implied by the detector's own first checks: it only saves running them.
 */
export interface Signature {
  readonly words?: readonly string[];
  test?(message: BounceMessage): boolean;
}

export interface Detector {
  /** Short name, printed by `bounce-scan` and logged: `exim`, `qmail`, ... */
  readonly name: string;
  /** Lower runs first: MTA-specific formats (100-199) before generic phrasings (200+). */
  readonly order: number;
  /** Without one, the detector is given every message. */
  readonly signature?: Signature;
  detect(message: BounceMessage): Failures | undefined;
}

/** The words of a detector's signature from the expressions its first check searches the text with (literal-gate.ts). */
export function wordsOf(...patterns: RegExp[]): string[] {
  return patterns.flatMap((pattern) => {
    const literals = requiredLiterals(pattern);
    if (literals === undefined) throw new TypeError(`no literal words in /${pattern.source}/${pattern.flags}: give the detector a signature test instead`);
    return literals;
  });
}

/** `permanent`/`temporary` deduplicated; undefined when both are empty. */
export function failures(permanent: Iterable<string>, temporary: Iterable<string> = []): Failures | undefined {
  const perm = uniqueAddresses(permanent);
  const permKeys = new Set(perm.map((a) => a.toLowerCase()));
  // An address reported both ways counts as permanent: it did fail for good.
  const temp = uniqueAddresses(temporary).filter((a) => !permKeys.has(a.toLowerCase()));
  return perm.length === 0 && temp.length === 0 ? undefined : { permanent: perm, temporary: temp };
}

export interface BlockOptions {
  /** Where the block starts (the matching line itself is not part of it). */
  start: RegExp;
  /** Where it ends (this line is not part of it); default: end of text. */
  end?: RegExp;
  /** The addresses a line of the block gives; default: every address on it. */
  pick?: (line: string) => string[];
  /** Stop at the first blank line after an address was found. */
  stopAtBlankAfterAddress?: boolean;
}

/** Addresses from every block of `lines` between `start` and `end`. */
export function addressesInBlocks(lines: readonly string[], options: BlockOptions): string[] {
  const found: string[] = [];
  const pick = options.pick ?? addressesIn;
  let inside = false;
  let sawAddress = false;
  for (const line of lines) {
    if (!inside) {
      if (options.start.test(line)) {
        inside = true;
        sawAddress = false;
      }
      continue;
    }
    if (options.end?.test(line)) {
      inside = false;
      continue;
    }
    if (line.trim() === '') {
      if (options.stopAtBlankAfterAddress && sawAddress) inside = false;
      continue;
    }
    const addresses = pick(line);
    if (addresses.length > 0) sawAddress = true;
    found.push(...addresses);
  }
  return found;
}

/** The address of a line that is only an address (perhaps in `<>`, quotes, or after a display name in `()`/`<>`). */
export function lineAddress(line: string): string[] {
  const trimmed = line.trim();
  const match = /^(?:[^<>()@]*[<(])?\s*(?:mailto:)?([^\s@<>()]+@[^\s@<>()]+?)\s*[>)]?\s*(?:<mailto:[^>]*>)?\s*[:.]?$/i.exec(trimmed);
  if (!match) return [];
  return addressesIn(match[1] as string);
}

/** `<address>:` at the very start of a line (qmail, Postfix, Yahoo). */
export function leadingBracketAddress(line: string): string[] {
  const match = /^<([^<>\s]+@[^<>\s]+)>:/.exec(line);
  return match ? addressesIn(match[1] as string) : [];
}
