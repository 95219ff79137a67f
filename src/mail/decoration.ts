/**
 * MIME-aware decoration: a list's header and footer text added to a message
 * without touching any byte of a part it does not edit.
 *
 *   lone text/plain, 7bit/8bit/binary   the text is appended (footer) and
 *                                       prepended (header) in the part's own
 *                                       charset; only the body changes;
 *   lone text/plain, quoted-printable   decoded, decorated, re-encoded: that
 *   or base64                           part's body is rewritten, nothing else;
 *   multipart/mixed                     a text/plain part is spliced in after
 *                                       the first delimiter (header) and
 *                                       before the close delimiter (footer);
 *                                       every existing part's bytes unchanged;
 *   anything else (multipart/alternative,
 *   multipart/signed, text/html, ...),   wrapped: a new multipart/mixed whose
 *   or a text part whose charset cannot  parts are [header], the original
 *   carry the text                       content (its Content-* fields and body,
 *                                        byte for byte), [footer]. A signed
 *                                        part is never edited, only wrapped.
 *
 * Broken structure has a defined outcome: a multipart whose boundary is
 * missing or whose body has no delimiter line, or a multipart/mixed without
 * its close delimiter, is left unchanged (`outcome: 'skipped'` with the
 * reason), since any edit could land inside a part.
 *
 * Boundaries of new multiparts are derived from the content (and checked not
 * to occur in it), so decorating the same message twice (a runner re-running
 * an entry after a crash) gives the same bytes.
 */
import { createHash } from 'node:crypto';
import { encodeInCharset } from './charset-encoder.js';
import { charsetOf, contentTypeOf, isContentField, splitMultipart, transferEncodingOf } from './mime-entity.js';
import type { HeaderField, LineEnding, RawMessage } from './raw-message.js';
import { decodeBase64, decodeQuotedPrintable, encodeBase64, encodeQuotedPrintable } from './transfer-encoding.js';

export interface Decoration {
  /** Text for the top; empty or undefined: none. */
  readonly header?: string;
  /** Text for the bottom; empty or undefined: none. */
  readonly footer?: string;
}

export type DecorationOutcome = 'unchanged' | 'inline' | 'spliced' | 'wrapped' | 'skipped';

export interface DecorationResult {
  readonly message: RawMessage;
  readonly outcome: DecorationOutcome;
  /** Why the message was wrapped or skipped, for the log. */
  readonly reason?: string;
}

/** The text with its line breaks written as `eol`, without a final one. */
function lines(text: string, eol: string): string {
  return text.replace(/\r\n|\r|\n/g, '\n').replace(/\n+$/, '').split('\n').join(eol);
}

function endsWithLineBreak(bytes: Buffer): boolean {
  return bytes.length > 0 && bytes[bytes.length - 1] === 0x0a;
}

/** The line ending used inside `content`, else `fallback`. */
function lineEndingOf(content: Buffer, fallback: LineEnding): LineEnding {
  const lf = content.indexOf(0x0a);
  if (lf < 0) return fallback;
  return lf > 0 && content[lf - 1] === 0x0d ? '\r\n' : '\n';
}

function has8bit(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return true;
  return false;
}

/** The decorated content of a text part (decoded bytes in), or undefined when the charset cannot carry the text. */
function decorateText(content: Buffer, decoration: Decoration, charset: string, eol: LineEnding): Buffer | undefined {
  const chunks: Buffer[] = [];
  if (decoration.header) {
    const header = encodeInCharset(lines(decoration.header, eol) + eol, charset);
    if (header === undefined) return undefined;
    chunks.push(header);
  }
  chunks.push(content);
  if (decoration.footer) {
    const footer = encodeInCharset(lines(decoration.footer, eol) + eol, charset);
    if (footer === undefined) return undefined;
    if (content.length > 0 && !endsWithLineBreak(content)) chunks.push(Buffer.from(eol, 'latin1'));
    chunks.push(footer);
  }
  return Buffer.concat(chunks);
}

/** A lone text/plain body decorated in place, or a reason it cannot be. */
function decorateInline(message: RawMessage, decoration: Decoration, charset: string): Buffer | string {
  const encoding = transferEncodingOf(message);
  const eol = message.eol;
  switch (encoding) {
    case '7bit':
    case '8bit':
    case 'binary': {
      const body = decorateText(message.body, decoration, charset, lineEndingOf(message.body, eol));
      if (body === undefined) return `charset ${charset} cannot carry the text`;
      if (encoding === '7bit' && has8bit(body) && !has8bit(message.body)) return 'the text is 8-bit but the part is 7bit';
      return body;
    }
    case 'quoted-printable': {
      const decoded = decodeQuotedPrintable(message.body);
      const body = decorateText(decoded, decoration, charset, lineEndingOf(decoded, eol));
      if (body === undefined) return `charset ${charset} cannot carry the text`;
      const encoded = encodeQuotedPrintable(body, eol);
      return Buffer.from(endsWithLineBreak(message.body) && !encoded.endsWith(eol) ? encoded + eol : encoded, 'latin1');
    }
    case 'base64': {
      const decoded = decodeBase64(message.body);
      // Base64 text is in canonical form: CRLF line breaks (RFC 2045 6.8).
      const body = decorateText(decoded, decoration, charset, lineEndingOf(decoded, '\r\n'));
      if (body === undefined) return `charset ${charset} cannot carry the text`;
      return Buffer.from(encodeBase64(body, eol), 'latin1');
    }
    default:
      return `transfer encoding ${encoding} is not one that can be edited`;
  }
}

