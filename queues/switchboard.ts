/**
 * A switchboard: one slice of one queue directory.
 *
 * Files (`<root>/<queue>/<shard>/<id>.<state>`):
 * - `<id>.pck`  waiting. enqueue() creates it via writeNewFile (temp, fdatasync,
 *   rename, fsync of the directory); acknowledged only then. The directory
 *   fsync is shared with the other enqueues into the same shard directory
 *   in this process (group commit, directory-sync.ts): killed or powered off
 *   before it completed, none of them was acknowledged, and each entry is
 *   either there (a duplicate if its sender sends again) or not.
 * - `<id>.bak`  being processed. dequeue() renames `.pck` to `.bak` and reads it.
 *   Killed after that: the `.bak` stays, and the next recoverBackupFiles() of
 *   the slice's owner returns it to `.pck` with `restores` + 1, or to `bad`
 *   once `restores` reaches `maxRestores`.
 * - finish() unlinks the `.bak`. Killed before the unlink: the entry is
 *   recovered and processed again (the documented duplicate). A lost rename
 *   or unlink in a power cut has the same effect, so neither is fsynced.
 * - `<id>.psv` in `bad`: quarantined, with the reason and original queue in
 *   its control data; nothing consumes `bad`.
 * - `*.tmp`: a writer's temp file; removed by removeStaleTemps() once older
 *   than the configured age.
 * - `<id>.raw` in `bad`, beside a `<id>.psv` record: a `.pck` or `.bak` that
 *   could not be read at all (a directory, a FIFO, a link, no permission, an
 *   I/O error; see queue-file.ts), set aside by setAsideUnreadable(): first
 *   the record (a normal queue file with the reason, written durably), then
 *   one rename of whatever sat at the entry's name to `.raw`. Killed between
 *   the two: the record is in `bad` and the file still where it was; the next
 *   dequeue or recovery sets it aside again over the same record. When the
 *   rename fails the record is removed and the file left in place, reported
 *   (UnreadableEntryError with setAside false), and tried again later.
 *
 * Listing (scan, list, files, count) reads the shard directories and takes
 * everything from the names (entry-names.ts): no stat, no per-entry object
 * where only ids or counts are asked for. The renames of dequeue and release
 * and the reads of small entries are made synchronously (microseconds each;
 * durable-file.ts says why); finish()'s unlink goes to the thread pool: it
 * frees the file's blocks, which waits for the file system's journal when
 * other processes commit it (p50 0.3-2 ms, p99 17-76 ms measured beside
 * other fsyncing processes, where a rename's p99 was under 0.15 ms).
 *
 * Moves between queues (retry, shunt, bad, requeue) rewrite the entry in
 * place, recording the destination in control.movingTo, and then rename it
 * (replaceAndMove): at every moment the entry exists exactly once. Killed
 * between the two, the rewritten `.bak` is moved on by the next recovery. Only the slice's owner renames `.pck` to `.bak`, and only it
 * restores `.bak` files, which is why one runner process owns one slice.
 */
import { renameSync } from 'node:fs';
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { nowMicros, makeEntryId, isEntryId, parseEntryId, withTime, ENTRY_ID_PATTERN } from './entry-id.js';
import {
  CorruptEntryError,
  EntryNotFoundError,
  FileFormatError,
  InvalidQueueNameError,
  QueueOptionsError,
  UnreadableEntryError,
  UnreadableFileError,
} from './errors.js';
import { decodeEntry, encodeEntry, type DecodedEntry, type EntryControl } from './file-format.js';
import { mkdirDurably, renameCreatingDir, replaceAndMove, writeNewFile, type WriteOptions } from './durable-file.js';
import type { DirectorySync } from './directory-sync.js';
import type { JsonObject } from './json.js';
import { assertSlicing, shardOf, shardsOfSlice, sliceOf } from './slice.js';
import { SliceWatcher } from './slice-watcher.js';
import { entryNameMicros, entryNameOrder, ID_LENGTH, NAME_STATES, stateIndexOfEntryShape, stateIndexOfName, stateMask } from './entry-names.js';
import { explainDirectoryError, isFileProblem, readQueueFile } from './queue-file.js';
import { EntryIdListBuilder, type EntryIdList } from './entry-id-list.js';

