/**
 * The runner base class: one process's loop over one slice of one queue.
 *
 * Start: recover the slice's `.bak` files (Switchboard.recoverBackupFiles),
 * remove stale temp files, watch the slice's directories, list it once.
 * Then: take the oldest waiting id, dequeue it (`.pck` to `.bak`), call
 * process(), and settle the entry by the outcome:
 *   returned          finish(): the `.bak` is unlinked;
 *   ctx.forward(q)    the `.bak` was rewritten and renamed into q: nothing left;
 *   err.temporary     moved to `retry`, its name's time part the due time
 *                     (isTemporary: a TemporaryFailure, a busy store, ...);
 *   any other error   moved to `shunt` with the error's name, message, stack;
 *                     either way with the error's `metadata` instead of the
 *                     entry's own when a RunnerError carries one.
 * Killed at any point: the `.bak` stays and the next start recovers it (the
 * entry runs again; its restore count bounds how often). Stopped gracefully:
 * no new entry is taken and the ones in flight finish; an entry whose
 * process() gives up because stop() was forced (abort()) is released back to
 * `.pck` unchanged, never shunted, so a half-done entry is not treated as a
 * failure.
 *
 * Waiting is event-driven: file events feed an in-memory heap of ids, so an
 * idle runner sleeps in epoll and a busy one does not list its directories
 * per entry. A slow periodic full listing covers lost events.
 *
 * A queue file that cannot be read at all (a directory, a FIFO, a link, no
 * permission, EIO) never stops the slice: the switchboard sets it aside in
 * `bad` (or leaves it where it is when even that fails, and it is tried again
 * at each full listing), the runner logs it at error level, names it in
 * statusDetail() and goes on with the rest; so does a shard directory it
 * cannot list. Only a failure of the spool as a whole (a write refused, a
 * full disk) still ends the process for the master to restart.
 *
 * This class knows nothing of processes or supervision: it emits events
 * (`starting` with what it is doing before it is ready, `ready`, `entry-start`, `entry-end`, `progress`, `status` when what
 * statusDetail() returns may have changed, and `counters` when one of its work counters moved) that whoever runs it may forward.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  CorruptEntryError,
  EntryNotFoundError,
  parseEntryId,
  Switchboard,
  UnreadableEntryError,
  type DequeuedEntry,
  type EntryControl,
  type JsonObject,
  type SliceWatcher,
} from '../queues/index.js';
import { RunnerError } from './errors.js';
import { isTemporary } from '../src/errors.js';
import { SHUNT_QUEUE, RETRY_QUEUE, SWITCHBOARD_OPTIONS } from './queue-ids.js';
import type { Config } from '../src/config/schema.js';
import type { ReadyReport } from '../src/master/protocol.js';
import { IdHeap } from './id-heap.js';
import { retryDelay, type RetrySchedule } from './retry-schedule.js';
import { SpoolProblems } from './spool-problems.js';
import { WorkCounters } from '../src/work-counters.js';
import type { TaskOptions, TaskPool } from './task-pool.js';

export { RETRY_QUEUE, SHUNT_QUEUE };
/**
 * The longest delay setTimeout honours (about 24.8 days); a longer one fires at
 * once. A runner sleeping until a later due time wakes at this and sleeps again.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RunnerOptions {
  /** The runner's name (a config section, `[runner.NAME]`). */
  name: string;
  queue: string;
  slice: number;
  numSlices: number;
  /** The spool's queue root (`<home>/queues`). */
  spoolRoot: string;
  concurrency: number;
  durability: 'fsync' | 'none';
  maxRestores: number;
  rescanIntervalMs: number;
  tempMaxAgeMs: number;
  retry: RetrySchedule;
  logger: Logger;
  pool: TaskPool;
  /** The `[runner.NAME.options]` table, for the subclass to validate. */
  options: Record<string, unknown>;
  /** Injected clock for tests of schedules that span days. */
  now?: () => number;
  /** The whole validated configuration, for runners that read a section of their own (outgoing: `[smtp]`). */
  config?: Config;
  /**
   * The home directory, for runners that open the list store
   * (`openStore(home)` from src/store): incoming, virgin, lmtp, bounces.
   */
  home?: string;
}

