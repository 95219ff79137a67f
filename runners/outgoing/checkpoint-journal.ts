/**
 * The outgoing runner's checkpoints: an append-only journal beside the entry
 * being delivered, `<root>/out/<shard>/<id>.journal`, one JSON line per SMTP
 * transaction whose outcome is final:
 *
 *     {"done":["a@example.org","b@example.org"]}      the MTA accepted them
 *     {"failed":["c@example.net"]}                     5xx to RCPT TO (bounce events enqueued)
 *
 * A line is appended, and fdatasynced, only after the MTA accepted the
 * transaction (for `failed`: after the bounce events are enqueued); lines of
 * transactions finishing together share one write and one fdatasync (group
 * commit: lines queued while a write runs go in the next one; with
 * `delayMs` an idle journal waits that long for more lines before it writes,
 * unless `flushAt` recipients are waiting or someone waits for them). A recipient
 * counts as done only once its line is on disk (`done`, `unsynced`). The
 * writer need not wait for that before its next transaction: the runner
 * starts one only while fewer than CHECKPOINT_WINDOW recipients are
 * unsynced (runners/outgoing.ts), which bounds what a kill can duplicate.
 * On (re)processing the journal is read first and its recipients are
 * skipped. The name ends in neither `.pck`, `.bak` nor `.psv`: the
 * switchboard's listings and watchers ignore it.
 *
 * Crash windows (SIGKILL between any two steps):
 * - MTA accepted, line not yet written (or written but torn): the entry's
 *   `.bak` is recovered and those recipients are sent again. This is the only
 *   duplicate: at most the transactions in flight at the kill (at most
 *   `smtp.maxConnections` per entry) and the accepted ones whose line was
 *   not yet on disk (fewer than CHECKPOINT_WINDOW recipients when the last
 *   of them started; see runners/outgoing.ts).
 * - A torn last line (no newline, or not JSON) is ignored: its recipients are
 *   sent again, never lost.
 * - Bounce events enqueued, `failed` line not written: the events are
 *   enqueued again on the next attempt (a duplicate bounce event, never a
 *   lost one).
 * - The journal is created (O_APPEND|O_CREAT) and, with fsync durability, its
 *   directory fsynced before the first line counts; killed before: no journal,
 *   nothing recorded, everything is still to do.
 * - The entry settled (finished, moved to retry or shunt with only the
 *   recipients still to do in its metadata) and the journal not yet removed:
 *   an orphan journal, whose entry no longer exists under that id; it is
 *   removed by sweepOrphanJournals() at the runner's next start. An entry that
 *   returns from `retry` has a new id, so an orphan never applies to it.
 */
