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

export interface Detector {
  /** Short name, printed by `bounce-scan` and logged: `exim`, `qmail`, ... */
  readonly name: string;
  /** Lower runs first: MTA-specific formats (100-199) before generic phrasings (200+). */
  readonly order: number;
  detect(message: BounceMessage): Failures | undefined;
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
