/**
 * mboxrd records (the mbox variant whose quoting is reversible): a `From `
 * line, the message in which every line matching /^>*From / gains one more
 * `>`, and an empty line.
 *
 * `switchyard archive export` writes exportRecord(): the message's bytes as
 * the store holds them (CRLF line ends stay CRLF), so the export reads back
 * (src/migrate/mbox-reader.ts) to the same bytes.
 *
 * Before the archive moved into the store, the archive runner appended
 * records to `<home>/archives/<list>.mbox` with LF line ends and, as the
 * first header field,
 *
 *     X-Switchyard-Archive: v=1; length=000000004711; key=<sha256 hex>
 *
 * `length` is the whole record's size in bytes (fixed width, so writing it
 * does not change it): a record at the end of a file that is shorter than it
 * says was torn by a crash mid-write. `key` identifies the post (the sha256
 * of its Message-ID, or of its bytes when it has none), so a second copy of
 * the same post can be recognised.
 */
import { createHash } from 'node:crypto';
import { RawMessage } from './raw-message.js';

export const ARCHIVE_FIELD = 'X-Switchyard-Archive';
const LENGTH_DIGITS = 12;
const ARCHIVE_LINE = /^X-Switchyard-Archive: v=1; length=(\d{12}); key=([0-9a-f]{64})\n/;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** asctime(3) in UTC, as the From_ line has it: `Thu Jan  1 00:00:00 2025`. */
export function asctime(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${time} ${date.getUTCFullYear()}`;
}

/** The identity of a post for duplicate detection: its Message-ID, else its bytes. */
export function archiveKey(message: Buffer): string {
  const messageId = RawMessage.parse(message).get('message-id');
  const hash = createHash('sha256');
  if (messageId !== undefined && messageId !== '') hash.update('message-id\0').update(messageId);
  else hash.update('bytes\0').update(message);
  return hash.digest('hex');
}

/** The message with LF line endings and mboxrd quoting, ending in exactly one LF. */
export function quoteMboxrd(message: Buffer): Buffer {
  const text = message.toString('latin1').replace(/\r\n/g, '\n');
  const quoted = text.replace(/^(>*From )/gm, '>$1');
  return Buffer.from(quoted.endsWith('\n') ? quoted : `${quoted}\n`, 'latin1');
}

/** The message as it was before quoting (LF line endings): what a reader of the archive gets. */
export function unquoteMboxrd(quoted: Buffer): Buffer {
  return Buffer.from(quoted.toString('latin1').replace(/^>(>*From )/gm, '$1'), 'latin1');
}

/** The message with mboxrd quoting, line ends untouched, ending in a line end. */
function quoteExact(message: Buffer): Buffer {
  const quoted = message.toString('latin1').replace(/^(>*From )/gm, '>$1');
  return Buffer.from(quoted === '' || quoted.endsWith('\n') ? quoted : `${quoted}\n`, 'latin1');
}

/**
 * One record of an export: From_ line, the quoted message exactly as stored,
 * the separating empty line. A message that does not end in a line end
 * gains one (the only byte an export adds to a message).
 */
export function exportRecord(message: Buffer, options: { sender: string; date: Date }): Buffer {
  return Buffer.concat([Buffer.from(fromLine(options.sender, options.date), 'latin1'), quoteExact(message), Buffer.from('\n', 'latin1')]);
}

/**
 * The From_ line of a record: a sender that would break the line (space, line
 * end, NUL or another control character, or none at all) is MAILER-DAEMON.
 */
function fromLine(sender: string, date: Date): string {
  return `From ${/^[^\s\x00-\x1f\x7f]{1,320}$/.test(sender) ? sender : 'MAILER-DAEMON'} ${asctime(date)}\n`;
}

export interface RecordOptions {
  /** The envelope sender for the From_ line; empty or unusable: MAILER-DAEMON. */
  sender: string;
  date: Date;
  key: string;
}

/** One complete record, ready to be appended with a single write. */
export function mboxrdRecord(message: Buffer, options: RecordOptions): Buffer {
  const from = fromLine(options.sender, options.date);
  const body = quoteMboxrd(message);
  const fieldLength = `${ARCHIVE_FIELD}: v=1; length=${'0'.repeat(LENGTH_DIGITS)}; key=${options.key}\n`.length;
  const total = Buffer.byteLength(from, 'latin1') + fieldLength + body.length + 1;
  const field = `${ARCHIVE_FIELD}: v=1; length=${String(total).padStart(LENGTH_DIGITS, '0')}; key=${options.key}\n`;
  return Buffer.concat([Buffer.from(from + field, 'latin1'), body, Buffer.from('\n', 'latin1')]);
}

export interface RecordHeader {
  /** The whole record's size as written. */
  length: number;
  key: string;
}

/** The archive field of the record starting at `record` (its From_ line), or undefined when it has none (torn or foreign). */
export function readRecordHeader(record: Buffer): RecordHeader | undefined {
  const lineEnd = record.indexOf(0x0a);
  if (lineEnd < 0 || record.toString('latin1', 0, 5) !== 'From ') return undefined;
  const match = ARCHIVE_LINE.exec(record.toString('latin1', lineEnd + 1, lineEnd + 1 + 120));
  return match === null ? undefined : { length: Number(match[1]), key: match[2]! };
}

/** Offsets of the records starting within `chunk` (a From_ line at the chunk's start counts only when `atRecordStart`). */
export function recordStarts(chunk: Buffer, atRecordStart: boolean): number[] {
  const starts: number[] = [];
  if (atRecordStart && chunk.toString('latin1', 0, 5) === 'From ') starts.push(0);
  const marker = Buffer.from('\nFrom ', 'latin1');
  for (let at = chunk.indexOf(marker); at >= 0; at = chunk.indexOf(marker, at + 1)) starts.push(at + 1);
  return starts;
}
