/**
 * Opening the store of a home: `openStore()` and the options a
 * configuration gives it. Apart from index.ts so that `switchyard inject`
 * can open the store without loading what index.ts re-exports (the list
 * settings schema, and zod with it).
 *
 * `[store] url` picks the backend: `postgres://...` (or `postgresql://`) is
 * the PostgreSQL store several hosts share, loaded lazily (lazy-store.ts);
 * `sqlite:PATH` or no url is the SQLite file (`[store] path`, default
 * `<home>/switchyard.db`), opened and migrated at once as before.
 */
import { resolve } from 'node:path';
import { homePaths } from '../home.js';
import { StoreUrlError } from './errors.js';
import { lazyStore } from './lazy-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** How long a write waits for another process's transaction before StoreBusyError (config `store.busyTimeout`). */
  busyTimeoutMs?: number;
  /** The database file (config `store.path`), relative to the home; default `<home>/switchyard.db`. */
  path?: string;
  /** `postgres://...` or `sqlite:PATH` (config `store.url`); wins over `path`. */
  url?: string;
  /** PostgreSQL connections per process (config `store.poolSize`). */
  poolSize?: number;
  /** Check the whole file (PRAGMA quick_check) on opening; StoreCorruptError if damaged. */
  verify?: boolean;
}

/** Which backend a url names. */
export type StoreTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** The OpenStoreOptions a configuration asks for (`[store]`). */
export function storeOptions(config: { store: { busyTimeout: number; path?: string | undefined; url?: string | undefined; poolSize?: number | undefined } }): OpenStoreOptions {
  return {
    busyTimeoutMs: config.store.busyTimeout,
    ...(config.store.path === undefined ? {} : { path: config.store.path }),
    ...(config.store.url === undefined ? {} : { url: config.store.url }),
    ...(config.store.poolSize === undefined ? {} : { poolSize: config.store.poolSize }),
  };
}

/** True for a url of the PostgreSQL store. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(url);
}

/** The backend and place a url names; a relative sqlite path is relative to `home`. */
export function parseStoreUrl(url: string, home: string): StoreTarget {
  if (isPostgresUrl(url)) return { kind: 'postgres', url };
  if (/^sqlite:/i.test(url)) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new StoreUrlError(url, 'sqlite: needs a file path (sqlite:switchyard.db, sqlite:/var/lib/switchyard/switchyard.db)');
    return { kind: 'sqlite', file: resolve(home, path) };
  }
  throw new StoreUrlError(url, 'not postgres://... (PostgreSQL) nor sqlite:PATH (an SQLite file)');
}

/** The store a home and its options name. */
export function storeTarget(home: string, options: OpenStoreOptions = {}): StoreTarget {
  if (options.url !== undefined) return parseStoreUrl(options.url, home);
  return { kind: 'sqlite', file: options.path === undefined ? homePaths(home).store : resolve(home, options.path) };
}

/** The SQLite file a home and its options name (for PostgreSQL: its url without password, for messages). */
export function storeFile(home: string, options: OpenStoreOptions = {}): string {
  const target = storeTarget(home, options);
  return target.kind === 'sqlite' ? target.file : target.url.replace(/:[^:@/]*@/, ':***@');
}

/** Open the store of a home directory: SQLite created and migrated as needed; PostgreSQL connected on first use. */
export function openStore(home: string, options: OpenStoreOptions = {}): Store {
  const target = storeTarget(home, options);
  if (target.kind === 'postgres') {
    return lazyStore(storeFile(home, options), async () => {
      const { PostgresStore } = await import('./postgres-store.js');
      return new PostgresStore({
        url: target.url,
        ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
        ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
      });
    });
  }
  return new SqliteStore({
    file: target.file,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
    ...(options.verify === undefined ? {} : { verify: options.verify }),
  });
}
