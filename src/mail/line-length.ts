/**
 * The RFC 5322 line limit (2.1.1: a line is at most 998 octets before its
 * CRLF), enforced on a message before it leaves: strict smarthosts refuse a
 * message with a longer line (`500 Line too long`), so sending it unchanged
 * only parks it in shunt.
 *
 *   a header field with a long line   folded at white space (FWS: a line
 *                                     break inserted before a space or tab,
 *                                     which unfolding removes, so the value
 *                                     reads the same); with no white space
 *                                     to fold at it is left, and reported;
 *   a text part (7bit/8bit/binary)    re-encoded as quoted-printable: the
 *                                     decoded bytes are exactly the old ones
 *                                     (charset unchanged);
 *   any other leaf part               re-encoded as base64;
 *   quoted-printable or base64 with   decoded and encoded again in lines of
 *   over-long lines                   76;
 *   multipart                         each part looked at on its own: only a
 *                                     part with a long line is rewritten, the
 *                                     others (and every delimiter) stay byte
 *                                     for byte; a long line in the preamble
 *                                     or epilogue (which readers ignore) is
 *                                     broken into lines;
 *   message/rfc822, message/global    the enclosed message treated the same
 *                                     way (composite types may not be
 *                                     encoded, RFC 2046 5.2.1);
 *   anything else (an unknown transfer encoding, a multipart without a
 *   usable boundary)                  left as it is, and reported.
 *
 * Pure and deterministic (the same message gives the same bytes, so a
 * runner re-running an entry after a crash sends the same copy). A message
 * with no long line is returned as the same object, at the cost of one scan.
 */
import { contentTypeOf, splitMultipart, transferEncodingOf } from './mime-entity.js';
import { RawMessage, type HeaderField, type LineEnding } from './raw-message.js';
import { decodeBase64, decodeQuotedPrintable, encodeBase64, encodeQuotedPrintable } from './transfer-encoding.js';

/** RFC 5322 2.1.1: octets in a line, CRLF excluded. */
export const MAX_LINE_OCTETS = 998;

const LF = 0x0a;
const CR = 0x0d;

/** The longest line in `bytes`, in octets, its line ending (LF or CRLF) not counted. */
export function longestLine(bytes: Buffer): number {
  let longest = 0;
  let start = 0;
  while (start < bytes.length) {
    let lf = bytes.indexOf(LF, start);
    if (lf < 0) lf = bytes.length;
    const length = lf - start - (lf < bytes.length && lf > start && bytes[lf - 1] === CR ? 1 : 0);
    if (length > longest) longest = length;
    start = lf + 1;
  }
  return longest;
}

export function hasLongLine(bytes: Buffer, limit = MAX_LINE_OCTETS): boolean {
  return longestLine(bytes) > limit;
}

