/**
 * The base of runners that use the list store (incoming, virgin, bounces):
 * the store is opened from the home directory on first use (a runner with an
 * empty queue never touches switchyard.db), closed when the runner stops,
 * and a busy store (StoreError.temporary) fails the entry temporarily, to
 * `retry`, never to `shunt`: another process holding the database for a
 * moment is no reason to give up on a post.
 */
import type { DequeuedEntry } from '../queues/index.js';
import { configSchema } from '../src/config/schema.js';
import { openStore, storeOptions, StoreError, type OpenStoreOptions, type Store } from '../src/store/index.js';
import { RunnerSetupError, TemporaryFailure } from './errors.js';
import { Runner, type EntryContext, type RunnerOptions } from './runner.js';

export abstract class StoreRunner extends Runner {
  private readonly home: string;
  private readonly storeOptions: OpenStoreOptions;
  private opened: Store | undefined;
  private running: Promise<void> | undefined;

  constructor(options: RunnerOptions) {
    super(options);
    if (options.home === undefined) throw new RunnerSetupError(`runner ${options.name}: needs the home directory (the list store)`);
    this.home = options.home;
    this.storeOptions = storeOptions(options.config ?? configSchema.parse({}));
  }

  /** The list store, opened on first use. */
  protected get store(): Store {
    this.opened ??= openStore(this.home, this.storeOptions);
    return this.opened;
  }

  override run(): Promise<void> {
    this.running ??= super.run().finally(() => this.opened?.close());
    return this.running;
  }

  async process(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    try {
      await this.processWithStore(entry, ctx);
    } catch (error) {
      if (error instanceof StoreError && error.temporary) throw new TemporaryFailure(error.message, { cause: error });
      throw error;
    }
  }

  /** The entry's work; see Runner.process() for what its outcome means. */
  protected abstract processWithStore(entry: DequeuedEntry, ctx: EntryContext): Promise<void>;
}
