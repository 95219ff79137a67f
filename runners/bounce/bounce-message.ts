/**
 * A bounce message as the detectors see it: its top-level header fields, its
 * human-readable text, and the bodies of its message/delivery-status parts.
 * Parsed with postal-mime (MIME structure, transfer encodings, charsets,
 * RFC 2047 words; by Nodemailer's author, as mailparser, without streams:
 * a bounce is small and whole in memory, and the parse is most of the cost
 * of classifying it); the detectors then work on plain strings.
 *
 * Untrusted input: the runner calls this only inside the worker pool (see
 * classify-worker.ts), where a task has a time limit; postal-mime's own
 * limits (nesting, header size, part count) bound the work too. Only the
 * first MAX_PARSE_BYTES are parsed: every format we know puts the report
 * before the returned message, and a truncated MIME tail is harmless.
 */
import PostalMime, { decodeWords, type Email } from 'postal-mime';
import { addressesIn, uniqueAddresses } from './addresses.js';
import { htmlToText } from './html-text.js';

export const MAX_PARSE_BYTES = 1024 * 1024;

/** The options both parseBounceMessage() and the benchmark's floor use. */
export const POSTAL_MIME_OPTIONS = {
  // A returned message without Content-Disposition is an attachment (its headers are read from it), not rendered into the text.
  rfc822Attachments: true,
  attachmentEncoding: 'arraybuffer',
} as const;

/** Header fields that may occur more than once and are read as all their values joined (Received: the whole trace). */
const JOINED_FIELDS = new Set(['received']);

