/**
 * The spool as a whole: what operators' tools (the queue CLI, status) need
 * beyond one slice. Listing reads only each file's header and JSON, never the
 * message, so `queue list` stays cheap for 50 MB messages.
 *
 * Files touched: `move` renames a waiting `.pck` straight to its target (one
 * atomic rename; a runner that claimed it first wins and the move fails);
 * `requeue` and moves out of `bad` use moveEntry (rewrite, then rename);
 * `purge` unlinks. None of them touches a `.bak` a runner made: that belongs
 * to the runner processing it.
 *
 * `retry` has a runner: `requeue` and `flush` of a retry entry first claim
 * it (`.pck` to `.bak` in place, as the retry runner's dequeue does; whoever
 * renames first wins), then rewrite-and-rename it: `requeue` into its
 * original queue, `flush` back into `retry` under a name whose time part is
 * now (due at once; the sha1, hence the slice, unchanged). Killed after the
 * claim: the `.bak` is the retry runner's to recover at its next start (its
 * restore count + 1), still due at its old time; run the command again.
 * Killed after the rewrite: the same, or the entry already at its new name.
 *
 * `requeueAll` (the CLI's `queue requeue --all`/`--queue`, the HTTP API's
 * `POST /api/v1/queues/{queue}/requeue`) is one `requeue` per entry, so
 * killed midway the entries done are in their queues and the rest still
 * where they were; run it again. An entry it cannot requeue (corrupt, no
 * original queue) is reported and left in place, never dropped.
 *
 * An unreadable entry (queue-file.ts) is moved as it is, never rewritten:
 * into `bad` it is set aside (Switchboard.setAsideUnreadable: a `.psv` record
 * with the reason, then the file renamed to `.raw` beside it); out of `bad`
 * (move or requeue of such a record) the `.raw` is renamed to the target's
 * `.pck` first and the record unlinked second. Killed between the two: the
 * entry is back in its queue and a stale record is left in `bad`, which the
 * next requeue or move of that id removes.
 */
import { lstat, readdir, rename, rm, unlink } from 'node:fs/promises';
import { isEntryId, parseEntryId, tryParseEntryId } from './entry-id.js';
import { FileFormatError, QueueError, QueueOptionsError, UnreadableFileError } from './errors.js';
import { openQueueFile, readQueueFile } from './queue-file.js';
import { decodeEntry, FORMAT_MAGIC, FORMAT_VERSION, type EntryControl } from './file-format.js';
import { isJsonObject, type JsonObject } from './json.js';
import { sliceOf } from './slice.js';
import {
  assertQueueName,
  BAD_QUEUE,
  ENTRY_STATES,
  entryPath,
  moveEntry,
  pendingMove,
  setAsidePath,
  Switchboard,
  type EntryState,
} from './switchboard.js';
import { renameCreatingDir } from './durable-file.js';

export interface SpoolOptions {
  root: string;
  durability?: 'fsync' | 'none';
  fileMode?: number;
  /** Queues listed (queueNames, `queue count`) even before their directory exists; the application's own. Default: none. */
  standardQueues?: readonly string[];
  /** Passed to every Switchboard this spool opens (see SwitchboardOptions.hashKeyField). */
  hashKeyField?: string;
  /**
   * The queues `requeue` takes entries back from, to the queue each came
   * from: `bad`, and the application's queue of failed entries. Default: `bad` only.
   */
  requeueFrom?: readonly string[];
  /**
   * The application's queue of entries waiting to be tried again (switchyard's
   * `retry`): `requeue` takes entries from it at once, and `flush` makes its
   * entries due now. Default: none (both refuse).
   */
  retryQueue?: string;
}

export interface StateCounts {
  pck: number;
  bak: number;
  psv: number;
}

export interface EntryInfo {
  id: string;
  queue: string;
  state: EntryState;
  path: string;
  size: number;
  /** Time part of the id, in ms since the epoch. */
  time: number;
  /** Slice in a queue of `numSlices` slices. */
  slice: number;
  metadata?: JsonObject;
  control?: EntryControl;
  /** Set instead of metadata/control when the head cannot be decoded (or read: see `unreadable`). */
  error?: string;
  /** The file cannot be read at all (a directory, a FIFO, a link, no permission): `error` says why. */
  unreadable?: boolean;
  /** A `bad` record of a set-aside unreadable file: where that file is kept. */
  setAsideFile?: string;
}

