/**
 * The SQLite store on real database files in temp homes: migrations (fresh,
 * re-open, upgrade, newer than known), lists, members, held messages, and the
 * typed errors each way of failing gives.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { importMembers } from '../../src/store/member-import.js';

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

async function rejection(promise: Promise<unknown>): Promise<{ code: string; temporary: boolean; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; temporary: boolean; message: string };
  }
  throw new Error('expected a rejection');
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
    expect(tables()).toEqual(['api_tokens', 'approval_claims', 'auto_response_counts', 'bounce_domains', 'bounce_events', 'complaints', 'digest_issues', 'digest_posts', 'digest_state', 'held_decisions', 'held_messages', 'held_reply_tokens', 'job_leases', 'lists', 'members', 'pending_preference_changes', 'pending_requests', 'refusals_hourly', 'schema_migrations']);
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

  it('takeAutoResponse counts per list, address (any case), kind and period, refusing past the limit without counting', async () => {
    const store = sqlite();
    await store.createList({ address: 'dev@example.org' });
    await store.createList({ address: 'ops@example.org' });
    const day = '2024-06-01';
    expect(await store.takeAutoResponse('dev@example.org', 'Anne@example.org', 'autoresponse', day, 2)).toBe(true);
    expect(await store.takeAutoResponse('dev@example.org', 'anne@EXAMPLE.org', 'autoresponse', day, 2)).toBe(true);
    expect(await store.takeAutoResponse('dev@example.org', 'anne@example.org', 'autoresponse', day, 2)).toBe(false);
    expect(await store.takeAutoResponse('dev@example.org', 'anne@example.org', 'confirmation', day, 2)).toBe(true);
    expect(await store.takeAutoResponse('ops@example.org', 'anne@example.org', 'autoresponse', day, 2)).toBe(true);
    expect(await store.takeAutoResponse('dev@example.org', 'anne@example.org', 'autoresponse', '2024-06-02', 2)).toBe(true);
    // A list removed and created again starts from nothing.
    await store.removeList('dev@example.org');
    await store.createList({ address: 'dev@example.org' });
    expect(await store.takeAutoResponse('dev@example.org', 'anne@example.org', 'autoresponse', day, 2)).toBe(true);
    expect(await store.pruneAutoResponses('2024-06-02')).toBeGreaterThan(0);
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

describe('lists', () => {
  it('creates a list with lower-cased address, Mailman-style display name and subject prefix, and default settings', async () => {
    const store = sqlite();
    const list = await store.createList({ address: 'Dev@Lists.Example.ORG', description: 'devs' });
    expect(list).toMatchObject({ address: 'dev@lists.example.org', name: 'dev', domain: 'lists.example.org', displayName: 'Dev', description: 'devs' });
    expect(list.settings).toMatchObject({ subjectPrefix: '[Dev] ', defaultNonmemberAction: 'hold', maxMessageSize: 40 });
    expect(await store.getList('DEV@lists.example.org')).toEqual(list);
  });

  it('accepts settings at creation and validates them', async () => {
    const store = sqlite();
    const list = await store.createList({ address: 'a@example.org', displayName: 'Team A', settings: { emergency: true, subjectPrefix: '' } });
    expect(list.settings).toMatchObject({ emergency: true, subjectPrefix: '' });
    expect(await rejection(store.createList({ address: 'b@example.org', settings: { maxMessageSize: -1 } }))).toMatchObject({ code: 'SY_LIST_SETTING' });
    expect(await store.findList('b@example.org')).toBeNull();
  });

  it('refuses a second list with the same address (SY_LIST_EXISTS) and an invalid one (SY_LIST_NAME_INVALID)', async () => {
    const store = sqlite();
    await store.createList({ address: 'dev@example.org' });
    expect(await rejection(store.createList({ address: 'DEV@EXAMPLE.ORG' }))).toMatchObject({ code: 'SY_LIST_EXISTS', temporary: false });
    expect(await rejection(store.createList({ address: '../x@example.org' }))).toMatchObject({ code: 'SY_LIST_NAME_INVALID' });
  });

  it('reports an unknown list as SY_LIST_UNKNOWN for every operation on it', async () => {
    const store = sqlite();
    const list = 'nope@example.org';
    const operations: (() => Promise<unknown>)[] = [
      () => store.getList(list),
      () => store.updateList(list, { description: 'x' }),
      () => store.removeList(list),
      () => store.addMember(list, { address: 'a@example.org' }),
      () => store.addMembers(list, [{ address: 'a@example.org' }]),
      () => store.members(list),
      () => store.countMembers(list),
      () => store.holdMessage({ list, sender: 'a@example.org', subject: '', reason: 'r', raw: Buffer.from('x') }),
      () => store.heldMessages(list),
    ];
    for (const operation of operations) expect(await rejection(operation())).toMatchObject({ code: 'SY_LIST_UNKNOWN' });
    expect(await store.findList(list)).toBeNull();
  });

  it('updates settings key by key, keeping the others, and refuses unknown keys', async () => {
    const store = sqlite();
    await store.createList({ address: 'dev@example.org' });
    const updated = await store.updateList('dev@example.org', { description: 'new', settings: { maxNumRecipients: 0 } });
    expect(updated).toMatchObject({ description: 'new', displayName: 'Dev' });
    expect(updated.settings).toMatchObject({ maxNumRecipients: 0, subjectPrefix: '[Dev] ' });
    const bogus = { nonsense: 1 } as unknown as Record<string, never>;
    expect(await rejection(store.updateList('dev@example.org', { settings: bogus }))).toMatchObject({ code: 'SY_LIST_SETTING', message: expect.stringContaining('nonsense') });
    expect((await store.getList('dev@example.org')).settings.maxNumRecipients).toBe(0);
  });

  it('removes a list with its members and held messages, and lists what remains in address order', async () => {
    const store = sqlite();
    for (const address of ['b@example.org', 'a@example.org', 'c@example.org']) await store.createList({ address });
    await store.addMembers('b@example.org', [{ address: 'x@example.org' }, { address: 'y@example.org', role: 'owner' }]);
    await store.holdMessage({ list: 'b@example.org', sender: 'z@example.org', subject: 'hi', reason: 'non-member', queueRef: 'held/1' });
    expect(await store.removeList('b@example.org')).toEqual({ list: 'b@example.org', members: 2, held: 1 });
    expect((await store.lists()).map((l) => l.address)).toEqual(['a@example.org', 'c@example.org']);
    const db = new Database(file, { readonly: true });
    expect((db.prepare('SELECT (SELECT COUNT(*) FROM members) + (SELECT COUNT(*) FROM held_messages) AS n').get() as { n: number }).n).toBe(0);
    db.close();
  });
});

describe('members', () => {
  let store: SqliteStore;
  const list = 'dev@example.org';

  beforeEach(async () => {
    store = sqlite();
    await store.createList({ address: list });
  });

  it('deliveryAddresses() gives the members (role member) whose delivery is enabled, by address, and nobody else', async () => {
    await store.addMembers(list, [{ address: 'zed@example.org' }, { address: 'Anne@Example.org' }, { address: 'bob@example.org' }, { address: 'carol@example.org' }]);
    await store.addMember(list, { address: 'owner@example.org', role: 'owner' });
    await store.addMember(list, { address: 'mod@example.org', role: 'moderator' });
    await store.updateMember(list, 'bob@example.org', 'member', { deliveryStatus: 'by_bounces' });
    await store.updateMember(list, 'carol@example.org', 'member', { deliveryStatus: 'by_user' });
    expect(await store.deliveryAddresses(list)).toEqual(['Anne@example.org', 'zed@example.org']);
    await expect(store.deliveryAddresses('nosuch@example.org')).rejects.toMatchObject({ code: 'SY_LIST_UNKNOWN' });
  });

  it('adds a member with its defaults: enabled delivery, no bounces, list moderation action', async () => {
    const before = Date.now();
    const member = await store.addMember(list, { address: 'Anne@Bücher.Example', displayName: 'Anne' });
    expect(member).toMatchObject({
      list,
      address: 'Anne@xn--bcher-kva.example',
      displayName: 'Anne',
      role: 'member',
      deliveryStatus: 'enabled',
      moderationAction: null,
      bounceScore: 0,
      lastBounceAt: null,
    });
    expect(member.subscribedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(await store.getMember(list, 'anne@BÜCHER.example')).toEqual(member);
  });

  it('refuses the same address in the same role in any case (SY_MEMBER_EXISTS) but allows it in another role', async () => {
    await store.addMember(list, { address: 'anne@example.org' });
    expect(await rejection(store.addMember(list, { address: 'ANNE@example.org' }))).toMatchObject({ code: 'SY_MEMBER_EXISTS' });
    await store.addMember(list, { address: 'anne@example.org', role: 'owner' });
    expect((await store.members(list)).map((m) => `${m.address}/${m.role}`)).toEqual(['anne@example.org/member', 'anne@example.org/owner']);
    expect(await store.countMembers(list, { role: 'owner' })).toBe(1);
  });

  it('refuses an invalid address with SY_ADDRESS_INVALID and writes nothing', async () => {
    expect(await rejection(store.addMember(list, { address: 'no at sign' }))).toMatchObject({ code: 'SY_ADDRESS_INVALID' });
    expect(await rejection(store.addMembers(list, [{ address: 'ok@example.org' }, { address: 'bad@' }]))).toMatchObject({ code: 'SY_ADDRESS_INVALID' });
    expect(await store.countMembers(list)).toBe(0);
  });

  it('adds many at once, counting those already there (and repeats within the batch)', async () => {
    await store.addMember(list, { address: 'a@example.org' });
    const result = await store.addMembers(list, [{ address: 'a@example.org' }, { address: 'b@example.org' }, { address: 'B@example.org' }, { address: 'c@example.org', displayName: 'C' }]);
    expect(result).toEqual({ added: 2, existing: 2 });
    expect((await store.members(list)).map((m) => m.address)).toEqual(['a@example.org', 'b@example.org', 'c@example.org']);
  });

  it('removes a member by role, and reports one that is not there as SY_MEMBER_UNKNOWN', async () => {
    await store.addMember(list, { address: 'a@example.org' });
    await store.addMember(list, { address: 'a@example.org', role: 'moderator' });
    await store.removeMember(list, 'A@example.org');
    expect((await store.members(list)).map((m) => m.role)).toEqual(['moderator']);
    expect(await rejection(store.removeMember(list, 'a@example.org'))).toMatchObject({ code: 'SY_MEMBER_UNKNOWN' });
    expect(await rejection(store.getMember(list, 'zed@example.org'))).toMatchObject({ code: 'SY_MEMBER_UNKNOWN' });
    expect(await store.findMember(list, 'zed@example.org')).toBeNull();
  });

  it('updates the bounce and delivery fields the bounce runner needs', async () => {
    await store.addMember(list, { address: 'a@example.org', displayName: 'A' });
    const at = new Date('2025-01-02T03:04:05.000Z');
    const updated = await store.updateMember(list, 'a@example.org', 'member', { bounceScore: 5.5, lastBounceAt: at, deliveryStatus: 'by_bounces', moderationAction: 'hold' });
    expect(updated).toMatchObject({ displayName: 'A', bounceScore: 5.5, lastBounceAt: at, deliveryStatus: 'by_bounces', moderationAction: 'hold' });
    const reset = await store.updateMember(list, 'a@example.org', 'member', { bounceScore: 0, lastBounceAt: null, moderationAction: null });
    expect(reset).toMatchObject({ bounceScore: 0, lastBounceAt: null, deliveryStatus: 'by_bounces', moderationAction: null });
    expect(await rejection(store.updateMember(list, 'b@example.org', 'member', {}))).toMatchObject({ code: 'SY_MEMBER_UNKNOWN' });
  });

  it('imports a member file, reporting invalid lines by number and going on', async () => {
    const lines = ['address,name', 'a@example.org,A', '', 'broken line', '# comment', 'B <b@example.org>', 'a@example.org', 'c@@example.org'];
    const result = await importMembers(store, list, lines, { batchSize: 2 });
    expect(result).toMatchObject({ list, lines: 8, added: 2, existing: 1 });
    expect(result.invalid.map((bad) => bad.line)).toEqual([4, 8]);
    expect(result.invalid[0]?.reason).toContain('no @');
    expect((await store.members(list)).map((m) => [m.address, m.displayName])).toEqual([
      ['a@example.org', 'A'],
      ['b@example.org', 'B'],
    ]);
  });
});

describe('held messages', () => {
  it('holds a message by queue reference or raw bytes, lists them oldest first, and removes them', async () => {
    const store = sqlite();
    await store.createList({ address: 'dev@example.org' });
    const receivedAt = new Date('2025-06-01T12:00:00.000Z');
    const first = await store.holdMessage({
      list: 'dev@example.org',
      sender: 'stranger@example.net',
      subject: 'Hello',
      reason: 'post from a non-member',
      receivedAt,
      messageId: '<1@example.net>',
      queueRef: 'held/1700000000.000001+abc',
      metadata: { chain: 'default', pipeline: 'default' },
    });
    expect(first).toMatchObject({ list: 'dev@example.org', sender: 'stranger@example.net', receivedAt, queueRef: 'held/1700000000.000001+abc', raw: null, metadata: { chain: 'default' } });
    const raw = Buffer.from('Subject: big\r\n\r\n\x00\xff binary-safe');
    const second = await store.holdMessage({ list: 'dev@example.org', sender: 's@example.net', subject: 'big', reason: 'too big', raw });
    expect((await store.getHeld(second.id)).raw?.equals(raw)).toBe(true);
    expect((await store.heldMessages('dev@example.org')).map((h) => h.id)).toEqual([first.id, second.id]);
    expect(await store.countHeld('dev@example.org')).toBe(2);
    await store.removeHeld(first.id);
    expect(await rejection(store.getHeld(first.id))).toMatchObject({ code: 'SY_HELD_UNKNOWN' });
    expect(await rejection(store.removeHeld(first.id))).toMatchObject({ code: 'SY_HELD_UNKNOWN' });
    // Ids are never reused, so a moderator's decision cannot land on another message.
    const third = await store.holdMessage({ list: 'dev@example.org', sender: 's@example.net', subject: '', reason: 'r', raw });
    await store.removeHeld(second.id);
    await store.removeHeld(third.id);
    expect((await store.holdMessage({ list: 'dev@example.org', sender: 's@example.net', subject: '', reason: 'r', raw })).id).toBe(third.id + 1);
  });

  it('needs exactly one of queueRef and raw', async () => {
    const store = sqlite();
    await store.createList({ address: 'dev@example.org' });
    const base = { list: 'dev@example.org', sender: 's@example.net', subject: '', reason: 'r' };
    expect(await rejection(store.holdMessage(base))).toMatchObject({ code: 'SY_HELD_INVALID' });
    expect(await rejection(store.holdMessage({ ...base, raw: Buffer.from('x'), queueRef: 'held/x' }))).toMatchObject({ code: 'SY_HELD_INVALID' });
  });
});

describe('job leases', () => {
  const at = (iso: string) => new Date(iso);

  it('one run of a job is claimed once across two stores on one file; a later run after the first finished is claimed again', async () => {
    const a = sqlite();
    const b = sqlite();
    const run1 = { runKey: '2026-01-01T10:00:00.000Z', now: at('2026-01-01T10:00:00.100Z'), expiresAt: at('2026-01-01T11:00:00.000Z') };
    expect(await a.claimJobRun('held-expiry', { ...run1, holder: 'host-a' })).toEqual({ claimed: true });
    expect(await b.claimJobRun('held-expiry', { ...run1, holder: 'host-b' })).toEqual({ claimed: false, why: 'done', holder: 'host-a', runKey: run1.runKey });
    // Another job is independent.
    expect(await b.claimJobRun('bounce-warnings', { ...run1, holder: 'host-b' })).toEqual({ claimed: true });
    await a.finishJobRun('held-expiry', 'host-a', run1.runKey, { at: at('2026-01-01T10:00:01.000Z'), outcome: 'ok', detail: '2 expired' });
    const run2 = { runKey: '2026-01-01T11:00:00.000Z', now: at('2026-01-01T11:00:00.000Z'), expiresAt: at('2026-01-01T12:00:00.000Z') };
    expect(await b.claimJobRun('held-expiry', { ...run2, holder: 'host-b' })).toEqual({ claimed: true });
    const leases = await a.jobLeases();
    expect(leases.map((l) => [l.job, l.holder, l.runKey, l.finishedAt])).toEqual([
      ['bounce-warnings', 'host-b', run1.runKey, null],
      ['held-expiry', 'host-b', run2.runKey, null],
    ]);
  });

  it('an unfinished run keeps later runs from other hosts until its lease expires (a holder that died), then they are claimed', async () => {
    const store = sqlite();
    await store.claimJobRun('held-expiry', { runKey: '2026-01-01T10:00:00.000Z', holder: 'dead', now: at('2026-01-01T10:00:00.000Z'), expiresAt: at('2026-01-01T10:30:00.000Z') });
    const later = { runKey: '2026-01-01T10:15:00.000Z', holder: 'alive', now: at('2026-01-01T10:15:00.000Z'), expiresAt: at('2026-01-01T10:45:00.000Z') };
    expect(await store.claimJobRun('held-expiry', later)).toEqual({ claimed: false, why: 'busy', holder: 'dead', runKey: '2026-01-01T10:00:00.000Z' });
    const after = { runKey: '2026-01-01T10:31:00.000Z', holder: 'alive', now: at('2026-01-01T10:31:00.000Z'), expiresAt: at('2026-01-01T11:01:00.000Z') };
    expect(await store.claimJobRun('held-expiry', after)).toEqual({ claimed: true });
    // The dead holder's late finish does not overwrite the new run.
    await store.finishJobRun('held-expiry', 'dead', '2026-01-01T10:00:00.000Z', { at: at('2026-01-01T10:32:00.000Z'), outcome: 'failed', detail: 'late' });
    const [lease] = await store.jobLeases();
    expect(lease).toMatchObject({ holder: 'alive', runKey: after.runKey, finishedAt: null, outcome: null });
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

  it('the schema refuses an unknown delivery mode', async () => {
    const store = sqlite();
    await store.createList({ address: 'dev@example.org' });
    await store.addMember('dev@example.org', { address: 'anne@example.org' });
    await expect(store.updateMember('dev@example.org', 'anne@example.org', 'member', { deliveryMode: 'weekly' as never })).rejects.toThrow(/CHECK constraint/);
  });
});

describe('member pages and API tokens (the HTTP API)', () => {
  it('memberPage walks (address, role) order from a cursor, across roles, and searches with LIKE wildcards taken literally', async () => {
    const store = sqlite();
    await store.createList({ address: 'dev@example.org', members: [{ address: 'b@example.org', role: 'owner' }] });
    await store.addMembers('dev@example.org', [{ address: 'B@example.org' }, { address: 'a@example.org', displayName: 'Ann 100%' }, { address: 'c_d@example.org' }, { address: 'cxd@example.org' }]);
    const first = await store.memberPage('dev@example.org', { limit: 2 });
    expect(first.map((m) => `${m.address} ${m.role}`)).toEqual(['a@example.org member', 'B@example.org member']);
    const second = await store.memberPage('dev@example.org', { limit: 10, after: { address: 'B@example.org', role: 'member' } });
    expect(second.map((m) => `${m.address} ${m.role}`)).toEqual(['b@example.org owner', 'c_d@example.org member', 'cxd@example.org member']);
    expect((await store.memberPage('dev@example.org', { limit: 10, search: 'c_d' })).map((m) => m.address)).toEqual(['c_d@example.org']);
    expect((await store.memberPage('dev@example.org', { limit: 10, search: '100%' })).map((m) => m.address)).toEqual(['a@example.org']);
    expect((await store.memberPage('dev@example.org', { limit: 10, role: 'owner' })).map((m) => m.address)).toEqual(['b@example.org']);
    await store.close();
  });

  it('keeps API tokens by hash, records their use to the minute, and drops a list-scoped token with its list', async () => {
    const store = sqlite();
    await store.createList({ address: 'dev@example.org' });
    const created = new Date('2026-01-01T00:00:00Z');
    const admin = await store.addApiToken({ name: 'ops', hash: 'a'.repeat(64), role: 'admin', createdAt: created });
    const owner = await store.addApiToken({ name: 'ann', hash: 'b'.repeat(64), role: 'owner', list: 'dev@example.org', createdAt: created });
    expect(owner).toMatchObject({ role: 'owner', list: 'dev@example.org', lastUsedAt: null });
    const used = new Date('2026-01-01T00:05:00Z');
    expect(await store.useApiToken('a'.repeat(64), used)).toMatchObject({ id: admin.id, lastUsedAt: used });
    // Within the minute: not written again.
    expect((await store.useApiToken('a'.repeat(64), new Date('2026-01-01T00:05:30Z')))!.lastUsedAt).toEqual(used);
    expect((await store.useApiToken('a'.repeat(64), new Date('2026-01-01T00:06:01Z')))!.lastUsedAt).toEqual(new Date('2026-01-01T00:06:01Z'));
    expect(await store.useApiToken('c'.repeat(64), used)).toBeNull();
    await expect(store.addApiToken({ name: 'x', hash: 'd'.repeat(64), role: 'moderator', createdAt: created })).rejects.toThrow(/CHECK constraint/);
    await store.removeList('dev@example.org');
    expect((await store.apiTokens()).map((t) => t.name)).toEqual(['ops']);
    expect(await store.removeApiToken(admin.id)).toBe(true);
    expect(await store.removeApiToken(admin.id)).toBe(false);
    await store.close();
  });
});

describe('updateMembers', () => {
  it('changes many members in one transaction: all of them, or none when one is not there', async () => {
    const store = sqlite();
    await store.createList({ address: 'batch@lists.example.org' });
    await store.addMembers('batch@lists.example.org', [{ address: 'a@example.org' }, { address: 'b@example.org' }]);
    expect(await store.updateMembers('batch@lists.example.org', [
      { address: 'a@example.org', role: 'member', changes: { deliveryMode: 'mime_digests', hideAddress: true } },
      { address: 'b@example.org', role: 'member', changes: { deliveryStatus: 'by_bounces', bounceScore: 3 } },
    ])).toBe(2);
    expect(await store.getMember('batch@lists.example.org', 'a@example.org')).toMatchObject({ deliveryMode: 'mime_digests', hideAddress: true });
    expect(await store.getMember('batch@lists.example.org', 'b@example.org')).toMatchObject({ deliveryStatus: 'by_bounces', bounceScore: 3 });
    const refused = await rejection(store.updateMembers('batch@lists.example.org', [
      { address: 'a@example.org', role: 'member', changes: { deliveryMode: 'regular' } },
      { address: 'nobody@example.org', role: 'member', changes: { bounceScore: 1 } },
    ]));
    expect(refused.code).toBe('SY_MEMBER_UNKNOWN');
    expect((await store.getMember('batch@lists.example.org', 'a@example.org')).deliveryMode).toBe('mime_digests');
  });
});