export interface EntryContext {
  readonly id: string;
  readonly log: Logger;
  /** Aborted only when the runner must stop at once; then give up quietly. */
  readonly signal: AbortSignal;
  /**
   * Move this entry to `queue` as a new entry there, atomically, with new
   * metadata and message bytes if given; it counts as finished here. With
   * `after`, the new entry is written and fdatasynced at once but moves only
   * once `after` resolves (side entries that must be durable first); should
   * it reject, nothing moved and forward rejects with its error.
   */
  forward(queue: string, options?: { metadata?: JsonObject; micros?: bigint; message?: Uint8Array; after?: Promise<unknown> }): Promise<string>;
  /** Add a new entry to any queue (durably). */
  enqueue(queue: string, message: Uint8Array | string, metadata?: JsonObject): Promise<string>;
  /** Tell the watchdog this entry is making progress (long deliveries). */
  progress(): void;
  /** Run a CPU-heavy step in the worker pool, with a time limit. */
  runTask<T>(filename: string, data: unknown, options?: TaskOptions): Promise<T>;
}

export interface RunnerStats {
  processed: number;
  failed: number;
  retried: number;
  inFlight: number;
  lastError?: { message: string; at: string; entry: string };
}

export type EntryOutcome = 'finished' | 'forwarded' | 'retry' | 'shunt' | 'released' | 'skipped';

export abstract class Runner extends EventEmitter {
  readonly name: string;
  readonly queue: string;
  readonly slice: number;
  readonly numSlices: number;
  readonly log: Logger;
  readonly stats: RunnerStats = { processed: 0, failed: 0, retried: 0, inFlight: 0 };
  /** What the subclass counts of its work (src/work-counters.ts), from 0 at each start; each count emits `counters`. */
  readonly counters = new WorkCounters(() => this.emit('counters'));
  protected readonly options: RunnerOptions;
  protected readonly switchboard: Switchboard;
  protected readonly now: () => number;
  /** `retry` sets this: entries are taken only once the time in their name has come. */
  protected readonly waitsForDueTime: boolean = false;

  private readonly producers = new Map<string, Switchboard>();
  private readonly heap = new IdHeap();
  /** Ids this runner claimed recently: their disappearance events are not news. */
  private readonly claimed = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abortController = new AbortController();
  private readonly spoolProblems = new SpoolProblems();
  private stopping = false;
  /** Events were lost (too many, or unnamed): list the slice's directories before going on. */
  private needRescan = false;
  private fatal: Error | undefined;
  private wakeStop: (() => void) | undefined;
  private finished: Promise<void> | undefined;

  constructor(options: RunnerOptions) {
    super();
    this.options = options;
    this.name = options.name;
    this.queue = options.queue;
    this.slice = options.slice;
    this.numSlices = options.numSlices;
    this.now = options.now ?? Date.now;
    this.log = options.logger;
    this.switchboard = new Switchboard({
      root: options.spoolRoot,
      name: options.queue,
      slice: options.slice,
      numSlices: options.numSlices,
      durability: options.durability,
      maxRestores: options.maxRestores,
      rescanIntervalMs: options.rescanIntervalMs,
      ...SWITCHBOARD_OPTIONS,
    });
  }

  /** Do the work of one entry. See the module comment for what its outcome means. */
  abstract process(entry: DequeuedEntry, ctx: EntryContext): Promise<void>;

  /**
   * One line an operator should see in `switchyard status` about this
   * runner: the unreadable queue files and directories of its slice, then
   * what runnerDetail() says. A property, not a method, so that a subclass
   * overriding it by mistake fails to compile instead of hiding the spool's
   * problems: subclasses override runnerDetail().
   */
  readonly statusDetail = (): string | undefined => {
    const parts = [this.spoolProblems.line(), this.runnerDetail()].filter((part) => part !== undefined);
    return parts.length === 0 ? undefined : parts.join('; ');
  };