export type EntryState = 'pck' | 'bak' | 'psv';
export const ENTRY_STATES: readonly EntryState[] = ['pck', 'bak', 'psv'];
export const BAD_QUEUE = 'bad';
const QUEUE_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export interface SwitchboardOptions {
  /** The spool's queue root: one directory per queue below it. */
  root: string;
  /** Queue name (`in`, `out`, ...): 1-32 of a-z, 0-9, '-', '_', starting with a letter. */
  name: string;
  /** Which slice this instance lists, dequeues and recovers. Default 0. */
  slice?: number;
  /** Power of two from 1 to 256. Default 1. */
  numSlices?: number;
  /** 'fsync' (default) makes enqueue durable before it resolves; 'none' is for tests and benchmarks. */
  durability?: 'fsync' | 'none';
  /** Mode of new queue files before the process umask. Default 0o660. */
  fileMode?: number;
  /** Recoveries after which a `.bak` goes to `bad` instead. Default 3. */
  maxRestores?: number;
  /**
   * Metadata key whose string value is mixed into each new entry's sha1 (and
   * so decides its slice with the payload and time): the application's
   * grouping key (switchyard passes its list id, runners/queue-names.ts).
   * Default: none (the empty string is mixed in).
   */
  hashKeyField?: string;
  /** How often a waiting consumer rescans even without events, in ms. Default 60 000. */
  rescanIntervalMs?: number;
  /** Who group-commits the directory fsyncs of enqueues; default the process's one, shared by every switchboard in it. */
  directorySync?: DirectorySync;
}

export interface DequeuedEntry extends DecodedEntry {
  id: string;
}

export interface EnqueueOptions {
  /** The time part of the name (microseconds); defaults to now. `retry` uses the due time. */
  micros?: bigint;
  /** Extra control fields to record. */
  control?: Partial<EntryControl>;
  /**
   * Create the entry file on the thread pool (the default) or, when false,
   * on the event loop: for a caller that knows nobody else is writing
   * (durable-file.ts, WriteOptions.openOffLoop).
   */
  openOffLoop?: boolean;
}

/** An entry about to be written (Switchboard.newEntry). */
export interface NewEntry {
  id: string;
  /** Where its `.pck` goes. */
  path: string;
  control: EntryControl;
  /** This switchboard's durability and file mode. */
  write: WriteOptions;
}

const NO_PAYLOAD = new Uint8Array(0);

export interface MoveOptions {
  reason?: string;
  /** New time part of the name (keeps the sha1, so the slice is unchanged). */
  micros?: bigint;
  /** Replace the caller's metadata. */
  metadata?: JsonObject;
  /**
   * Replace the message bytes (a pipeline step that rewrote the message hands
   * it on in the same atomic move, so no crash can leave both versions queued).
   */
  message?: Uint8Array;
  /** Extra control fields to record. */
  control?: Partial<EntryControl>;
  /**
   * The entry starts a new life in the target queue (a pipeline step, not a
   * detour): its restore count, original queue and reason are cleared.
   */
  forward?: boolean;
  /**
   * Awaited after the rewritten entry is written and fdatasynced, before it
   * replaces the `.bak` and moves (durable-file.ts replaceAndMove): a runner
   * whose side entries must be durable before the entry leaves overlaps
   * their fsyncs with this one. Rejected: the entry stays as it was and the
   * move rejects with its error.
   */
  after?: Promise<unknown>;
}

export interface FinishOptions {
  /** Quarantine in `bad` as `.psv` instead of deleting. */
  preserve?: boolean;
  reason?: string;
}

export interface RecoveryReport {
  restored: string[];
  quarantined: string[];
  /** Moves a crash interrupted between rewrite and rename, now completed (new ids). */
  moved: string[];
  /** `.bak` files that could not be read: set aside in `bad`, or left in place (see UnreadableEntryError). */
  unreadable: UnreadableEntryError[];
  /** Shard directories that could not be listed, and why: their entries wait until that is fixed. */
  unlistable: UnlistableDirectory[];
}

export interface UnlistableDirectory {
  path: string;
  reason: string;
}

/** What a tolerant listing found: the entries, and the shard directories it could not read. */
export interface SliceScan {
  entries: EntryListing[];
  unlistable: UnlistableDirectory[];
}

/** The state suffix of a set-aside file in `bad`: not an EntryState, so no listing, runner or purge takes it for an entry. */
export const SET_ASIDE_SUFFIX = 'raw';

/** Where an unreadable entry's file is kept once set aside (beside its `.psv` record in `bad`). */
export function setAsidePath(root: string, id: string): string {
  return join(root, BAD_QUEUE, shardOf(parseEntryId(id).sha1), `${id}.${SET_ASIDE_SUFFIX}`);
}

/** Where an entry is being moved; recorded in the rewrite so a crash before the rename can finish the move. */
export interface MoveTarget {
  queue: string;
  id: string;
  state: EntryState;
}

