/**
 * The archive runner: consumes `archive` (copies of accepted posts, enqueued
 * by the pipeline's to-archive handler with metadata { listId,
 * envelopeSender?, receivedAt? }) and adds each to its list's archive in the
 * store (src/app/archive.ts archivePost): one archive per site, whichever
 * host archives (README "Why the archive lives in the store").
 *
 * Crash windows: the row and nothing else is written, in one transaction.
 * Killed before it commits: no row; the entry's `.bak` is recovered and the
 * post archived then. Killed after the commit, before the entry is finished:
 * the recovered entry finds the row by its key (the Message-ID, else the
 * bytes) and adds nothing. So any number of instances, on any number of
 * hosts, may run.
 *
 * At start (slice 0 only: the files are this home's), the archive runner's
 * mbox files from before the archive moved into the store are imported and
 * renamed (archive/old-mbox-import.ts), in the background: a busy store
 * leaves them for another attempt, at most once a minute, before an entry.
 *
 * Outcomes: added, or already there: finished. A busy or damaged store:
 * temporary (retry later, StoreRunner). An entry without a valid listId:
 * ArchiveEntryError, to shunt.
 */
import type { DequeuedEntry } from '../queues/index.js';
import { archivePost } from '../src/app/archive.js';
import { parseListAddress } from '../src/store/index.js';
import { importOldMboxFiles } from './archive/old-mbox-import.js';
import { RunnerError, RunnerSetupError } from './errors.js';
import type { EntryContext, RunnerOptions } from './runner.js';
import { StoreRunner } from './store-runner.js';

/** Least time between two attempts at importing the old mbox files after one failed. */
const OLD_MBOX_RETRY_MS = 60_000;

export class ArchiveEntryError extends RunnerError {
  constructor(message: string) {
    super('SY_ARCHIVE_ENTRY', message);
  }
}

export default class ArchiveRunner extends StoreRunner {
  private readonly home: string;
  /** The old mbox files: 'pending' until imported (or when this slice has none to import). */
  private oldMbox: { state: 'pending' | 'done'; attempt?: Promise<void>; lastTry: number } = { state: 'pending', lastTry: 0 };

  constructor(options: RunnerOptions) {
    super(options);
    if (options.home === undefined) throw new RunnerSetupError('the archive runner needs the home directory (RunnerOptions.home)');
    this.home = options.home;
    if (options.slice !== 0) this.oldMbox.state = 'done';
  }

  override async run(): Promise<void> {
    this.importOldMbox();
    try {
      await super.run();
    } finally {
      await this.oldMbox.attempt;
    }
  }

  /** Start an import of the old mbox files unless one runs, they are done, or the last attempt was too recent. */
  private importOldMbox(): void {
    const old = this.oldMbox;
    if (old.state === 'done' || old.attempt !== undefined || (old.lastTry !== 0 && this.now() - old.lastTry < OLD_MBOX_RETRY_MS)) return;
    old.lastTry = this.now();
    old.attempt = importOldMboxFiles(this.home, this.store, this.log)
      .then(
        (files) => {
          old.state = 'done';
          this.emit('old-mbox-imported', files);
        },
        (error: unknown) => this.log.error({ err: error }, `archive: importing the old mbox files into the store failed; tried again in ${OLD_MBOX_RETRY_MS / 1000} s`),
      )
      .finally(() => {
        old.attempt = undefined;
      });
  }

  protected async processWithStore(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    this.importOldMbox();
    const listId = entry.metadata.listId;
    let list: string;
    try {
      list = parseListAddress(typeof listId === 'string' ? listId : '').address;
    } catch (error) {
      throw new ArchiveEntryError(`archive entry without a valid listId (${JSON.stringify(listId ?? null)}): ${(error as Error).message}`);
    }
    const receivedAt = typeof entry.metadata.receivedAt === 'string' ? Date.parse(entry.metadata.receivedAt) : Number.NaN;
    const sender = typeof entry.metadata.envelopeSender === 'string' ? entry.metadata.envelopeSender : '';
    const added = await archivePost({ store: this.store }, { list, raw: entry.message, sender, receivedAt: new Date(Number.isNaN(receivedAt) ? this.now() : receivedAt) });
    if (added) ctx.log.debug({ list, bytes: entry.message.length }, 'archived');
    else ctx.log.info({ list }, 'archive: a copy of a post already archived; skipped');
  }
}
