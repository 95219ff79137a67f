/**
 * The one place that writes a mail header field. Every field switchyard
 * composes (pipeline handlers, notices, personalised copies, list settings
 * that end up in a header) is written here, so header injection has one
 * guard instead of one per caller:
 *
 * - a value holding CR, LF or NUL is refused with HeaderValueError
 *   (SY_HEADER_VALUE): a line break in a value is a new field on the wire
 *   (`Subject: x\r\nBcc: victim@...`). The writer does not "clean" such a
 *   value behind the caller's back: a caller holding text from a message
 *   (a decoded Subject, a display name) says so with oneLine(), a caller
 *   holding a setting had it validated when it was set;
 * - non-ASCII text is written as RFC 2047 encoded words (Q, UTF-8);
 * - the field is folded at 78 columns where it has white space, and no line
 *   ever exceeds RFC 5322's 998 octets: a value with a longer unbroken run is
 *   written as encoded words, which may be split anywhere.
 */
import { SwitchyardError } from '../errors.js';
import { libmime } from './lazy-libmime.js';
import { headerValueProblem } from './header-value.js';

export { headerValueProblem };

export type LineEnding = '\r\n' | '\n';

export interface HeaderField {
  /** The field name as written. */
  readonly name: string;
  /** The name in lower case, for lookups. */
  readonly key: string;
  /** The field's exact bytes: name, value, folded continuation lines, final line ending. */
  readonly raw: Buffer;
}

/** A value (or name) the header writer refuses; `field` names the header field it was meant for. */
export class HeaderValueError extends SwitchyardError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super('SY_HEADER_VALUE', `header field ${field}: ${problem}`);
  }
}

/** `name` as a field name may be written (RFC 5322 ftext: printable ASCII but colon). */
export const FIELD_NAME = /^[!-9;-~]+$/;
/** RFC 5322 2.1.1: a line is at most 998 octets, CRLF excluded. */
const MAX_LINE = 998;
/** Encoded words at most 52 characters, so a folded line stays under 78. */
const WORD_LENGTH = 52;

/** Throws HeaderValueError when `value` holds CR, LF or NUL. */
export function assertHeaderValue(field: string, value: string): void {
  const problem = headerValueProblem(value);
  if (problem !== null) throw new HeaderValueError(field, problem);
}

/**
 * Text from a message or from an old stored setting made fit for a header
 * value: every run of CR, LF, NUL and other control characters (tab kept)
 * becomes one space. For text a caller does not control; never for settings
 * being set (those are refused, so the operator learns of it).
 */
export function oneLine(text: string): string {
  return text.replace(/[\0-\x08\x0a-\x1f\x7f]+/g, ' ');
}

function longestLine(text: string): number {
  let longest = 0;
  for (const line of text.split('\r\n')) longest = Math.max(longest, Buffer.byteLength(line, 'utf8'));
  return longest;
}

/** A header field `name: value`, folded, encoded when not ASCII, ending in `eol`. Throws HeaderValueError on CR, LF or NUL. */
export function formatField(name: string, value: string, eol: LineEnding = '\r\n'): HeaderField {
  if (!FIELD_NAME.test(name)) throw new HeaderValueError(JSON.stringify(name), 'not a header field name (printable ASCII, no colon or space)');
  assertHeaderValue(name, value);
  let encoded = /^[\x20-\x7e\t]*$/.test(value) ? value : libmime().encodeWords(value, 'Q', WORD_LENGTH);
  let folded = libmime().foldLines(`${name}: ${encoded}`, 76);
  if (longestLine(folded) > MAX_LINE) {
    // An unbroken run longer than a line may be: encoded words can be split anywhere.
    encoded = libmime().encodeWord(value, 'Q', WORD_LENGTH);
    folded = libmime().foldLines(`${name}: ${encoded}`, 76);
  }
  return { name, key: name.toLowerCase(), raw: Buffer.from(`${folded.replace(/\r\n/g, eol)}${eol}`, 'latin1') };
}

/**
 * `field` with `text` put in front of its value (the subject prefix): the
 * text checked and encoded as formatField would, the rest of the field's
 * bytes (encoded words, folding, 8-bit text) kept exactly as they were.
 */
export function prefixField(field: HeaderField, text: string): HeaderField {
  assertHeaderValue(field.name, text);
  const trimmed = text.replace(/\s+$/, '');
  const prefix = /^[\x20-\x7e]*$/.test(trimmed) ? trimmed : libmime().encodeWords(trimmed, 'Q', 0);
  const colon = field.raw.indexOf(0x3a);
  let start = colon + 1;
  while (field.raw[start] === 0x20 || field.raw[start] === 0x09) start++;
  const head = Buffer.from(`${field.name}: ${prefix} `, 'latin1');
  return { name: field.name, key: field.key, raw: Buffer.concat([head, field.raw.subarray(start)]) };
}
