/**
 * What only the SQLite store does, on real database files in temp homes:
 * migrations on open (fresh, re-open, upgrade, newer than known), the file's
 * mode and WAL, stores held at an older schema, what a store remembers of a
 * list between reads (test/store/concurrency.test.ts: changes by another
 * process). The Store behaviour both
 * backends share is tested in store-suite.test.ts.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

let home: string;
let file: string;
const open: Store[] = [];

function sqlite(options: { targetVersion?: number } = {}): SqliteStore {
  const store = new SqliteStore({ file, busyTimeoutMs: 1000, ...options });
  open.push(store);
  return store;
}

function tables(): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((row) => row.name);
  } finally {
    db.close();
  }
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-store-'));
  file = join(home, 'switchyard.db');
});

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await rm(home, { recursive: true, force: true });
});

describe('migrations', () => {
  it('creates every table on a fresh database, records each migration once, in WAL mode with mode 0660', async () => {
    const store = sqlite();
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(Math.max(...MIGRATIONS.map((m) => m.version)));
    expect(tables()).toEqual(['api_tokens', 'approval_claims', 'archived_messages', 'auto_response_counts', 'bounce_domains', 'bounce_events', 'complaints', 'digest_issues', 'digest_posts', 'digest_state', 'held_decisions', 'held_messages', 'held_reply_tokens', 'job_leases', 'lists', 'members', 'pending_preference_changes', 'pending_requests', 'refusals_hourly', 'schema_migrations', 'web_login_links', 'web_sessions']);
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('660');
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect((db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: MIGRATIONS.length }, (_, i) => i + 1));
    db.close();
  });

  it('re-opening an up-to-date database changes nothing and keeps the data', async () => {
    const first = sqlite();
    await first.createList({ address: 'dev@example.org' });
    await first.close();
    const again = sqlite();
    expect(again.schemaVersion()).toBe(SCHEMA_VERSION);
    expect((await again.lists()).map((l) => l.address)).toEqual(['dev@example.org']);
    const db = new Database(file, { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(MIGRATIONS.length);
    db.close();
  });

  it('upgrades a version 1 database (lists and members, no held messages) to the current version, keeping its data', async () => {
    const v1 = sqlite({ targetVersion: 1 });
    expect(v1.schemaVersion()).toBe(1);
    await v1.createList({ address: 'dev@example.org' });
    await v1.addMember('dev@example.org', { address: 'anne@example.org', displayName: 'Anne' });
    await v1.close();
    expect(tables()).not.toContain('held_messages');

    const current = sqlite();
    expect(current.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(tables()).toContain('held_messages');
    expect(await current.getMember('dev@example.org', 'anne@example.org')).toMatchObject({ displayName: 'Anne' });
    const held = await current.holdMessage({ list: 'dev@example.org', sender: 'x@example.org', subject: 's', reason: 'r', raw: Buffer.from('m') });
    expect(held.id).toBe(1);
  });

  it('upgrades a version 8 database to allow delivery disabled by the owner, keeping every member row, bounce field and index', async () => {
    const v6 = sqlite({ targetVersion: 8 });
    await v6.createList({ address: 'dev@example.org', members: [{ address: 'boss@example.org', role: 'owner' }] });
    await v6.addMembers('dev@example.org', [{ address: 'anne@example.org', displayName: 'Anne' }, { address: 'bob@example.org' }]);
    const at = new Date('2024-06-01T10:00:00Z');
    await v6.updateMember('dev@example.org', 'bob@example.org', 'member', { deliveryStatus: 'by_bounces', bounceScore: 5, lastBounceAt: at, bounceWarningsSent: 2, lastBounceWarningAt: at, moderationAction: 'hold' });
    await expect(v6.updateMember('dev@example.org', 'anne@example.org', 'member', { deliveryStatus: 'by_owner' })).rejects.toThrow(/CHECK constraint/);
    const before = await v6.members('dev@example.org');
    await v6.close();

    const current = sqlite();
    expect(current.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(await current.members('dev@example.org')).toEqual(before);
    expect((await current.updateMember('dev@example.org', 'anne@example.org', 'member', { deliveryStatus: 'by_owner' })).deliveryStatus).toBe('by_owner');
    expect(await current.deliveryAddresses('dev@example.org')).toEqual([]);
    await current.close();
    const db = new Database(file, { readonly: true });
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'members' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(indexes).toEqual(['members_address_key', 'members_bounce_scored', 'members_digest', 'members_disabled_by_bounces', 'members_page']);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.close();
  });

  it('refuses a database written by a newer switchyard with SY_STORE_SCHEMA', async () => {
    await sqlite().close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')").run();
    db.close();
    expect(() => sqlite()).toThrow(expect.objectContaining({ code: 'SY_STORE_SCHEMA', message: expect.stringContaining('newer') }));
  });

  it('openStore puts the database at <home>/switchyard.db', async () => {
    const store = openStore(home);
    open.push(store);
    expect(store.location).toBe(file);
    await store.createList({ address: 'dev@example.org' });
    expect((await stat(file)).isFile()).toBe(true);
  });
});

describe('member preferences in the store', () => {
  const before = MIGRATIONS.findIndex((migration) => migration.name === 'member preferences');

  it('a store below the preferences migration reads the defaults and delivers as before; the upgrade keeps every row with the defaults', async () => {
    const old = sqlite({ targetVersion: MIGRATIONS[before - 1]!.version });
    await old.createList({ address: 'dev@example.org' });
    await old.addMembers('dev@example.org', [{ address: 'anne@example.org', displayName: 'Anne' }, { address: 'bob@example.org' }]);
    expect(await old.getMember('dev@example.org', 'anne@example.org')).toMatchObject({ deliveryMode: 'regular', receiveOwnPostings: true, hideAddress: false, preferredLanguage: null });
    expect(await old.deliveryAddresses('dev@example.org', { sender: 'anne@example.org', explicitRecipients: [] })).toEqual(['anne@example.org', 'bob@example.org']);
    expect(await old.digestAddresses('dev@example.org', 'mime_digests')).toEqual([]);
    const rows = await old.members('dev@example.org');
    await old.close();
    const current = sqlite();
    expect(await current.members('dev@example.org')).toEqual(rows);
    await current.updateMember('dev@example.org', 'anne@example.org', 'member', { deliveryMode: 'mime_digests', receiveOwnPostings: false });
    expect(await current.digestAddresses('dev@example.org', 'mime_digests')).toEqual(['anne@example.org']);
    expect(await current.countDigestMembers('dev@example.org')).toEqual({ mime_digests: 1 });
    expect(await current.deliveryAddresses('dev@example.org')).toEqual(['bob@example.org']);
  });

});

describe('what a store remembers between reads of a list', () => {
  const list = 'dev@example.org';

  it("gives each caller its own delivery addresses and settings: changing what one call returned changes no other call's", async () => {
    const store = sqlite();
    await store.createList({ address: list });
    await store.addMembers(list, [{ address: 'anne@example.org' }, { address: 'bob@example.org' }]);
    const addresses = await store.deliveryAddresses(list);
    addresses.push('mallory@example.org');
    const settings = (await store.getList(list)).settings;
    settings.subjectPrefix = '[Changed] ';
    settings.postingPipeline.push('to-nowhere');
    expect(await store.deliveryAddresses(list)).toEqual(['anne@example.org', 'bob@example.org']);
    expect((await store.getList(list)).settings).toEqual((await sqlite().getList(list)).settings);
    expect((await store.getList(list)).settings.subjectPrefix).toBe('[Dev] ');
  });

  it('sees its own changes and those of another store object on the same file at the next read, and none rolled back', async () => {
    const store = sqlite();
    const other = sqlite();
    await store.createList({ address: list });
    await store.addMembers(list, [{ address: 'anne@example.org' }, { address: 'bob@example.org' }]);
    expect(await store.deliveryAddresses(list)).toEqual(['anne@example.org', 'bob@example.org']);
    await store.updateMember(list, 'bob@example.org', 'member', { deliveryStatus: 'by_user' });
    expect(await store.deliveryAddresses(list)).toEqual(['anne@example.org']);
    await other.addMember(list, { address: 'carl@example.org' });
    expect(await store.deliveryAddresses(list)).toEqual(['anne@example.org', 'carl@example.org']);
    await other.updateList(list, { settings: { subjectPrefix: '[Other] ' } });
    expect((await store.getList(list)).settings.subjectPrefix).toBe('[Other] ');
    // All or none: anne's change is rolled back when the second member is unknown.
    await expect(store.updateMembers(list, [
      { address: 'anne@example.org', role: 'member', changes: { deliveryStatus: 'by_user' } },
      { address: 'nobody@example.org', role: 'member', changes: { deliveryStatus: 'by_user' } },
    ])).rejects.toMatchObject({ code: 'SY_MEMBER_UNKNOWN' });
    expect(await store.deliveryAddresses(list)).toEqual(['anne@example.org', 'carl@example.org']);
  });

  it('applies the post\'s preferences to the members it remembers: the sender without receiveOwnPostings, To/Cc members without receiveListCopy', async () => {
    const store = sqlite();
    await store.createList({ address: list });
    await store.addMembers(list, [{ address: 'anne@example.org' }, { address: 'Bob@Example.org' }, { address: 'carl@example.org' }]);
    await store.updateMember(list, 'anne@example.org', 'member', { receiveOwnPostings: false });
    await store.updateMember(list, 'bob@example.org', 'member', { receiveListCopy: false });
    const all = ['anne@example.org', 'Bob@example.org', 'carl@example.org'];
    for (let i = 0; i < 2; i++) {
      expect(await store.deliveryAddresses(list)).toEqual(all);
      expect(await store.deliveryAddresses(list, { sender: 'ANNE@example.org', explicitRecipients: [] })).toEqual(['Bob@example.org', 'carl@example.org']);
      expect(await store.deliveryAddresses(list, { sender: 'carl@example.org', explicitRecipients: ['bob@EXAMPLE.org', list] })).toEqual(['anne@example.org', 'carl@example.org']);
      expect(await store.deliveryAddresses(list, { sender: 'anne@example.org', explicitRecipients: ['bob@example.org'] })).toEqual(['carl@example.org']);
      expect(await store.deliveryAddresses(list, { sender: null, explicitRecipients: ['carl@example.org', 'not an address'] })).toEqual(all);
    }
  });
});