  /**
   * The subclass's own line for statusDetail() (the outgoing runner: its
   * smarthost is down), or undefined when there is nothing to say. A subclass
   * that overrides it calls statusChanged() whenever the answer may have changed.
   */
  protected runnerDetail(): string | undefined {
    return undefined;
  }

  /**
   * What this runner found while starting that `switchyard start` should
   * print (src/master/protocol.ts ReadyReport), or undefined; sent with `ready`.
   */
  protected readyReport(): ReadyReport | undefined {
    return undefined;
  }

  /** Tell whoever runs this runner that statusDetail() may have changed (the `status` event). */
  protected statusChanged(): void {
    this.emit('status');
  }

  /** Run until stop(); resolves once every entry in flight is settled. */
  run(): Promise<void> {
    this.finished ??= this.loop();
    return this.finished;
  }

  /** Take no new entry; let those in flight finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeStop?.();
    await this.finished;
  }

  /**
   * Stop now: take no new entry (as stop()) and ask the entries in flight to
   * give up; they are released, not shunted. The signal stays aborted, so a
   * runner that went on taking entries could only release them, over and over.
   */
  abort(): void {
    this.stopping = true;
    this.wakeStop?.();
    this.abortController.abort(new Error('runner stopping'));
  }

  /** A switchboard for enqueueing into any queue of the spool. */
  protected producer(queue: string): Switchboard {
    let switchboard = this.producers.get(queue);
    if (!switchboard) {
      switchboard = new Switchboard({ root: this.options.spoolRoot, name: queue, durability: this.options.durability, ...SWITCHBOARD_OPTIONS });
      this.producers.set(queue, switchboard);
    }
    return switchboard;
  }

  private async loop(): Promise<void> {
    this.emit('starting', 'recovering entries left in flight');
    const recovered = await this.switchboard.recoverBackupFiles();
    if (recovered.restored.length > 0 || recovered.quarantined.length > 0 || recovered.moved.length > 0) {
      this.log.warn(recovered, 'recovered entries left in flight by a previous crash');
    }
    for (const id of recovered.quarantined) {
      this.log.error({ entry: id, reason: `crashed ${this.options.maxRestores} times while being processed` }, 'entry quarantined in bad');
    }
    for (const error of recovered.unreadable) this.noteUnreadable(error);
    this.emit('starting', 'removing stale temp files');
    await this.switchboard.removeStaleTemps(this.options.tempMaxAgeMs);
    this.emit('starting', 'listing its slice');
    const watcher = await this.switchboard.watch();
    for (const { dir, error } of watcher.unwatched) {
      this.log.error({ dir, err: error }, 'cannot watch a shard directory: its entries are seen only at each rescan (queues.rescanInterval)');
    }
    try {
      await this.fullRescan();
      this.emit('ready', this.readyReport());
      while (!this.stopping) {
        if (this.fatal) throw this.fatal;
        this.absorbEvents(watcher);
        if (this.needRescan) await this.fullRescan();
        const next = this.nextDue();
        if (next.id !== undefined) {
          if (this.inFlight.size >= this.options.concurrency) {
            await Promise.race(this.inFlight);
            continue;
          }
          this.heap.pop();
          this.start(next.id);
          continue;
        }
        const reason = await this.sleep(watcher, next.wakeAt);
        if (reason === 'rescan') await this.fullRescan();
      }
      await Promise.all(this.inFlight);
      if (this.fatal) throw this.fatal;
    } finally {
      watcher.close();
      await this.options.pool.close();
    }
  }

  /** The next id to take, or when to look again. */
  private nextDue(): { id?: string; wakeAt?: number } {
    const id = this.heap.peek();
    if (id === undefined) return {};
    if (!this.waitsForDueTime) return { id };
    const dueAt = Number(parseEntryId(id).micros / 1000n);
    return dueAt <= this.now() ? { id } : { wakeAt: dueAt };
  }

