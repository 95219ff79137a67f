/**
 * One list's mbox archive file, appended to by the archive runner.
 *
 * Files: `<home>/archives/<name@domain>.mbox` (mode 0640 under the process
 * umask; the directory 0750), named only from a list address that
 * parseListAddress() accepted. Nothing else is created, renamed or deleted.
 *
 * Each append is one record (src/mail/mboxrd.ts) written with a single
 * write() to an O_APPEND descriptor, then fdatasync; only then does the
 * runner finish the entry. Crash windows:
 *   killed before the write        nothing in the file; the entry's `.bak` is
 *                                  recovered and the record written then;
 *   killed during the write        a torn record at the end (a kernel may cut
 *                                  a large write short on SIGKILL): the next
 *                                  open() sees the last record shorter than
 *                                  its length field says and truncates it
 *                                  away; the recovered entry writes it again;
 *   killed after the write, before the entry is finished
 *                                  the record is complete; the recovered
 *                                  entry finds its key among the recent ones
 *                                  and is skipped (no duplicate).
 * A failed write (a full disk) truncates the file back to where it was and
 * fails temporarily.
 *
 * Duplicates (the same post enqueued twice by a crash in the incoming runner,
 * or a recovered entry as above) are recognised by key among the last
 * RECENT_RECORDS records found in the last RECENT_WINDOW bytes of the file,
 * re-read whenever the file's size is not what this process last left it
 * at. A copy arriving after more than RECENT_RECORDS other posts to the same
 * list would be archived twice; in practice the second copy follows the first
 * within seconds.
 *
 * This process must be the file's only writer (the archive runner refuses
 * to run with more than one instance): a second writer's record in progress
 * would look torn to open().
 */
import { constants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { readRecordHeader, recordStarts } from '../../src/mail/mboxrd.js';
import { parseListAddress } from '../../src/store/index.js';

export const RECENT_RECORDS = 1_000;
export const RECENT_WINDOW = 64 * 1024 * 1024;
const SCAN_CHUNK = 1024 * 1024;

export function archivePath(home: string, listAddress: string): string {
  const list = parseListAddress(listAddress);
  return join(home, 'archives', `${list.address}.mbox`);
}

/** The last record's start (0 when the file holds one record or none is found). */
async function lastRecordStart(handle: FileHandle, size: number): Promise<number> {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - SCAN_CHUNK);
    // Overlap by the marker's length so a "\nFrom " straddling chunks is seen.
    const length = Math.min(size, end + 5) - start;
    const chunk = Buffer.alloc(length);
    await handle.read(chunk, 0, length, start);
    const starts = recordStarts(chunk, start === 0).filter((at) => start + at < size);
    if (starts.length > 0) return start + starts[starts.length - 1]!;
    end = start;
  }
  return 0;
}

const FIELD_START = 'X-Switchyard-Archive: v=1; length=';

/**
 * Whether a record without a readable archive field is one of ours cut short
 * within its first two lines (rather than a record of a foreign mbox, which
 * is never cut off).
 */
function looksLikeOurs(head: Buffer): boolean {
  const text = head.toString('latin1');
  const firstLineEnd = text.indexOf('\n');
  if (firstLineEnd < 0) return text.startsWith('From ');
  const second = text.slice(firstLineEnd + 1, firstLineEnd + 1 + FIELD_START.length);
  return FIELD_START.startsWith(second) || second.startsWith(FIELD_START);
}

export class MboxFile {
  /** Keys of recent records, oldest first. */
  private readonly recent: string[] = [];
  private readonly recentSet = new Set<string>();
  /** The size this process last saw or left the file at; -1: not yet read. */
  private knownSize = -1;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly log: Logger,
  ) {}

  static async open(home: string, listAddress: string, log: Logger): Promise<MboxFile> {
    const path = archivePath(home, listAddress);
    await mkdir(join(home, 'archives'), { recursive: true, mode: 0o750 });
    const handle = await open(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o640);
    return new MboxFile(path, handle, log.child({ archive: path }));
  }

  /** Appends the record unless a record with this key is among the recent ones; resolves to whether it wrote. */
  append(record: Buffer, key: string): Promise<boolean> {
    const next = this.queue.then(() => this.appendNow(record, key));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
  }

  private async appendNow(record: Buffer, key: string): Promise<boolean> {
    const { size } = await this.handle.stat();
    if (size !== this.knownSize) await this.reload(size);
    if (this.recentSet.has(key)) return false;
    const before = this.knownSize;
    try {
      let written = 0;
      // One write() for the whole record; a short write (rare: a signal, a full disk) continues where it stopped.
      while (written < record.length) {
        const { bytesWritten } = await this.handle.write(record, written, record.length - written);
        if (bytesWritten === 0) throw new Error('write made no progress');
        written += bytesWritten;
      }
      await this.handle.datasync();
    } catch (error) {
      await this.handle.truncate(before).catch(() => undefined);
      throw error;
    }
    this.knownSize = before + record.length;
    this.remember(key);
    return true;
  }

  private remember(key: string): void {
    this.recent.push(key);
    this.recentSet.add(key);
    while (this.recent.length > RECENT_RECORDS) this.recentSet.delete(this.recent.shift()!);
  }

  /** Checks the last record (truncating it when torn) and re-reads the recent keys. */
  private async reload(size: number): Promise<void> {
    let end = size;
    if (size > 0) {
      const start = await lastRecordStart(this.handle, size);
      const head = Buffer.alloc(Math.min(256, size - start));
      await this.handle.read(head, 0, head.length, start);
      const header = readRecordHeader(head);
      const actual = size - start;
      const tail = Buffer.alloc(Math.min(2, size));
      await this.handle.read(tail, 0, tail.length, size - tail.length);
      const endsCleanly = tail.toString('latin1') === '\n\n';
      // A record shorter than it says, or (no field) one not ending as records do, was cut short;
      // bytes past a complete record are the start of one cut before its From_ line was whole.
      let keep: number | undefined;
      if (header === undefined) keep = endsCleanly || !looksLikeOurs(head) ? undefined : start;
      else if (actual < header.length) keep = start;
      else if (actual > header.length) keep = start + header.length;
      if (keep !== undefined) {
        this.log.warn({ offset: keep, bytes: size - keep }, 'archive: torn last record (a crash mid-write) removed; its entry writes it again');
        await this.handle.truncate(keep);
        await this.handle.datasync();
        end = keep;
      }
    }
    this.recent.length = 0;
    this.recentSet.clear();
    const windowStart = Math.max(0, end - RECENT_WINDOW);
    const window = Buffer.alloc(end - windowStart);
    if (window.length > 0) await this.handle.read(window, 0, window.length, windowStart);
    const starts = recordStarts(window, windowStart === 0).slice(-RECENT_RECORDS);
    for (const start of starts) {
      const header = readRecordHeader(window.subarray(start, start + 256));
      if (header !== undefined) this.remember(header.key);
    }
    this.knownSize = end;
  }
}
