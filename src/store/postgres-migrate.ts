/**
 * `switchyard store migrate` for PostgreSQL: apply the migrations the
 * database lacks (migrations.ts, in PostgreSQL's dialect), each in its own
 * transaction with the row recording it, so a migration interrupted midway
 * (a killed process, a lost connection) leaves the previous version and the
 * next run applies it again from the start. Hosts running `store migrate` at
 * once serialise on a session advisory lock; the second finds the work done.
 * Run by the operator, never by opening the store (see postgres-store.ts).
 */
import { StoreSchemaError } from './errors.js';
import { MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION, postgresDdl, statementsFor } from './migrations.js';
import { redactUrl } from './postgres-store.js';
import { temporaryReason } from './postgres-errors.js';
import { StoreBusyError } from './errors.js';

/** The advisory lock key of migrations: any fixed 64-bit number no other application uses ('switchyd'). */
const MIGRATION_LOCK = '8319116534592545892';

export interface MigrationReport {
  location: string;
  from: number;
  to: number;
  applied: Array<{ version: number; name: string }>;
}

export async function migratePostgres(url: string, options: { targetVersion?: number } = {}): Promise<MigrationReport> {
  const location = redactUrl(url);
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, application_name: 'switchyard store migrate' });
  try {
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(postgresDdl(MIGRATIONS_TABLE));
    const version = async (): Promise<number> => (await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
    const from = await version();
    if (from > SCHEMA_VERSION) throw new StoreSchemaError(location, `has schema version ${from}, newer than this switchyard knows (${SCHEMA_VERSION}); upgrade switchyard`);
    const target = options.targetVersion ?? SCHEMA_VERSION;
    const applied: MigrationReport['applied'] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= from || migration.version > target) continue;
      await client.query('BEGIN');
      try {
        for (const statement of statementsFor(migration, 'postgres')) await client.query(statement);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, new Date().toISOString()]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      applied.push({ version: migration.version, name: migration.name });
    }
    return { location, from, to: await version(), applied };
  } catch (error) {
    const why = temporaryReason(error);
    throw why === undefined ? error : new StoreBusyError(location, error, why);
  } finally {
    await client.end().catch(() => undefined);
  }
}