/** A new boundary found nowhere in `content` (so it cannot end a part early), the same for the same content. */
export function boundaryFor(content: Buffer): string {
  const hash = createHash('sha256').update(content.subarray(0, 65_536)).update(String(content.length));
  const digest = hash.digest('hex');
  for (let i = 0; ; i++) {
    const boundary = `===============${digest.slice(i % 40, (i % 40) + 24)}${i === 0 ? '' : i}==`;
    if (content.indexOf(boundary, 0, 'latin1') < 0) return boundary;
  }
}

/** A text/plain part (header block + empty line + text) for a decoration. 7-bit safe whatever the text. */
function decorationPart(text: string, eol: LineEnding): string {
  const body = lines(text, eol) + eol;
  if (/^[\x00-\x7f]*$/.test(body)) {
    return `Content-Type: text/plain; charset="us-ascii"${eol}Content-Transfer-Encoding: 7bit${eol}Content-Disposition: inline${eol}${eol}${lines(text, eol)}`;
  }
  const encoded = encodeQuotedPrintable(Buffer.from(lines(text, eol), 'utf8'), eol);
  return `Content-Type: text/plain; charset="utf-8"${eol}Content-Transfer-Encoding: quoted-printable${eol}Content-Disposition: inline${eol}${eol}${encoded}`;
}

/** A multipart/mixed body with a part inserted after the first delimiter (header) and before the close delimiter (footer). */
function splice(body: Buffer, boundary: string, firstPartStart: number, closeAt: number, decoration: Decoration, eol: LineEnding): Buffer {
  const chunks: Buffer[] = [];
  if (decoration.header) {
    chunks.push(body.subarray(0, firstPartStart), Buffer.from(`${decorationPart(decoration.header, eol)}${eol}--${boundary}${eol}`, 'latin1'));
    chunks.push(body.subarray(firstPartStart, closeAt));
  } else {
    chunks.push(body.subarray(0, closeAt));
  }
  if (decoration.footer) chunks.push(Buffer.from(`${eol}--${boundary}${eol}${decorationPart(decoration.footer, eol)}`, 'latin1'));
  chunks.push(body.subarray(closeAt));
  return Buffer.concat(chunks);
}

/**
 * The message as a multipart/mixed: [header part], the original content (its
 * Content-* fields and body, byte for byte), [footer part].
 */
export function wrapMixed(message: RawMessage, decoration: Decoration): RawMessage {
  const eol = message.eol;
  const contentFields = message.fields.filter((field) => isContentField(field.key));
  const inner = Buffer.concat([...contentFields.map((field) => field.raw), Buffer.from(eol, 'latin1'), message.body]);
  const boundary = boundaryFor(inner);
  const delimiter = `--${boundary}`;
  const chunks: Buffer[] = [Buffer.from(`${delimiter}${eol}`, 'latin1')];
  if (decoration.header) chunks.push(Buffer.from(`${decorationPart(decoration.header, eol)}${eol}${delimiter}${eol}`, 'latin1'));
  chunks.push(inner);
  if (decoration.footer) chunks.push(Buffer.from(`${eol}${delimiter}${eol}${decorationPart(decoration.footer, eol)}`, 'latin1'));
  chunks.push(Buffer.from(`${eol}${delimiter}--${eol}`, 'latin1'));
  const kept: HeaderField[] = message.fields.filter((field) => !isContentField(field.key) && field.key !== 'mime-version');
  return message
    .withFields([...kept, message.format('MIME-Version', '1.0'), message.format('Content-Type', `multipart/mixed; boundary="${boundary}"`)])
    .withBody(Buffer.concat(chunks));
}

export function decorate(message: RawMessage, decoration: Decoration): DecorationResult {
  if (!decoration.header && !decoration.footer) return { message, outcome: 'unchanged' };
  const type = contentTypeOf(message);
  if (type.mime === 'text/plain' && !(type.defaulted && message.has('content-type'))) {
    const body = decorateInline(message, decoration, charsetOf(type));
    if (typeof body !== 'string') return { message: message.withBody(body), outcome: 'inline' };
    return { message: wrapMixed(message, decoration), outcome: 'wrapped', reason: body };
  }
  if (type.type === 'multipart') {
    const layout = splitMultipart(message.body, type.params.boundary);
    if (layout === undefined) return { message, outcome: 'skipped', reason: `${type.mime} without a usable boundary or any delimiter line` };
    if (type.subtype === 'mixed') {
      if (!layout.closed) return { message, outcome: 'skipped', reason: 'multipart/mixed without its close delimiter' };
      const body = splice(message.body, layout.boundary, layout.firstPartStart, layout.closeAt, decoration, message.eol);
      return { message: message.withBody(body), outcome: 'spliced' };
    }
    return { message: wrapMixed(message, decoration), outcome: 'wrapped', reason: `${type.mime} is not edited` };
  }
  return { message: wrapMixed(message, decoration), outcome: 'wrapped', reason: type.defaulted ? 'unreadable Content-Type' : `${type.mime} is not edited` };
}
