/**
 * The floor every queue benchmark is compared against: the least any queue
 * could do with node:fs/promises, the same syscalls on plain file names in
 * one directory.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writevSync } from 'node:fs';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The raw enqueue syscalls: open 'wx', writev, datasync, close, rename, directory open + fsync + close. */
export async function floorEnqueue(dir: string, name: string, chunks: readonly Uint8Array[], fsync: boolean): Promise<void> {
  const temp = join(dir, `${name}.tmp`);
  const handle = await open(temp, 'wx', 0o660);
  try {
    await handle.writev(chunks as Uint8Array[]);
    if (fsync) await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(dir, `${name}.pck`));
  if (fsync) {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}

/** List, then rename + readFile + unlink each: the floor of files() + dequeue() + finish(). */
export async function floorDrain(dir: string): Promise<number> {
  const names = await floorList(dir);
  for (const name of names) await floorTake(dir, name);
  return names.length;
}

/** The waiting names (`.pck`) in `dir`: the floor of files(). */
export async function floorList(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.pck'));
}

/** rename to `.bak`, readFile, unlink: the floor of dequeue() + finish(). */
export async function floorTake(dir: string, name: string): Promise<void> {
  const bak = join(dir, `${name.slice(0, -4)}.bak`);
  await rename(join(dir, name), bak);
  await readFile(bak);
  await unlink(bak);
}

/**
 * The same enqueue syscalls made synchronously (openSync 'wx', writevSync,
 * fdatasyncSync, closeSync, renameSync, directory openSync + fsyncSync +
 * closeSync): the system-call floor, with no thread-pool round trip at all.
 */
export function floorEnqueueSync(dir: string, name: string, chunks: readonly Uint8Array[], fsync: boolean): void {
  const temp = join(dir, `${name}.tmp`);
  const fd = openSync(temp, 'wx', 0o660);
  try {
    writevSync(fd, chunks as Uint8Array[]);
    if (fsync) fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dir, `${name}.pck`));
  if (fsync) {
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}

/** floorDrain's syscalls made synchronously. */
export function floorDrainSync(dir: string): number {
  const names = floorListSync(dir);
  for (const name of names) floorTakeSync(dir, name);
  return names.length;
}

/** floorList, synchronously. */
export function floorListSync(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.pck'));
}

/** floorTake, synchronously. */
export function floorTakeSync(dir: string, name: string): void {
  const bak = join(dir, `${name.slice(0, -4)}.bak`);
  renameSync(join(dir, name), bak);
  readFileSync(bak);
  unlinkSync(bak);
}
