/**
 * The archive runner: consumes `archive` (copies of accepted posts, enqueued
 * by the pipeline's to-archive handler with metadata { listId,
 * envelopeSender?, receivedAt? }) and appends each to its list's mbox file,
 * `<home>/archives/<name@domain>.mbox`, as an mboxrd record. The file's
 * crash windows, torn-record repair and duplicate detection are described in
 * archive/mbox-file.ts; in short, a record is finished only once fdatasynced,
 * a torn last record is cut off at the next open, and a second copy of a
 * post among the list's last RECENT_RECORDS records is skipped.
 *
 * One instance only: it must be each file's only writer (see mbox-file.ts),
 * so a configuration with `instances > 1` is refused at start. Posts to
 * different lists are appended concurrently (`concurrency`), those to one
 * list in order.
 *
 * Outcomes: appended or skipped as a duplicate: finished. A full disk or any
 * other I/O error: TemporaryFailure (retried later; the file was truncated
 * back to where it was). An entry without a valid listId: ArchiveEntryError,
 * to shunt.
 */
import type { DequeuedEntry } from '../queues/index.js';
import { archiveKey, mboxrdRecord } from '../src/mail/mboxrd.js';
import { parseListAddress } from '../src/store/index.js';
import { MboxFile } from './archive/mbox-file.js';
import { RunnerError, RunnerSetupError, TemporaryFailure } from './errors.js';
import { Runner, type EntryContext, type RunnerOptions } from './runner.js';

/** Open mbox files kept per process; the least recently used is closed past this. */
const MAX_OPEN_FILES = 64;

export class ArchiveEntryError extends RunnerError {
  constructor(message: string) {
    super('SY_ARCHIVE_ENTRY', message);
  }
}

export default class ArchiveRunner extends Runner {
  private readonly home: string;
  private readonly files = new Map<string, Promise<MboxFile>>();

  constructor(options: RunnerOptions) {
    super(options);
    if (options.home === undefined) throw new RunnerSetupError('the archive runner needs the home directory (RunnerOptions.home)');
    if (options.numSlices > 1) {
      throw new RunnerSetupError(`[runner.${options.name}] instances = ${options.numSlices}: the archive runner must be the only writer of its mbox files; set instances = 1`);
    }
    this.home = options.home;
  }

  override async run(): Promise<void> {
    try {
      await super.run();
    } finally {
      const files = [...this.files.values()];
      this.files.clear();
      await Promise.all(files.map(async (file) => (await file.catch(() => undefined))?.close()));
    }
  }

  async process(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    const listId = entry.metadata.listId;
    let list: string;
    try {
      list = parseListAddress(typeof listId === 'string' ? listId : '').address;
    } catch (error) {
      throw new ArchiveEntryError(`archive entry without a valid listId (${JSON.stringify(listId ?? null)}): ${(error as Error).message}`);
    }
    const key = archiveKey(entry.message);
    const receivedAt = typeof entry.metadata.receivedAt === 'string' ? Date.parse(entry.metadata.receivedAt) : Number.NaN;
    const sender = typeof entry.metadata.envelopeSender === 'string' ? entry.metadata.envelopeSender : '';
    const record = mboxrdRecord(entry.message, { sender, date: new Date(Number.isNaN(receivedAt) ? this.now() : receivedAt), key });
    let written: boolean;
    try {
      const file = await this.file(list);
      written = await file.append(record, key);
    } catch (error) {
      this.files.delete(list);
      throw new TemporaryFailure(`could not append to the archive of ${list}: ${(error as Error).message}`, { cause: error });
    }
    if (written) ctx.log.debug({ list, bytes: record.length }, 'archived');
    else ctx.log.info({ list, key }, 'archive: a copy of a post already archived; skipped');
  }

  private file(list: string): Promise<MboxFile> {
    let file = this.files.get(list);
    if (file !== undefined) {
      // Most recently used last.
      this.files.delete(list);
      this.files.set(list, file);
      return file;
    }
    file = MboxFile.open(this.home, list, this.log);
    this.files.set(list, file);
    while (this.files.size > MAX_OPEN_FILES) {
      const [oldest, opened] = this.files.entries().next().value as [string, Promise<MboxFile>];
      this.files.delete(oldest);
      void opened.then((f) => f.close()).catch(() => undefined);
    }
    return file;
  }
}
