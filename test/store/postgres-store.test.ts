/**
 * What only the PostgreSQL store does, on a private cluster (test/support/postgres.ts):
 * it is migrated by `switchyard store migrate`, never by opening it; an older
 * schema is refused with the command to run (by every call and by `start`); a
 * newer one with SY_STORE_SCHEMA; a server that goes away mid-run is the one
 * temporary error (SY_STORE_BUSY) and the same store carries on once it is
 * back; `store copy` moves an SQLite site into it with every row and byte
 * (the archive's too).
 */
import Database from 'better-sqlite3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { migratePostgres } from '../../src/store/postgres-migrate.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { runCli } from '../support/cli.js';
import { startPostgres, type PostgresCluster } from '../support/postgres.js';

let cluster: PostgresCluster;
let home: string;
let url: string;
const closing: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(async () => {
  await cluster?.destroy();
});
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'sy-pg-home-'));
  url = await cluster.database();
  await writeFile(join(home, 'switchyard.toml'), `[store]\nurl = "${url}"\n`);
});
afterEach(async () => {
  for (const store of closing.splice(0)) await store.close();
  await rm(home, { recursive: true, force: true });
});

function pgStore(): PostgresStore {
  const store = new PostgresStore({ url, connectTimeoutMs: 2000 });
  closing.push(store);
  return store;
}

describe('migrations', () => {
  it('an unmigrated database is refused with SY_STORE_MIGRATE naming the command, by the store and by the CLI; `store migrate` applies every migration once', async () => {
    const store = openStore(home, { url });
    closing.push(store);
    await expect(store.lists()).rejects.toMatchObject({ code: 'SY_STORE_MIGRATE', temporary: true, message: expect.stringContaining('switchyard store migrate') });
    const refused = await runCli(['--home', home, 'lists', 'list', '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'SY_STORE_MIGRATE', temporary: true } });

    const migrated = await runCli(['--home', home, 'store', 'migrate', '--json']);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(JSON.parse(migrated.stdout)).toMatchObject({ backend: 'postgres', from: 0, to: SCHEMA_VERSION, applied: MIGRATIONS.map((m) => ({ version: m.version, name: m.name })) });
    const again = await runCli(['--home', home, 'store', 'migrate']);
    expect(again.stdout).toContain(`up to date (schema version ${SCHEMA_VERSION})`);
    // The store that refused works now without being reopened (the check is not cached while it fails).
    expect(await store.lists()).toEqual([]);
  });

  it('a database migrated part way is brought up from where it stopped; hosts migrating at once apply each migration once', async () => {
    expect((await migratePostgres(url, { targetVersion: 8 })).to).toBe(8);
    await expect(pgStore().countMembers('x@example.org')).rejects.toMatchObject({ code: 'SY_STORE_MIGRATE', message: expect.stringContaining('schema version 8') });
    const reports = await Promise.all([migratePostgres(url), migratePostgres(url), migratePostgres(url)]);
    expect(reports.flatMap((r) => r.applied.map((a) => a.version)).sort((a, b) => a - b)).toEqual(MIGRATIONS.filter((m) => m.version > 8).map((m) => m.version));
    expect(await pgStore().schemaVersion()).toBe(SCHEMA_VERSION);
  });

  it('a database written by a newer switchyard is refused with SY_STORE_SCHEMA, by the store and by `store migrate`', async () => {
    await migratePostgres(url);
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')");
    await client.end();
    await expect(pgStore().lists()).rejects.toMatchObject({ code: 'SY_STORE_SCHEMA', message: expect.stringContaining('newer') });
    const refused = await runCli(['--home', home, 'store', 'migrate', '--json']);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'SY_STORE_SCHEMA' } });
  });

  it('`start` and `start --foreground` refuse an older PostgreSQL schema, saying what to run', async () => {
    const started = await runCli(['--home', home, 'start']);
    expect(started.code).toBe(1);
    expect(started.stderr).toContain('switchyard store migrate');
    // systemd and `npm start` run the master in the foreground: refused the same way, before any runner starts.
    const foreground = await runCli(['--home', home, 'start', '--foreground']);
    expect(foreground.code).toBe(1);
    expect(foreground.stderr).toContain('switchyard store migrate');
    expect(foreground.stderr).toContain('SY_STORE_MIGRATE');
  });
});

describe('the server going away', () => {
  it('a stopped server is SY_STORE_BUSY (temporary) for reads and writes; the same store carries on once it is back', async () => {
    await migratePostgres(url);
    const store = pgStore();
    await store.createList({ address: 'dev@example.org' });
    await cluster.stop();
    try {
      // Idle connections were cut by the shutdown (57P01 on the next use) and new ones are refused.
      for (const call of [() => store.findListAddress('dev@example.org'), () => store.addMember('dev@example.org', { address: 'a@example.org' })]) {
        const error = await call().then(() => undefined, (e: unknown) => e);
        expect(error).toMatchObject({ code: 'SY_STORE_BUSY', temporary: true });
      }
    } finally {
      await cluster.start();
    }
    await store.addMember('dev@example.org', { address: 'a@example.org' });
    expect(await store.deliveryAddresses('dev@example.org')).toEqual(['a@example.org']);
  });
});

describe('ingress on PostgreSQL', () => {
  it('`switchyard inject` (the bundled command) routes by the PostgreSQL store: queued for a list, exit 67 for no list, exit 75 with the server stopped', async () => {
    await migratePostgres(url);
    const store = pgStore();
    await store.createList({ address: 'dev@example.org' });
    const message = 'From: a@example.org\nSubject: x\n\nbody\n';
    const queued = await runCli(['inject', '--home', home, '--recipient', 'dev@example.org'], {}, message);
    expect(queued.code, queued.stderr).toBe(0);
    const unknown = await runCli(['inject', '--home', home, '--recipient', 'nobody@example.org'], {}, message);
    expect(unknown.code).toBe(67);
    await cluster.stop();
    try {
      const down = await runCli(['inject', '--home', home, '--recipient', 'dev@example.org'], {}, message);
      expect(down.code, down.stderr).toBe(75);
      expect(down.stderr).toContain('SY_STORE_BUSY');
    } finally {
      await cluster.start();
    }
  });
});

