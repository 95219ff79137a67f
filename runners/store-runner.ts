/**
 * The base of runners that use the list store (incoming, virgin, bounces):
 * the store is opened from the home directory on first use (a runner with an
 * empty queue never touches switchyard.db), closed when the runner stops,
 * and a busy store (StoreError, `temporary` set) fails the entry temporarily, to
 * `retry`, never to `shunt`: another process holding the database for a
 * moment is no reason to give up on a post.
 *
 * A damaged store (StoreCorruptError, SQLITE_CORRUPT / SQLITE_NOTADB) is
 * temporary in the same way: the entry goes to `retry`, nothing is lost. It
 * is logged at error level and shown as the runner's status detail in
 * `switchyard status` until the file is healthy again (ReopeningStore
 * reopens it, so a recovered or restored file needs no restart).
 */
import type { DequeuedEntry } from '../queues/index.js';
import { openReopeningStore, ReopeningStore, storeOptions, type Store, type StoreHealth } from '../src/store/index.js';
import { RunnerSetupError } from './errors.js';
import { Runner, type EntryContext, type RunnerOptions } from './runner.js';

export abstract class StoreRunner extends Runner {
  private readonly reopening: ReopeningStore;
  private running: Promise<void> | undefined;

  constructor(options: RunnerOptions) {
    super(options);
    if (options.home === undefined) throw new RunnerSetupError(`runner ${options.name}: needs the home directory (the list store)`);
    const home = options.home;
    // Without a configuration (a runner built by hand in a test): the store's own defaults, and no zod loaded for them.
    const opts = options.config === undefined ? {} : storeOptions(options.config);
    this.reopening = openReopeningStore(home, opts, { onChange: (health) => this.storeHealthChanged(health), now: () => this.now() });
  }

  /** The list store, opened on first use (and again after it was found damaged). */
  protected get store(): Store {
    return this.reopening.store;
  }

  /** The store's damage, when there is any; a subclass with its own detail puts this first. */
  protected override runnerDetail(): string | undefined {
    const corrupt = this.reopening.health.corrupt;
    return corrupt === undefined ? undefined : `list store damaged since ${corrupt.since.toISOString()}, entries wait in retry: ${corrupt.error.message}`;
  }

  private storeHealthChanged(health: StoreHealth): void {
    if (health.corrupt !== undefined) this.log.error({ err: health.corrupt.error, code: health.corrupt.error.code }, 'the list store is damaged: entries go to retry until it is recovered');
    else this.log.warn('the list store is healthy again');
    this.statusChanged();
  }

  override run(): Promise<void> {
    this.running ??= super.run().finally(() => this.reopening.close());
    return this.running;
  }

  async process(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    // A busy or damaged store throws an error with `temporary` set: the base sends the entry to `retry`.
    await this.processWithStore(entry, ctx);
  }

  /** The entry's work; see Runner.process() for what its outcome means. */
  protected abstract processWithStore(entry: DequeuedEntry, ctx: EntryContext): Promise<void>;
}
