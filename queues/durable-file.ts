/**
 * The file operations every queue change is made of.
 *
 * writeNewFile: open a temp name with O_EXCL, write, fdatasync, close, rename
 * into place, fsync the directory. Killed before the rename: only a `.tmp`
 * file is left, which stale-temp cleanup removes; no partial final file is
 * ever visible. Killed after the rename but before the directory fsync: the
 * file exists for every process, and a power cut may forget it, which is why
 * the caller acknowledges only after this returns. The directory fsync is
 * group-committed (directory-sync.ts): concurrent writers into one directory
 * share one fsync, each resolved only once an fsync that started after its
 * rename has completed; a failed fsync rejects every writer waiting on it
 * (their files stay in place, unacknowledged: a retry may duplicate, nothing
 * is lost).
 *
 * replaceAndMove: give an existing file new content and a new name with one
 * file in existence at every moment. The new content is written to a temp
 * file beside the old one, fdatasynced and renamed over it; then the file is
 * renamed to its destination. Killed in between: the entry sits at its old
 * name with its new content, which every reader accepts. No directory fsync:
 * a rename lost in a power cut leaves the entry where it was, never nowhere.
 *
 * Which calls block the event loop: close, rename, the open of a directory
 * and the write of a small file (up to SYNC_WRITE_BYTES) are made
 * synchronously: each takes microseconds (p99 under 0.15 ms on a loaded
 * ext4, where a thread-pool round trip costs 50-100 µs). The calls that wait
 * for the disk (fdatasync, fsync), the writes of large files and, unless a
 * caller says otherwise (WriteOptions.openOffLoop false), the open that
 * creates the temp file go to the thread pool: creating an inode waits for
 * the file system's journal when other processes commit it (p50 0.2-1 ms,
 * p99 0.7-21 ms measured beside other fsyncing processes), too long to hold
 * the loop. The switchboard benchmark prints how long each call kept the
 * loop busy.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, open, openSync, renameSync, unlinkSync, write, writev, writevSync } from 'node:fs';
import { mkdir, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { directorySync, type DirectorySync } from './directory-sync.js';

export interface WriteOptions {
  /** fdatasync the file and fsync its directory. */
  fsync: boolean;
  /** Mode of new files, before the process umask. */
  mode: number;
  /** Who group-commits the directory fsyncs; default the process's one (directory-sync.ts). */
  directories?: DirectorySync;
  /**
   * Open (create) the temp file on the thread pool (the default) or, when
   * false, synchronously. Creating a file changes metadata blocks (the inode
   * bitmap and table, the directory) that another writer's fsync may have
   * under write-back just then: the open waits for that disk write (measured
   * 0.4-1 ms per file with four concurrent writers, p99 up to 21 ms beside
   * other fsyncing processes), and on the thread pool that wait holds one
   * thread, not the event loop. A caller that knows nobody else is writing
   * (the LMTP runner with one message committing) passes false: one
   * thread-pool round trip less.
   */
  openOffLoop?: boolean;
}

/** Files up to this size are written synchronously (a copy into the page cache, microseconds); larger ones on the thread pool. */
export const SYNC_WRITE_BYTES = 64 * 1024;

const fdatasyncAsync = promisify(fdatasync);
const openAsync = promisify(open) as (path: string, flags: string, mode: number) => Promise<number>;
// Their promisified forms resolve with { bytesWritten, buffer(s) }.
const writevAsync = promisify(writev) as unknown as (fd: number, buffers: readonly Uint8Array[]) => Promise<{ bytesWritten: number }>;
const writeAsync = promisify(write) as unknown as (fd: number, buffer: Uint8Array) => Promise<{ bytesWritten: number }>;

export function tempNameFor(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

/** What is left of `chunks` once `bytesWritten` of them are written. */
function remaining(chunks: readonly Uint8Array[], bytesWritten: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let written = bytesWritten;
  for (const chunk of chunks) {
    if (written >= chunk.length) {
      written -= chunk.length;
    } else {
      rest.push(written > 0 ? chunk.subarray(written) : chunk);
      written = 0;
    }
  }
  return rest;
}

/**
 * writev until every chunk is written, at `position` or appending: writev may
 * write less than asked (a signal, a nearly full disk), so carry on from where it stopped.
 */
export async function writeAll(handle: FileHandle, chunks: readonly Uint8Array[], position?: number): Promise<void> {
  let pending = chunks.filter((chunk) => chunk.length > 0);
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    if (at !== undefined) at += bytesWritten;
    pending = remaining(pending, bytesWritten);
  }
}

