/**
 * Opening the store of a home: `openStore()` and the options a
 * configuration gives it. Apart from index.ts so that `switchyard inject`
 * can open the store without loading what index.ts re-exports (the list
 * settings schema, and zod with it).
 */
import { resolve } from 'node:path';
import { homePaths } from '../home.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** How long a write waits for another process's transaction before StoreBusyError (config `store.busyTimeout`). */
  busyTimeoutMs?: number;
  /** The database file (config `store.path`), relative to the home; default `<home>/switchyard.db`. */
  path?: string;
  /** Check the whole file (PRAGMA quick_check) on opening; StoreCorruptError if damaged. */
  verify?: boolean;
}

/** The OpenStoreOptions a configuration asks for (`[store]`). */
export function storeOptions(config: { store: { busyTimeout: number; path?: string | undefined } }): OpenStoreOptions {
  return { busyTimeoutMs: config.store.busyTimeout, ...(config.store.path === undefined ? {} : { path: config.store.path }) };
}

/** The database file a home and its options name. */
export function storeFile(home: string, options: OpenStoreOptions = {}): string {
  return options.path === undefined ? homePaths(home).store : resolve(home, options.path);
}

/** Open (creating and migrating as needed) the store of a home directory. */
export function openStore(home: string, options: OpenStoreOptions = {}): Store {
  return new SqliteStore({
    file: storeFile(home, options),
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
    ...(options.verify === undefined ? {} : { verify: options.verify }),
  });
}
