/**
 * Reads the messages of an mbox file as another archiver wrote it:
 * HyperKitty's export and Mailman 2.1's pipermail `.mbox` (both Python's
 * mailbox module: mboxo, a body line `From ` written as `>From `), or an
 * mboxrd file (every `>*From ` line gained one `>`). A record starts at a
 * `From ` line that looks like a From_ line (sender, then an asctime date);
 * the blank line before the next one is the separator, not the message's.
 */
import { ImportUsageError } from './errors.js';

export type MboxQuoting = 'mboxo' | 'mboxrd';

export interface MboxMessage {
  /** The message as it was before quoting, LF line endings. */
  raw: Buffer;
  /** The From_ line's sender ('' when it has none). */
  sender: string;
  /** The From_ line's date, else null. */
  date: Date | null;
}

const FROM_LINE = /^From (\S*)\s+(?:\w{3} )?(\w{3}\s+\d{1,2}\s+\d\d:\d\d(?::\d\d)?\s+(?:[A-Z]{3,4}\s+)?\d{4})/;

function fromLineDate(text: string): Date | null {
  const date = new Date(`${text.replace(/\s+/g, ' ')} UTC`);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function readMbox(data: Buffer, quoting: MboxQuoting): MboxMessage[] {
  const text = data.toString('latin1').replace(/\r\n/g, '\n');
  if (text.trim() !== '' && !text.startsWith('From ')) throw new ImportUsageError('not an mbox file: it does not start with a "From " line');
  const lines = text.split('\n');
  const messages: MboxMessage[] = [];
  let current: { sender: string; date: Date | null; lines: string[] } | null = null;
  const finish = (): void => {
    if (current === null) return;
    const body = current.lines;
    while (body.length > 0 && body[body.length - 1] === '') body.pop();
    const unquoted = body.map((line) => (quoting === 'mboxrd' ? line.replace(/^>(>*From )/, '$1') : line.replace(/^>From /, 'From ')));
    messages.push({ raw: Buffer.from(`${unquoted.join('\n')}\n`, 'latin1'), sender: current.sender, date: current.date });
  };
  for (const line of lines) {
    const match = line.startsWith('From ') ? FROM_LINE.exec(line) : null;
    if (match !== null || (current === null && line.startsWith('From '))) {
      finish();
      current = { sender: match?.[1] ?? '', date: match === null ? null : fromLineDate(match[2]!), lines: [] };
      continue;
    }
    current?.lines.push(line);
  }
  finish();
  return messages;
}
