/**
 * One master per spool: `<home>/master.lock` holds the LockInfo (host, pid,
 * start time, runner pids) of the master that owns the home directory.
 *
 * Taking it: write our LockInfo to `master.lock.tmp-<pid>-<n>`, link() it to
 * `master.lock` (atomic create-if-absent, also on NFS), unlink the temp.
 * If a lock exists it is judged: a live master on this host wins
 * (MasterRunningError); another host's lock needs `force` (ForeignLockError);
 * a dead pid, a pid the kernel gave to an unrelated program, a corrupt file,
 * or a forced foreign lock is stale.
 *
 * Taking over a stale lock is serialized by a second lock,
 * `master.lock.takeover` (same link() dance, our pid inside), so that of
 * several masters starting at once exactly one removes the stale lock; the
 * others find the winner's live lock when they retry. Holding it, the taker
 * renames the stale lock to `master.lock.stale-<pid>` and re-reads it: if it
 * is not the content judged stale (a taker finished in between), it is renamed
 * back; otherwise it is unlinked, the runners it lists that still live are
 * killed (their entries are recovered by the new runners), and link() is
 * retried.
 *
 * update() rewrites the lock by temp + rename, so a reader sees the old or
 * the new content, never half. release() unlinks it if it is still ours.
 *
 * Killed between steps:
 * - after writing a temp, before link: a `.tmp-<pid>-<n>` is left, removed
 *   by the next master to take the lock;
 * - holding the lock: it names a dead pid and is taken over as stale;
 * - holding `master.lock.takeover`: it names a dead pid; the next taker
 *   removes it the same way (rename aside, check, unlink). Only then can a
 *   race remain: takers starting together may both remove it;
 * - after renaming a stale lock aside: `master.lock` is absent, so the next
 *   start links at once; it finds the `.stale-<pid>` of the dead taker and
 *   kills the runners that file still lists before removing it;
 * - during update: a `.tmp-*` is left (as above) and the lock holds the
 *   previous runner pids, which is what a takeover then kills.
 */
import { link, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ForeignLockError, LockBusyError, MasterRunningError } from './errors.js';
import { commandLine, isAlive, killAndWait, looksLikeMaster, looksLikeRunner } from './proc.js';
import type { LockInfo } from './protocol.js';

export { ForeignLockError, LockBusyError, MasterRunningError } from './errors.js';

/** Another taker holds the takeover lock for milliseconds, or seconds while it kills orphans; past this something is wrong. */
const TAKEOVER_WAIT_MS = 20_000;
const TAKEOVER_RETRY_MS = 20;
/** A takeover lock from another host cannot be checked by pid: after this long it is presumed abandoned. */
const FOREIGN_TAKEOVER_MAX_AGE_MS = 60_000;

/** Lock paths this process holds: a second acquire from the same pid must not judge its own lock stale. */
const held = new Set<string>();
let tempCounter = 0;

export interface AcquireOptions {
  /** Take over a lock written by a master on another host. */
  force: boolean;
  log?: (message: string) => void;
}

export interface MasterLock {
  readonly path: string;
  readonly info: LockInfo;
  /** Record the current runner pids, so whoever takes over a stale lock can stop them. */
  update(runners: number[]): Promise<void>;
  /** Remove the lock if it is still ours; later calls do nothing. */
  release(): Promise<void>;
}

/**
 * What a lock's holder is, seen from this host:
 * - `alive`: a live process on this host that looks like a master;
 * - `dead`: no such process (or a zombie);
 * - `reused`: the pid lives, but its command line is not a master's;
 * - `foreign`: another host; cannot be checked from here.
 */
export type HolderState = 'alive' | 'dead' | 'reused' | 'foreign';

export function holderState(info: LockInfo, host: string = hostname()): HolderState {
  if (info.host !== host) return 'foreign';
  if (!isAlive(info.pid)) return 'dead';
  const argv = commandLine(info.pid);
  if (argv !== undefined && !looksLikeMaster(argv)) return 'reused';
  return 'alive';
}