  private async sleep(watcher: SliceWatcher, wakeAt: number | undefined): Promise<'entry' | 'rescan' | 'due' | 'stop'> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        watcher.wait().then((reason) => (reason === 'closed' ? 'stop' : reason)),
        new Promise<'stop'>((resolve) => {
          this.wakeStop = () => resolve('stop');
          if (this.stopping) resolve('stop');
        }),
        ...(wakeAt === undefined
          ? []
          : [new Promise<'due'>((resolve) => (timer = setTimeout(() => resolve('due'), Math.min(MAX_TIMER_MS, Math.max(0, wakeAt - this.now())))))]),
      ]);
    } finally {
      this.wakeStop = undefined;
      if (timer) clearTimeout(timer);
    }
  }

  private absorbEvents(watcher: SliceWatcher): void {
    const { names, complete } = watcher.takeNames();
    for (const id of names) {
      if (this.claimed.delete(id)) continue;
      if (this.switchboard.owns(id)) this.heap.push(id);
    }
    if (!complete) this.needRescan = true;
  }

  private async fullRescan(): Promise<void> {
    this.needRescan = false;
    this.claimed.clear();
    const { ids, unlistable } = await this.switchboard.waitingIds();
    // The listing is the truth as of now (the watcher, started before it, brings anything newer): it
    // replaces the heap, which keeps the sorted array itself, rather than being pushed id by id.
    const { added, changed } = this.spoolProblems.setUnlistable(unlistable);
    for (const dir of added) this.log.error({ dir: dir.path, reason: dir.reason }, 'cannot list a shard directory: its entries wait until it is fixed');
    if (this.spoolProblems.forgetGone({ has: (id) => ids.has(id) }) || changed) this.statusChanged();
    this.heap.replace(ids);
  }

  /** Log and report an entry the switchboard could not read (already set aside, or left in place). */
  private noteUnreadable(error: UnreadableEntryError): void {
    if (!this.spoolProblems.note(error)) return;
    if (error.setAside) {
      this.log.error({ entry: error.id, reason: error.reason }, 'unreadable queue file set aside in bad');
    } else {
      this.log.error({ entry: error.id, reason: error.reason, path: error.leftAt }, 'unreadable queue file left in place (it could not be set aside); tried again at each rescan');
    }
    this.statusChanged();
  }

  private start(id: string): void {
    if (this.claimed.size > 100_000) this.claimed.clear();
    this.claimed.add(id);
    const die = (error: unknown): undefined => {
      // The spool itself failed (disk full, permissions): stop taking entries and
      // let the process die; the `.bak` is recovered when it is restarted.
      this.fatal ??= error instanceof Error ? error : new Error(String(error));
      this.stopping = true;
      this.wakeStop?.();
      return undefined;
    };
    const work: Promise<void> = this.handle(id)
      .catch(die)
      .then((outcome) => {
        this.inFlight.delete(work);
        this.stats.inFlight = this.inFlight.size;
        // Only now: a listener (the status report the master's watchdog reads)
        // must not count a settled entry as still in flight.
        if (outcome !== undefined) this.emit('entry-end', id, outcome);
      })
      .catch(die);
    this.inFlight.add(work);
    this.stats.inFlight = this.inFlight.size;
  }

  /** Settle one entry; its outcome, or undefined when there was nothing to settle. */
  private async handle(id: string): Promise<EntryOutcome | undefined> {
    let entry: DequeuedEntry;
    try {
      entry = await this.switchboard.dequeue(id);
    } catch (error) {
      if (error instanceof EntryNotFoundError) {
        if (this.spoolProblems.resolved(id)) this.statusChanged();
        return undefined; // a stale event: someone else's move, or already done
      }
      if (error instanceof UnreadableEntryError) {
        this.stats.failed++;
        this.noteUnreadable(error);
        return 'skipped';
      }
      if (error instanceof CorruptEntryError) {
        this.stats.failed++;
        this.log.error({ entry: id, reason: error.reason }, 'corrupt queue file quarantined in bad');
        return 'skipped';
      }
      throw error;
    }
    if (this.spoolProblems.resolved(id)) this.statusChanged();
    const log = this.log.child({ entry: id });
    log.debug({ restores: entry.control.restores }, 'entry dequeued');
    this.emit('entry-start', id);
    let forwardedTo: string | undefined;
    const ctx: EntryContext = {
      id,
      log,
      signal: this.abortController.signal,
      forward: async (queue, options = {}) => {
        const newId = await this.switchboard.moveTo(id, queue, { forward: true, ...options });
        forwardedTo = queue;
        return newId;
      },
      enqueue: (queue, message, metadata) => this.producer(queue).enqueue(message, metadata),
      progress: () => this.emit('progress', id),
      runTask: (filename, data, options = {}) => this.options.pool.run(filename, data, { signal: this.abortController.signal, ...options }),
    };
    let outcome: EntryOutcome;
    try {
      await this.process(entry, ctx);
      if (forwardedTo === undefined) {
        await this.switchboard.finish(id);
        outcome = 'finished';
      } else {
        outcome = 'forwarded';
      }
      this.stats.processed++;
    } catch (error) {
      if (forwardedTo !== undefined) {
        // The entry already left for `forwardedTo`: nothing here to retry or shunt.
        log.error({ err: error, to: forwardedTo }, 'error after the entry was forwarded; the entry stays forwarded');
        outcome = 'forwarded';
      } else {
        outcome = await this.settleFailure(entry, error, log);
      }
    }
    log.debug({ outcome, ...(forwardedTo ? { to: forwardedTo } : {}) }, 'entry settled');
    return outcome;
  }

  private async settleFailure(entry: DequeuedEntry, error: unknown, log: Logger): Promise<EntryOutcome> {
    const err = error instanceof Error ? error : new Error(String(error));
    if (this.abortController.signal.aborted) {
      await this.switchboard.release(entry.id);
      log.warn({ err }, 'entry released unfinished: the runner is stopping');
      return 'released';
    }
    const now = this.now();
    const at = new Date(now).toISOString();
    this.stats.lastError = { message: `${err.name}: ${err.message}`, at, entry: entry.id };
    if (isTemporary(err)) {
      const control = entry.control;
      const attempts = (typeof control.attempts === 'number' ? control.attempts : 0) + 1;
      const firstFailureAt = typeof control.firstFailureAt === 'string' ? control.firstFailureAt : at;
      const age = now - Date.parse(firstFailureAt);
      if (age < this.options.retry.lifetimeMs) {
        const dueAt = now + retryDelay(this.options.retry, attempts);
        await this.switchboard.moveTo(entry.id, RETRY_QUEUE, {
          ...replacedMetadata(err),
          reason: err.message,
          micros: BigInt(dueAt) * 1000n,
          control: { attempts, firstFailureAt, lastError: err.message, dueAt: new Date(dueAt).toISOString() },
        });
        this.stats.retried++;
        log.warn({ err, attempts, dueAt: new Date(dueAt).toISOString() }, 'temporary failure: entry deferred to retry');
        return 'retry';
      }
      return this.shunt(entry, err, log, `gave up after ${attempts} attempts since ${firstFailureAt}: ${err.message}`);
    }
    return this.shunt(entry, err, log, `${err.name}: ${err.message}`);
  }

  private async shunt(entry: DequeuedEntry, err: Error, log: Logger, reason: string): Promise<EntryOutcome> {
    const control: Partial<EntryControl> = {
      error: { name: err.name, message: err.message, stack: err.stack ?? '' },
      failedAt: new Date(this.now()).toISOString(),
      failedRunner: this.name,
    };
    await this.switchboard.moveTo(entry.id, SHUNT_QUEUE, { ...replacedMetadata(err), reason, control });
    this.stats.failed++;
    log.error({ err, reason }, 'entry failed: moved to shunt');
    return 'shunt';
  }
}

/** The metadata a RunnerError asks to store with the moved entry, as moveTo options. */
function replacedMetadata(err: Error): { metadata?: JsonObject } {
  return err instanceof RunnerError && err.metadata !== undefined ? { metadata: err.metadata } : {};
}

