/**
 * Text to bytes in a part's declared charset, for text the pipeline adds to
 * an existing part (a list's header and footer). Node can decode many
 * charsets (TextDecoder) but encode only a few, so this answers for those it
 * can do exactly and returns undefined otherwise; the caller then adds the
 * text as a part of its own instead of guessing.
 *
 *   utf-8                      any text;
 *   us-ascii                   ASCII text;
 *   iso-8859-1, windows-1252   ASCII and U+00A0..U+00FF (identical in both);
 *   other ASCII-compatible     ASCII text only (checked with TextDecoder
 *   charsets Node knows        that the label is real and ASCII maps to itself).
 */

const UTF8 = new Set(['utf-8', 'utf8']);
const ASCII = new Set(['us-ascii', 'ascii', 'ansi_x3.4-1968', 'iso646-us', 'us']);
const LATIN1 = new Set(['iso-8859-1', 'iso8859-1', 'latin1', 'l1', 'iso_8859-1', 'cp819', 'windows-1252', 'cp1252']);

const ASCII_PROBE = Buffer.from(Array.from({ length: 0x5f }, (_, i) => i + 0x20).concat([0x0d, 0x0a, 0x09]));
const asciiCompatible = new Map<string, boolean>();

/** Whether `charset` is a charset Node knows in which ASCII bytes mean ASCII (UTF-16, UTF-7 and unknown labels are not). */
export function isAsciiCompatible(charset: string): boolean {
  const cached = asciiCompatible.get(charset);
  if (cached !== undefined) return cached;
  let result: boolean;
  try {
    result = new TextDecoder(charset, { fatal: true }).decode(ASCII_PROBE) === ASCII_PROBE.toString('latin1');
  } catch {
    result = false;
  }
  if (asciiCompatible.size < 256) asciiCompatible.set(charset, result);
  return result;
}

/** `text` in `charset` (a lower-case label), or undefined when it cannot be written there exactly. */
export function encodeInCharset(text: string, charset: string): Buffer | undefined {
  const isAscii = /^[\x00-\x7f]*$/.test(text);
  if (UTF8.has(charset)) return Buffer.from(text, 'utf8');
  if (ASCII.has(charset)) return isAscii ? Buffer.from(text, 'latin1') : undefined;
  if (LATIN1.has(charset)) return /^[\x00-\x7f\xa0-\xff]*$/.test(text) ? Buffer.from(text, 'latin1') : undefined;
  return isAscii && isAsciiCompatible(charset) ? Buffer.from(text, 'latin1') : undefined;
}