export function pendingMove(control: EntryControl, currentQueue: string): MoveTarget | undefined {
  const target = control.movingTo;
  if (typeof target !== 'object' || target === null || Array.isArray(target)) return undefined;
  const { queue, id, state } = target as Record<string, unknown>;
  if (typeof queue !== 'string' || typeof id !== 'string' || (state !== 'pck' && state !== 'psv' && state !== 'bak')) return undefined;
  if (queue === currentQueue || !QUEUE_NAME_PATTERN.test(queue) || !ENTRY_ID_PATTERN.test(id)) return undefined;
  return { queue, id, state };
}

export interface EntryListing {
  id: string;
  state: EntryState;
  path: string;
}

/**
 * A listed entry: id, state and path read from its file name when asked for.
 * Only the name is kept: a scan of 100,000 entries made an id string per
 * entry up front (its allocation and the collections it caused were most of
 * scan()'s time beyond readdir), though a rescan or recovery reads each id
 * once, if at all. The getters are on the prototype, so destructuring and
 * property reads see them as before.
 */
class Listing implements EntryListing {
  readonly #queueDir: string;
  readonly #name: string;

  constructor(queueDir: string, name: string) {
    this.#queueDir = queueDir;
    this.#name = name;
  }

  get id(): string {
    return this.#name.slice(0, ID_LENGTH);
  }

