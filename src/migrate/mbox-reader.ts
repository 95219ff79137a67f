/**
 * Reads the messages of an mbox file, streaming (one message in memory at a
 * time, whatever the file's size): HyperKitty's export and Mailman 2.1's
 * pipermail `.mbox` (both Python's mailbox module: mboxo, a body line
 * `From ` written as `>From `), an mboxrd file (every `>*From ` line gained
 * one `>`: `switchyard archive export`, and the archive runner's own mbox
 * files from before the archive moved into the store).
 *
 * A record starts at a `From ` line that looks like a From_ line (sender,
 * then an asctime date). A message's bytes are kept exactly as the file has
 * them (CRLF line ends stay CRLF) but for the unquoting and the one empty
 * line before the next From_ line, which is the separator, not the
 * message's: so an mboxrd export reads back to the bytes it was written from.
 */
import { createReadStream } from 'node:fs';
import { ImportUsageError } from './errors.js';

export type MboxQuoting = 'mboxo' | 'mboxrd';

export interface MboxMessage {
  /** The message as it was before quoting. */
  raw: Buffer;
  /** The From_ line's sender ('' when it has none). */
  sender: string;
  /** The From_ line's date, else null. */
  date: Date | null;
  /** The whole record's size in the file: From_ line, message, separator. */
  recordLength: number;
}

const FROM_LINE = /^From (\S*)\s+(?:\w{3} )?(\w{3}\s+\d{1,2}\s+\d\d:\d\d(?::\d\d)?\s+(?:[A-Z]{3,4}\s+)?\d{4})/;
const FROM = Buffer.from('From ', 'latin1');
const GT = 0x3e;
const LF = 0x0a;

function fromLineDate(text: string): Date | null {
  const date = new Date(`${text.replace(/\s+/g, ' ')} UTC`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** `line` with one `>` taken off when its quoting put one there. */
function unquote(line: Buffer, quoting: MboxQuoting): Buffer {
  if (line[0] !== GT) return line;
  let depth = 1;
  while (line[depth] === GT) depth++;
  if (line.compare(FROM, 0, FROM.length, depth, depth + FROM.length) !== 0) return line;
  // mboxo quoted only a bare `From ` (one `>`); mboxrd quoted every `>*From `.
  return quoting === 'mboxrd' || depth === 1 ? line.subarray(1) : line;
}

/** A push parser: feed it chunks, take the messages they complete. */
export class MboxParser {
  private pending: Buffer = Buffer.alloc(0);
  private current: { sender: string; date: Date | null; lines: Buffer[]; length: number } | null = null;
  private sawContent = false;

  constructor(private readonly quoting: MboxQuoting) {}

  push(chunk: Buffer): MboxMessage[] {
    const out: MboxMessage[] = [];
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let start = 0;
    for (let end = data.indexOf(LF); end >= 0; end = data.indexOf(LF, start)) {
      this.line(data.subarray(start, end + 1), out);
      start = end + 1;
    }
    // Copied: the rest must not pin the whole chunk.
    this.pending = Buffer.from(data.subarray(start));
    return out;
  }

  end(): MboxMessage[] {
    const out: MboxMessage[] = [];
    const rest = this.pending;
    if (rest.length >= FROM.length && rest.compare(FROM, 0, FROM.length, 0, FROM.length) === 0 && this.current !== null) {
      // A From_ line cut short at the end of the file (a writer killed mid-record): a record of its own, empty, not the end of the one before.
      this.finish(out);
      this.current = { sender: '', date: null, lines: [], length: rest.length };
    } else if (rest.length > 0) this.line(rest, out);
    this.pending = Buffer.alloc(0);
    this.finish(out);
    return out;
  }

  private line(line: Buffer, out: MboxMessage[]): void {
    const startsFrom = line.compare(FROM, 0, FROM.length, 0, Math.min(line.length, FROM.length)) === 0 && line.length >= FROM.length;
    if (this.current === null && !startsFrom) {
      if (!this.sawContent && line.toString('latin1').trim() === '') return;
      throw new ImportUsageError('not an mbox file: it does not start with a "From " line');
    }
    const match = startsFrom ? FROM_LINE.exec(line.toString('latin1')) : null;
    if (match !== null || (this.current === null && startsFrom)) {
      this.finish(out);
      this.sawContent = true;
      this.current = { sender: match?.[1] ?? '', date: match === null ? null : fromLineDate(match[2]!), lines: [], length: line.length };
      return;
    }
    const current = this.current!;
    current.lines.push(unquote(line, this.quoting));
    current.length += line.length;
  }

  private finish(out: MboxMessage[]): void {
    const current = this.current;
    if (current === null) return;
    this.current = null;
    let raw = Buffer.concat(current.lines);
    // The separator: one empty line (LF, or CRLF in a file written with CRLF) after the message's own last line end.
    if (raw.length >= 3 && raw.toString('latin1', raw.length - 3) === '\n\r\n') raw = raw.subarray(0, raw.length - 2);
    else if (raw.length >= 2 && raw[raw.length - 1] === LF && raw[raw.length - 2] === LF) raw = raw.subarray(0, raw.length - 1);
    out.push({ raw, sender: current.sender, date: current.date, recordLength: current.length });
  }
}

/** Every message of an mbox held in memory (small files, tests). */
export function readMbox(data: Buffer, quoting: MboxQuoting): MboxMessage[] {
  const parser = new MboxParser(quoting);
  return [...parser.push(data), ...parser.end()];
}

/** The messages of an mbox file, read in chunks; `onBytes` hears how far into the file it is. */
export async function* readMboxFile(path: string, quoting: MboxQuoting, onBytes?: (bytes: number) => void): AsyncGenerator<MboxMessage> {
  const parser = new MboxParser(quoting);
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    bytes += (chunk as Buffer).length;
    yield* parser.push(chunk as Buffer);
    onBytes?.(bytes);
  }
  yield* parser.end();
}