import { open, readdir, readFile, unlink, access, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { entryPath, fsyncDirectory, shardsOfSlice, type Switchboard } from '../../queues/index.js';

export const JOURNAL_SUFFIX = '.journal';

export function journalPath(root: string, queue: string, id: string): string {
  return entryPath(root, queue, id, 'bak').replace(/\.bak$/, JOURNAL_SUFFIX);
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * How an idle journal batches lines: it waits up to `delayMs` for more before
 * a write, or writes at once when `flushAt` recipients are waiting (a line
 * written while another write runs goes in the next write either way).
 */
export interface JournalBatching {
  delayMs: number;
  flushAt: number;
}

export class CheckpointJournal {
  /** Recipients whose transaction the MTA accepted. */
  readonly done = new Set<string>();
  /** Recipients refused permanently (5xx to RCPT TO), their bounce events enqueued. */
  readonly failed = new Set<string>();
  /** Complete lines read at open, plus lines written since. */
  lines = 0;
  /** Recipients recorded whose line is not yet on disk (queued or being written). */
  unsynced = 0;
  private handle: FileHandle | undefined;
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** The promise of the last line recorded: settled once every line so far is written or failed. */
  private last: Promise<void> = Promise.resolve();
  /** The delayed write of an idle journal (see `delayMs`). */
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly path: string,
    private readonly fsync: boolean,
    private readonly batching: JournalBatching,
  ) {}

  /** Read the journal at `path` if there is one (what is already done); appends go to it. */
  static async open(path: string, fsync: boolean, batching: JournalBatching = { delayMs: 0, flushAt: 1 }): Promise<CheckpointJournal> {
    const journal = new CheckpointJournal(path, fsync, batching);
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // Only newline-terminated lines count: a torn tail is a transaction not recorded.
    const end = text.lastIndexOf('\n');
    for (const line of end < 0 ? [] : text.slice(0, end).split('\n')) journal.absorb(line);
    return journal;
  }

  private absorb(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const { done, failed } = parsed as { done?: unknown; failed?: unknown };
    let counted = false;
    for (const [list, into] of [[done, this.done], [failed, this.failed]] as const) {
      if (!Array.isArray(list)) continue;
      for (const recipient of list) if (typeof recipient === 'string') into.add(recipient);
      counted = true;
    }
    if (counted) this.lines++;
  }

  /**
   * Durably record recipients as done (accepted) or failed (permanently);
   * resolves once the line is on disk. `now`: the caller waits for it, so it
   * is written at once rather than after `delayMs`.
   */
  record(kind: 'done' | 'failed', recipients: readonly string[], now = false): Promise<void> {
    if (recipients.length === 0) return Promise.resolve();
    const into = kind === 'done' ? this.done : this.failed;
    const line = `${JSON.stringify({ [kind]: recipients })}\n`;
    this.unsynced += recipients.length;
    const written = new Promise<void>((resolve, reject) => {
      this.pending.push({
        line,
        resolve: () => {
          this.unsynced -= recipients.length;
          for (const recipient of recipients) into.add(recipient);
          this.lines++;
          resolve();
        },
        reject: (error) => {
          this.unsynced -= recipients.length;
          reject(error);
        },
      });
    });
    this.schedule(now || this.unsynced >= this.batching.flushAt);
    // Lines are written in order: the last one settled means every earlier one is.
    this.last = written.catch(() => undefined);
    return written;
  }

  /** Resolves once every line recorded so far is on disk or has failed (each record() promise says which); writes them now. */
  synced(): Promise<void> {
    this.schedule(true);
    return this.last;
  }

  /** Start writing the pending lines now, or after `delayMs` when nothing is being written. */
  private schedule(now: boolean): void {
    if (this.flushing !== undefined || this.pending.length === 0) return;
    if (!now && this.batching.delayMs > 0) {
      this.timer ??= setTimeout(() => this.schedule(true), this.batching.delayMs);
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flush();
  }

  /** One write and one fdatasync for every line queued while the previous one ran. */
  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        try {
          if (!this.handle) {
            this.handle = await open(this.path, 'a', 0o660);
            if (this.fsync) await fsyncDirectory(dirname(this.path));
          }
          await this.handle.write(batch.map((p) => p.line).join(''));
          if (this.fsync) await this.handle.datasync();
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  async close(): Promise<void> {
    this.schedule(true);
    await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }
}

export async function removeJournal(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Remove the journals of this slice whose entry is neither waiting nor in
 * flight (see the module comment). Call before the slice's recovery, when no
 * entry is being processed. Returns the ids swept.
 */
export async function sweepOrphanJournals(switchboard: Switchboard): Promise<string[]> {
  const swept: string[] = [];
  for (const shard of shardsOfSlice(switchboard.slice, switchboard.numSlices)) {
    const dir = join(switchboard.queueDir, shard);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const name of names) {
      if (!name.endsWith(JOURNAL_SUFFIX)) continue;
      const id = name.slice(0, -JOURNAL_SUFFIX.length);
      if ((await exists(join(dir, `${id}.bak`))) || (await exists(join(dir, `${id}.pck`)))) continue;
      await removeJournal(join(dir, name));
      swept.push(id);
    }
  }
  return swept;
}