  get state(): EntryState {
    return NAME_STATES[stateIndexOfName(this.#name)] as EntryState;
  }

  get path(): string {
    return `${this.#queueDir}${sep}${this.#name.slice(SHA1_OFFSET, SHA1_OFFSET + 2)}${sep}${this.#name}`;
  }
}

/** Where the sha1 (and so the shard) starts in an entry id. */
const SHA1_OFFSET = 18;
const ENTRY_STATES_PCK: readonly EntryState[] = ['pck'];
/** readdirs of shard directories in flight at once (eachShard): twice libuv's default thread pool. */
const READDIRS_IN_FLIGHT = 8;

export function assertQueueName(name: string): void {
  if (!QUEUE_NAME_PATTERN.test(name)) throw new InvalidQueueNameError(name);
}

export function entryPath(root: string, queue: string, id: string, state: EntryState): string {
  return join(root, queue, shardOf(parseEntryId(id).sha1), `${id}.${state}`);
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class Switchboard {
  readonly root: string;
  readonly name: string;
  readonly slice: number;
  readonly numSlices: number;
  readonly maxRestores: number;
  private readonly write: WriteOptions;
  private readonly hashKeyField: string | undefined;
  private readonly rescanIntervalMs: number;
  private readonly shards: readonly string[];
  private readonly knownDirs = new Set<string>();
  /**
   * The control record of each entry this switchboard dequeued, as its
   * `.bak` holds it (resetRestores() keeps it so), until the entry is moved,
   * finished or released: a move that brings its own message and metadata
   * (a runner's forward) needs nothing else from the `.bak`, so does not
   * read it again. Used once: a move that failed reads the file next time.
   */
  private readonly dequeuedControl = new Map<string, EntryControl>();

  constructor(options: SwitchboardOptions) {
    assertQueueName(options.name);
    this.root = options.root;
    this.name = options.name;
    this.slice = options.slice ?? 0;
    this.numSlices = options.numSlices ?? 1;
    assertSlicing(this.slice, this.numSlices);
    this.maxRestores = options.maxRestores ?? 3;
    if (!Number.isInteger(this.maxRestores) || this.maxRestores < 1) {
      throw new QueueOptionsError(`maxRestores must be a positive integer, got ${options.maxRestores}`);
    }
    this.write = { fsync: (options.durability ?? 'fsync') === 'fsync', mode: options.fileMode ?? 0o660 };
    if (options.directorySync) this.write.directories = options.directorySync;
    this.hashKeyField = options.hashKeyField;
    this.rescanIntervalMs = options.rescanIntervalMs ?? 60_000;
    this.shards = shardsOfSlice(this.slice, this.numSlices);
  }

  get queueDir(): string {
    return join(this.root, this.name);
  }

  /** Does this slice own the entry? */
  owns(id: string): boolean {
    return sliceOf(parseEntryId(id).sha1, this.numSlices) === this.slice;
  }

  path(id: string, state: EntryState, queue = this.name): string {
    return entryPath(this.root, queue, id, state);
  }

  /** Durably add an entry to the queue (any slice); resolves with its id once it is safe. */
  async enqueue(message: Uint8Array | string, metadata: JsonObject = {}, options: EnqueueOptions = {}): Promise<string> {
    const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    const entry = await this.newEntry(metadata, options, bytes);
    const write = options.openOffLoop === undefined ? this.write : { ...this.write, openOffLoop: options.openOffLoop };
    await writeNewFile(entry.path, encodeEntry(metadata, entry.control, bytes), write);
    return entry.id;
  }

  /**
   * The name, path and control record of an entry about to be written, its
   * shard directory created: what enqueue() and a streamed enqueue
   * (stream-enqueue.ts, which has no payload yet to name it by) write.
   */
  async newEntry(metadata: JsonObject, options: EnqueueOptions = {}, payload: Uint8Array = NO_PAYLOAD): Promise<NewEntry> {
    const micros = options.micros ?? nowMicros();
    const hashKey = this.hashKeyField === undefined ? undefined : metadata[this.hashKeyField];
    const id = makeEntryId(payload, typeof hashKey === 'string' ? hashKey : '', micros);
    const control: EntryControl = { restores: 0, enqueuedAt: new Date().toISOString(), ...options.control };
    await this.ensureDir(join(this.queueDir, shardOf(parseEntryId(id).sha1)));
    return { id, path: this.path(id, 'pck'), control, write: this.write };
  }

  /**
   * Ids of this slice's waiting entries, oldest first. Throws when a shard
   * directory cannot be listed (see scan()). A hand-made name of an entry's
   * shape whose sha1 is not hex is among them (see scan()), and dequeue()
   * refuses it with InvalidEntryIdError.
   */
  async files(): Promise<string[]> {
    return this.sortedEntries(ENTRY_STATES_PCK, undefined, (name) => name.slice(0, ID_LENGTH));
  }

  /**
   * Ids of this slice's waiting entries, oldest first, and the shard
   * directories that could not be listed (as scan()): what a runner holds
   * while they wait, so kept compactly (entry-id-list.ts: 32 bytes an id,
   * outside the V8 heap), each shard's names parsed and dropped as its
   * readdir returns.
   */
  async waitingIds(): Promise<{ ids: EntryIdList; unlistable: UnlistableDirectory[] }> {
    const unlistable: UnlistableDirectory[] = [];
    const builder = new EntryIdListBuilder();
    const mask = stateMask(ENTRY_STATES_PCK);
    await this.eachShard(unlistable, (names) => {
      for (let i = 0; i < names.length; i++) builder.add(names[i] as string, mask);
    });
    return { ids: builder.sorted(), unlistable: unlistable.sort((a, b) => (a.path < b.path ? -1 : 1)) };
  }

  /** This slice's entries in the given states, oldest first. Throws when a shard directory cannot be listed (see scan()). */
  async list(states: readonly EntryState[] = ENTRY_STATES): Promise<EntryListing[]> {
    return (await this.scan(states, false)).entries;
  }

  /**
   * This slice's entries in the given states, oldest first, and the shard
   * directories that could not be listed (root's after a root `inject`, say):
   * a consumer lists the rest and reports those, instead of failing on all.
   * An entry is a name of an entry file's shape; its sha1 is not read (see
   * entry-names.ts), so a hand-made name of that shape with other
   * characters there is listed too, and whoever uses its id checks it
   * (isEntryId) and leaves the file alone: recovery, Spool.entries, purge,
   * the queue shape and the runners' waitingIds() do.
   */
  async scan(states: readonly EntryState[] = ENTRY_STATES, tolerant = true): Promise<SliceScan> {
    const unlistable: UnlistableDirectory[] = [];
    const queueDir = this.queueDir;
    const entries: EntryListing[] = await this.sortedEntries(states, tolerant ? unlistable : undefined, (name) => new Listing(queueDir, name));
    return { entries, unlistable: unlistable.sort((a, b) => (a.path < b.path ? -1 : 1)) };
  }

  /**
   * How many of this slice's entries are in each state, and the shard
   * directories that could not be listed: a listing without a sort or an
   * object per entry (`queue count`, `status`).
   */
  async count(): Promise<{ counts: Record<EntryState, number>; unlistable: UnlistableDirectory[] }> {
    const unlistable: UnlistableDirectory[] = [];
    const counts: Record<EntryState, number> = { pck: 0, bak: 0, psv: 0 };
    // By state index, summed into `counts` once: no lookup of a state's name per entry.
    const byState = [0, 0, 0];
    await this.eachShard(unlistable, (names) => {
      for (let i = 0; i < names.length; i++) {
        const state = stateIndexOfEntryShape(names[i] as string);
        if (state >= 0) (byState[state] as number)++;
      }
    });
    for (let state = 0; state < NAME_STATES.length; state++) counts[NAME_STATES[state] as EntryState] = byState[state] as number;
    return { counts, unlistable: unlistable.sort((a, b) => (a.path < b.path ? -1 : 1)) };
  }

  /**
   * `make(name)` for each of this slice's entry file names in `states`, in
   * name (time) order: names of an entry's shape (entry-names.ts; a
   * hand-made one whose sha1 is not hex among them, which whoever parses
   * its id skips).
   */
  private async sortedEntries<T>(states: readonly EntryState[], unlistable: UnlistableDirectory[] | undefined, make: (name: string) => T): Promise<T[]> {
    const mask = stateMask(states);
    // Each shard's names are read as its readdir returns, while the others'
    // are still in the thread pool: the parse, most of the work per name,
    // overlaps the listing instead of following it. Each readdir's array is
    // kept as it is, its times written into one array for all (doubled as
    // it fills, outside the V8 heap; -1 for a name not kept); then the kept
    // names are gathered once, and the results made straight from their
    // sorted order: each array of 100,000 more (a copy per shard, a sorted
    // copy) was more for V8's scavenges to copy while the names lived.
    const lists: (readonly string[])[] = [];
    let micros = new Float64Array(1024);
    let kept = 0;
    await this.eachShard(unlistable, (names) => {
      if (kept + names.length > micros.length) {
        const grown = new Float64Array(Math.max(micros.length * 2, kept + names.length));
        grown.set(micros.subarray(0, kept));
        micros = grown;
      }
      let keptHere = 0;
      for (let i = 0; i < names.length; i++) {
        const time = entryNameMicros(names[i] as string, mask);
        micros[kept + i] = time;
        if (time >= 0) keptHere++;
      }
      // Only the names in the states asked for are held until every shard is
      // read: recovery's scan of `.bak` files would otherwise keep every name
      // of a 100,000-entry backlog.
      if (keptHere === 0) return;
      if (keptHere === names.length) {
        lists.push(names);
      } else {
        const some = new Array<string>(keptHere);
        for (let i = 0, k = 0; i < names.length; i++) {
          const time = micros[kept + i] as number;
          if (time < 0) continue;
          some[k] = names[i] as string;
          micros[kept + k++] = time;
        }
        lists.push(some);
      }
      kept += keptHere;
    });
    const names = new Array<string>(kept);
    for (let list = 0, at = 0; list < lists.length; list++) {
      const shard = lists[list] as readonly string[];
      for (let i = 0; i < shard.length; i++) names[at++] = shard[i] as string;
    }
    const order = entryNameOrder(names, micros.subarray(0, kept));
    const made = new Array<T>(kept);
    for (let i = 0; i < kept; i++) made[i] = make(names[order[i] as number] as string);
    return made;
  }

  /**
   * Hand the names in each of this slice's shard directories to `take`. Only
   * the shard directories that exist (created on first use): `queue count`
   * and `status` scan every queue, and 256 readdirs of missing directories
   * per queue were most of their time. READDIRS_IN_FLIGHT at a time: one
   * after another, 256 readdirs cost 256 thread-pool round trips (about 10
   * ms); all 256 at once, their results came back in bursts, many shards'
   * names alive together, and V8 grew its young generation by some 20 MB
   * for a listing of 100,000 (RSS a runner kept); eight keep the thread pool
   * busy with at most eight shards' names alive. A directory that
   * cannot be listed goes into `unlistable` (with its reason) when given,
   * else its error is thrown.
   */
  private async eachShard(unlistable: UnlistableDirectory[] | undefined, take: (names: readonly string[]) => void): Promise<void> {
    const present = await this.presentShards();
    const shards = present === undefined ? this.shards : this.shards.filter((shard) => present.has(shard));
    let next = 0;
    const listShards = async (): Promise<void> => {
      for (let at = next++; at < shards.length; at = next++) {
        const dir = join(this.queueDir, shards[at] as string);
        let names: string[];
        try {
          names = await readdir(dir);
        } catch (error) {
          if (isMissing(error)) continue;
          if (!unlistable || !isFileProblem(error)) throw error;
          unlistable.push({ path: dir, reason: await explainDirectoryError(dir, error as NodeJS.ErrnoException) });
          continue;
        }
        take(names);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READDIRS_IN_FLIGHT, shards.length) }, listShards));
  }

  /**
   * The names in the queue directory (none when it does not exist yet); undefined when
   * it cannot be listed, and then every shard is tried, so each unlistable one is named.
   */
  private async presentShards(): Promise<Set<string> | undefined> {
    try {
      return new Set(await readdir(this.queueDir));
    } catch (error) {
      return isMissing(error) ? new Set() : undefined;
    }
  }

  /**
   * Claim a waiting entry (`.pck` to `.bak`) and read it. A corrupt file is
   * quarantined in `bad` and reported as CorruptEntryError; a file that cannot
   * be read at all (or claimed: its directory is not ours) is set aside or
   * left in place and reported as UnreadableEntryError; a file another process
   * took first is EntryNotFoundError. Whichever: go on to the next.
   */
  async dequeue(id: string): Promise<DequeuedEntry> {
    this.assertOwned(id);
    const pck = this.path(id, 'pck');
    const bak = this.path(id, 'bak');
    try {
      renameSync(pck, bak);
    } catch (error) {
      if (isMissing(error)) throw new EntryNotFoundError(this.name, id, 'waiting');
      if (!isFileProblem(error)) throw error;
      const why = await explainDirectoryError(dirname(pck), error as NodeJS.ErrnoException);
      throw new UnreadableEntryError(this.name, id, `cannot be claimed: ${why}`, false, pck, (error as NodeJS.ErrnoException).code);
    }
    const entry = await this.readOrQuarantine(id, bak);
    // Bounded: an entry a runner never settles (it died of a spool error) is not kept for ever.
    if (this.dequeuedControl.size >= 100_000) this.dequeuedControl.clear();
    this.dequeuedControl.set(id, structuredClone(entry.control));
    return { id, ...entry };
  }

  /** Done with a dequeued entry: delete it, or quarantine it in `bad` with a reason. */
  async finish(id: string, options: FinishOptions = {}): Promise<void> {
    this.assertOwned(id);
    this.dequeuedControl.delete(id);
    const bak = this.path(id, 'bak');
    if (options.preserve) {
      await this.quarantine(id, options.reason ?? 'preserved by request');
      return;
    }
    try {
      await unlink(bak);
    } catch (error) {
      if (isMissing(error)) throw new EntryNotFoundError(this.name, id, 'in-flight');
      throw error;
    }
  }

  /**
   * Move a dequeued entry (its `.bak`) to another queue as `.pck`, recording
   * where it came from. Moving it back to its original queue clears that
   * record. Returns the id in the target queue.
   */
  async moveTo(id: string, queue: string, options: MoveOptions = {}): Promise<string> {
    assertQueueName(queue);
    this.assertOwned(id);
    const control = this.dequeuedControl.get(id);
    this.dequeuedControl.delete(id);
    const decoded = control !== undefined && options.message !== undefined && options.metadata !== undefined ? { control, metadata: options.metadata, message: Buffer.from(options.message.buffer, options.message.byteOffset, options.message.byteLength) } : undefined;
    return moveEntry(this.root, this.name, id, 'bak', queue, 'pck', options, this.write, decoded);
  }

  /**
   * Give a dequeued entry back untouched (`.bak` to `.pck`, restore count
   * unchanged): for a runner that stops before it did anything irreversible.
   */
  async release(id: string): Promise<void> {
    this.assertOwned(id);
    this.dequeuedControl.delete(id);
    try {
      renameSync(this.path(id, 'bak'), this.path(id, 'pck'));
    } catch (error) {
      if (isMissing(error)) throw new EntryNotFoundError(this.name, id, 'in-flight');
      throw error;
    }
  }

  /**
   * A runner that made durable progress on a dequeued entry (the outgoing
   * runner's checkpoint journal grew) declares it is not poison: its `.bak`
   * is rewritten with `restores` 0, so crashes that each move the entry
   * forward never quarantine it, while one that crashes without progress
   * still is at `maxRestores`. The rewrite is replaceAndMove onto the same
   * name (temp file, fdatasync, rename over the `.bak`): killed before the
   * rename, the old `.bak` with its old count stands and a `.tmp` is left for
   * removeStaleTemps(); after it, the new count. Returns the rewritten entry.
   */
  async resetRestores(entry: DequeuedEntry): Promise<DequeuedEntry> {
    this.assertOwned(entry.id);
    if (entry.control.restores === 0) return entry;
    const control: EntryControl = { ...entry.control, restores: 0 };
    const bak = this.path(entry.id, 'bak');
    await replaceAndMove(bak, bak, encodeEntry(entry.metadata, control, entry.message), this.write);
    if (this.dequeuedControl.has(entry.id)) this.dequeuedControl.set(entry.id, structuredClone(control));
    return { ...entry, control };
  }

  /** Quarantine a dequeued entry in `bad` as `.psv`. */
  async quarantine(id: string, reason: string): Promise<string> {
    this.dequeuedControl.delete(id);
    return moveEntry(this.root, this.name, id, 'bak', BAD_QUEUE, 'psv', { reason }, this.write);
  }

  /**
   * Return this slice's `.bak` files to `.pck`, each with its restore count
   * incremented durably; one that reaches `maxRestores` goes to `bad`. A
   * `.bak` whose move to another queue was cut short after its rewrite
   * (control.movingTo names another queue) is moved on instead: it was
   * leaving, not crashing. Call once at start, before dequeuing.
   */
  async recoverBackupFiles(): Promise<RecoveryReport> {
    const { entries, unlistable } = await this.scan(['bak']);
    const report: RecoveryReport = { restored: [], quarantined: [], moved: [], unreadable: [], unlistable };
    for (const { id, path } of entries) {
      // A hand-made file of an entry's shape (scan()): not ours to restore or move.
      if (!isEntryId(id)) continue;
      let entry: DecodedEntry;
      let bytes: Buffer;
      try {
        bytes = await readQueueFile(path);
      } catch (error) {
        if (isMissing(error)) continue;
        if (!(error instanceof UnreadableFileError)) throw error;
        try {
          report.unreadable.push(await this.setAsideUnreadable(id, 'bak', error));
        } catch (moved) {
          if (!(moved instanceof EntryNotFoundError)) throw moved;
        }
        continue;
      }
      try {
        entry = decodeEntry(bytes);
      } catch (error) {
        if (!(error instanceof FileFormatError)) throw error;
        await this.quarantineCorrupt(id, path, error.message, bytes);
        report.quarantined.push(id);
        continue;
      }
      const move = pendingMove(entry.control, this.name);
      if (move) {
        await renameCreatingDir(path, entryPath(this.root, move.queue, move.id, move.state));
        report.moved.push(move.id);
        continue;
      }
      const restores = entry.control.restores + 1;
      if (restores >= this.maxRestores) {
        await moveEntry(this.root, this.name, id, 'bak', BAD_QUEUE, 'psv', {
          reason: `crashed ${restores} times while being processed`,
          control: { restores },
        }, this.write, entry);
        report.quarantined.push(id);
      } else {
        const control: EntryControl = { ...entry.control, restores };
        await replaceAndMove(path, this.path(id, 'pck'), encodeEntry(entry.metadata, control, entry.message), this.write);
        report.restored.push(id);
      }
    }
    return report;
  }

  /**
   * Set aside an entry whose file cannot be read (see the module comment):
   * the `.psv` record in `bad` with the reason, then the file renamed beside
   * it. Returns the UnreadableEntryError that reports it (setAside false when
   * the rename failed and the file was left in place); EntryNotFoundError when
   * the file was gone meanwhile.
   */
  async setAsideUnreadable(id: string, state: 'pck' | 'bak', problem: UnreadableFileError): Promise<UnreadableEntryError> {
    this.assertOwned(id);
    const from = this.path(id, state);
    const record = entryPath(this.root, BAD_QUEUE, id, 'psv');
    const at = new Date().toISOString();
    const control: EntryControl = {
      restores: 0,
      enqueuedAt: at,
      originalQueue: this.name,
      reason: `unreadable queue file: ${problem.reason}`,
      movedAt: at,
      setAside: { file: `${id}.${SET_ASIDE_SUFFIX}`, errno: problem.errno, state },
    };
    await mkdirDurably(dirname(record), this.write);
    await writeNewFile(record, encodeEntry({}, control, Buffer.alloc(0)), this.write);
    try {
      await rename(from, setAsidePath(this.root, id));
    } catch (error) {
      await unlink(record).catch(() => undefined);
      if (isMissing(error)) throw new EntryNotFoundError(this.name, id, state === 'pck' ? 'waiting' : 'in-flight');
      const why = await explainDirectoryError(dirname(from), error as NodeJS.ErrnoException);
      return new UnreadableEntryError(this.name, id, `${problem.reason}; moving it to bad failed: ${why}`, false, from, problem.errno);
    }
    return new UnreadableEntryError(this.name, id, problem.reason, true, undefined, problem.errno);
  }

  /** Remove writers' temp files in this slice older than `maxAgeMs`. Returns how many. */
  async removeStaleTemps(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const shard of this.shards) {
      const dir = join(this.queueDir, shard);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        // An unlistable directory is reported by scan(); its temp files can wait.
        if (isMissing(error) || isFileProblem(error)) continue;
        throw error;
      }
      for (const name of names) {
        if (!name.endsWith('.tmp')) continue;
        const path = join(dir, name);
        try {
          if (now - (await stat(path)).mtimeMs > maxAgeMs) {
            await unlink(path);
            removed++;
          }
        } catch (error) {
          // A temp file we may not remove (another user's) is garbage, not a reason to stop.
          if (!isMissing(error) && !isFileProblem(error)) throw error;
        }
      }
    }
    return removed;
  }

  /**
   * A watcher over this slice's shard directories. Create it before listing,
   * so that nothing enqueued between the listing and the wait is missed.
   */
  async watch(): Promise<SliceWatcher> {
    const dirs = this.shards.map((shard) => join(this.queueDir, shard));
    // One listing of the queue directory says which shards exist already (all
    // of them after a runner's first start): only the missing ones are made,
    // at once. A mkdir per shard, even one that finds it there, is a thread-pool
    // round trip each: 256 of them at every runner start.
    const present = await this.presentShards();
    for (const dir of dirs) if (present?.has(basename(dir))) this.knownDirs.add(dir);
    await Promise.all(dirs.map((dir) => this.ensureDir(dir)));
    return new SliceWatcher(dirs, this.rescanIntervalMs);
  }

  private assertOwned(id: string): void {
    if (!this.owns(id)) {
      throw new QueueOptionsError(`entry ${id} belongs to slice ${sliceOf(parseEntryId(id).sha1, this.numSlices)} of ${this.numSlices} of queue ${this.name}, not to slice ${this.slice}`);
    }
  }

  private async readOrQuarantine(id: string, path: string): Promise<DecodedEntry> {
    let bytes: Buffer;
    try {
      bytes = await readQueueFile(path);
    } catch (error) {
      if (!(error instanceof UnreadableFileError)) throw error;
      throw await this.setAsideUnreadable(id, 'bak', error);
    }
    try {
      return decodeEntry(bytes);
    } catch (error) {
      if (!(error instanceof FileFormatError)) throw error;
      await this.quarantineCorrupt(id, path, error.message, bytes);
      throw new CorruptEntryError(this.name, id, error.message);
    }
  }

  /** Wrap a corrupt file's bytes, untouched, as the message of a well-formed `.psv` in `bad`. */
  private async quarantineCorrupt(id: string, path: string, reason: string, raw: Buffer): Promise<void> {
    const control: EntryControl = {
      restores: 0,
      enqueuedAt: new Date().toISOString(),
      originalQueue: this.name,
      reason: `corrupt queue file: ${reason}`,
      movedAt: new Date().toISOString(),
      corrupt: true,
    };
    await replaceAndMove(path, entryPath(this.root, BAD_QUEUE, id, 'psv'), encodeEntry({}, control, raw), this.write);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await mkdirDurably(dir, this.write);
    this.knownDirs.add(dir);
  }
}

