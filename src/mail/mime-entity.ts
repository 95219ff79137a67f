/**
 * Reading a MIME entity's structure from its bytes, without copying or
 * decoding anything: its content type and transfer encoding (RFC 2045), and
 * where a multipart body's delimiter lines and parts lie (RFC 2046 5.1.1).
 * The pipeline splices bytes at these offsets, so every part it does not
 * rewrite stays exactly as it arrived.
 *
 * Bad input has a defined reading, never an exception: an unparsable
 * Content-Type is text/plain (RFC 2045 5.2), a multipart without a boundary
 * parameter or whose body holds no delimiter line is `undefined` from
 * splitMultipart(), and a missing close delimiter is reported (`closed:
 * false`) so callers can refuse to edit it.
 */
import { libmime } from './lazy-libmime.js';
import type { RawMessage } from './raw-message.js';

export interface ContentType {
  /** `type/subtype`, lower case. */
  readonly mime: string;
  readonly type: string;
  readonly subtype: string;
  /** Parameter names lower case; values as given (RFC 2231 continuations joined). */
  readonly params: Readonly<Record<string, string>>;
  /** The field was absent or unreadable, so the RFC 2045 default applies. */
  readonly defaulted: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DEFAULT_TYPE: ContentType = { mime: 'text/plain', type: 'text', subtype: 'plain', params: { charset: 'us-ascii' }, defaulted: true };

/** The entity's content type; text/plain; charset=us-ascii when absent or malformed (RFC 2045 5.2). */
export function contentTypeOf(entity: RawMessage): ContentType {
  const value = entity.get('content-type');
  if (value === undefined) return DEFAULT_TYPE;
  let parsed: { value: string; params: Record<string, string> };
  try {
    parsed = libmime().parseHeaderValue(value);
  } catch {
    return DEFAULT_TYPE;
  }
  const [type = '', subtype = '', ...rest] = parsed.value.trim().toLowerCase().split('/');
  if (!TOKEN.test(type) || !TOKEN.test(subtype) || rest.length > 0) return DEFAULT_TYPE;
  const params: Record<string, string> = {};
  for (const [key, param] of Object.entries(parsed.params)) params[key.toLowerCase()] = param;
  return { mime: `${type}/${subtype}`, type, subtype, params, defaulted: false };
}

/** The transfer encoding, lower case; 7bit when absent. */
export function transferEncodingOf(entity: RawMessage): string {
  return (entity.get('content-transfer-encoding') ?? '7bit').trim().toLowerCase() || '7bit';
}

/** The charset parameter, lower case, or us-ascii. */
export function charsetOf(type: ContentType): string {
  return (type.params.charset ?? 'us-ascii').trim().toLowerCase().replace(/^"|"$/g, '') || 'us-ascii';
}

export interface PartSpan {
  /** First byte of the part (its header block). */
  readonly start: number;
  /** End of the part: the line ending before the next delimiter line belongs to the delimiter. */
  readonly end: number;
}

export interface MultipartLayout {
  readonly boundary: string;
  /** Offset just after the first delimiter line's line ending: where a new first part may go. */
  readonly firstPartStart: number;
  readonly parts: readonly PartSpan[];
  /** Whether a close delimiter (`--boundary--`) was found. */
  readonly closed: boolean;
  /** Offset of the line ending before the close delimiter (where a new last part may go); the body's end when not closed. */
  readonly closeAt: number;
}

/** RFC 2046 boundaries: 1-70 characters, no trailing space. Longer ones are accepted (senders do write them); empty ones not. */
function usableBoundary(boundary: string | undefined): boundary is string {
  return boundary !== undefined && boundary.length > 0 && boundary.length <= 200 && !/[\r\n]/.test(boundary);
}

/**
 * Where the parts of a multipart body lie, or undefined when `boundary` is
 * unusable or no delimiter line occurs. Linear in the body's size.
 */
export function splitMultipart(body: Buffer, boundary: string | undefined): MultipartLayout | undefined {
  if (!usableBoundary(boundary)) return undefined;
  const dash = Buffer.from(`--${boundary}`, 'latin1');
  const parts: PartSpan[] = [];
  let firstPartStart = -1;
  let partStart = -1;
  let search = 0;
  while (search <= body.length) {
    const found = body.indexOf(dash, search);
    if (found < 0) break;
    search = found + dash.length;
    // A delimiter line starts the body or follows a line ending.
    if (found > 0 && body[found - 1] !== 0x0a) continue;
    let after = found + dash.length;
    const close = body[after] === 0x2d && body[after + 1] === 0x2d;
    if (close) after += 2;
    // Only transport padding (spaces, tabs) may follow on the line.
    while (body[after] === 0x20 || body[after] === 0x09) after++;
    if (after < body.length && body[after] !== 0x0a && !(body[after] === 0x0d && body[after + 1] === 0x0a)) continue;
    const lineEnd = after >= body.length ? body.length : body[after] === 0x0d ? after + 2 : after + 1;
    const delimiterStart = found === 0 ? 0 : found >= 2 && body[found - 2] === 0x0d ? found - 2 : found - 1;
    if (partStart >= 0) parts.push({ start: partStart, end: Math.max(partStart, delimiterStart) });
    if (close) {
      if (firstPartStart < 0) return undefined;
      return { boundary, firstPartStart, parts, closed: true, closeAt: Math.max(partStart, delimiterStart) };
    }
    if (firstPartStart < 0) firstPartStart = lineEnd;
    partStart = lineEnd;
    search = lineEnd;
  }
  if (firstPartStart < 0) return undefined;
  parts.push({ start: partStart, end: body.length });
  return { boundary, firstPartStart, parts, closed: false, closeAt: body.length };
}

/** The header fields that describe content (RFC 2045 Content-*, MIME-Version excluded): what moves with a body into a new part. */
export function isContentField(key: string): boolean {
  return key.startsWith('content-');
}
