/**
 * Bare CRs (a CR not followed by LF) in a message body, made safe for SMTP
 * without becoming line breaks. SMTP carries no bare CR (RFC 5321 2.3.8), and
 * the hand-off (nodemailer's DATA stream) turns each into CRLF: a new line
 * the sender never wrote, which in a multipart body can be a boundary
 * delimiter or in a wrapped message a header field. So before the hand-off:
 *
 * - a leaf part in an identity encoding (7bit, 8bit, binary, none) holding a
 *   bare CR is re-encoded: quoted-printable for text (the CR becomes `=0D`,
 *   line breaks stay line breaks), base64 for anything else (every byte
 *   kept). Decoded, the part is what the sender wrote, byte for byte;
 * - a multipart is walked part by part: parts without a bare CR, the
 *   delimiters and the part headers stay byte for byte;
 * - a message/rfc822 part gets its header's stray line breaks repaired
 *   (header-line-endings.ts) and its body walked the same way;
 * - where no re-encoding is correct (a part already base64 or
 *   quoted-printable, where a bare CR is not valid; a multipart whose
 *   structure cannot be read, or nested deeper than MAX_DEPTH; the preamble
 *   and epilogue) each bare CR becomes a space, counted in `flattened`.
 *
 * A message without a bare CR in its body is returned as it is.
 */
import { normaliseHeaderLineEndings } from './header-line-endings.js';
import { contentTypeOf, splitMultipart, transferEncodingOf } from './mime-entity.js';
import { RawMessage } from './raw-message.js';
import { encodeBase64, encodeQuotedPrintable } from './transfer-encoding.js';

const CR = 0x0d;
const LF = 0x0a;
const MAX_DEPTH = 20;
const IDENTITY = new Set(['7bit', '8bit', 'binary']);

export interface BareCrResult {
  message: RawMessage;
  /** Parts (or the whole body) re-encoded. */
  reencoded: number;
  /** Bare CRs that became spaces. */
  flattened: number;
}

export function hasBareCr(bytes: Buffer): boolean {
  let at = bytes.indexOf(CR);
  while (at >= 0) {
    if (bytes[at + 1] !== LF) return true;
    at = bytes.indexOf(CR, at + 2);
  }
  return false;
}

function flatten(bytes: Buffer, counts: { flattened: number }): Buffer {
  let copy: Buffer | undefined;
  for (let at = bytes.indexOf(CR); at >= 0; at = bytes.indexOf(CR, at + 1)) {
    if (bytes[at + 1] === LF) continue;
    copy ??= Buffer.from(bytes);
    copy[at] = 0x20;
    counts.flattened++;
  }
  return copy ?? bytes;
}

function reencodeBody(entity: RawMessage, counts: { reencoded: number; flattened: number }, depth: number): RawMessage {
  const body = entity.body;
  if (!hasBareCr(body)) return entity;
  const type = contentTypeOf(entity);
  if (depth > MAX_DEPTH) return entity.withBody(flatten(body, counts));
  if (type.type === 'multipart') {
    const layout = splitMultipart(body, type.params.boundary);
    if (layout === undefined || !layout.closed) return entity.withBody(flatten(body, counts));
    const chunks: Buffer[] = [];
    let from = 0;
    for (const part of layout.parts) {
      chunks.push(flatten(body.subarray(from, part.start), counts));
      const bytes = body.subarray(part.start, part.end);
      chunks.push(hasBareCr(bytes) ? reencodeBody(RawMessage.parse(bytes), counts, depth + 1).toBuffer() : bytes);
      from = part.end;
    }
    chunks.push(flatten(body.subarray(from), counts));
    return entity.withBody(Buffer.concat(chunks));
  }
  const encoding = transferEncodingOf(entity);
  if (type.type === 'message' && IDENTITY.has(encoding)) {
    const repaired = normaliseHeaderLineEndings(body);
    counts.flattened += repaired.repaired;
    return entity.withBody(reencodeBody(RawMessage.parse(repaired.message), counts, depth + 1).toBuffer());
  }
  if (!IDENTITY.has(encoding)) return entity.withBody(flatten(body, counts));
  counts.reencoded++;
  const text = type.type === 'text';
  const encoded = text ? encodeQuotedPrintable(body, entity.eol) : encodeBase64(body, entity.eol);
  return entity.set('Content-Transfer-Encoding', text ? 'quoted-printable' : 'base64').withBody(Buffer.from(encoded, 'latin1'));
}

/** `message` with no bare CR left in its body (see the module comment). */
export function encodeBareCarriageReturns(message: RawMessage): BareCrResult {
  const counts = { reencoded: 0, flattened: 0 };
  let result = reencodeBody(message, counts, 0);
  if (counts.reencoded > 0 && !result.has('mime-version')) result = result.append('MIME-Version', '1.0');
  return { message: result, ...counts };
}