/** The lock's content; undefined if there is none or it is not a LockInfo. */
export async function readMasterLock(lockPath: string): Promise<LockInfo | undefined> {
  const raw = await readRaw(lockPath);
  return raw === undefined ? undefined : parseLockInfo(raw);
}

export async function acquireMasterLock(lockPath: string, options: AcquireOptions): Promise<MasterLock> {
  const log = options.log ?? (() => undefined);
  const home = dirname(lockPath);
  const info: LockInfo = { host: hostname(), pid: process.pid, startedAt: new Date().toISOString(), runners: [] };
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    if (await createIfAbsent(lockPath, serialize(info))) {
      held.add(lockPath);
      await sweepLeftovers(lockPath, log);
      return new HeldLock(lockPath, info);
    }
    const raw = await readRaw(lockPath);
    // Released between our link and our read: simply try again.
    if (raw === undefined) continue;
    const holder = parseLockInfo(raw);
    let reason: string;
    if (holder === undefined) {
      reason = `${lockPath} is corrupt (${raw.trim().length === 0 ? 'empty' : 'not a lock record'}); taking it over as stale`;
    } else if (holder.pid === process.pid && holder.host === info.host) {
      if (held.has(lockPath)) throw new MasterRunningError(home, holder);
      // Our own pid, yet not held by us: an earlier life of this pid (containers restart with the same pids).
      reason = staleReason(lockPath, holder, 'dead');
    } else {
      const state = holderState(holder, info.host);
      if (state === 'alive') throw new MasterRunningError(home, holder);
      if (state === 'foreign' && !options.force) throw new ForeignLockError(home, holder);
      reason = staleReason(lockPath, holder, state);
    }
    const takeover = await holdTakeoverLock(`${lockPath}.takeover`, log);
    if (takeover === undefined) {
      if (Date.now() > deadline) throw new LockBusyError(lockPath, attempt);
      await delay(TAKEOVER_RETRY_MS);
      continue;
    }
    try {
      if (await removeIfUnchanged(lockPath, raw)) {
        log(reason);
        // Runner pids of another host mean nothing here.
        if (holder !== undefined && holder.host === info.host) await killOrphans(holder.runners, log);
      }
    } finally {
      await takeover.release();
    }
  }
}

class HeldLock implements MasterLock {
  private current: LockInfo;
  /** Updates run one after another, so an older runner list never overwrites a newer one. */
  private queue: Promise<void> = Promise.resolve();
  private released = false;

  constructor(readonly path: string, info: LockInfo) {
    this.current = info;
  }

  get info(): LockInfo {
    return this.current;
  }

  update(runners: number[]): Promise<void> {
    const next = this.queue.then(async () => {
      if (this.released) return;
      const info = { ...this.current, runners: [...runners] };
      await replace(this.path, serialize(info));
      this.current = info;
    });
    // A failed update must not block later ones; the caller sees its own failure.
    this.queue = next.catch(() => undefined);
    return next;
  }

  async release(): Promise<void> {
    if (this.released) return;
    await this.queue;
    this.released = true;
    held.delete(this.path);
    const onDisk = await readMasterLock(this.path);
    // After a forced takeover from another host the file is someone else's: leave it.
    if (onDisk && onDisk.host === this.current.host && onDisk.pid === this.current.pid && onDisk.startedAt === this.current.startedAt) {
      await unlinkIfPresent(this.path);
    }
  }
}

function staleReason(lockPath: string, holder: LockInfo, state: HolderState): string {
  const who = `pid ${holder.pid} on host ${holder.host} (since ${holder.startedAt})`;
  if (state === 'foreign') return `${lockPath} belonged to ${who}; taken over because of --force`;
  if (state === 'reused') return `${lockPath} named ${who}, but that pid now runs something else (${(commandLine(holder.pid) ?? []).join(' ')}); stale lock taken over`;
  return `${lockPath} named ${who}, which is gone; stale lock taken over`;
}

/**
 * Hold `master.lock.takeover` while removing a stale lock; undefined while
 * another live taker holds it. A takeover lock left by a dead taker is
 * removed here, and the caller retries.
 */