function isWsp(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * The field with every line over `limit` folded before a space or tab, or
 * undefined when some line has no such place (each folded line must keep a
 * character that is not white space, RFC 5322 3.2.2).
 */
export function foldField(field: HeaderField, eol: LineEnding, limit = MAX_LINE_OCTETS): HeaderField | undefined {
  if (!hasLongLine(field.raw, limit)) return field;
  // latin1: one character per byte, so lengths are octets.
  const lines = field.raw.toString('latin1').split(/(?<=\n)/);
  const out: string[] = [];
  for (const line of lines) {
    const ending = line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '';
    const breakWith = ending === '' ? eol : ending;
    let content = line.slice(0, line.length - ending.length);
    const pieces: string[] = [];
    while (content.length > limit) {
      let first = 0;
      while (first < content.length && isWsp(content.charCodeAt(first))) first++;
      let last = content.length - 1;
      while (last >= 0 && isWsp(content.charCodeAt(last))) last--;
      let at = -1;
      for (let i = Math.min(limit, last - 1); i > first; i--) {
        if (isWsp(content.charCodeAt(i))) {
          at = i;
          break;
        }
      }
      if (at < 0) return undefined;
      pieces.push(content.slice(0, at));
      content = content.slice(at);
    }
    pieces.push(content);
    out.push(pieces.join(breakWith) + ending);
  }
  return { name: field.name, key: field.key, raw: Buffer.from(out.join(''), 'latin1') };
}

/**
 * Lines over `limit` broken into lines of at most `limit` octets, for text
 * nobody reads (a multipart preamble or epilogue). A break never starts a
 * line with `-`, so it cannot make a delimiter line.
 */
function breakLines(bytes: Buffer, eol: LineEnding, limit = MAX_LINE_OCTETS): Buffer {
  const text = bytes.toString('latin1');
  const lines = text.split(/(?<=\n)/);
  return Buffer.from(
    lines
      .map((line) => {
        const ending = line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '';
        let content = line.slice(0, line.length - ending.length);
        const pieces: string[] = [];
        while (content.length > limit) {
          let at = limit;
          while (at > 1 && content[at] === '-') at--;
          pieces.push(content.slice(0, at));
          content = content.slice(at);
        }
        pieces.push(content);
        return pieces.join(ending === '' ? eol : ending) + ending;
      })
      .join(''),
    'latin1',
  );
}

export interface LineLimitResult {
  /** The message to send: the same object when nothing had to change. */
  readonly message: RawMessage;
  /** What was rewritten, one line each (`part 2: text/plain re-encoded as quoted-printable`). */
  readonly changes: readonly string[];
  /** Long lines that could not be fixed, one line each; empty when the message now respects the limit. */
  readonly problems: readonly string[];
}

interface Report {
  changes: string[];
  problems: string[];
}

/** `message` (or a MIME part of it) within the line limit: see the module comment. */
export function limitLineLength(message: RawMessage): LineLimitResult {
  if (!hasLongLine(message.toBuffer())) return { message, changes: [], problems: [] };
  const report: Report = { changes: [], problems: [] };
  const fixed = limitEntity(message, 'message', true, report);
  return { message: fixed, ...report };
}

function limitEntity(entity: RawMessage, where: string, isMessage: boolean, report: Report): RawMessage {
  let result = entity;
  if (entity.fields.some((field) => hasLongLine(field.raw))) {
    const fields = entity.fields.map((field) => {
      if (!hasLongLine(field.raw)) return field;
      const folded = foldField(field, entity.eol);
      if (folded === undefined) {
        report.problems.push(`${where}: header ${field.name} has a line of ${longestLine(field.raw)} octets with no white space to fold it at`);
        return field;
      }
      report.changes.push(`${where}: header ${field.name} folded`);
      return folded;
    });
    result = entity.withFields(fields);
  }
  if (!hasLongLine(result.body)) return result;
  const type = contentTypeOf(result);
  const encoding = transferEncodingOf(result);
  const identity = encoding === '7bit' || encoding === '8bit' || encoding === 'binary';
  if (type.type === 'multipart') return limitMultipart(result, where, type.params.boundary, type.subtype, report);
  if (type.mime === 'message/rfc822' || type.mime === 'message/global') {
    if (!identity) return reencode(result, where, type.mime, encoding, report);
    const inner = limitEntity(RawMessage.parse(result.body), `${where} (enclosed message)`, true, report);
    return result.withBody(inner.toBuffer());
  }
  if (type.type === 'message' && identity) {
    // message/partial and message/external-body may not be encoded (RFC 2046 5.2.2, 5.2.3).
    if (type.subtype === 'partial' || type.subtype === 'external-body') {
      report.problems.push(`${where}: ${type.mime} has a line over ${MAX_LINE_OCTETS} octets and may not be re-encoded`);
      return result;
    }
  }
  const reencoded = reencode(result, where, type.mime, encoding, report);
  return isMessage && reencoded !== result && !reencoded.has('MIME-Version') ? reencoded.append('MIME-Version', '1.0') : reencoded;
}

function reencode(entity: RawMessage, where: string, mime: string, encoding: string, report: Report): RawMessage {
  const eol = entity.eol;
  let decoded: Buffer;
  switch (encoding) {
    case '7bit':
    case '8bit':
    case 'binary':
      decoded = entity.body;
      break;
    case 'quoted-printable':
      decoded = decodeQuotedPrintable(entity.body);
      break;
    case 'base64':
      decoded = decodeBase64(entity.body);
      break;
    default:
      report.problems.push(`${where}: ${mime} in transfer encoding ${encoding} has a line over ${MAX_LINE_OCTETS} octets and cannot be re-encoded`);
      return entity;
  }
  // Text stays readable as quoted-printable; anything else is base64, as is a base64 part (its decoded bytes may be binary).
  const asText = (mime.startsWith('text/') || mime.startsWith('message/')) && encoding !== 'base64';
  if (asText) {
    let body = encodeQuotedPrintable(decoded, eol);
    if (entity.body.length > 0 && entity.body[entity.body.length - 1] === LF && !body.endsWith(eol)) body += eol;
    report.changes.push(`${where}: ${mime} re-encoded as quoted-printable (was ${encoding})`);
    return entity.withBody(Buffer.from(body, 'latin1')).set('Content-Transfer-Encoding', 'quoted-printable');
  }
  report.changes.push(`${where}: ${mime} re-encoded as base64 (was ${encoding})`);
  return entity.withBody(Buffer.from(encodeBase64(decoded, eol), 'latin1')).set('Content-Transfer-Encoding', 'base64');
}

function limitMultipart(entity: RawMessage, where: string, boundary: string | undefined, subtype: string, report: Report): RawMessage {
  const body = entity.body;
  const layout = splitMultipart(body, boundary);
  if (layout === undefined) {
    report.problems.push(`${where}: multipart/${subtype} without a usable boundary has a line over ${MAX_LINE_OCTETS} octets; left as it is`);
    return entity;
  }
  const chunks: Buffer[] = [];
  let position = 0;
  let changed = false;
  const between = (end: number): void => {
    // Preamble, delimiter lines, epilogue: only a long line of preamble or epilogue can be here.
    const gap = body.subarray(position, end);
    if (hasLongLine(gap)) {
      chunks.push(breakLines(gap, entity.eol));
      report.changes.push(`${where}: long lines of the multipart preamble or epilogue broken`);
      changed = true;
    } else {
      chunks.push(gap);
    }
  };
  layout.parts.forEach((span, index) => {
    between(span.start);
    const bytes = body.subarray(span.start, span.end);
    if (hasLongLine(bytes)) {
      const part = limitEntity(RawMessage.parse(bytes), `${where === 'message' ? '' : `${where} `}part ${index + 1}`.trim(), false, report);
      if (subtype === 'signed' && index === 0) report.changes.push(`${where}: the signed part was rewritten, so its signature no longer verifies`);
      chunks.push(part.toBuffer());
      changed = true;
    } else {
      chunks.push(bytes);
    }
    position = span.end;
  });
  between(body.length);
  return changed ? entity.withBody(Buffer.concat(chunks)) : entity;
}
