/**
 * The list store as runners and the CLI use it: `openStore()` and the types.
 * Nothing outside src/store/ imports the SQLite implementation directly.
 */
import { homePaths } from '../home.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export * from './store.js';
export * from './errors.js';
export * from './address.js';
export * from './list-settings.js';

export interface OpenStoreOptions {
  /** How long a write waits for another process's transaction before StoreBusyError (config `store.busyTimeout`). */
  busyTimeoutMs?: number;
  /** Check the whole file (PRAGMA quick_check) on opening; StoreCorruptError if damaged. */
  verify?: boolean;
}

/** Open (creating and migrating as needed) the store of a home directory. */
export function openStore(home: string, options: OpenStoreOptions = {}): Store {
  return new SqliteStore({
    file: homePaths(home).store,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
    ...(options.verify === undefined ? {} : { verify: options.verify }),
  });
}

export { ReopeningStore, type StoreHealth } from './reopening-store.js';