async function holdTakeoverLock(path: string, log: (message: string) => void): Promise<{ release(): Promise<void> } | undefined> {
  const mine = serialize({ host: hostname(), pid: process.pid, startedAt: new Date().toISOString(), runners: [] });
  if (await createIfAbsent(path, mine)) {
    return {
      release: async () => {
        if ((await readRaw(path)) === mine) await unlinkIfPresent(path);
      },
    };
  }
  const raw = await readRaw(path);
  if (raw === undefined) return undefined;
  const taker = parseLockInfo(raw);
  if (taker !== undefined && !(await takerIsGone(path, taker))) return undefined;
  if (await removeIfUnchanged(path, raw)) log(`removed ${path}, left by a master that died while taking over the lock`);
  return undefined;
}

async function takerIsGone(path: string, taker: LockInfo): Promise<boolean> {
  if (taker.host === hostname()) return !isAlive(taker.pid);
  try {
    return Date.now() - (await stat(path)).mtimeMs > FOREIGN_TAKEOVER_MAX_AGE_MS;
  } catch {
    return false;
  }
}

/**
 * Remove `path` if it still holds `judged`. Renaming it aside first makes the
 * check and the removal one step: if someone replaced the file after we read
 * it, we moved their file, see it, and put it back.
 */
async function removeIfUnchanged(path: string, judged: string): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if ((await readRaw(aside)) !== judged) {
    await rename(aside, path);
    return false;
  }
  await unlink(aside);
  return true;
}

/** Kill the listed pids that are still runner processes (not pids since reused by something else). */
async function killOrphans(pids: readonly number[], log: (message: string) => void): Promise<void> {
  const orphans = pids.filter((pid) => pid !== process.pid && isAlive(pid) && looksLikeRunner(commandLine(pid) ?? []));
  if (orphans.length === 0) return;
  log(`killing ${orphans.length} runner process(es) left by the previous master: ${orphans.join(', ')} (their entries will be recovered)`);
  const survivors = await killAndWait(orphans);
  if (survivors.length > 0) log(`runner process(es) ${survivors.join(', ')} did not die after SIGKILL; they may still hold entries`);
}

/**
 * Remove what crashed masters left beside the lock: temp files, and stale
 * locks set aside but not finished with, whose runners may still live.
 */
async function sweepLeftovers(lockPath: string, log: (message: string) => void): Promise<void> {
  const dir = dirname(lockPath);
  const pattern = new RegExp(`^${escapeRegExp(basename(lockPath))}(\\.takeover)?\\.(tmp|stale)-(\\d+)(?:-\\d+)?$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match) continue;
    const pid = Number(match[3]);
    if (pid === process.pid || isAlive(pid)) continue;
    const path = join(dir, name);
    if (match[1] === undefined && match[2] === 'stale') {
      const info = parseLockInfo((await readRaw(path)) ?? '');
      if (info !== undefined && info.host === hostname()) await killOrphans(info.runners, log);
      log(`removed ${path}, left by a master that died while taking over the lock`);
    }
    await unlinkIfPresent(path);
  }
}

/** link() fails with EEXIST rather than replacing: the atomic create-if-absent. */
async function createIfAbsent(path: string, content: string): Promise<boolean> {
  const temp = tempPath(path);
  await writeFile(temp, content);
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlinkIfPresent(temp);
  }
}

async function replace(path: string, content: string): Promise<void> {
  const temp = tempPath(path);
  await writeFile(temp, content);
  try {
    await rename(temp, path);
  } catch (error) {
    await unlinkIfPresent(temp);
    throw error;
  }
}

function tempPath(path: string): string {
  tempCounter += 1;
  return `${path}.tmp-${process.pid}-${tempCounter}`;
}

async function readRaw(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function serialize(info: LockInfo): string {
  return `${JSON.stringify(info)}\n`;
}

function parseLockInfo(raw: string): LockInfo | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { host, pid, startedAt, runners } = value as Record<string, unknown>;
  if (typeof host !== 'string' || typeof startedAt !== 'string') return undefined;
  if (!isPid(pid) || !Array.isArray(runners) || !runners.every(isPid)) return undefined;
  return { host, pid, startedAt, runners };
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