describe('store copy', () => {
  it('copies a site from SQLite with every member, held post and its bytes, ids kept; counts checked; a non-empty target is refused unless --force; a post then holds on', async () => {
    const file = join(home, 'switchyard.db');
    const sqlite = new SqliteStore({ file });
    await sqlite.createList({ address: 'big@example.org', members: [{ address: 'boss@example.org', role: 'owner' }] });
    await sqlite.createList({ address: 'small@example.org' });
    const members = Array.from({ length: 3000 }, (_, i) => ({ address: `m${i}@example.org`, displayName: i % 2 === 0 ? `Member ${i}` : '' }));
    await sqlite.addMembers('big@example.org', members);
    await sqlite.updateMember('big@example.org', 'm7@example.org', 'member', { bounceScore: 2.5, lastBounceAt: new Date('2026-01-01T00:00:00Z'), deliveryMode: 'plain_digests' });
    const raw = Buffer.from('Subject: held\r\n\r\n\x00\x01\xff bytes');
    const held = [];
    for (let i = 0; i < 20; i++) held.push(await sqlite.holdMessage({ list: 'big@example.org', sender: `s${i}@example.net`, subject: `h${i}`, reason: 'non-member', raw }));
    await sqlite.decideHeld(held[0]!.id, { decision: 'discard', decidedBy: 'mod' });
    await sqlite.heldReplyToken(held[1]!.id, 'reply-token-1');
    const token = await sqlite.addApiToken({ name: 'ops', hash: 'a'.repeat(64), role: 'admin', createdAt: new Date('2026-01-01T00:00:00Z') });
    // Web logins survive the move: a session by link, one by the admin token, an unused login link.
    const later = new Date(Date.now() + 86_400_000);
    await sqlite.addWebSession({ hash: 'c'.repeat(64), address: 'boss@example.org', tokenId: null, createdAt: new Date(), expiresAt: later });
    await sqlite.addWebSession({ hash: 'd'.repeat(64), address: null, tokenId: token.id, createdAt: new Date(), expiresAt: later });
    await sqlite.addLoginLink({ hash: 'e'.repeat(64), address: 'boss@example.org', createdAt: new Date(), expiresAt: later });
    const archived = { list: 'big@example.org', key: 'b'.repeat(64), archivedAt: new Date('2026-01-02T03:04:05Z'), sender: 'm1@example.org', messageId: '<a@x>', inReplyTo: null, references: [], subject: 'archived', from: 'm1@example.org', raw };
    await sqlite.addArchivedMessage(archived);
    const before = await sqlite.members('big@example.org');
    await sqlite.close();

    const copied = await runCli(['store', 'copy', '--from', `sqlite:${file}`, '--to', url, '--json']);
    expect(copied.code, copied.stderr + copied.stdout).toBe(0);
    const report = JSON.parse(copied.stdout) as { tables: Record<string, number>; rows: number; replaced: boolean };
    expect(report).toMatchObject({ replaced: false, tables: { lists: 2, members: 3001, held_messages: 19, held_decisions: 1, held_reply_tokens: 1, api_tokens: 1, web_sessions: 2, web_login_links: 1, archived_messages: 1 } });
    // Every table of the schema is copied: one added by a later migration and not to store copy would show here.
    const schema = new Database(file, { readonly: true });
    const tables = (schema.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").all() as { name: string }[]).map((row) => row.name);
    schema.close();
    expect(Object.keys(report.tables).sort()).toEqual(tables.sort());

    const store = pgStore();
    expect(await store.members('big@example.org')).toEqual(before);
    expect((await store.heldByReplyToken('reply-token-1'))!.raw!.equals(raw)).toBe(true);
    expect(await store.archivedMessage('big@example.org', 'b'.repeat(64))).toEqual({ ...archived, size: raw.length });
    expect((await store.heldMessages('big@example.org')).map((h) => h.id)).toEqual(held.slice(1).map((h) => h.id));
    expect(await store.heldDecision(held[0]!.id)).toMatchObject({ decision: 'discard' });
    expect(await store.webSession('c'.repeat(64), new Date())).toMatchObject({ address: 'boss@example.org', tokenId: null });
    expect(await store.webSession('d'.repeat(64), new Date())).toMatchObject({ address: null, tokenId: token.id });
    expect(await store.takeLoginLink('e'.repeat(64), new Date())).toEqual({ address: 'boss@example.org' });
    // New rows continue after the copied ids.
    const next = await store.holdMessage({ list: 'big@example.org', sender: 'x@example.net', subject: 'new', reason: 'r', raw });
    expect(next.id).toBe(held[held.length - 1]!.id + 1);

    const refused = await runCli(['store', 'copy', '--from', `sqlite:${file}`, '--to', url, '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'SY_STORE_COPY_TARGET' } });
    const forced = await runCli(['store', 'copy', '--from', `sqlite:${file}`, '--to', url, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('previous content replaced');
    expect(await store.countHeld('big@example.org')).toBe(19);
  });

  it('refuses a source that is not SQLite or a target that is not PostgreSQL (usage, exit 2)', async () => {
    const wrong = await runCli(['store', 'copy', '--from', url, '--to', url, '--json']);
    expect(wrong.code).toBe(2);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ error: { code: 'SY_STORE_URL' } });
  });
});
