/**
 * mboxrd records (the mbox variant whose quoting is reversible): a `From `
 * line, the message in which every line matching /^>*From / gains one more
 * `>`, and an empty line.
 *
 * `switchyard archive export` writes exportRecord(): the message's bytes as
 * the store holds them (CRLF line ends stay CRLF), so the export reads back
 * (src/migrate/mbox-reader.ts) to the same bytes.
 *
 * archiveKey() identifies a post (the sha256 of its Message-ID, or of its
 * bytes when it has none), so a second copy of the same post is recognised.
 * The archive runner's old per-list mbox files, imported once at start, are
 * read by src/app/archive.ts.
 */
import { createHash } from 'node:crypto';
import { RawMessage } from './raw-message.js';

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