/** Is this a `bad` record of an unreadable file set aside beside it? */
function isSetAsideRecord(control: EntryControl | undefined): boolean {
  const setAside = control?.setAside;
  return typeof setAside === 'object' && setAside !== null && !Array.isArray(setAside);
}

export class EntryBusyError extends QueueError {
  constructor(readonly queue: string, readonly id: string) {
    super('SY_QUEUE_ENTRY_BUSY', `entry ${id} in queue ${queue} is being processed (.bak); wait for its runner, or stop it first`);
  }
}

export class NotRequeueableError extends QueueError {
  constructor(readonly id: string, why: string) {
    super('SY_QUEUE_NOT_REQUEUEABLE', `entry ${id} cannot be requeued: ${why}`);
  }
}

export class UnknownEntryError extends QueueError {
  /** `where`: the queues it was looked for in, when not all, and the one it is in instead. */
  constructor(readonly id: string, where?: { queues: readonly string[]; foundIn: string }) {
    super('SY_QUEUE_ENTRY_UNKNOWN', where === undefined ? `no entry ${id} in any queue` : `no entry ${id} in ${orList(where.queues)} (it is in ${where.foundIn})`);
  }
}

/** A queue `requeue` does not take entries from (only SpoolOptions.requeueFrom and retryQueue). */
export class NotRequeueSourceError extends QueueError {
  constructor(readonly queue: string, sources: readonly string[]) {
    super('SY_QUEUE_REQUEUE_SOURCE', `entries are not requeued from ${queue}: only from ${orList(sources)} (\`queue move\` takes an entry anywhere)`);
  }
}

/** One entry requeueAll left where it was: its error's code and message. */
export interface RequeueSkip {
  id: string;
  code: string;
  reason: string;
}

/** One entry requeueAll sent back: where it was, where it went. */
export interface RequeueMove {
  id: string;
  from: string;
  to: string;
}

/** Where `move` sent an entry, and in what state it waits there (`psv` in bad). */
export interface EntryMove extends RequeueMove {
  state: EntryState;
}

export interface RequeueResult {
  requeued: string[];
  /** The same entries as `requeued`, each with the queue it left and the queue it went to. */
  moved: RequeueMove[];
  skipped: RequeueSkip[];
}

export interface RequeueAllOptions {
  /** The queues to take entries from, each a requeueFrom queue or the retryQueue. Default: the requeueFrom queues. */
  queues?: readonly string[];
  /** Only these entries (each must be in one of `queues`, else it is skipped). Default: every waiting or preserved entry of `queues`. */
  ids?: readonly string[];
  /** Called after each entry, done or skipped. */
  onProgress?: (done: number, total: number) => void;
}

/** `a`, `a or b`, `a, b or c`. */
function orList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? 'no queue') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

