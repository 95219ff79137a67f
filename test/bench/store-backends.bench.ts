/**
 * The list store operations that matter at scale, on SQLite and on
 * PostgreSQL on the same machine (issue 18's figures):
 *
 * - member import: addMembers of BENCH_MEMBERS (default 100,000) addresses
 *   in batches of 5000 (what `members import` does), beside its floor: bare
 *   INSERTs of the same parsed rows in one transaction (better-sqlite3
 *   prepared INSERTs; for PostgreSQL one `pg` INSERT ... SELECT FROM unnest
 *   per 5000 rows, the fewest round trips `pg` allows without COPY);
 * - delivery addresses of the whole list (Store.deliveryAddresses, what every
 *   post reads): calls per second;
 * - bounce scoring (Store.recordBounce with a scorer, one transaction each):
 *   one caller, and four at once (four runner slices) on four handles.
 *
 * PostgreSQL is a private cluster (test/support/postgres.ts) with fsync on,
 * as SQLite runs with synchronous=FULL: both durable on commit.
 *
 *     node dist/test/bench/store-backends.bench.js [--dir <path>]
 *
 * Scale with BENCH_MEMBERS, BENCH_BOUNCES (default 2000), BENCH_DELIVERIES (default 10).
 * Files: fresh `switchyard-bench-*` directories (SQLite) and the cluster's temp directory, removed at the end.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseAddress } from '../../src/store/address.js';
import { migratePostgres } from '../../src/store/postgres-migrate.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { startPostgres, type PostgresCluster } from '../support/postgres.js';
import { envInt, freshDir, removeDir, Report } from './harness.js';

const MEMBERS = envInt('BENCH_MEMBERS', 100_000);
const BOUNCES = envInt('BENCH_BOUNCES', 2000);
const DELIVERIES = envInt('BENCH_DELIVERIES', 10);
const LIST = 'bench@lists.example.org';
const BATCH = 5000;

const report = new Report('store-backends');
const members = Array.from({ length: MEMBERS }, (_, i) => ({ address: `subscriber.${i}@example${i % 211}.org`, displayName: i % 2 === 0 ? `Subscriber ${i}` : '' }));
const parsed = members.map((m) => ({ ...parseAddress(m.address), name: m.displayName }));

interface Backend {
  name: string;
  open(): Store;
  floor(): Promise<number>;
  cleanup(): Promise<void>;
}

async function sqliteBackend(): Promise<Backend> {
  const dir = await freshDir('store-backends');
  const file = join(dir, 'store.db');
  const floorFile = join(dir, 'floor.db');
  return {
    name: 'SQLite',
    open: () => new SqliteStore({ file }),
    async floor() {
      const store = new SqliteStore({ file: floorFile });
      await store.createList({ address: LIST });
      await store.close();
      const db = new Database(floorFile);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      const insert = db.prepare('INSERT INTO members (list_id, address, address_key, display_name, role, subscribed_at) VALUES (1, ?, ?, ?, ?, ?)');
      const now = new Date().toISOString();
      const started = performance.now();
      db.transaction(() => {
        for (const row of parsed) insert.run(row.address, row.key, row.name, 'member', now);
      })();
      const seconds = (performance.now() - started) / 1000;
      db.close();
      return seconds;
    },
    cleanup: () => removeDir(dir),
  };
}

async function postgresBackend(cluster: PostgresCluster): Promise<Backend> {
  const url = await cluster.database('bench_store');
  await migratePostgres(url);
  return {
    name: 'PostgreSQL',
    open: () => new PostgresStore({ url }),
    async floor() {
      const floorUrl = await cluster.database('bench_floor');
      await migratePostgres(floorUrl);
      const store = new PostgresStore({ url: floorUrl });
      await store.createList({ address: LIST });
      await store.close();
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: floorUrl });
      await client.connect();
      const now = new Date().toISOString();
      const started = performance.now();
      await client.query('BEGIN');
      for (let start = 0; start < parsed.length; start += BATCH) {
        const batch = parsed.slice(start, start + BATCH);
        await client.query(
          `INSERT INTO members (list_id, address, address_key, display_name, role, subscribed_at)
           SELECT 1, a, k, d, 'member', $1 FROM unnest($2::text[], $3::text[], $4::text[]) AS u(a, k, d)`,
          [now, batch.map((r) => r.address), batch.map((r) => r.key), batch.map((r) => r.name)],
        );
      }
      await client.query('COMMIT');
      const seconds = (performance.now() - started) / 1000;
      await client.end();
      return seconds;
    },
    cleanup: async () => undefined,
  };
}

async function measure(backend: Backend): Promise<void> {
  const store = backend.open();
  await store.createList({ address: LIST });
  let started = performance.now();
  for (let start = 0; start < members.length; start += BATCH) await store.addMembers(LIST, members.slice(start, start + BATCH));
  const importSeconds = (performance.now() - started) / 1000;
  const floorSeconds = await backend.floor();

  started = performance.now();
  let delivered = 0;
  for (let i = 0; i < DELIVERIES; i++) delivered = (await store.deliveryAddresses(LIST, { sender: members[0]!.address, explicitRecipients: [] })).length;
  const deliverySeconds = (performance.now() - started) / 1000;
  if (delivered !== MEMBERS) throw new Error(`${backend.name}: ${delivered} delivery addresses, expected ${MEMBERS}`);

  const scorer = (member: { bounceScore: number }, event: { at: Date }) => ({ bounceScore: member.bounceScore + 1, lastBounceAt: event.at });
  const bounce = (s: Store, i: number) => s.recordBounce({ list: LIST, address: members[i % MEMBERS]!.address, at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)), permanent: false, source: `<b${i}@x>` }, scorer);
  started = performance.now();
  for (let i = 0; i < BOUNCES; i++) await bounce(store, i);
  const bounceSeconds = (performance.now() - started) / 1000;
  const handles = [backend.open(), backend.open(), backend.open(), backend.open()];
  started = performance.now();
  await Promise.all(handles.map(async (h, w) => {
    for (let i = w; i < BOUNCES; i += handles.length) await bounce(h, BOUNCES + i);
  }));
  const concurrentSeconds = (performance.now() - started) / 1000;
  for (const h of handles) await h.close();
  await store.close();

  report.section(`${backend.name}: ${MEMBERS} members`, []);
  report.row({ name: `member import (addMembers, batches of ${BATCH})`, unit: 's', value: importSeconds, floor: floorSeconds, ratio: importSeconds / floorSeconds });
  report.row({ name: 'member import: members/s', unit: '/s', value: MEMBERS / importSeconds });
  report.row({ name: `deliveryAddresses of ${MEMBERS} members`, unit: 'calls/s', value: DELIVERIES / deliverySeconds });
  report.row({ name: 'bounce scoring, one caller', unit: 'bounces/s', value: BOUNCES / bounceSeconds });
  report.row({ name: 'bounce scoring, four handles at once', unit: 'bounces/s', value: BOUNCES / concurrentSeconds });
}

report.setting('members', MEMBERS);
report.setting('bounces', BOUNCES);
report.printHeader();
const cluster = await startPostgres({ durable: true });
const backends = [await sqliteBackend(), await postgresBackend(cluster)];
try {
  for (const backend of backends) await measure(backend);
} finally {
  for (const backend of backends) await backend.cleanup();
  await cluster.destroy();
}
await report.finish();
