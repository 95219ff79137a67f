/**
 * Content-Transfer-Encoding (RFC 2045 6.7, 6.8) for the parts the pipeline
 * rewrites: decoding to bytes and encoding back, in the message's own line
 * ending. Decoders are lenient as RFC 2045 asks (a bad `=XY` is kept as it
 * is, characters outside the base64 alphabet are skipped), so broken input
 * decodes to something defined rather than throwing.
 */
import type { LineEnding } from './raw-message.js';

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/** Quoted-printable to bytes. Soft line breaks vanish; trailing white space on a line is dropped (RFC 2045 rule 3). */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let length = 0;
  let lineStart = 0;
  // Bytes before this offset came from `=XY` (or precede a soft break): never transport padding.
  let kept = 0;
  const n = input.length;
  for (let i = 0; i < n; i++) {
    const byte = input[i]!;
    if (byte === 0x3d) {
      // "=" then optional trailing white space then a line ending: a soft break.
      let j = i + 1;
      while (j < n && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j >= n) {
        i = j;
        continue;
      }
      if (input[j] === 0x0a || (input[j] === 0x0d && input[j + 1] === 0x0a)) {
        i = input[j] === 0x0d ? j + 1 : j;
        lineStart = length;
        kept = length;
        continue;
      }
      const high = i + 2 < n ? hexValue(input[i + 1]!) : -1;
      const low = i + 2 < n ? hexValue(input[i + 2]!) : -1;
      if (high >= 0 && low >= 0) {
        out[length++] = high * 16 + low;
        kept = length;
        i += 2;
        continue;
      }
      out[length++] = byte;
      continue;
    }
    if (byte === 0x0a || (byte === 0x0d && input[i + 1] === 0x0a)) {
      // Transport may have added trailing white space: drop it (but not encoded =20s, which are already bytes).
      let end = length;
      while (end > Math.max(lineStart, kept) && (out[end - 1] === 0x20 || out[end - 1] === 0x09)) end--;
      length = end;
      if (byte === 0x0d) {
        out[length++] = 0x0d;
        i++;
      }
      out[length++] = 0x0a;
      lineStart = length;
      continue;
    }
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/**
 * Bytes to quoted-printable, lines of at most 76 characters, line breaks of
 * the text (LF or CRLF) written as `eol`. Only printable ASCII but `=` stays
 * literal; space and tab are encoded before a line break.
 */
export function encodeQuotedPrintable(input: Buffer, eol: LineEnding): string {
  const lines: string[] = [];
  let line = '';
  const flush = (soft: boolean): void => {
    lines.push(soft ? `${line}=` : line);
    line = '';
  };
  const n = input.length;
  for (let i = 0; i < n; i++) {
    const byte = input[i]!;
    if (byte === 0x0a || (byte === 0x0d && input[i + 1] === 0x0a)) {
      if (byte === 0x0d) i++;
      // White space at the end of a line must be encoded, or transport may strip it.
      const last = line.charCodeAt(line.length - 1);
      if (last === 0x20 || last === 0x09) line = `${line.slice(0, -1)}=${last === 0x20 ? '20' : '09'}`;
      flush(false);
      continue;
    }
    const literal = (byte >= 0x21 && byte <= 0x7e && byte !== 0x3d) || byte === 0x20 || byte === 0x09;
    const token = literal ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    // 75 leaves room for the soft-break "=".
    if (line.length + token.length > 75) flush(true);
    line += token;
  }
  const last = line.charCodeAt(line.length - 1);
  if (last === 0x20 || last === 0x09) line = `${line.slice(0, -1)}=${last === 0x20 ? '20' : '09'}`;
  lines.push(line);
  return lines.join(eol);
}

/** Base64 to bytes; anything outside the alphabet (line breaks, garbage) is skipped. */
export function decodeBase64(input: Buffer): Buffer {
  // Node's decoder already skips characters outside the alphabet and stops at padding.
  return Buffer.from(input.toString('latin1'), 'base64');
}

/** Bytes to base64 in lines of 76 characters, each ending in `eol`. */
export function encodeBase64(input: Buffer, eol: LineEnding): string {
  const text = input.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return lines.length === 0 ? '' : `${lines.join(eol)}${eol}`;
}