/** The type and parameters of a Content-Type value (RFC 2045; quoted values unquoted). */
function contentTypeOf(value: string | undefined): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (value === undefined) return { type: 'text/plain', params };
  const [type = '', ...rest] = value.split(';');
  for (const match of rest.join(';').matchAll(/([!#-'*+.0-9A-Z^-~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/gi)) {
    params.set((match[1] as string).toLowerCase(), match[2] === undefined ? (match[3] ?? '') : match[2].replace(/\\(.)/g, '$1'));
  }
  return { type: type.trim().toLowerCase() || 'text/plain', params };
}

interface ParsedPart {
  mimeType: string;
  content: Buffer;
}

export class BounceMessage {
  /** The sender's address (From), lower case; '' when there is none. */
  readonly from: string;
  /** The From display name, '' when there is none. */
  readonly fromName: string;
  readonly subject: string;
  /** Top-level MIME type, lower case (text/plain when absent). */
  readonly contentType: string;
  /** The report-type parameter of a multipart/report, lower case. */
  readonly reportType: string | undefined;
  /** The human-readable text parts, in order (HTML-only parts reduced to text). */
  readonly text: string;
  /** The bodies of the message/delivery-status parts (not those inside a returned message). */
  readonly deliveryStatus: readonly string[];
  /** The body of the message/feedback-report part of an ARF report (RFC 5965), undefined when there is none. */
  readonly feedbackReport: string | undefined;
  readonly messageId: string | undefined;
  /**
   * The text before the returned original when that is inline (qmail, Exim
   * and many others append it to the report as plain text): where the
   * report's own words are. The whole text when no original is seen.
   */
  readonly reportText: string;
  /** The header block of the returned original (message/rfc822 or text/rfc822-headers part, or inline), '' when none. */
  readonly returnedHeaders: string;
  /** Lower-case field name to its unfolded values, in order. */
  private readonly headers: ReadonlyMap<string, readonly string[]>;

  /**
   * `bodyText`: the raw body, used when the MIME structure gave no text at all (a multipart without boundaries).
   * `inlineOriginalHeaders`: the header block of a returned message rendered into the text (an
   * inline message/rfc822 part loses its Return-Path and Received fields there).
   */
  constructor(parsed: Email, bodyText = '', inlineOriginalHeaders = '', nestedDeliveryStatus: readonly string[] = []) {
    const headers = new Map<string, string[]>();
    for (const field of parsed.headers) {
      const values = headers.get(field.key);
      if (values === undefined) headers.set(field.key, [field.value]);
      else values.push(field.value);
    }
    this.headers = headers;
    const from = parsed.from;
    this.from = (from?.address ?? '').toLowerCase();
    this.fromName = from?.name ?? '';
    this.subject = parsed.subject ?? '';
    const contentType = contentTypeOf(headers.get('content-type')?.[0]);
    this.contentType = contentType.type;
    this.reportType = contentType.params.get('report-type')?.toLowerCase();
    const parts: ParsedPart[] = parsed.attachments.map((part) => ({ mimeType: part.mimeType.toLowerCase(), content: Buffer.from(part.content as ArrayBuffer) }));
    let text = parsed.text ?? (typeof parsed.html === 'string' ? htmlToText(parsed.html) : '');
    if (text.trim() === '' && parts.length === 0) text = bodyText;
    this.text = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
    const ownStatus = parts.filter((part) => part.mimeType === 'message/delivery-status').map((part) => part.content.toString('utf8'));
    this.deliveryStatus = ownStatus.length > 0 ? ownStatus : nestedDeliveryStatus;
    this.feedbackReport = parts.find((part) => part.mimeType === 'message/feedback-report')?.content.toString('utf8');
    this.messageId = parsed.messageId;
    this.loweredText = this.text.toLowerCase();
    const inlineAt = inlineOriginalStart(this.text, this.loweredText);
    this.reportText = inlineAt < 0 ? this.text : this.text.slice(0, inlineAt);
    const attached = parts.find((part) => /^(?:message\/rfc822|text\/rfc822-headers|message\/rfc822-headers)$/.test(part.mimeType));
    const returned = attached ? headOf(attached.content) : inlineAt < 0 ? '' : this.text.slice(inlineAt);
    this.returnedHeaders = attached === undefined && inlineOriginalHeaders !== '' ? inlineOriginalHeaders : headerBlock(returned);
  }

  /** The addresses in the returned original's To and Cc fields (a display name alone gives none). */
  originalRecipients(): string[] {
    const found: string[] = [];
    const fields = this.returnedHeaders.match(/^(?:To|Cc):[^\n]*(?:\n[ \t][^\n]*)*/gim) ?? [];
    for (const field of fields) {
      // Only the addresses: display names may quote an address-like text ("kijitora@example.jp" <...>).
      const angled = [...field.matchAll(/<([^<>\s]+@[^<>\s]+)>/g)].map((match) => match[1] as string);
      found.push(...(angled.length > 0 ? angled.flatMap((address) => addressesIn(address)) : addressesIn(field.replace(/^(?:To|Cc):/i, ''))));
    }
    return uniqueAddresses(found);
  }

  /** The first field `name` (case-insensitive; Received: all of them, joined), unfolded and decoded; undefined when absent. */
  header(name: string): string | undefined {
    const key = name.toLowerCase();
    const values = this.headers.get(key);
    if (values === undefined) return undefined;
    return decodeWords(JOINED_FIELDS.has(key) ? values.join(', ') : (values[0] as string)).trim();
  }

  has(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }

  /** text in lower case (the constructor needs it anyway): what literal gates (literal-gate.ts) search. */
  private readonly loweredText: string;
  private splitLines: readonly string[] | undefined;
  private splitReportLines: readonly string[] | undefined;
  private loweredReportText: string | undefined;

  /** The text split into lines (split once: most detectors look at them). */
  lines(): readonly string[] {
    this.splitLines ??= this.text.split('\n');
    return this.splitLines;
  }

  /** reportText split into lines, once (several detectors and recipient-facts.ts read them). */
  reportLines(): readonly string[] {
    if (this.splitReportLines === undefined) this.splitReportLines = this.reportText === this.text ? this.lines() : this.reportText.split('\n');
    return this.splitReportLines;
  }

  /** text in lower case: for literal gates and case-insensitive searches. */
  lowerText(): string {
    return this.loweredText;
  }

  /** reportText in lower case, once: for case-insensitive searches of addresses in it. */
  lowerReportText(): string {
    this.loweredReportText ??= this.reportText === this.text ? this.loweredText : this.reportText.toLowerCase();
    return this.loweredReportText;
  }
}

/** Words one of which every marker line of inlineOriginalStart() contains: a text with none of them needs no regex search. */
const MARKER_WORDS = ['copy of', 'below this line', 'original message', 'returned message', 'message header follows', 'unsent message below'];

/** Where a returned original starts inside the text: after a "copy of the message follows" line, or at its first Received/Return-Path field; -1 when none. */
function inlineOriginalStart(text: string, lower: string): number {
  const marker = /^[ \t]*(?:-{2,}[ \t]*|={2,}[ \t]*)?(?:(?:a )?copy of (?:the|your) (?:original )?message|below this line is a copy|this is a copy of the message|the header of the original message|(?:the )?original message (?:follows|headers?)|returned message|original message|message header follows|header of the original message|unsent message below|-+\s*original message|\(?original message follows)/im;
  const field = /^(?:Return-Path|Received|X-Originating-IP|DKIM-Signature):[ \t]?\S/m;
  const markerAt = MARKER_WORDS.some((word) => lower.includes(word)) ? text.search(marker) : -1;
  const fieldAt = text.search(field);
  if (markerAt < 0) return fieldAt;
  if (fieldAt < 0) return markerAt;
  return Math.min(markerAt, fieldAt);
}

/** The header block at the start of `text` (leading marker lines and blank lines skipped), unfolded line ends kept. */
function headerBlock(text: string): string {
  // Line by line from the start, stopping at the block's end: `text` may be a whole returned message.
  const block: string[] = [];
  let skipped = 0;
  let inBlock = false;
  for (let start = 0; start <= text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    start = end + 1;
    if (!inBlock) {
      if (skipped < 5 && !FIELD_LINE.test(line)) {
        skipped++;
        if (newline < 0) break;
        continue;
      }
      inBlock = true;
    }
    if (line.trim() === '') break;
    if (FIELD_LINE.test(line) || /^[ \t]/.test(line)) block.push(line);
    else break;
    if (newline < 0) break;
  }
  return block.join('\n');
}

const FIELD_LINE = /^[!-9;-~]+:/;

/** The start of a returned message as text: enough for its header block, not its body (which may be large). */
function headOf(content: Buffer): string {
  // Only when the part opens with its fields: otherwise headerBlock() skips lines first, so it gets the whole part.
  if (!FIELD_LINE.test(content.subarray(0, 200).toString('latin1'))) return content.toString('utf8');
  const lf = content.indexOf('\n\n');
  const crlf = content.indexOf('\r\n\r\n');
  const end = lf < 0 ? crlf : crlf < 0 ? lf : Math.min(lf, crlf);
  return end < 0 ? content.toString('utf8') : content.subarray(0, end + 4).toString('utf8');
}

/**
 * The header block of the first message/rfc822 (or rfc822-headers) part, read from the raw bytes:
 * for ARF reports, whose reported message is often an inline part mailparser renders as text.
 * A message/rfc822 part in base64 or quoted-printable is left to mailparser ('' here).
 */
function rawOriginalHeaders(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  const part = /^Content-Type:[ \t]*(?:message\/rfc822|text\/rfc822-headers|message\/rfc822-headers)\b/im.exec(text);
  if (part === null) return '';
  const after = text.slice(part.index);
  const partHeaderEnd = after.search(/\r?\n\r?\n/);
  if (partHeaderEnd < 0 || /^Content-Transfer-Encoding:[ \t]*(?:base64|quoted-printable)/im.test(after.slice(0, partHeaderEnd))) return '';
  return headerBlock(after.slice(partHeaderEnd).replace(/^\s+/, ''));
}

/** The bodies of message/delivery-status parts found in the raw bytes (7bit or 8bit only), up to their next boundary line. */
function rawDeliveryStatus(bytes: Buffer): string[] {
  const text = bytes.toString('utf8').replace(/\r\n?/g, '\n');
  const bodies: string[] = [];
  for (const part of text.matchAll(/^Content-Type:[ \t]*message\/delivery-status\b[^\n]*\n/gim)) {
    const after = text.slice((part.index ?? 0) + part[0].length);
    const headerEnd = after.indexOf('\n\n');
    if (headerEnd < 0 || /^Content-Transfer-Encoding:[ \t]*(?:base64|quoted-printable)/im.test(after.slice(0, headerEnd))) continue;
    const body = after.slice(headerEnd + 2);
    const end = body.search(/^--/m);
    bodies.push(end < 0 ? body : body.slice(0, end));
  }
  return bodies;
}

/**
 * Whether the bytes name the type message/delivery-status (as rawDeliveryStatus() looks for it), checked
 * without decoding them: a report-type=delivery-status parameter alone is not that type.
 */
function namesDeliveryStatusType(bytes: Buffer): boolean {
  for (const word of DELIVERY_STATUS_WORDS) {
    for (let at = bytes.indexOf(word); at >= 0; at = bytes.indexOf(word, at + 1)) {
      // "message/delivery-status", any case: the byte before the d is '/'.
      if (at >= 2 && bytes[at - 2] === 0x2f) return true;
    }
  }
  return false;
}

/** The words namesDeliveryStatusType() looks for, as bytes once (a string argument is encoded again on every search). */
const DELIVERY_STATUS_WORDS = [Buffer.from('elivery-status', 'latin1'), Buffer.from('ELIVERY-STATUS', 'latin1')];

export async function parseBounceMessage(raw: Uint8Array): Promise<BounceMessage> {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.byteLength, MAX_PARSE_BYTES));
  const parsed = await PostalMime.parse(bytes, POSTAL_MIME_OPTIONS);
  let bodyText = '';
  if ((parsed.text ?? '').trim() === '' && parsed.html === undefined && parsed.attachments.length === 0) {
    // Broken MIME (a multipart whose parts have no boundary lines): the body as it is.
    const text = bytes.toString('utf8');
    const bodyAt = text.search(/\r?\n\r?\n/);
    bodyText = bodyAt < 0 ? '' : text.slice(bodyAt).replace(/^\s+/, '');
  }
  const types = parsed.attachments.map((part) => part.mimeType.toLowerCase());
  let inlineOriginalHeaders = '';
  if (types.includes('message/feedback-report')) inlineOriginalHeaders = rawOriginalHeaders(bytes);
  // A report forwarded inside another message (a gateway wrapping the DSN it got): the inner message is
  // rendered as text and its delivery-status part is lost, so that part is read from the bytes.
  let nested: string[] = [];
  if (!types.includes('message/delivery-status') && namesDeliveryStatusType(bytes)) nested = rawDeliveryStatus(bytes);
  return new BounceMessage(parsed, bodyText, inlineOriginalHeaders, nested);
}
