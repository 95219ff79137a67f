/**
 * The file operations every queue change is made of.
 *
 * writeNewFile: open a temp name with O_EXCL, write, fdatasync, close, rename
 * into place, fsync the directory. Killed before the rename: only a `.tmp`
 * file is left, which stale-temp cleanup removes; no partial final file is
 * ever visible. Killed after the rename but before the directory fsync: the
 * file exists for every process, and a power cut may forget it, which is why
 * the caller acknowledges only after this returns.
 *
 * replaceAndMove: give an existing file new content and a new name with one
 * file in existence at every moment. The new content is written to a temp
 * file beside the old one, fdatasynced and renamed over it; then the file is
 * renamed to its destination. Killed in between: the entry sits at its old
 * name with its new content, which every reader accepts. No directory fsync:
 * a rename lost in a power cut leaves the entry where it was, never nowhere.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface WriteOptions {
  /** fdatasync the file and fsync its directory. */
  fsync: boolean;
  /** Mode of new files, before the process umask. */
  mode: number;
}

export function tempNameFor(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * writev until every chunk is written, at `position` or appending: writev may
 * write less than asked (a signal, a nearly full disk), so carry on from where it stopped.
 */
export async function writeAll(handle: FileHandle, chunks: readonly Uint8Array[], position?: number): Promise<void> {
  let pending = chunks.filter((chunk) => chunk.length > 0);
  let at = position;
  while (pending.length > 0) {
    let { bytesWritten } = await handle.writev(pending, at);
    if (at !== undefined) at += bytesWritten;
    const rest: Uint8Array[] = [];
    for (const chunk of pending) {
      if (bytesWritten >= chunk.length) {
        bytesWritten -= chunk.length;
      } else {
        rest.push(chunk.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}

async function writeTemp(temp: string, chunks: readonly Uint8Array[], options: WriteOptions): Promise<void> {
  const handle = await open(temp, 'wx', options.mode);
  try {
    await writeAll(handle, chunks);
    if (options.fsync) await handle.datasync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Create `path` with `chunks` as its content, atomically and (optionally) durably. */
export async function writeNewFile(path: string, chunks: readonly Uint8Array[], options: WriteOptions): Promise<void> {
  const temp = tempNameFor(path);
  await writeTemp(temp, chunks, options);
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  if (options.fsync) await fsyncDirectory(dirname(path));
}

/** Rewrite `from` with `chunks`, then rename it to `to` (see the module comment). */
export async function replaceAndMove(from: string, to: string, chunks: readonly Uint8Array[], options: WriteOptions): Promise<void> {
  const temp = tempNameFor(from);
  await writeTemp(temp, chunks, options);
  try {
    await rename(temp, from);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await renameCreatingDir(from, to);
}

/** rename(2), creating the destination's directory when it does not exist yet. */
export async function renameCreatingDir(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(to), { recursive: true, mode: 0o770 });
    await rename(from, to);
  }
}