export class UnknownQueueError extends QueueError {
  constructor(readonly queue: string) {
    super('SY_QUEUE_UNKNOWN', `no queue named ${queue}`);
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Why an entry's head could not be read, in the operator's terms. */
function describeFailure(info: EntryInfo, error: unknown): void {
  if (error instanceof UnreadableFileError) {
    info.error = error.reason;
    info.unreadable = true;
  } else {
    info.error = (error as Error).message;
  }
}

/** Read a queue file's metadata without its message. */
export async function readEntryHead(path: string): Promise<{ metadata: JsonObject; control: EntryControl }> {
  const handle = await openQueueFile(path);
  try {
    const first = Buffer.alloc(128);
    const { bytesRead } = await handle.read(first, 0, first.length, 0);
    const newline = first.subarray(0, bytesRead).indexOf(0x0a);
    const header = newline < 0 ? [] : first.subarray(0, newline).toString('latin1').split(' ');
    if (header[0] !== FORMAT_MAGIC || header.length !== 4 || header[1] !== String(FORMAT_VERSION) || !/^\d+$/.test(header[2] ?? '') || !/^\d+$/.test(header[3] ?? '')) {
      // Not ours, or not a version we can read cheaply: let the full decoder say why.
      return decodeEntry(await readQueueFile(path));
    }
    const jsonLength = Number(header[2]);
    const expectedSize = newline + 1 + jsonLength + 1 + Number(header[3]);
    const { size } = await handle.stat();
    if (size !== expectedSize) {
      throw new FileFormatError(`${size < expectedSize ? 'truncated' : 'overlong'} file: ${size} bytes, header says ${expectedSize}`);
    }
    const json = Buffer.alloc(jsonLength);
    await handle.read(json, 0, jsonLength, newline + 1);
    const parsed: unknown = JSON.parse(json.toString('utf8'));
    if (!isJsonObject(parsed) || !isJsonObject(parsed.metadata) || !isJsonObject(parsed.control)) {
      throw new FileFormatError('metadata JSON lacks the metadata and control objects');
    }
    return { metadata: parsed.metadata, control: parsed.control as EntryControl };
  } finally {
    await handle.close();
  }
}

export class Spool {
  readonly root: string;
  private readonly durability: 'fsync' | 'none';
  private readonly fileMode: number;
  readonly standardQueues: readonly string[];
  private readonly hashKeyField: string | undefined;
  private readonly requeueFrom: readonly string[];
  private readonly retryQueue: string | undefined;

  constructor(options: SpoolOptions) {
    this.root = options.root;
    this.durability = options.durability ?? 'fsync';
    this.fileMode = options.fileMode ?? 0o660;
    this.standardQueues = [...(options.standardQueues ?? [])];
    for (const name of this.standardQueues) assertQueueName(name);
    this.hashKeyField = options.hashKeyField;
    this.requeueFrom = [...(options.requeueFrom ?? [BAD_QUEUE])];
    for (const name of this.requeueFrom) assertQueueName(name);
    if (options.retryQueue !== undefined) assertQueueName(options.retryQueue);
    this.retryQueue = options.retryQueue;
  }

  switchboard(name: string, slice = 0, numSlices = 1): Switchboard {
    return new Switchboard({
      root: this.root,
      name,
      slice,
      numSlices,
      durability: this.durability,
      fileMode: this.fileMode,
      ...(this.hashKeyField === undefined ? {} : { hashKeyField: this.hashKeyField }),
    });
  }

  /** The standard queues (SpoolOptions.standardQueues) plus every queue directory present, sorted. */
  async queueNames(): Promise<string[]> {
    const names = new Set<string>(this.standardQueues);
    try {
      for (const entry of await readdir(this.root, { withFileTypes: true })) {
        if (entry.isDirectory() && /^[a-z][a-z0-9_-]{0,31}$/.test(entry.name)) names.add(entry.name);
      }
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    return [...names].sort();
  }

  async assertKnownQueue(name: string): Promise<void> {
    assertQueueName(name);
    if (!(await this.queueNames()).includes(name)) throw new UnknownQueueError(name);
  }

  /**
   * A queue's entries by state. Shard directories that cannot be listed are
   * left out rather than failing the count (the master's `status` must
   * answer, and the runner of that slice names them in its detail).
   */
  async count(name: string): Promise<StateCounts> {
    const { counts } = await this.switchboard(name).count();
    return counts;
  }

  /** Every entry of a queue with its size, slice (in `numSlices`) and metadata. */
  async entries(name: string, numSlices = 1, states: readonly EntryState[] = ENTRY_STATES): Promise<EntryInfo[]> {
    const infos: EntryInfo[] = [];
    for (const { id, state, path } of await this.switchboard(name).list(states)) {
      const parsed = tryParseEntryId(id);
      if (!parsed) continue; // a hand-made file of an entry's shape (Switchboard.scan): not an entry
      const { micros, sha1 } = parsed;
      const info: EntryInfo = { id, queue: name, state, path, size: 0, time: Number(micros / 1000n), slice: sliceOf(sha1, numSlices) };
      try {
        info.size = (await lstat(path)).size;
        Object.assign(info, await readEntryHead(path));
      } catch (error) {
        if (isMissing(error)) continue; // finished while we looked
        describeFailure(info, error);
      }
      if (name === BAD_QUEUE && isSetAsideRecord(info.control)) info.setAsideFile = setAsidePath(this.root, id);
      infos.push(info);
    }
    return infos;
  }

  /** Find an entry by id in any queue and state. */
  async find(id: string): Promise<EntryInfo> {
    const { micros, sha1 } = parseEntryId(id);
    for (const queue of await this.queueNames()) {
      for (const state of ENTRY_STATES) {
        const path = entryPath(this.root, queue, id, state);
        try {
          // lstat: a link (to a loop, or anywhere) is found as itself, never followed.
          const size = (await lstat(path)).size;
          const info: EntryInfo = { id, queue, state, path, size, time: Number(micros / 1000n), slice: sliceOf(sha1, 1) };
          try {
            Object.assign(info, await readEntryHead(path));
          } catch (error) {
            if (isMissing(error)) throw error;
            describeFailure(info, error);
          }
          if (queue === BAD_QUEUE && isSetAsideRecord(info.control)) info.setAsideFile = setAsidePath(this.root, id);
          return info;
        } catch (error) {
          if (!isMissing(error)) throw error;
        }
      }
    }
    throw new UnknownEntryError(id);
  }

  /** Read an entry's whole file (UnreadableFileError when it cannot be: `info.unreadable`). */
  async read(id: string): Promise<{ info: EntryInfo; bytes: Buffer }> {
    const info = await this.find(id);
    return { info, bytes: await readQueueFile(info.path) };
  }

  /**
   * Move an entry to another queue, recording where it came from. A waiting
   * `.pck` is first claimed by renaming it to `.bak` in place, exactly as a
   * runner's dequeue does, so a runner cannot take it while it is rewritten;
   * killed after the claim, it is recovered by its slice's runner at the next
   * start. Returns where it went.
   */
  async move(id: string, toQueue: string): Promise<EntryMove> {
    assertQueueName(toQueue);
    const info = await this.find(id);
    if (info.state === 'bak') throw new EntryBusyError(info.queue, id);
    if (info.queue === toQueue) return { id, from: info.queue, to: toQueue, state: info.state };
    // Not a find() afterwards: a running runner may have taken the entry by then.
    const moved: EntryMove = { id, from: info.queue, to: toQueue, state: toQueue === BAD_QUEUE ? 'psv' : 'pck' };
    if (info.setAsideFile !== undefined) {
      await this.restoreSetAside(info, toQueue);
      return { ...moved, state: 'pck' };
    }
    if (info.unreadable) {
      await this.moveUnreadable(info, toQueue);
      return moved;
    }
    if ((info.error !== undefined || info.control?.corrupt === true) && toQueue !== BAD_QUEUE) {
      throw new NotRequeueableError(id, 'its queue file is corrupt; it can only stay in bad');
    }
    let fromState: EntryState = info.state;
    if (fromState === 'pck') {
      try {
        await rename(info.path, entryPath(this.root, info.queue, id, 'bak'));
      } catch (error) {
        if (isMissing(error)) throw new EntryBusyError(info.queue, id);
        throw error;
      }
      fromState = 'bak';
    }
    const toState: EntryState = toQueue === BAD_QUEUE ? 'psv' : 'pck';
    await moveEntry(this.root, info.queue, id, fromState, toQueue, toState, { reason: 'moved by operator' }, this.writeOptions());
    return moved;
  }

  /**
   * Send an entry from `bad` or another requeueFrom queue (switchyard's
   * `shunt`) back to the queue it came from, with its restore count reset
   * (Mailman's unshunt); from the retryQueue now, not when due (its attempts
   * and first failure are kept, so `retry.maximalQueueLifetime` still applies).
   * Returns where it went, not a fresh look at it: a running runner may have
   * taken it (and finished or failed it again) by the time this returns.
   */
  async requeue(id: string): Promise<RequeueMove> {
    const info = await this.find(id);
    if (this.retryQueue !== undefined && info.queue === this.retryQueue) return this.requeueFromRetry(info, this.retryQueue);
    if (!this.requeueFrom.includes(info.queue)) throw new NotRequeueableError(id, `it is in ${info.queue}, not in ${orList(this.requeueSources())}`);
    if (info.setAsideFile !== undefined) {
      const original = info.control?.originalQueue;
      if (typeof original !== 'string') throw new NotRequeueableError(id, 'no original queue is recorded; use `queue move`');
      assertQueueName(original);
      await this.restoreSetAside(info, original);
      return { id, from: info.queue, to: original };
    }
    if (info.error !== undefined || info.control?.corrupt === true) {
      throw new NotRequeueableError(id, 'its queue file was corrupt; inspect it with `queue show --raw`');
    }
    // A requeue cut short after its rewrite has already cleared originalQueue
    // but recorded where it was going.
    const target = info.control?.originalQueue ?? (info.control ? pendingMove(info.control, info.queue)?.queue : undefined);
    if (typeof target !== 'string') throw new NotRequeueableError(id, 'no original queue is recorded; use `queue move`');
    assertQueueName(target);
    await moveEntry(this.root, info.queue, id, info.state, target, 'pck', { control: { restores: 0, requeuedAt: new Date().toISOString() } }, this.writeOptions());
    // Not a find(): a running runner may have taken the entry (and finished it, or failed it again) already.
    return { id, from: info.queue, to: target };
  }

  private async requeueFromRetry(info: EntryInfo, retryQueue: string): Promise<RequeueMove> {
    if (info.state !== 'pck') throw new EntryBusyError(info.queue, info.id);
    if (info.error !== undefined) throw new NotRequeueableError(info.id, 'its queue file cannot be read; the retry runner sets it aside in bad');
    const target = info.control?.originalQueue;
    if (typeof target !== 'string') throw new NotRequeueableError(info.id, 'no original queue is recorded; use `queue move`');
    assertQueueName(target);
    await this.claim(info);
    await moveEntry(this.root, retryQueue, info.id, 'bak', target, 'pck', { control: { restores: 0, requeuedAt: new Date().toISOString() } }, this.writeOptions());
    return { id: info.id, from: retryQueue, to: target };
  }

  /**
   * `postqueue -f`: every waiting entry of `retry` (only those that failed in
   * `onlyFrom`, when given) is made due now, by a new name whose time part is
   * `now`; see the module comment. A running retry runner learns of the new
   * names from its file events and returns them to their queues at once.
   * Entries due already are counted, not renamed; one the retry runner took
   * meanwhile is being returned anyway.
   */
  async flush(onlyFrom?: string, now = Date.now()): Promise<{ due: string[]; skipped: { id: string; reason: string }[] }> {
    const retryQueue = this.retryQueue;
    if (retryQueue === undefined) throw new QueueOptionsError('flush needs the retryQueue option');
    const result = { due: [] as string[], skipped: [] as { id: string; reason: string }[] };
    for (const entry of await this.entries(retryQueue, 1, ['pck'])) {
      if (entry.error !== undefined) {
        result.skipped.push({ id: entry.id, reason: entry.error });
        continue;
      }
      if (onlyFrom !== undefined && entry.control?.originalQueue !== onlyFrom) continue;
      if (entry.time <= now) {
        result.due.push(entry.id);
        continue;
      }
      try {
        await this.claim(entry);
      } catch (error) {
        if (!(error instanceof EntryBusyError)) throw error;
        result.due.push(entry.id);
        continue;
      }
      const micros = BigInt(now) * 1000n;
      const newId = await moveEntry(this.root, retryQueue, entry.id, 'bak', retryQueue, 'pck', { micros, control: { dueAt: new Date(now).toISOString(), flushedAt: new Date(now).toISOString() } }, this.writeOptions());
      result.due.push(newId);
    }
    return result;
  }

  /** Claim a waiting entry (`.pck` to `.bak` in place) so no runner takes it while it is rewritten; EntryBusyError if one did. */
  private async claim(info: EntryInfo): Promise<void> {
    try {
      await rename(info.path, entryPath(this.root, info.queue, info.id, 'bak'));
    } catch (error) {
      if (isMissing(error)) throw new EntryBusyError(info.queue, info.id);
      throw error;
    }
  }

  /** The queues `requeue` takes entries from: the requeueFrom queues (`bad`, `shunt`), then the retryQueue. */
  requeueSources(): string[] {
    return this.retryQueue === undefined ? [...this.requeueFrom] : [...this.requeueFrom, this.retryQueue];
  }

  /**
   * `requeue` for many entries: every waiting or preserved entry of `queues`
   * (default the requeueFrom queues, `bad` and `shunt`: the retryQueue only
   * when named, as its runner returns its entries when due anyway), or only
   * `ids` of them. Each entry is one `requeue` (see its crash windows); one
   * that cannot be requeued (corrupt, no original queue recorded, taken by a
   * runner meanwhile, not in `queues`) is skipped with its error's code and
   * message and left exactly where it was. Before anything is done, a queue
   * that is no requeue source is NotRequeueSourceError (UnknownQueueError
   * when the spool has no such queue).
   */
  async requeueAll(options: RequeueAllOptions = {}): Promise<RequeueResult> {
    const sources = this.requeueSources();
    const queues = [...new Set(options.queues ?? this.requeueFrom)];
    for (const queue of queues) {
      if (sources.includes(queue)) continue;
      await this.assertKnownQueue(queue);
      throw new NotRequeueSourceError(queue, sources);
    }
    const named = options.ids !== undefined;
    const candidates = named
      ? [...new Set(options.ids)]
      : (await Promise.all(queues.map((queue) => this.entries(queue)))).flat().filter((e) => e.state !== 'bak').map((e) => e.id);
    const result: RequeueResult = { requeued: [], moved: [], skipped: [] };
    for (const [index, id] of candidates.entries()) {
      try {
        if (named) {
          const info = await this.find(id);
          if (!queues.includes(info.queue)) throw new UnknownEntryError(id, { queues, foundIn: info.queue });
        }
        result.moved.push(await this.requeue(id));
        result.requeued.push(id);
      } catch (error) {
        if (!(error instanceof QueueError)) throw error;
        result.skipped.push({ id, code: error.code, reason: error.message });
      }
      options.onProgress?.(index + 1, candidates.length);
    }
    return result;
  }

  /** Delete a queue's waiting and preserved entries last modified more than `olderThanMs` ago. */
  async purge(name: string, olderThanMs: number, now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    for (const { id, path } of await this.switchboard(name).list(['pck', 'psv'])) {
      if (!isEntryId(id)) continue; // a hand-made file of an entry's shape: not ours to delete
      try {
        const stats = await lstat(path);
        if (now - stats.mtimeMs >= olderThanMs) {
          // A set-aside file goes with its record, the file first: never a `.raw` nobody lists.
          if (name === BAD_QUEUE) await rm(setAsidePath(this.root, id), { recursive: true, force: true });
          // Whatever sits at an entry's name (a directory, a FIFO, a link) goes: rm never follows a link.
          if (stats.isDirectory()) await rm(path, { recursive: true, force: true });
          else await unlink(path);
          removed.push(id);
        }
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    return removed;
  }

  /**
   * Out of `bad`: the set-aside file back to a queue as `.pck`, then its
   * record removed (see the module comment). A record whose file is gone
   * (a restore cut short after the rename) is only removed.
   */
  private async restoreSetAside(info: EntryInfo, toQueue: string): Promise<void> {
    const target = entryPath(this.root, toQueue, info.id, 'pck');
    try {
      await renameCreatingDir(info.setAsideFile!, target);
    } catch (error) {
      if (!isMissing(error)) throw error;
      await unlink(info.path).catch((e: unknown) => {
        if (!isMissing(e)) throw e;
      });
      throw new NotRequeueableError(info.id, `its set-aside file ${info.setAsideFile} is gone (restored already?); its record in bad was removed`);
    }
    await unlink(info.path).catch((e: unknown) => {
      if (!isMissing(e)) throw e;
    });
  }

  /**
   * A waiting entry that cannot be read: claimed (`.pck` to `.bak`, as a
   * runner would) so no runner takes it meanwhile, then set aside in `bad`,
   * or renamed unchanged into another queue (it cannot be rewritten).
   */
  private async moveUnreadable(info: EntryInfo, toQueue: string): Promise<void> {
    const bak = entryPath(this.root, info.queue, info.id, 'bak');
    try {
      await rename(info.path, bak);
    } catch (error) {
      if (isMissing(error)) throw new EntryBusyError(info.queue, info.id);
      throw error;
    }
    if (toQueue === BAD_QUEUE) {
      let problem: UnreadableFileError;
      try {
        await readQueueFile(bak);
        // Readable after all (fixed meanwhile): an ordinary move.
        await moveEntry(this.root, info.queue, info.id, 'bak', toQueue, 'psv', { reason: 'moved by operator' }, this.writeOptions());
        return;
      } catch (error) {
        if (!(error instanceof UnreadableFileError)) throw error;
        problem = error;
      }
      const outcome = await this.switchboard(info.queue).setAsideUnreadable(info.id, 'bak', problem);
      if (!outcome.setAside) {
        await rename(bak, info.path).catch(() => undefined);
        throw new NotRequeueableError(info.id, outcome.reason);
      }
    } else {
      await renameCreatingDir(bak, entryPath(this.root, toQueue, info.id, 'pck'));
    }
  }

  private writeOptions() {
    return { fsync: this.durability === 'fsync', mode: this.fileMode };
  }
}

