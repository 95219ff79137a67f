/**
 * The summary of a post the posting chain needs (parse-worker.ts
 * MessageSummary), decided from its header block alone when that is enough:
 * most posts are one text/plain part in UTF-8 or ASCII, without a transfer
 * encoding, and for those mailparser's answer is known without running it.
 * It would see no attachment and no error, and its text would be the body
 * bytes read as UTF-8 with CRLF made LF (mailparser 3.9's processChunk for
 * an inline text/plain node in ascii, us-ascii or utf-8: no charset decoder,
 * a PassThrough for 7bit/8bit/binary, `Buffer.toString()`, `/\r?\n/g` to
 * `\n`). Such a post then costs no round trip to the parse pool.
 *
 * Anything else goes to the pool as before: another charset (a decoder),
 * base64 or quoted-printable, format=flowed (mailparser unwraps it), any
 * other Content-Type parameter (a name= makes an attachment), a
 * Content-Disposition, a repeated or folded Content-Type or
 * Content-Transfer-Encoding, a header block not ended by an empty line
 * (RawMessage and mailsplit may then split it differently), or a header
 * block larger than SCAN_MAX_HEADER bytes (far below mailsplit's limit, so
 * its "header too large" error cannot be the answer). The scan says
 * "undefined: parse it" whenever in doubt, never a different summary:
 * test/incoming/header-scan.test.ts holds both paths to the same summaries
 * over the test corpora and crafted posts.
 *
 * Pure computation on bytes in memory: no files.
 */
import type { RawMessage } from '../../src/mail/raw-message.js';
import type { MessageSummary } from './parse-worker.js';

/** Non-blank text lines kept (Mailman's email_commands_max_lines is 10). */
export const TEXT_LINES = 10;

/** Header blocks larger than this are parsed in the pool (mailsplit's own limit is far above). */
export const SCAN_MAX_HEADER = 64 * 1024;

/** text/plain, optionally with a charset the text needs no decoder for, and nothing else. */
const PLAIN_TEXT = /^text\/plain[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*("?)(?:us-ascii|ascii|utf-8|utf8)\1[ \t]*)?;?[ \t]*$/i;
/** The transfer encodings mailsplit passes through unchanged. */
const IDENTITY_ENCODING = /^(?:7bit|8bit|binary)$/i;

/**
 * The summary mailparser would give `message`, when its header block decides
 * it; undefined when the message must be parsed (see the module comment).
 */
export function scanSummary(message: RawMessage): MessageSummary | undefined {
  if (message.separator.length === 0) return undefined;
  let headerBytes = 0;
  let contentType: string | undefined;
  let encoding: string | undefined;
  for (const field of message.fields) {
    headerBytes += field.raw.length;
    const name = field.key;
    if (name === 'content-disposition') return undefined;
    if (name === 'content-type' || name === 'content-transfer-encoding') {
      const value = fieldValue(field.raw);
      if (value === undefined) return undefined;
      if (name === 'content-type') {
        if (contentType !== undefined) return undefined;
        contentType = value;
      } else {
        if (encoding !== undefined) return undefined;
        encoding = value;
      }
    }
  }
  if (headerBytes > SCAN_MAX_HEADER) return undefined;
  if (contentType !== undefined && !PLAIN_TEXT.test(contentType)) return undefined;
  if (encoding !== undefined && !IDENTITY_ENCODING.test(encoding)) return undefined;
  const text = message.body.toString('utf8').replace(/\r?\n/g, '\n');
  return { parsed: true, textLines: firstLines(text, TEXT_LINES), attachments: 0, attachmentBytes: 0 };
}

/** The value of a one-line field (`Name: value` and its line ending), trimmed; undefined when it is folded. */
function fieldValue(raw: Buffer): string | undefined {
  const colon = raw.indexOf(0x3a);
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0a) end--;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  const value = raw.toString('latin1', colon + 1, end);
  if (value.includes('\n') || value.includes('\r')) return undefined;
  return value.trim();
}

/** The first `count` non-blank lines of `text`, trimmed, each cut at 1,000 characters. */
export function firstLines(text: string, count: number): string[] {
  const lines: string[] = [];
  let start = 0;
  while (lines.length < count && start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    if (line !== '') lines.push(line.slice(0, 1000));
    start = end + 1;
  }
  return lines;
}
