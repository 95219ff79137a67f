/**
 * The list store itself as an operator manages it (`switchyard store
 * migrate|copy`, and `start`'s check): thin use cases over src/store, so the
 * CLI reaches the store through this layer like every other command.
 * PostgreSQL modules (and `pg`) are loaded only when a PostgreSQL url is named.
 */
import { StoreUrlError } from '../store/errors.js';
import { parseStoreUrl, storeOptions, type OpenStoreOptions } from '../store/open.js';
import type { MigrationReport } from '../store/migrate.js';
import type { CopyReport } from '../store/store-copy.js';

type StoreConfig = Parameters<typeof storeOptions>[0];

/** Bring the home's store to this switchyard's schema (`store migrate`). */
export async function migrateHomeStore(home: string, config: StoreConfig): Promise<MigrationReport & { backend: 'sqlite' | 'postgres' }> {
  const { migrateStore } = await import('../store/migrate.js');
  return migrateStore(home, storeOptions(config));
}

/**
 * Why the home's store cannot be used by this switchyard (`start` refuses):
 * throws SY_STORE_MIGRATE or SY_STORE_SCHEMA for PostgreSQL; returns a
 * warning when it cannot be reached (runners retry until it can); nothing
 * for SQLite, which migrates itself on open.
 */
export async function checkHomeStore(home: string, config: StoreConfig): Promise<string | undefined> {
  const options: OpenStoreOptions = storeOptions(config);
  if (options.url === undefined || parseStoreUrl(options.url, home).kind !== 'postgres') return undefined;
  const { checkStoreSchema } = await import('../store/migrate.js');
  return checkStoreSchema(home, options);
}

/** `store copy --from sqlite:PATH --to postgres://...`; relative paths from `cwd`. */
export async function copyStore(options: { from: string; to: string; force: boolean; cwd: string; onProgress?: (done: number, total: number) => void }): Promise<CopyReport> {
  const from = parseStoreUrl(options.from, options.cwd);
  const to = parseStoreUrl(options.to, options.cwd);
  if (from.kind !== 'sqlite') throw new StoreUrlError(options.from, 'store copy reads an SQLite store: --from sqlite:PATH');
  if (to.kind !== 'postgres') throw new StoreUrlError(options.to, 'store copy writes a PostgreSQL store: --to postgres://...');
  const { copySqliteToPostgres } = await import('../store/store-copy.js');
  return copySqliteToPostgres({ from: from.file, to: to.url, force: options.force, ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }) });
}
