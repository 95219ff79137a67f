/**
 * The Mailman 3 import benchmark: the figure "import time for a
 * Mailman 3 site with 100 lists and 100,000 memberships". Creating that
 * many memberships in a running Mailman core through its REST API takes far
 * longer than the import itself (each subscription is a REST call and a
 * Mailman transaction), and reading them back over REST costs three calls
 * per member; so the site is generated as a Mailman 3.3.8 SQLite database
 * (the real schema, test/fixtures/mailman3/schema.sql, and a real list row,
 * mailinglist-row.json) and imported with `--database`.
 *
 * - import: `switchyard import mailman3 --database sqlite:FILE --json`, the
 *   built binary in a child process, into a fresh home: start-up, reading,
 *   mapping, writing 100 lists and their members, the MTA files.
 * - second run: the same command again: reads everything, writes nothing.
 * - floor: in this process, the bare reads of the same member rows (member
 *   joined to address and preferences, one query) plus bare better-sqlite3
 *   INSERTs of as many member rows into a switchyard store (one
 *   transaction, WAL, synchronous=FULL): the least any importer could spend.
 *
 *     node dist/test/bench/mailman3-import.bench.js
 *
 * Scale with BENCH_MM_LISTS (100), BENCH_MM_MEMBERS (100000, spread evenly)
 * and BENCH_ROUNDS (3). Files: fresh `switchyard-bench-*` directories only,
 * removed at the end of each round.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { envInt, freshDir, median, removeDir, Report, syncDisks } from './harness.js';

const LISTS = envInt('BENCH_MM_LISTS', 100);
const MEMBERS = envInt('BENCH_MM_MEMBERS', 100_000);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const BIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/mailman3/', import.meta.url));

const report = new Report('mailman3-import');

/** A Mailman 3.3.8 database with LISTS lists and MEMBERS members (every tenth a digest member, every 50th disabled by bounces). */
async function mailmanDatabase(file: string): Promise<void> {
  const db = new Database(file);
  db.exec(await readFile(join(FIXTURES, 'schema.sql'), 'utf8'));
  const template = JSON.parse(await readFile(join(FIXTURES, 'mailinglist-row.json'), 'utf8')) as Record<string, unknown>;
  const columns = Object.keys(template).filter((column) => column !== 'id');
  const insertList = db.prepare(`INSERT INTO mailinglist (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  const insertPreferences = db.prepare('INSERT INTO preferences (delivery_mode, delivery_status) VALUES (?, ?)');
  const insertAddress = db.prepare('INSERT INTO address (email, _original, display_name, preferences_id) VALUES (?, ?, ?, ?)');
  const insertMember = db.prepare('INSERT INTO member (_member_id, role, list_id, moderation_action, address_id, preferences_id, bounce_score, last_warning_sent, total_warnings_sent) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, 0)');
  db.transaction(() => {
    for (let l = 0; l < LISTS; l++) {
      const name = `list${l}`;
      const row: Record<string, unknown> = { ...template, list_name: name, list_id: `${name}.lists.example.org`, display_name: `List ${l}` };
      insertList.run(...columns.map((column) => {
        const value = row[column];
        return value !== null && typeof value === 'object' && 'base64' in value ? Buffer.from(String((value as { base64: string }).base64), 'base64') : value;
      }));
      const owner = insertAddress.run(`owner${l}@example.org`, `owner${l}@example.org`, '', insertPreferences.run(null, null).lastInsertRowid).lastInsertRowid;
      insertMember.run(`o${l}`, 2, `${name}.lists.example.org`, owner, insertPreferences.run(null, null).lastInsertRowid, 0, '0001-01-01 00:00:00.000000');
    }
    for (let m = 0; m < MEMBERS; m++) {
      const list = m % LISTS;
      const email = `subscriber.${m}@example${m % 211}.org`;
      const address = insertAddress.run(email, email, `Subscriber ${m}`, insertPreferences.run(null, null).lastInsertRowid).lastInsertRowid;
      const bounced = m % 50 === 0;
      const preferences = insertPreferences.run(m % 10 === 0 ? 3 : null, bounced ? 3 : null).lastInsertRowid;
      insertMember.run(`m${m}`, 1, `list${list}.lists.example.org`, address, preferences, bounced ? 5 : 0, '0001-01-01 00:00:00.000000');
    }
  })();
  db.close();
}

function runImport(home: string, database: string): Promise<{ seconds: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--home', home, 'import', 'mailman3', '--database', `sqlite:${database}`, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ seconds: (performance.now() - started) / 1000, stdout: out }) : reject(new Error(`import exited ${code}: ${err}`))));
  });
}

/** Bare read of the member rows plus bare INSERTs of as many rows into a switchyard store. */
async function floor(dir: string, database: string): Promise<number> {
  const file = join(dir, 'floor.db');
  const store = new SqliteStore({ file });
  for (let l = 0; l < LISTS; l++) await store.createList({ address: `list${l}@lists.example.org` });
  await store.close();
  const started = performance.now();
  const source = new Database(database, { readonly: true });
  const rows = source.prepare('SELECT a.email, a.display_name, m.list_id, m.role, p.delivery_mode, p.delivery_status, m.bounce_score FROM member m JOIN address a ON a.id = m.address_id LEFT JOIN preferences p ON p.id = m.preferences_id').all() as { email: string; display_name: string; list_id: string; role: number }[];
  source.close();
  const target = new Database(file);
  target.pragma('journal_mode = WAL');
  target.pragma('synchronous = FULL');
  const insert = target.prepare("INSERT INTO members (list_id, address, address_key, display_name, role, subscribed_at) VALUES (?, ?, ?, ?, ?, '2026-01-01T00:00:00.000Z')");
  target.transaction(() => {
    for (const row of rows) insert.run(Number(row.list_id.slice(4, row.list_id.indexOf('.'))) + 1, row.email, row.email, row.display_name, row.role === 2 ? 'owner' : 'member');
  })();
  target.close();
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  report.setting('lists', LISTS);
  report.setting('memberships', MEMBERS + LISTS);
  report.setting('rounds', ROUNDS);
  report.printHeader();
  const base = await freshDir('mailman3-source');
  const database = join(base, 'mailman.db');
  const generating = performance.now();
  await mailmanDatabase(database);
  report.section('import of a generated Mailman 3.3.8 SQLite site (--database)', [`generated in ${((performance.now() - generating) / 1000).toFixed(1)} s: ${LISTS} lists, ${MEMBERS} members + ${LISTS} owners`]);
  const first: number[] = [];
  const second: number[] = [];
  const floors: number[] = [];
  const ratios: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const home = await freshDir('mailman3-home');
      const floorDir = await freshDir('mailman3-floor');
      try {
        await writeFile(join(home, 'switchyard.toml'), '');
        syncDisks();
        const once = await runImport(home, database);
        const report1 = JSON.parse(once.stdout) as { lists: { members: { added: number } }[] };
        const added = report1.lists.reduce((sum, list) => sum + list.members.added, 0);
        if (added !== MEMBERS + LISTS) throw new Error(`imported ${added} memberships, expected ${MEMBERS + LISTS}`);
        const twice = await runImport(home, database);
        if ((JSON.parse(twice.stdout) as { unchanged: boolean }).unchanged !== true) throw new Error('the second run changed something');
        syncDisks();
        const bare = await floor(floorDir, database);
        first.push(once.seconds);
        second.push(twice.seconds);
        floors.push(bare);
        ratios.push(once.seconds / bare);
      } finally {
        await removeDir(home);
        await removeDir(floorDir);
      }
    }
  } finally {
    await removeDir(base);
  }
  report.row({ name: 'import (CLI, first run)', unit: 's', value: median(first), floor: median(floors), ratio: median(ratios), rounds: { value: first, floor: floors, ratio: ratios } });
  report.row({ name: 'second run (nothing to change)', unit: 's', value: median(second), rounds: { value: second } });
  await report.finish();
}

await main();
