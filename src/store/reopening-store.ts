/**
 * The list store as a long-running process holds it (the store runners, the
 * LMTP runner): opened on first use, and dropped as soon as it reports the
 * file damaged (StoreCorruptError), so that an operator who recovers the
 * file or restores a backup needs no restart: a process keeping its old
 * connection would go on reading the damaged inode it opened.
 *
 * While the store is damaged, every call fails at once with the last
 * StoreCorruptError (temporary: ingress answers 4xx, runners send the entry
 * to `retry`; no mail is lost) and at most one reopen is tried per
 * `reopenIntervalMs`. A reopen checks the whole file (PRAGMA quick_check), so
 * the store is declared healthy again only when the file is, not merely
 * because the next query missed the damaged page.
 *
 * `onChange` tells the owner when the state flips (to log at error level and
 * show it as the runner's status detail).
 */
import { StoreCorruptError } from './errors.js';
import { openStore, storeFile, type OpenStoreOptions } from './open.js';
import type { Store } from './store.js';

export interface StoreHealth {
  /** Set while the store is damaged: the error, and when it was first seen. */
  corrupt: { error: StoreCorruptError; since: Date } | undefined;
}

export interface ReopeningStoreOptions {
  /** Opens the store; `verify` asks for a whole-file check (after damage was seen). */
  open: (options: { verify: boolean }) => Store;
  /** Called when the store becomes damaged (each failed reopen too) and when it is healthy again. */
  onChange?: (health: StoreHealth) => void;
  /** Least time between two reopen attempts of a damaged store. Default 10 s. */
  reopenIntervalMs?: number;
  now?: () => number;
}

type StoreMethod = Exclude<keyof Store, 'location'>;

export class ReopeningStore {
  readonly health: StoreHealth = { corrupt: undefined };
  /** What the owner passes around: a Store whose every call goes through call(). */
  readonly store: Store;
  private current: Store | undefined;
  private lastAttempt = 0;
  private readonly reopenIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: ReopeningStoreOptions, location: string) {
    this.reopenIntervalMs = options.reopenIntervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.store = new Proxy({} as Store, {
      get: (_target, property) => {
        if (property === 'location') return location;
        if (property === 'close') return () => this.close();
        // Not a thenable: `await store` must not call store.then().
        if (typeof property !== 'string' || property === 'then') return undefined;
        return (...args: unknown[]) => this.call(property as StoreMethod, args);
      },
    });
  }

  /**
   * Open the store now instead of on the first call: a service about to
   * report ready (the LMTP runner) so that its first client does not wait
   * for the open (tens of ms with SQLite). A failure is not reported here:
   * the first call opens again and meets it as usual.
   */
  openNow(): void {
    if (this.current !== undefined || this.health.corrupt !== undefined) return;
    try {
      this.current = this.options.open({ verify: false });
    } catch {
      // Left for the first call, which reports it (see above).
    }
  }

  async close(): Promise<void> {
    const open = this.current;
    this.current = undefined;
    await open?.close();
  }

  private async call(method: StoreMethod, args: unknown[]): Promise<unknown> {
    const corrupt = this.health.corrupt;
    if (corrupt !== undefined && this.now() - this.lastAttempt < this.reopenIntervalMs) throw corrupt.error;
    try {
      if (this.current === undefined) {
        this.lastAttempt = this.now();
        this.current = this.options.open({ verify: corrupt !== undefined });
      }
      const result = await (this.current[method] as (...a: unknown[]) => Promise<unknown>)(...args);
      if (this.health.corrupt !== undefined) {
        this.health.corrupt = undefined;
        this.options.onChange?.(this.health);
      }
      return result;
    } catch (error) {
      if (error instanceof StoreCorruptError) {
        const damaged = this.current;
        this.current = undefined;
        this.lastAttempt = this.now();
        await damaged?.close().catch(() => undefined);
        this.health.corrupt = { error, since: this.health.corrupt?.since ?? new Date(this.now()) };
        this.options.onChange?.(this.health);
      }
      throw error;
    }
  }
}

/**
 * The store of a home as a long-running process holds it: opened with
 * `options` (and verified after damage was seen), reopened by ReopeningStore.
 * What the store runners and the LMTP and HTTP services each open.
 */
export function openReopeningStore(home: string, options: OpenStoreOptions, watch: Omit<ReopeningStoreOptions, 'open'> = {}): ReopeningStore {
  return new ReopeningStore({ ...watch, open: ({ verify }) => openStore(home, { ...options, verify }) }, storeFile(home, options));
}