/** writeAll on a descriptor: synchronously when small (see SYNC_WRITE_BYTES), else on the thread pool. */
async function writeAllFd(fd: number, chunks: readonly Uint8Array[]): Promise<void> {
  let pending = chunks.filter((chunk) => chunk.length > 0);
  const total = pending.reduce((sum, chunk) => sum + chunk.length, 0);
  while (pending.length > 0) {
    let bytesWritten: number;
    if (total <= SYNC_WRITE_BYTES) bytesWritten = writevSync(fd, pending);
    else if (pending.length === 1) bytesWritten = (await writeAsync(fd, pending[0]!)).bytesWritten;
    else bytesWritten = (await writevAsync(fd, pending)).bytesWritten;
    pending = remaining(pending, bytesWritten);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closing a descriptor we are abandoning anyway: its error changes nothing.
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or not ours to remove: a stale `.tmp` is removed by removeStaleTemps().
  }
}

async function writeTemp(temp: string, chunks: readonly Uint8Array[], options: WriteOptions): Promise<void> {
  const fd = options.openOffLoop === false ? openSync(temp, 'wx', options.mode) : await openAsync(temp, 'wx', options.mode);
  try {
    await writeAllFd(fd, chunks);
    if (options.fsync) await fdatasyncAsync(fd);
  } catch (error) {
    closeQuietly(fd);
    unlinkQuietly(temp);
    throw error;
  }
  closeSync(fd);
}

/**
 * fsync `dir` (after renames into it): group-committed with every other
 * caller in this process syncing the same directory (directory-sync.ts).
 */
export function fsyncDirectory(dir: string, directories: DirectorySync = directorySync): Promise<void> {
  return directories.sync(dir);
}

/** Create `path` with `chunks` as its content, atomically and (optionally) durably. */
export async function writeNewFile(path: string, chunks: readonly Uint8Array[], options: WriteOptions): Promise<void> {
  const temp = tempNameFor(path);
  await writeTemp(temp, chunks, options);
  try {
    renameSync(temp, path);
  } catch (error) {
    unlinkQuietly(temp);
    throw error;
  }
  if (options.fsync) await fsyncDirectoryOrWithdraw(path, options.directories);
}

/**
 * fsync the directory of the just-renamed `path`; if that fails, unlink
 * `path` before rethrowing (see the module comment: the caller is about to
 * say "not accepted", so the file must not stay to be processed).
 */
export async function fsyncDirectoryOrWithdraw(path: string, directories?: DirectorySync): Promise<void> {
  try {
    await fsyncDirectory(dirname(path), directories);
  } catch (error) {
    unlinkQuietly(path);
    throw error;
  }
}

/**
 * Rewrite `from` with `chunks`, then rename it to `to` (see the module
 * comment). `after`, when given, is awaited once the new content is written
 * and fdatasynced and before anything is renamed: what must be durable before
 * the file moves (another file's write) overlaps its fsyncs with this one's.
 * Should it reject, the temp file is removed, `from` is untouched, and its
 * error is thrown. Killed while waiting for it: `from` is untouched and the
 * temp file is left for removeStaleTemps().
 */
export async function replaceAndMove(from: string, to: string, chunks: readonly Uint8Array[], options: WriteOptions, after?: Promise<unknown>): Promise<void> {
  // Awaited only once the temp file is written: a rejection before that must not be an unhandled one
  // (Node's default ends the process on those); the await below still throws it.
  after?.catch(() => undefined);
  const temp = tempNameFor(from);
  await writeTemp(temp, chunks, options);
  if (after !== undefined) {
    try {
      await after;
    } catch (error) {
      unlinkQuietly(temp);
      throw error;
    }
  }
  try {
    renameSync(temp, from);
  } catch (error) {
    unlinkQuietly(temp);
    throw error;
  }
  if (from !== to) await renameCreatingDir(from, to);
}

/** rename(2), creating the destination's directory (durably: mkdirDurably) when it does not exist yet. */
export async function renameCreatingDir(from: string, to: string): Promise<void> {
  try {
    renameSync(from, to);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdirDurably(dirname(to));
    await rename(from, to);
  }
}

/**
 * `mkdir -p` whose result survives a power cut: each directory that gained
 * an entry (the parent of the first directory created, and every created
 * directory above `dir`) is fsynced. A shard directory made for its first
 * entry would otherwise rely on the filesystem ordering the directory's
 * creation before the entry's fsyncs, which POSIX does not promise. Nothing
 * created (the usual case): no fsync. `fsync` false (durability "none"):
 * only the mkdir.
 */
export async function mkdirDurably(dir: string, options: { fsync?: boolean; directories?: DirectorySync } = {}): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o770 });
  if (first === undefined || options.fsync === false) return;
  const parents: string[] = [];
  for (let at = dirname(dir); ; at = dirname(at)) {
    parents.push(at);
    if (at === dirname(first) || at === dirname(at)) break;
  }
  await Promise.all(parents.map((parent) => fsyncDirectory(parent, options.directories)));
}
