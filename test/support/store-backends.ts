/**
 * The store backends every Store test runs against (`describe.each(BACKENDS)`):
 * SQLite on a file in a fresh temp home, and PostgreSQL on a fresh database
 * of a private cluster (postgres.ts) started once per test file. Inside a
 * describe, `useBackend(kind)` registers the hooks and gives `open()` (a new
 * Store on this test's store: call it twice for two processes' handles),
 * `count(table)` and the test's `home`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { migratePostgres } from '../../src/store/postgres-migrate.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { startPostgres, type PostgresCluster } from './postgres.js';

export type BackendKind = 'sqlite' | 'postgres';
export const BACKENDS: ReadonlyArray<{ name: BackendKind }> = [{ name: 'sqlite' }, { name: 'postgres' }];

export interface BackendHandle {
  readonly kind: BackendKind;
  /** A new Store on this test's store. */
  open(): Store;
  /** Rows in `table` of this test's store. */
  count(table: string): Promise<number>;
  /** SQLite: the file; PostgreSQL: the database url. */
  readonly where: string;
  readonly home: string;
  /** The running cluster (PostgreSQL only). */
  readonly cluster: PostgresCluster | undefined;
}

/** One cluster per test file (worker), started on first use. */
let shared: Promise<PostgresCluster> | undefined;
let users = 0;

export function useBackend(kind: BackendKind): BackendHandle {
  const opened: Store[] = [];
  let home = '';
  let where = '';
  let cluster: PostgresCluster | undefined;
  if (kind === 'postgres') {
    beforeAll(async () => {
      users += 1;
      shared ??= startPostgres();
      cluster = await shared;
    });
    afterAll(async () => {
      users -= 1;
      if (users === 0 && shared !== undefined) {
        const done = shared;
        shared = undefined;
        await (await done).destroy();
      }
    });
  }
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'sy-store-'));
    if (kind === 'sqlite') where = join(home, 'switchyard.db');
    else {
      where = await cluster!.database();
      await migratePostgres(where);
    }
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await rm(home, { recursive: true, force: true });
  });
  return {
    kind,
    get where() {
      return where;
    },
    get home() {
      return home;
    },
    get cluster() {
      return cluster;
    },
    open(): Store {
      const store = kind === 'sqlite' ? new SqliteStore({ file: where, busyTimeoutMs: 1000 }) : new PostgresStore({ url: where });
      opened.push(store);
      return store;
    },
    async count(table: string): Promise<number> {
      if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`);
      if (kind === 'sqlite') {
        const db = new Database(where, { readonly: true });
        try {
          return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
        } finally {
          db.close();
        }
      }
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: where });
      await client.connect();
      try {
        return (await client.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${table}`)).rows[0]!.n;
      } finally {
        await client.end();
      }
    },
  };
}
