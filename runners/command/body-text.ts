/**
 * The text an email command message carries: its first text/plain part,
 * decoded, read with bounded work whatever the message is (10 MB, binary
 * garbage, a MIME bomb): at most `maxScan` bytes of a body are searched for
 * parts, at most `maxDepth` levels and `maxParts` parts are looked into, and
 * at most `maxBytes` of the text part are decoded. Commands sit at the top
 * of a message, so nothing is lost by stopping early.
 *
 * Pure and synchronous, no files: cheap enough for the runner's event loop
 * under these bounds (no worker pool needed, unlike the posting chain's
 * full mailparser run).
 */
import { charsetOf, contentTypeOf, splitMultipart, transferEncodingOf } from '../../src/mail/mime-entity.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { decodeBase64, decodeQuotedPrintable } from '../../src/mail/transfer-encoding.js';

export interface BodyTextLimits {
  /** Bytes of the text part decoded. */
  maxBytes: number;
  /** Bytes of a multipart body searched for its parts. */
  maxScan: number;
  maxDepth: number;
  maxParts: number;
}

export const BODY_TEXT_LIMITS: BodyTextLimits = { maxBytes: 64 * 1024, maxScan: 1024 * 1024, maxDepth: 4, maxParts: 50 };

export type BodyText = { text: string } | { text: null; why: string };

function decodeCharset(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset, { fatal: false }).decode(bytes);
  } catch {
    // An unknown charset label: read it as UTF-8 (commands are ASCII).
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  }
}

function plainText(entity: RawMessage, limits: BodyTextLimits): string {
  const encoding = transferEncodingOf(entity);
  // Base64 is decoded in whole quanta: 4 characters make 3 bytes, so read 4/3 of the cap.
  const raw = entity.body.subarray(0, encoding === 'base64' ? Math.ceil((limits.maxBytes * 4) / 3) + 1024 : limits.maxBytes);
  const decoded = encoding === 'base64' ? decodeBase64(raw) : encoding === 'quoted-printable' ? decodeQuotedPrintable(raw) : raw;
  return decodeCharset(decoded.subarray(0, limits.maxBytes), charsetOf(contentTypeOf(entity)));
}

function search(entity: RawMessage, limits: BodyTextLimits, depth: number, budget: { parts: number }): string | null {
  const type = contentTypeOf(entity);
  if (type.mime === 'text/plain') return plainText(entity, limits);
  if (type.type !== 'multipart' || depth >= limits.maxDepth) return null;
  const layout = splitMultipart(entity.body.subarray(0, limits.maxScan), type.params.boundary);
  if (layout === undefined) return null;
  for (const span of layout.parts) {
    if (budget.parts-- <= 0) return null;
    const found = search(RawMessage.parse(entity.body.subarray(span.start, span.end)), limits, depth + 1, budget);
    if (found !== null) return found;
  }
  return null;
}

/** The first text/plain part's text, or why there is none. */
export function bodyText(message: RawMessage, limits: BodyTextLimits = BODY_TEXT_LIMITS): BodyText {
  const text = search(message, limits, 0, { parts: limits.maxParts });
  if (text !== null) return { text };
  const type = contentTypeOf(message);
  return { text: null, why: type.mime === 'text/html' || type.type === 'multipart' ? 'the message has no text/plain part (commands are read from plain text only)' : `the message is ${type.mime}, not text` };
}
