/**
 * Group commit of directory fsyncs.
 *
 * A new queue file is durable once its data is fdatasynced and the directory
 * holding its name is fsynced after the rename. Concurrent enqueues into one
 * shard directory need one directory fsync between them, not one each: an
 * fsync of a directory covers every rename done in it before the fsync
 * started. So a caller that asks for a sync while one is in flight for the
 * same directory joins the next one, which starts as soon as the one in
 * flight completes and covers everybody who joined meanwhile. Nobody is
 * resolved before an fsync that started after their request (and so after
 * their rename) has completed; an fsync that fails rejects every caller
 * waiting on it, and the next batch starts afresh.
 *
 * Creates, renames and deletes nothing: it opens the directory (O_RDONLY |
 * O_DIRECTORY, a synchronous open of microseconds), fsyncs it on the thread
 * pool (the one call here that waits for the disk) and closes it.
 *
 * Crash windows: killed (or a power cut) before a batch's fsync completed,
 * its callers were told nothing; the renames they did may survive or be
 * forgotten by a power cut, which is exactly the window their callers
 * already treat as "not accepted" (the sender sends again: a duplicate at
 * worst, never a loss).
 */
import { closeSync, constants, fsync, openSync } from 'node:fs';

/** fsync(2) of an open descriptor, completing through `callback` (fs.fsync's shape). */
export type FsyncDescriptor = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void;

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface DirectoryState {
  /** An fsync of this directory is in flight. */
  running: boolean;
  /** Callers that asked while it ran: the next fsync is theirs. */
  next: Waiter[];
}

export interface DirectorySyncStats {
  /** Directory fsyncs started. */
  fsyncs: number;
  /** sync() calls: fsyncs / requests is how much grouping saved. */
  requests: number;
}

const DIRECTORY_FLAGS = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0);

export class DirectorySync {
  private readonly directories = new Map<string, DirectoryState>();
  readonly stats: DirectorySyncStats = { fsyncs: 0, requests: 0 };

  /** `fsyncDescriptor` is fs.fsync; a test passes a wrapper around it to hold or fail an fsync. */
  constructor(private readonly fsyncDescriptor: FsyncDescriptor = fsync) {}

  /** Resolves once an fsync of `dir` that started after this call has completed. */
  sync(dir: string): Promise<void> {
    this.stats.requests++;
    let state = this.directories.get(dir);
    if (state === undefined) {
      state = { running: false, next: [] };
      this.directories.set(dir, state);
    }
    const joined = state;
    return new Promise<void>((resolve, reject) => {
      joined.next.push({ resolve, reject });
      if (!joined.running) this.start(dir, joined);
    });
  }

  private start(dir: string, state: DirectoryState): void {
    const batch = state.next;
    state.next = [];
    let fd: number;
    try {
      fd = openSync(dir, DIRECTORY_FLAGS);
    } catch (error) {
      this.settle(dir, state, batch, error);
      return;
    }
    state.running = true;
    this.stats.fsyncs++;
    const done = (error: unknown): void => {
      try {
        closeSync(fd);
      } catch {
        // The fsync's outcome is what the callers wait for; a failed close of a read-only directory descriptor loses nothing.
      }
      state.running = false;
      this.settle(dir, state, batch, error ?? undefined);
    };
    try {
      this.fsyncDescriptor(fd, done);
    } catch (error) {
      // Thrown before the fsync was even queued: its callers must still hear of it, and the directory must not stay "running" for ever.
      done(error);
    }
  }

  private settle(dir: string, state: DirectoryState, batch: readonly Waiter[], error: unknown): void {
    for (const waiter of batch) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
    if (state.next.length > 0) this.start(dir, state);
    else if (!state.running) this.directories.delete(dir);
  }
}

/** The process's directory syncer: every switchboard and writer in a process shares its batches. */
export const directorySync = new DirectorySync();
