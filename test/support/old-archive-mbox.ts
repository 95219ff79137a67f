/**
 * A writer of the archive runner's old per-list mbox files (before the archive
 * moved into the store), for tests of their one-time import at start
 * (src/app/archive.ts): a From_ line, then as the first header field
 *
 *     X-Switchyard-Archive: v=1; length=000000004711; key=<sha256 hex>
 *
 * (`length` the whole record's size, fixed width), the message with LF line
 * ends and mboxrd quoting, and an empty line. switchyard no longer writes
 * these; only old homes hold them.
 */
import { asctime } from '../../src/mail/mboxrd.js';

const LENGTH_DIGITS = 12;

/** One complete old-format record. */
export function oldArchiveRecord(message: Buffer, options: { sender: string; date: Date; key: string }): Buffer {
  const from = `From ${options.sender} ${asctime(options.date)}\n`;
  const text = message.toString('latin1').replace(/\r\n/g, '\n').replace(/^(>*From )/gm, '>$1');
  const body = Buffer.from(text.endsWith('\n') ? text : `${text}\n`, 'latin1');
  const field = (length: number): string => `X-Switchyard-Archive: v=1; length=${String(length).padStart(LENGTH_DIGITS, '0')}; key=${options.key}\n`;
  const total = Buffer.byteLength(from, 'latin1') + field(0).length + body.length + 1;
  return Buffer.concat([Buffer.from(from + field(total), 'latin1'), body, Buffer.from('\n', 'latin1')]);
}
