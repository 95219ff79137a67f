/**
 * `switchyard store copy`: move a site from its SQLite file to PostgreSQL,
 * table by table, keeping every row as it is (ids, timestamps, held posts'
 * bytes, digest posts, leases, the archive, web logins), so that ids in queue entries, moderators'
 * notices and reply tokens still name the same things after the move.
 *
 * The target is migrated to this switchyard's schema first (the source is
 * opened as every process opens it, which migrates an older file). The
 * copy is one PostgreSQL transaction: killed or failing midway, the target
 * is left as it was (empty, or as --force found it); the counts of every
 * table are compared inside it before COMMIT, so a target that differs from
 * the source is never committed. Stop the site's masters first: rows written
 * to the source during the copy are not in it.
 */
import Database from 'better-sqlite3';
import type { PoolClient } from 'pg';
import { StoreError, StoreSchemaError } from './errors.js';
import { SCHEMA_VERSION } from './migrations.js';
import { migratePostgres } from './postgres-migrate.js';
import { redactUrl } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';

/** Every table of the schema in an order that satisfies the foreign keys (referenced tables first). */
export const STORE_TABLES = [
  'lists',
  'members',
  'held_messages',
  'held_reply_tokens',
  'held_decisions',
  'approval_claims',
  'bounce_events',
  'bounce_domains',
  'complaints',
  'refusals_hourly',
  'job_leases',
  'pending_requests',
  'pending_preference_changes',
  'auto_response_counts',
  'digest_issues',
  'digest_posts',
  'digest_state',
  'api_tokens',
  'web_login_links',
  'web_sessions',
  'archived_messages',
] as const;

/** Tables whose `id` is an identity column in PostgreSQL: its sequence goes past the copied ids. */
const IDENTITY_TABLES = new Set(['lists', 'members', 'held_messages', 'bounce_events', 'complaints', 'pending_requests', 'pending_preference_changes', 'digest_issues', 'digest_posts', 'api_tokens']);

/** PostgreSQL binds at most 65,535 parameters per statement. */
const MAX_PARAMETERS = 60_000;

export interface CopyReport {
  from: string;
  to: string;
  /** Rows per table, equal in source and target. */
  tables: Record<string, number>;
  rows: number;
  /** The target had data, emptied first (--force). */
  replaced: boolean;
}

export class StoreCopyTargetError extends StoreError {
  constructor(readonly target: string, rows: number) {
    super('SY_STORE_COPY_TARGET', `the target store ${target} is not empty (${rows} rows); copy into an empty database, or pass --force to replace what it holds`);
  }
}

export class StoreCopyMismatchError extends StoreError {
  constructor(readonly target: string, readonly differences: string[]) {
    super('SY_STORE_COPY_MISMATCH', `the copy into ${target} was rolled back: row counts differ (${differences.join('; ')}); was something writing to the source?`);
  }
}

export interface CopyOptions {
  /** The SQLite file. */
  from: string;
  /** postgres://... */
  to: string;
  /** Replace what the target holds. */
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export async function copySqliteToPostgres(options: CopyOptions): Promise<CopyReport> {
  const location = redactUrl(options.to);
  // Opening migrates an older source to this switchyard's schema, as any process would.
  await new SqliteStore({ file: options.from }).close();
  await migratePostgres(options.to);
  const source = new Database(options.from, { readonly: true, fileMustExist: true });
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: options.to, application_name: 'switchyard store copy' });
  try {
    // One snapshot of the source for the whole copy (counts included): a read transaction in WAL mode.
    source.prepare('BEGIN').run();
    const version = (source.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v;
    if (version !== SCHEMA_VERSION) throw new StoreSchemaError(options.from, `has schema version ${version}, not ${SCHEMA_VERSION}`);
    const counts = Object.fromEntries(STORE_TABLES.map((table) => [table, (source.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n])) as Record<string, number>;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    await client.connect();
    await client.query('BEGIN');
    const existing = await targetRows(client);
    if (existing > 0 && options.force !== true) throw new StoreCopyTargetError(location, existing);
    if (existing > 0) await client.query(`TRUNCATE ${STORE_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
    let done = 0;
    options.onProgress?.(0, total);
    for (const table of STORE_TABLES) {
      const columns = (source.prepare(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`).all() as { name: string }[]).map((c) => c.name);
      const perBatch = Math.max(1, Math.min(2000, Math.floor(MAX_PARAMETERS / columns.length)));
      const rows = source.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY rowid`).raw().iterate() as IterableIterator<unknown[]>;
      let batch: unknown[][] = [];
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        const values = batch.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
        await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`, batch.flat());
        done += batch.length;
        batch = [];
        options.onProgress?.(done, total);
      };
      for (const row of rows) {
        batch.push(row);
        if (batch.length >= perBatch) await flush();
      }
      await flush();
      if (IDENTITY_TABLES.has(table)) {
        // Next ids continue after the copied ones (a fresh table's sequence starts at 1).
        await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT MAX(id) FROM ${table}), 1), (SELECT MAX(id) FROM ${table}) IS NOT NULL)`);
      }
    }
    const differences: string[] = [];
    for (const table of STORE_TABLES) {
      const copied = (await client.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${table}`)).rows[0]!.n;
      if (copied !== counts[table]) differences.push(`${table}: ${counts[table]} in the source, ${copied} in the target`);
    }
    if (differences.length > 0) throw new StoreCopyMismatchError(location, differences);
    await client.query('COMMIT');
    return { from: options.from, to: location, tables: counts, rows: total, replaced: existing > 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    if (source.inTransaction) source.prepare('COMMIT').run();
    source.close();
    await client.end().catch(() => undefined);
  }
}

async function targetRows(client: PoolClient | import('pg').Client): Promise<number> {
  let rows = 0;
  for (const table of STORE_TABLES) rows += (await client.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${table}`)).rows[0]!.n;
  return rows;
}
