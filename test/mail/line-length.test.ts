/**
 * src/mail/line-length.ts: no line over RFC 5322's 998 octets, with every
 * part that had none kept byte for byte and the re-encoded ones decoding to
 * exactly the bytes they held.
 */
import { describe, expect, it } from 'vitest';
import { limitLineLength, longestLine, MAX_LINE_OCTETS } from '../../src/mail/line-length.js';
import { contentTypeOf, splitMultipart, transferEncodingOf } from '../../src/mail/mime-entity.js';
import { formatField, RawMessage } from '../../src/mail/raw-message.js';
import { decodeBase64, decodeQuotedPrintable } from '../../src/mail/transfer-encoding.js';

const LONG_TEXT = `${'Grüße aus Köln, '.repeat(150)}Ende.`;
const HEAD = 'From: Anne <anne@example.org>\r\nTo: dev@lists.example.org\r\nSubject: long\r\nMessage-ID: <l1@example.org>\r\n';

function parts(message: RawMessage): RawMessage[] {
  const layout = splitMultipart(message.body, contentTypeOf(message).params.boundary)!;
  return layout.parts.map((span) => RawMessage.parse(message.body.subarray(span.start, span.end)));
}

describe('limitLineLength', () => {
  it('re-encodes an 8-bit text/plain body with a 2,500-octet line as quoted-printable that decodes to the same bytes', () => {
    const body = Buffer.from(`Hello,\r\n${LONG_TEXT}\r\nBye\r\n`, 'utf8');
    const original = RawMessage.parse(Buffer.concat([Buffer.from(`${HEAD}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`), body]));
    expect(longestLine(original.body)).toBeGreaterThan(MAX_LINE_OCTETS);
    const { message, changes, problems } = limitLineLength(original);
    expect(problems).toEqual([]);
    expect(changes).toEqual(['message: text/plain re-encoded as quoted-printable (was 8bit)']);
    expect(longestLine(message.toBuffer())).toBeLessThanOrEqual(76);
    expect(transferEncodingOf(message)).toBe('quoted-printable');
    expect(message.get('Content-Type')).toBe('text/plain; charset=utf-8');
    expect(decodeQuotedPrintable(message.body).equals(body)).toBe(true);
    // Every other header field byte for byte, in place.
    expect(message.fields.filter((f) => f.key !== 'content-transfer-encoding').map((f) => f.raw.toString())).toEqual(
      original.fields.filter((f) => f.key !== 'content-transfer-encoding').map((f) => f.raw.toString()),
    );
  });

  it('adds MIME-Version to a message without one whose body it re-encodes', () => {
    const { message } = limitLineLength(RawMessage.parse(Buffer.from(`${HEAD}\r\n${'x'.repeat(1200)}\r\n`)));
    expect(message.get('MIME-Version')).toBe('1.0');
    expect(decodeQuotedPrintable(message.body).toString()).toBe(`${'x'.repeat(1200)}\r\n`);
  });

  it('in a multipart/mixed, rewrites only the part with the long line; the other parts and every delimiter stay byte for byte', () => {
    const small = 'Content-Type: text/plain; charset=us-ascii\r\n\r\nshort text\r\n';
    const attachment = `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.alloc(600, 7).toString('base64').replace(/(.{76})/g, '$1\r\n')}\r\n`;
    const long = `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>${LONG_TEXT}</p>\r\n`;
    const raw = Buffer.from(`${HEAD}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b42"\r\n\r\npreamble\r\n--b42\r\n${small}--b42\r\n${long}--b42\r\n${attachment}--b42--\r\n`, 'utf8');
    const original = RawMessage.parse(raw);
    const { message, changes } = limitLineLength(original);
    expect(changes).toEqual(['part 2: text/html re-encoded as quoted-printable (was 8bit)']);
    expect(longestLine(message.toBuffer())).toBeLessThanOrEqual(MAX_LINE_OCTETS);
    const before = parts(original);
    const after = parts(message);
    expect(after).toHaveLength(3);
    expect(after[0]!.toBuffer().equals(before[0]!.toBuffer())).toBe(true);
    expect(after[2]!.toBuffer().equals(before[2]!.toBuffer())).toBe(true);
    expect(decodeQuotedPrintable(after[1]!.body).equals(before[1]!.body)).toBe(true);
    expect(message.toBuffer().toString('latin1').startsWith(raw.toString('latin1').slice(0, raw.indexOf('--b42')))).toBe(true);
  });

  it('re-wraps a base64 part written as one long line, and base64-encodes a binary part sent 8bit', () => {
    const data = Buffer.alloc(3000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
    const oneLine = `Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${data.toString('base64')}\r\n`;
    const eightBit = `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n`;
    const raw = Buffer.concat([
      Buffer.from(`${HEAD}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\n${oneLine}--zz\r\n${eightBit}`, 'latin1'),
      Buffer.alloc(1500, 0x41),
      Buffer.from('\r\n--zz--\r\n'),
    ]);
    const { message, problems } = limitLineLength(RawMessage.parse(raw));
    expect(problems).toEqual([]);
    expect(longestLine(message.toBuffer())).toBeLessThanOrEqual(MAX_LINE_OCTETS);
    const [pdf, binary] = parts(message);
    expect(decodeBase64(pdf!.body).equals(data)).toBe(true);
    expect(transferEncodingOf(binary!)).toBe('base64');
    expect(decodeBase64(binary!.body).equals(Buffer.alloc(1500, 0x41))).toBe(true);
  });

  it('mends a message/rfc822 part inside (composite types are never encoded)', () => {
    const inner = `From: b@example.org\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\n${'y'.repeat(2000)}\r\n`;
    const raw = Buffer.from(`${HEAD}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="q"\r\n\r\n--q\r\nContent-Type: message/rfc822\r\n\r\n${inner}--q--\r\n`);
    const { message, changes } = limitLineLength(RawMessage.parse(raw));
    expect(changes).toEqual(['part 1 (enclosed message): text/plain re-encoded as quoted-printable (was 7bit)']);
    const [part] = parts(message);
    expect(transferEncodingOf(part!)).toBe('7bit');
    const enclosed = RawMessage.parse(part!.body);
    expect(enclosed.get('Subject')).toBe('inner');
    // The line ending before the delimiter belongs to the delimiter (RFC 2046 5.1.1).
    expect(decodeQuotedPrintable(enclosed.body).toString()).toBe('y'.repeat(2000));
  });

  it('folds a header field with a long line at white space, so it unfolds to the same value', () => {
    const references = Array.from({ length: 60 }, (_, i) => `<ref-${i}-abcdefghij@mail.example.org>`).join(' ');
    const raw = Buffer.from(`${HEAD}References: ${references}\r\n\r\nbody\r\n`);
    const original = RawMessage.parse(raw);
    const { message, changes } = limitLineLength(original);
    expect(changes).toEqual(['message: header References folded']);
    expect(longestLine(message.toBuffer())).toBeLessThanOrEqual(MAX_LINE_OCTETS);
    expect(message.get('References')).toBe(original.get('References'));
    expect(message.body.equals(original.body)).toBe(true);
  });

  it('reports a header line with nowhere to fold, leaving it as it was', () => {
    const raw = Buffer.from(`${HEAD}X-Blob: ${'z'.repeat(1500)}\r\n\r\nbody\r\n`);
    const { message, problems } = limitLineLength(RawMessage.parse(raw));
    expect(problems).toEqual(['message: header X-Blob has a line of 1508 octets with no white space to fold it at']);
    expect(message.toBuffer().equals(raw)).toBe(true);
    // The header writer itself never produces such a line: it writes a long unbroken run as encoded words.
    expect(longestLine(formatField('X-Blob', 'z'.repeat(1500)).raw)).toBeLessThanOrEqual(MAX_LINE_OCTETS);
  });

  it('returns a message within the limit as the same object', () => {
    const original = RawMessage.parse(Buffer.from(`${HEAD}\r\n${'a'.repeat(998)}\r\n`));
    const result = limitLineLength(original);
    expect(result.message).toBe(original);
    expect(result.changes).toEqual([]);
  });

  it('keeps a line ending in a space through the round trip (an encoded =20 before a line break is a byte, not transport padding)', () => {
    const body = Buffer.from(`${'word '.repeat(300)}\r\nnext \t\r\n`);
    const { message } = limitLineLength(RawMessage.parse(Buffer.concat([Buffer.from(`${HEAD}\r\n`), body])));
    expect(decodeQuotedPrintable(message.body).equals(body)).toBe(true);
    expect(decodeQuotedPrintable(Buffer.from('a =20\r\nb  \r\n')).toString()).toBe('a  \r\nb\r\n');
  });
});
