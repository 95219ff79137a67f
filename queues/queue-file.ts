/**
 * Opening a queue file without trusting what sits at its name.
 *
 * An entry's name may hold anything an operator or a misconfigured writer
 * left there: a directory, a FIFO (whose open() or read() blocks for ever),
 * a symbolic link (to a loop, or to a file that is not ours to read), a
 * device, a file owned by root with mode 0600. Every read of a queue file goes
 * through here: lstat first, so no FIFO, device or socket is ever opened; then
 * open with O_NOFOLLOW and O_NONBLOCK, so a link swapped in meanwhile is
 * refused and nothing blocks; then fstat, so what was opened is the regular
 * file that was checked. Anything else is an UnreadableFileError whose reason
 * an operator can act on. ENOENT is passed through untouched: a file gone
 * since it was listed is the normal race with other processes.
 *
 * readQueueFile makes these calls synchronously (each takes microseconds on
 * a file just written; a thread-pool round trip costs more) and reads a file
 * of up to SYNC_READ_BYTES synchronously too; a larger one is read on the
 * thread pool.
 *
 * Reads only; creates, renames and deletes nothing.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, read, readSync, type Stats } from 'node:fs';
import { lstat, open, readlink, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { userInfo } from 'node:os';
import { UnreadableFileError } from './errors.js';

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Errors that belong to the one file (its type, its permissions, its blocks),
 * so setting it aside lets the rest of the queue flow. Anything else (EMFILE,
 * ENOMEM, ENOSPC) is the process's or the disk's trouble and would hit every
 * entry: it is rethrown as it is, never blamed on an entry.
 */
const FILE_ERRORS = new Set(['EACCES', 'EPERM', 'ELOOP', 'EISDIR', 'ENXIO', 'ENODEV', 'EIO', 'EFBIG', 'EOVERFLOW', 'ENOTDIR']);

/** Is `error` an errno of the file itself (see FILE_ERRORS), or our own verdict on it? */
export function isFileProblem(error: unknown): boolean {
  if (error instanceof UnreadableFileError) return true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && FILE_ERRORS.has(code);
}

/** The kind of a non-regular file, in an operator's words. */
function kindOf(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function ownerAndMode(stats: Stats): string {
  return `owned by uid ${stats.uid}${stats.uid === 0 ? ' (root)' : ''} gid ${stats.gid}, mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

function whoAmI(): string {
  const uid = process.getuid?.();
  if (uid === undefined) return 'this process';
  let name = '';
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry for our uid: the number says enough.
  }
  return `this process runs as uid ${uid}${name ? ` (${name})` : ''}`;
}

/** Why `path` cannot be read, for the log, `status` and `queue show`. */
async function explain(path: string, error: NodeJS.ErrnoException): Promise<string> {
  const stats = await lstat(path).catch(() => undefined);
  switch (error.code) {
    case 'ELOOP':
      if (stats?.isSymbolicLink()) {
        const target = await readlink(path).catch(() => '?');
        return `a symbolic link to ${JSON.stringify(target)}, not a queue file (queue files are never links)`;
      }
      return 'too many levels of symbolic links (ELOOP)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${error.code}): ${stats ? ownerAndMode(stats) : 'not even its owner can be read'}, and ${whoAmI()}; give it to the spool's user (chown)`;
    case 'EIO':
      return 'input/output error (EIO) reading it: the disk may be failing';
    default:
      return `${error.code ?? 'error'}: ${error.message}`;
  }
}

async function refuseNonRegular(path: string, stats: Stats): Promise<void> {
  const kind = kindOf(stats);
  if (kind === undefined) return;
  if (stats.isSymbolicLink()) {
    const target = await readlink(path).catch(() => '?');
    throw new UnreadableFileError(path, `a symbolic link to ${JSON.stringify(target)}, not a queue file (queue files are never links)`, 'ELOOP');
  }
  throw new UnreadableFileError(path, `${kind}, not a queue file`, stats.isDirectory() ? 'EISDIR' : 'ENOTREG');
}

async function asUnreadable(path: string, error: unknown): Promise<never> {
  if (error instanceof UnreadableFileError || !isFileProblem(error)) throw error;
  const errno = error as NodeJS.ErrnoException;
  throw new UnreadableFileError(path, await explain(path, errno), errno.code ?? 'EIO', { cause: error });
}

/**
 * Open a queue file for reading: a regular file, never through a link, never
 * blocking. Throws UnreadableFileError (see the module comment), ENOENT as is.
 */
export async function openQueueFile(path: string): Promise<FileHandle> {
  let handle: FileHandle | undefined;
  try {
    await refuseNonRegular(path, await lstat(path));
    handle = await open(path, OPEN_FLAGS);
    // Replaced between lstat and open (a FIFO put in its place): fstat tells what we really hold.
    await refuseNonRegular(path, await handle.stat());
    return handle;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    return asUnreadable(path, error);
  }
}

/** Files up to this size are read synchronously (see the module comment). */
export const SYNC_READ_BYTES = 64 * 1024;

const readAsync = promisify(read) as unknown as (fd: number, buffer: Buffer, offset: number, length: number, position: number | null) => Promise<{ bytesRead: number }>;

/** Read `fd` to its end, expecting about `size` bytes (a file may still change between fstat and read). */
async function readToEnd(fd: number, size: number): Promise<Buffer> {
  const small = size <= SYNC_READ_BYTES;
  let buffer = Buffer.allocUnsafe(Math.max(size, 1) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const grown = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const want = buffer.length - length;
    const bytesRead = small ? readSync(fd, buffer, length, want, null) : (await readAsync(fd, buffer, length, want, null)).bytesRead;
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
    // A small regular file reads short only at its end: no second read to be
    // told so (a queue file is never written once renamed into place). Not
    // for large ones: Linux caps one read at 2 GiB less a page.
    if (small && bytesRead < want) return buffer.subarray(0, length);
  }
}

/** A queue file's whole content (see openQueueFile for what is refused). */
export async function readQueueFile(path: string): Promise<Buffer> {
  let fd: number | undefined;
  try {
    const linkStats = lstatSync(path);
    if (!linkStats.isFile()) await refuseNonRegular(path, linkStats);
    fd = openSync(path, OPEN_FLAGS);
    // Replaced between lstat and open (a FIFO put in its place): fstat tells what we really hold.
    const stats = fstatSync(fd);
    if (!stats.isFile()) await refuseNonRegular(path, stats);
    return await readToEnd(fd, stats.size);
  } catch (error) {
    return await asUnreadable(path, error);
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // A read-only descriptor: its close cannot lose anything we read.
      }
    }
  }
}

/**
 * Why a directory of the spool could not be listed, or an entry in it renamed
 * (EACCES on the directory: a shard directory created by root): the
 * directory's owner and mode, which is what the operator has to fix.
 */
export async function explainDirectoryError(dir: string, error: NodeJS.ErrnoException): Promise<string> {
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    const stats = await lstat(dir).catch(() => undefined);
    return `permission denied (${error.code}) on directory ${dir}: ${stats ? ownerAndMode(stats) : 'its owner cannot be read'}, and ${whoAmI()}; give it to the spool's user (chown -R)`;
  }
  if (error.code === 'ENOTDIR') return `${dir} is not a directory`;
  return `${error.code ?? 'error'} on directory ${dir}: ${error.message}`;
}
