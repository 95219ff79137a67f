/**
 * Bringing a home's store to this switchyard's schema, whichever backend
 * (`switchyard store migrate`). SQLite migrates itself on every open (so a
 * fresh machine's `npm start` just works); this reports what it did.
 * PostgreSQL is migrated only here (postgres-migrate.ts).
 */
import { storeTarget, type OpenStoreOptions } from './open.js';
import type { MigrationReport } from './postgres-migrate.js';
import { SqliteStore } from './sqlite-store.js';

export type { MigrationReport } from './postgres-migrate.js';

export async function migrateStore(home: string, options: OpenStoreOptions = {}): Promise<MigrationReport & { backend: 'sqlite' | 'postgres' }> {
  const target = storeTarget(home, options);
  if (target.kind === 'postgres') {
    const { migratePostgres } = await import('./postgres-migrate.js');
    return { backend: 'postgres', ...(await migratePostgres(target.url)) };
  }
  // Version 0 applies nothing but reads what the file has.
  const before = new SqliteStore({ file: target.file, targetVersion: 0, ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }) });
  const from = before.schemaVersion();
  await before.close();
  const after = new SqliteStore({ file: target.file, ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }) });
  try {
    const to = after.schemaVersion();
    const { MIGRATIONS } = await import('./migrations.js');
    return { backend: 'sqlite', location: target.file, from, to, applied: MIGRATIONS.filter((m) => m.version > from && m.version <= to).map((m) => ({ version: m.version, name: m.name })) };
  } finally {
    await after.close();
  }
}

/**
 * The master's check before it starts anything: a PostgreSQL store older
 * than this switchyard (StoreMigrationNeededError: run `switchyard store
 * migrate`) or newer (StoreSchemaError) is thrown; an unreachable one is
 * returned as a warning (the master starts, runners retry until it is back).
 * SQLite migrates on open: nothing to check.
 */
export async function checkStoreSchema(home: string, options: OpenStoreOptions = {}): Promise<string | undefined> {
  const target = storeTarget(home, options);
  if (target.kind !== 'postgres') return undefined;
  const [{ PostgresStore }, { SCHEMA_VERSION }, { StoreMigrationNeededError, StoreSchemaError }] = await Promise.all([
    import('./postgres-store.js'),
    import('./migrations.js'),
    import('./errors.js'),
  ]);
  const store = new PostgresStore({ url: target.url, skipSchemaCheck: true, poolSize: 1 });
  try {
    const version = await store.schemaVersion();
    if (version < SCHEMA_VERSION) throw new StoreMigrationNeededError(store.location, version, SCHEMA_VERSION);
    if (version > SCHEMA_VERSION) throw new StoreSchemaError(store.location, `has schema version ${version}, newer than this switchyard knows (${SCHEMA_VERSION}); upgrade switchyard`);
    return undefined;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SY_STORE_BUSY') return `the list store ${store.location} cannot be reached now (${(error as Error).message}); runners retry until it can`;
    throw error;
  } finally {
    await store.close();
  }
}