/**
 * Move an entry between queues and states by rewrite-then-rename (see
 * durable-file.ts), recording the move in its control data. Shared by the
 * switchboard (its `.bak` files) and the spool tools (`bad`, `shunt`).
 */
export async function moveEntry(
  root: string,
  fromQueue: string,
  id: string,
  fromState: EntryState,
  toQueue: string,
  toState: EntryState,
  options: MoveOptions,
  write: WriteOptions,
  decoded?: DecodedEntry,
): Promise<string> {
  // `after` is awaited only once the new content is written: a rejection before that (or a move that fails
  // first) must not be an unhandled one, which ends the process under Node's default.
  options.after?.catch(() => undefined);
  const from = entryPath(root, fromQueue, id, fromState);
  let entry = decoded;
  if (!entry) {
    try {
      entry = decodeEntry(await readQueueFile(from));
    } catch (error) {
      if (isMissing(error)) throw new EntryNotFoundError(fromQueue, id, fromState);
      throw error;
    }
  }
  const control: EntryControl = { ...entry.control, movedAt: new Date().toISOString(), ...options.control };
  if (options.forward) {
    control.restores = 0;
    delete control.originalQueue;
    delete control.reason;
  } else if (toQueue === entry.control.originalQueue) {
    delete control.originalQueue;
    delete control.reason;
  } else {
    control.originalQueue = entry.control.originalQueue ?? fromQueue;
    if (options.reason !== undefined) control.reason = options.reason;
  }
  const newId = options.micros === undefined ? id : withTime(id, options.micros);
  // Killed after the rewrite but before the rename, the entry sits at its old
  // name already saying where it was going: recovery and requeue finish the move.
  control.movingTo = { queue: toQueue, id: newId, state: toState };
  await replaceAndMove(from, entryPath(root, toQueue, newId, toState), encodeEntry(options.metadata ?? entry.metadata, control, options.message ?? entry.message), write, options.after);
  return newId;
}
