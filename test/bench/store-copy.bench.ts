/**
 * `switchyard store copy` of a site the size issue 18 names: BENCH_MEMBERS
 * (default 100,000) members and BENCH_HELD (default 1,000) held posts with
 * their bytes (4 KiB each), from SQLite into an empty PostgreSQL database,
 * through copySqliteToPostgres (what the command runs, without the process
 * start), beside its floor: bare `pg` multi-row INSERTs of the same member and
 * held rows (already read, in memory) in one transaction into a migrated
 * empty database. The counts are checked by the copy itself (it refuses to
 * commit otherwise) and again here.
 *
 *     node dist/test/bench/store-copy.bench.js
 *
 * PostgreSQL: a private cluster with fsync on (test/support/postgres.ts).
 * Files: a fresh `switchyard-bench-*` directory and the cluster's, removed at the end.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migratePostgres } from '../../src/store/postgres-migrate.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { copySqliteToPostgres } from '../../src/store/store-copy.js';
import { startPostgres } from '../support/postgres.js';
import { envInt, freshDir, removeDir, Report } from './harness.js';

const MEMBERS = envInt('BENCH_MEMBERS', 100_000);
const HELD = envInt('BENCH_HELD', 1000);
const LIST = 'bench@lists.example.org';

const report = new Report('store-copy');
report.setting('members', MEMBERS);
report.setting('held', HELD);
report.printHeader();

const dir = await freshDir('store-copy');
const cluster = await startPostgres({ durable: true });
try {
  const file = join(dir, 'switchyard.db');
  const sqlite = new SqliteStore({ file });
  await sqlite.createList({ address: LIST });
  for (let start = 0; start < MEMBERS; start += 5000) {
    await sqlite.addMembers(LIST, Array.from({ length: Math.min(5000, MEMBERS - start) }, (_, i) => ({ address: `subscriber.${start + i}@example.org`, displayName: `Subscriber ${start + i}` })));
  }
  const raw = Buffer.alloc(4096, 'x');
  for (let i = 0; i < HELD; i++) await sqlite.holdMessage({ list: LIST, sender: `s${i}@example.net`, subject: `held ${i}`, reason: 'non-member', raw });
  await sqlite.close();

  const target = await cluster.database('bench_copy');
  const started = performance.now();
  const copied = await copySqliteToPostgres({ from: file, to: target });
  const copySeconds = (performance.now() - started) / 1000;
  const check = new PostgresStore({ url: target });
  if ((await check.countMembers(LIST)) !== MEMBERS || (await check.countHeld(LIST)) !== HELD) throw new Error('counts differ after the copy');
  await check.close();

  // The floor: the same member and held rows, read beforehand, in bare multi-row INSERTs in one transaction.
  const floorUrl = await cluster.database('bench_copy_floor');
  await migratePostgres(floorUrl);
  const source = new Database(file, { readonly: true });
  const tables = ['lists', 'members', 'held_messages'].map((table) => {
    const columns = (source.prepare(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`).all() as { name: string }[]).map((c) => c.name);
    return { table, columns, rows: source.prepare(`SELECT ${columns.join(', ')} FROM ${table}`).raw().all() as unknown[][] };
  });
  source.close();
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: floorUrl });
  await client.connect();
  const floorStarted = performance.now();
  await client.query('BEGIN');
  for (const { table, columns, rows } of tables) {
    const per = Math.floor(60_000 / columns.length);
    for (let start = 0; start < rows.length; start += per) {
      const batch = rows.slice(start, start + per);
      const values = batch.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
      await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`, batch.flat());
    }
  }
  await client.query('COMMIT');
  const floorSeconds = (performance.now() - floorStarted) / 1000;
  await client.end();

  report.section(`store copy: ${MEMBERS} members, ${HELD} held posts of 4 KiB, SQLite -> PostgreSQL (fsync on)`, [
    'floor: bare pg multi-row INSERTs of the same lists, members and held rows (read beforehand) in one transaction',
  ]);
  report.row({ name: `copySqliteToPostgres (${copied.rows} rows, counts checked)`, unit: 's', value: copySeconds, floor: floorSeconds, ratio: copySeconds / floorSeconds });
  report.row({ name: 'floor: bare INSERTs, one transaction', unit: 's', value: floorSeconds });
  report.note(`rows/s: copy ${Math.round(copied.rows / copySeconds)}, floor ${Math.round((MEMBERS + HELD + 1) / floorSeconds)}`);
} finally {
  await cluster.destroy();
  await removeDir(dir);
}
await report.finish();
