/**
 * The one Store test suite: every backend (SQLite, PostgreSQL on a private
 * cluster) must pass the same tests of the Store interface. Backend-specific
 * matters (SQLite's file mode, upgrades of old files, corruption; PostgreSQL's
 * migration command and outages) have their own files.
 */
import { describe, expect, it, beforeEach } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { importMembers } from '../../src/store/member-import.js';
import { BACKENDS, useBackend } from '../support/store-backends.js';

async function rejection(promise: Promise<unknown>): Promise<{ code: string; temporary: boolean; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; temporary: boolean; message: string };
  }
  throw new Error('expected a rejection');
}

describe.each(BACKENDS)('the $name store', ({ name }) => {
  const backend = useBackend(name);

  describe('lists, held posts and job runs', () => {
    it('takeAutoResponse counts per list, address (any case), kind and period, refusing past the limit without counting', async () => {
      const store = backend.open();
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

  });

  describe('members in batches', () => {
    it('changes many members in one transaction: all of them, or none when one is not there', async () => {
      const store = backend.open();
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

  describe('lists', () => {
    it('creates a list with lower-cased address, Mailman-style display name and subject prefix, and default settings', async () => {
      const store = backend.open();
      const list = await store.createList({ address: 'Dev@Lists.Example.ORG', description: 'devs' });
      expect(list).toMatchObject({ address: 'dev@lists.example.org', name: 'dev', domain: 'lists.example.org', displayName: 'Dev', description: 'devs' });
      expect(list.settings).toMatchObject({ subjectPrefix: '[Dev] ', defaultNonmemberAction: 'hold', maxMessageSize: 40 });
      expect(await store.getList('DEV@lists.example.org')).toEqual(list);
    });

    it('accepts settings at creation and validates them', async () => {
      const store = backend.open();
      const list = await store.createList({ address: 'a@example.org', displayName: 'Team A', settings: { emergency: true, subjectPrefix: '' } });
      expect(list.settings).toMatchObject({ emergency: true, subjectPrefix: '' });
      expect(await rejection(store.createList({ address: 'b@example.org', settings: { maxMessageSize: -1 } }))).toMatchObject({ code: 'SY_LIST_SETTING' });
      expect(await store.findList('b@example.org')).toBeNull();
    });

    it('refuses a second list with the same address (SY_LIST_EXISTS) and an invalid one (SY_LIST_NAME_INVALID)', async () => {
      const store = backend.open();
      await store.createList({ address: 'dev@example.org' });
      expect(await rejection(store.createList({ address: 'DEV@EXAMPLE.ORG' }))).toMatchObject({ code: 'SY_LIST_EXISTS', temporary: false });
      expect(await rejection(store.createList({ address: '../x@example.org' }))).toMatchObject({ code: 'SY_LIST_NAME_INVALID' });
    });

    it('reports an unknown list as SY_LIST_UNKNOWN for every operation on it', async () => {
      const store = backend.open();
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
      const store = backend.open();
      await store.createList({ address: 'dev@example.org' });
      const updated = await store.updateList('dev@example.org', { description: 'new', settings: { maxNumRecipients: 0 } });
      expect(updated).toMatchObject({ description: 'new', displayName: 'Dev' });
      expect(updated.settings).toMatchObject({ maxNumRecipients: 0, subjectPrefix: '[Dev] ' });
      const bogus = { nonsense: 1 } as unknown as Record<string, never>;
      expect(await rejection(store.updateList('dev@example.org', { settings: bogus }))).toMatchObject({ code: 'SY_LIST_SETTING', message: expect.stringContaining('nonsense') });
      expect((await store.getList('dev@example.org')).settings.maxNumRecipients).toBe(0);
    });

    it('removes a list with its members and held messages, and lists what remains in address order', async () => {
      const store = backend.open();
      for (const address of ['b@example.org', 'a@example.org', 'c@example.org']) await store.createList({ address });
      await store.addMembers('b@example.org', [{ address: 'x@example.org' }, { address: 'y@example.org', role: 'owner' }]);
      await store.holdMessage({ list: 'b@example.org', sender: 'z@example.org', subject: 'hi', reason: 'non-member', queueRef: 'held/1' });
      expect(await store.removeList('b@example.org')).toEqual({ list: 'b@example.org', members: 2, held: 1 });
      expect((await store.lists()).map((l) => l.address)).toEqual(['a@example.org', 'c@example.org']);
      expect((await backend.count('members')) + (await backend.count('held_messages'))).toBe(0);
    });
  });

  describe('members', () => {
    let store: Store;
    const list = 'dev@example.org';

    beforeEach(async () => {
      store = backend.open();
      await store.createList({ address: list });
    });


    it('refuses a display name with CR, LF or another control character through every write (add, add in batch, update, pending request); nothing is stored', async () => {
      const injected = 'Bob\r\nBcc: everyone@example.org';
      const problem = { code: 'SY_MEMBER_NAME_INVALID', temporary: false };
      expect(await rejection(store.addMember(list, { address: 'bob@example.org', displayName: injected }))).toMatchObject(problem);
      expect(await rejection(store.addMember(list, { address: 'own@example.org', displayName: 'Own\ner', role: 'owner' }))).toMatchObject(problem);
      expect(await rejection(store.addMembers(list, [{ address: 'ok@example.org', displayName: 'Fine' }, { address: 'nul@example.org', displayName: 'a\0b' }]))).toMatchObject(problem);
      expect(await store.members(list)).toEqual([]);

      await store.addMember(list, { address: 'tab@example.org', displayName: 'Tab\tKept' });
      const refused = await rejection(store.updateMember(list, 'tab@example.org', 'member', { displayName: 'x\ry' }));
      expect(refused).toMatchObject(problem);
      expect(refused.message).toContain('carriage return');
      expect(await rejection(store.updateMembers(list, [{ address: 'tab@example.org', role: 'member', changes: { displayName: 'x\u007fy' } }]))).toMatchObject(problem);
      expect((await store.members(list)).map((member) => member.displayName)).toEqual(['Tab\tKept']);

      const now = new Date();
      const pending = { list, kind: 'subscribe' as const, address: 'new@example.org', token: 'tok-name-check', createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000) };
      expect(await rejection(store.addPendingRequest({ ...pending, displayName: 'New\nBcc: x' }))).toMatchObject(problem);
      expect(await store.pendingRequestByToken('tok-name-check')).toBeNull();
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

    it('adds members with the delivery mode and status given (defaults regular, enabled), one or many', async () => {
      await store.addMember(list, { address: 'one@example.org', deliveryMode: 'plain_digests', deliveryStatus: 'by_owner' });
      expect(await store.addMembers(list, [{ address: 'two@example.org', deliveryMode: 'mime_digests' }, { address: 'three@example.org', deliveryStatus: 'by_user' }, { address: 'one@example.org', deliveryMode: 'regular' }])).toEqual({ added: 2, existing: 1 });
      expect((await store.members(list)).map((m) => [m.address, m.deliveryMode, m.deliveryStatus])).toEqual([
        ['one@example.org', 'plain_digests', 'by_owner'],
        ['three@example.org', 'regular', 'by_user'],
        ['two@example.org', 'mime_digests', 'enabled'],
      ]);
    });

    it('imports a member file with a header naming delivery_mode and delivery_status; a dry run writes nothing', async () => {
      const lines = ['Email,Delivery Mode,delivery_status,NAME', 'a@example.org,digest,off,A', 'b@example.org,,,', 'c@example.org,hourly,,C'];
      const dry = await importMembers(store, list, lines, { dryRun: true });
      expect(dry).toMatchObject({ added: 2, existing: 0, errors: 1, rows: 3, dryRun: true });
      expect(await store.members(list)).toEqual([]);
      const result = await importMembers(store, list, lines);
      expect(result).toMatchObject({ added: 2, existing: 0, errors: 1, invalid: [{ line: 4, address: 'c@example.org', code: 'SY_MEMBER_IMPORT_FIELD' }] });
      expect((await store.members(list)).map((m) => [m.address, m.displayName, m.deliveryMode, m.deliveryStatus])).toEqual([
        ['a@example.org', 'A', 'mime_digests', 'by_user'],
        ['b@example.org', '', 'regular', 'enabled'],
      ]);
      await expect(importMembers(store, list, ['address,colour', 'd@example.org,red'])).rejects.toMatchObject({ code: 'SY_MEMBER_IMPORT_HEADER' });
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
      const store = backend.open();
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
      const store = backend.open();
      await store.createList({ address: 'dev@example.org' });
      const base = { list: 'dev@example.org', sender: 's@example.net', subject: '', reason: 'r' };
      expect(await rejection(store.holdMessage(base))).toMatchObject({ code: 'SY_HELD_INVALID' });
      expect(await rejection(store.holdMessage({ ...base, raw: Buffer.from('x'), queueRef: 'held/x' }))).toMatchObject({ code: 'SY_HELD_INVALID' });
    });
  });

  describe('job leases', () => {
    const at = (iso: string) => new Date(iso);

    it('one run of a job is claimed once across two stores on one database; a later run after the first finished is claimed again', async () => {
      const a = backend.open();
      const b = backend.open();
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
      const store = backend.open();
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
    it('the schema refuses an unknown delivery mode', async () => {
      const store = backend.open();
      await store.createList({ address: 'dev@example.org' });
      await store.addMember('dev@example.org', { address: 'anne@example.org' });
      await expect(store.updateMember('dev@example.org', 'anne@example.org', 'member', { deliveryMode: 'weekly' as never })).rejects.toThrow(/check constraint/i);
    });
  });

  describe('member pages and API tokens (the HTTP API)', () => {
    it('memberPage walks (address, role) order from a cursor, across roles, and searches with LIKE wildcards taken literally', async () => {
      const store = backend.open();
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
      const store = backend.open();
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
      await expect(store.addApiToken({ name: 'x', hash: 'd'.repeat(64), role: 'moderator', createdAt: created })).rejects.toThrow(/check constraint/i);
      await store.removeList('dev@example.org');
      expect((await store.apiTokens()).map((t) => t.name)).toEqual(['ops']);
      expect(await store.removeApiToken(admin.id)).toBe(true);
      expect(await store.removeApiToken(admin.id)).toBe(false);
      await store.close();
    });
  });
});

describe.each(BACKENDS)('the $name store keeps what runners record', ({ name }) => {
  const backend = useBackend(name);
  const list = 'dev@example.org';
  let store: Store;

  beforeEach(async () => {
    store = backend.open();
    await store.createList({ address: list });
    await store.addMembers(list, [{ address: 'anne@example.org' }, { address: 'bob@example.org' }]);
  });

  it('records a bounce once (the same event again changes nothing), scores it in the transaction, and lists events newest first', async () => {
    const scorer = (member: { bounceScore: number }) => ({ bounceScore: member.bounceScore + 1, lastBounceAt: new Date('2026-01-02T10:00:00Z') });
    const event = { list, address: 'ANNE@example.org', at: new Date('2026-01-02T10:00:00Z'), permanent: true, source: '<b1@x>', reason: 'mailbox_full', status: '5.2.2', reply: '552' };
    const first = await store.recordBounce(event, scorer);
    expect(first).toMatchObject({ before: { bounceScore: 0 }, after: { bounceScore: 1 }, event: { address: 'anne@example.org', reason: 'mailbox_full', status: '5.2.2', reply: '552', permanent: true } });
    const again = await store.recordBounce(event, scorer);
    expect(again!.after.bounceScore).toBe(1);
    expect(again!.event.id).toBe(first!.event.id);
    await store.recordBounce({ ...event, at: new Date('2026-01-02T11:00:00Z'), source: '<b2@x>', reason: 'bad_mailbox' }, scorer);
    expect(await store.recordBounce({ ...event, address: 'nobody@example.org' }, scorer)).toBeNull();
    expect((await store.bounceEvents(list)).map((e) => e.source)).toEqual(['<b2@x>', '<b1@x>']);
    expect((await store.bounceEvents(list, { address: 'bob@example.org' })).length).toBe(0);
    expect(await store.lastBounceReasons(list)).toEqual(new Map([['anne@example.org', 'bad_mailbox']]));
    expect((await store.getMember(list, 'anne@example.org')).bounceScore).toBe(2);
    expect(await store.resetStaleBounceScores(list, new Date('2026-02-01T00:00:00Z'))).toBe(1);
    expect((await store.getMember(list, 'anne@example.org')).bounceScore).toBe(0);
  });

  it('counts domain refusals per domain, reason and hour, and records a complaint and its action once', async () => {
    const at = new Date('2026-01-02T10:15:00Z');
    await store.recordDomainBounce(list, { domain: 'Gmail.com', reason: 'blocked', at, reply: '550 blocked' });
    await store.recordDomainBounce(list, { domain: 'gmail.com', reason: 'blocked', at: new Date('2026-01-02T09:00:00Z') });
    expect(await store.domainBounces(list)).toEqual([{ list, domain: 'gmail.com', reason: 'blocked', count: 2, firstAt: at, lastAt: at, lastReply: '' }]);
    expect(await store.domainRefusals(new Date('2026-01-02T10:00:00Z'))).toEqual([{ list, domain: 'gmail.com', reason: 'blocked', count: 1 }]);
    expect(await store.domainRefusals(new Date('2026-01-01T00:00:00Z'), { list })).toEqual([{ list, domain: 'gmail.com', reason: 'blocked', count: 2 }]);
    const complaint = { list, address: 'bob@example.org', at, feedbackType: 'abuse', source: '<c1@x>', action: 'unsubscribe' as const };
    expect(await store.recordComplaint(complaint)).toMatchObject({ repeat: false, complaint: { address: 'bob@example.org', action: 'unsubscribe' } });
    expect(await store.findMember(list, 'bob@example.org')).toBeNull();
    expect(await store.recordComplaint(complaint)).toMatchObject({ repeat: true });
    expect(await store.recordComplaint({ ...complaint, source: '<c2@x>' })).toBeNull();
    expect(await store.recordComplaint({ ...complaint, address: 'anne@example.org', action: 'disable' })).toMatchObject({ repeat: false });
    expect((await store.getMember(list, 'anne@example.org')).deliveryStatus).toBe('by_user');
    expect((await store.complaints(list)).map((c) => c.address)).toEqual(['anne@example.org', 'bob@example.org']);
  });

  it('decides a held post once with its record kept, gives one reply token per post, and lets one approval through', async () => {
    const raw = Buffer.from('Subject: x\r\n\r\nbody\x00\xff');
    const held = await store.holdMessage({ list, sender: 's@example.net', subject: 'x', reason: 'non-member', raw, metadata: { chain: 'default' } });
    expect(await store.heldReplyToken(held.id, 'tok-1')).toBe('tok-1');
    expect(await store.heldReplyToken(held.id, 'tok-2')).toBe('tok-1');
    expect((await store.heldByReplyToken('tok-1'))!.raw!.equals(raw)).toBe(true);
    expect(await store.claimApproval(held.id, 'approval-a')).toBe(true);
    expect(await store.claimApproval(held.id, 'approval-a')).toBe(true);
    expect(await store.claimApproval(held.id, 'approval-b')).toBe(false);
    expect(await store.heldDecision(held.id)).toBeNull();
    const record = await store.decideHeld(held.id, { decision: 'approve', decidedBy: 'mod' });
    expect(record).toMatchObject({ heldId: held.id, list, sender: 's@example.net', decision: 'approve', decidedBy: 'mod', reason: '' });
    expect(await store.heldDecision(held.id)).toEqual(record);
    expect(await store.heldByReplyToken('tok-1')).toBeNull();
    await expect(store.decideHeld(held.id, { decision: 'reject', decidedBy: 'mod' })).rejects.toMatchObject({ code: 'SY_HELD_UNKNOWN' });
    await expect(store.heldReplyToken(held.id, 'tok-3')).rejects.toMatchObject({ code: 'SY_HELD_UNKNOWN' });
  });

  it('keeps pending requests and preference changes until taken, confirmed or expired', async () => {
    const createdAt = new Date('2026-01-01T00:00:00Z');
    const expiresAt = new Date('2026-01-04T00:00:00Z');
    const request = await store.addPendingRequest({ token: 't1', list, kind: 'subscribe', address: 'New@Example.org', displayName: 'New', createdAt, expiresAt });
    expect(request).toMatchObject({ token: 't1', list, kind: 'subscribe', address: 'New@example.org', displayName: 'New', ownersNotifiedAt: null });
    await expect(store.addPendingRequest({ token: 't1', list, kind: 'subscribe', address: 'x@example.org', createdAt, expiresAt })).rejects.toBeDefined();
    const approval = await store.addPendingRequest({ token: 't2', list, kind: 'subscription_approval', address: 'x@example.org', createdAt, expiresAt: new Date('2026-01-02T00:00:00Z') });
    expect(await store.pendingRequestByToken('t1')).toEqual(request);
    expect(await store.findPendingRequest(list, 'subscribe', 'new@example.org', new Date('2026-01-02T00:00:00Z'))).toEqual(request);
    expect(await store.findPendingRequest(list, 'subscribe', 'new@example.org', expiresAt)).toBeNull();
    expect((await store.pendingRequests(list, { kinds: ['subscription_approval'] })).map((r) => r.id)).toEqual([approval.id]);
    await store.markOwnersNotified([approval.id], createdAt);
    expect((await store.getPendingRequest(list, approval.id)).ownersNotifiedAt).toEqual(createdAt);
    await expect(store.getPendingRequest(list, 999)).rejects.toMatchObject({ code: 'SY_REQUEST_UNKNOWN' });
    expect((await store.removeExpiredRequests(new Date('2026-01-03T00:00:00Z'))).map((r) => r.token)).toEqual(['t2']);
    expect(await store.removePendingRequest(request.id)).toBe(true);
    expect(await store.removePendingRequest(request.id)).toBe(false);
    const change = await store.addPendingPreferenceChange({ token: 'p1', list, address: 'anne@example.org', changes: '{"hideAddress":true}', createdAt, expiresAt });
    expect(await store.takePendingPreferenceChange(list, 'p1')).toEqual(change);
    expect(await store.takePendingPreferenceChange(list, 'p1')).toBeNull();
    await store.addPendingPreferenceChange({ token: 'p2', list, address: 'anne@example.org', changes: '{}', createdAt, expiresAt });
    expect(await store.removeExpiredPreferenceChanges(expiresAt)).toBe(1);
  });

  it('numbers digest issues, takes each post once, resumes an unfinished issue, and drops the bytes when sent', async () => {
    await store.updateMember(list, 'anne@example.org', 'member', { deliveryMode: 'mime_digests' });
    const raw = Buffer.from('Subject: p\r\n\r\nbody');
    const post = { list, entryKey: 'e1', addedAt: new Date('2026-01-01T00:00:00Z'), sender: 's@example.net', subject: 'p', messageId: '<p1@x>', raw };
    expect(await store.addDigestPost(post)).toBe(true);
    expect(await store.addDigestPost(post)).toBe(false);
    await store.addDigestPost({ ...post, entryKey: 'e2' });
    expect(await store.digestStatus(list)).toMatchObject({ volume: 1, nextIssue: 1, pendingPosts: 2, pendingSize: 2 * raw.length, lastSentAt: null, unfinished: null });
    const claimed = await store.claimDigestIssue(list, { now: new Date('2026-01-02T00:00:00Z'), period: '2026-01' });
    expect(claimed).toMatchObject({ resumed: false, issue: { volume: 1, issue: 1, status: 'claimed', posts: 2 } });
    expect((await store.claimDigestIssue(list, { now: new Date('2026-01-02T00:00:01Z'), period: '2026-01' }))!.resumed).toBe(true);
    const staged = [{ format: 'mime_digests' as const, staging: '/tmp/a', target: 'out/a', recipients: 1 }];
    expect((await store.stageDigestIssue(claimed!.issue.id, staged)).recorded).toBe(true);
    expect(await store.stageDigestIssue(claimed!.issue.id, staged)).toMatchObject({ recorded: false, issue: { status: 'staged', staged } });
    await store.finishDigestIssue(claimed!.issue.id, new Date('2026-01-02T00:01:00Z'));
    expect((await store.digestIssuePosts(claimed!.issue.id)).map((p) => [p.entryKey, p.raw])).toEqual([['e1', null], ['e2', null]]);
    await store.addDigestPost({ ...post, entryKey: 'e3' });
    const next = await store.claimDigestIssue(list, { now: new Date('2026-02-01T00:00:00Z'), period: '2026-02' });
    expect(next!.issue).toMatchObject({ volume: 2, issue: 1, posts: 1 });
    expect(await store.digestAddresses(list, 'mime_digests')).toEqual(['anne@example.org']);
    expect(await store.countDigestMembers(list)).toEqual({ mime_digests: 1 });
  });

  it('keeps a list archive: one row per (list, key) however often added, bytes exact, pages by date, one by key or web id, months and counts', async () => {
    const key = (n: number) => String(n).repeat(64);
    const row = (n: number, at: string, raw = `Message-ID: <m${n}@x>\r\nSubject: s${n}\r\n\r\nFrom me\r\n`) => ({
      list: 'Dev@Example.org',
      key: key(n),
      archivedAt: new Date(at),
      sender: 'anne@example.org',
      messageId: `<m${n}@x>`,
      inReplyTo: n === 1 ? null : '<m1@x>',
      references: n === 1 ? [] : ['<m0@x>', '<m1@x>'],
      subject: `s${n}`,
      from: 'Anne <anne@example.org>',
      raw: Buffer.from(raw, 'latin1'),
    });
    expect(await store.addArchivedMessage(row(2, '2026-01-31T23:59:59.750Z'))).toBe(true);
    expect(await store.addArchivedMessage(row(1, '2026-01-05T10:00:00Z'))).toBe(true);
    // The same key again (a runner re-processing its entry after a crash): nothing added, the first row kept.
    expect(await store.addArchivedMessage({ ...row(1, '2026-03-01T00:00:00Z'), subject: 'changed' })).toBe(false);
    expect(await store.addArchivedMessage(row(3, '2026-02-01T00:00:00Z', '\xff\x00 8-bit\n'))).toBe(true);
    // Another list's archive is another archive, and an archive needs no list row (it outlives its list).
    expect(await store.addArchivedMessage({ ...row(1, '2026-01-05T10:00:00Z'), list: 'ops@example.org' })).toBe(true);
    expect(await store.countArchivedMessages('dev@example.org')).toBe(3);
    expect(await store.countArchivedMessages('dev@example.org', '2026-01')).toBe(2);
    expect(await store.archiveMonths('dev@example.org')).toEqual([{ month: '2026-02', count: 1 }, { month: '2026-01', count: 2 }]);
    const all = await store.archivedMessageSummaries('dev@example.org');
    expect(all.map((m) => m.key)).toEqual([key(1), key(2), key(3)]);
    // Dates to the second (an mbox From_ line's resolution).
    expect(all[1]).toEqual({ list: 'dev@example.org', key: key(2), archivedAt: new Date('2026-01-31T23:59:59Z'), sender: 'anne@example.org', messageId: '<m2@x>', inReplyTo: '<m1@x>', references: ['<m0@x>', '<m1@x>'], subject: 's2', from: 'Anne <anne@example.org>', size: row(2, '2026-01-01T00:00:00Z').raw.length });
    expect((await store.archivedMessageSummaries('dev@example.org', { month: '2026-02' })).map((m) => m.key)).toEqual([key(3)]);
    const firstPage = await store.archivedMessages('dev@example.org', { limit: 2 });
    expect(firstPage.map((m) => m.key)).toEqual([key(1), key(2)]);
    const last = firstPage[1]!;
    const next = await store.archivedMessages('dev@example.org', { limit: 2, after: { archivedAt: last.archivedAt, key: last.key } });
    expect(next.map((m) => m.raw)).toEqual([Buffer.from('\xff\x00 8-bit\n', 'latin1')]);
    expect((await store.archivedMessage('dev@example.org', key(1)))!.raw.toString('latin1')).toBe('Message-ID: <m1@x>\r\nSubject: s1\r\n\r\nFrom me\r\n');
    expect((await store.archivedMessage('dev@example.org', key(2).slice(0, 32)))!.key).toBe(key(2));
    expect(await store.archivedMessage('dev@example.org', 'f'.repeat(32))).toBeNull();
    expect(await store.archivedMessage('dev@example.org', "' OR 1=1 --")).toBeNull();
    expect((await rejection(store.archivedMessageSummaries('../../etc@x'))).code).toBe('SY_LIST_NAME_INVALID');
    expect(await backend.count('archived_messages')).toBe(4);
  });

  it('delivers by preference: no own copy, no list copy for a To/Cc member, owners and disabled members never', async () => {
    await store.updateMember(list, 'anne@example.org', 'member', { receiveOwnPostings: false });
    await store.updateMember(list, 'bob@example.org', 'member', { receiveListCopy: false });
    expect(await store.deliveryAddresses(list, { sender: 'Anne@example.org', explicitRecipients: ['BOB@example.org', 'not an address'] })).toEqual([]);
    expect(await store.deliveryAddresses(list, { sender: null, explicitRecipients: [] })).toEqual(['anne@example.org', 'bob@example.org']);
  });

  it('two handles (two processes or hosts) claiming one job run and scoring one member at once: one claim, no lost update', async () => {
    const other = backend.open();
    const claim = (holder: string, s: Store) =>
      s.claimJobRun('digests', { runKey: '2026-01-01T10:00:00.000Z', holder, now: new Date('2026-01-01T10:00:00Z'), expiresAt: new Date('2026-01-01T11:00:00Z') });
    const results = await Promise.all([claim('a', store), claim('b', other), claim('c', store), claim('d', other)]);
    expect(results.filter((r) => r.claimed).length).toBe(1);
    const scorer = (member: { bounceScore: number }) => ({ bounceScore: member.bounceScore + 1 });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? store : other).recordBounce({ list, address: 'bob@example.org', at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)), permanent: false, source: `<${i}@x>` }, scorer),
      ),
    );
    expect((await store.getMember(list, 'bob@example.org')).bounceScore).toBe(10);
  });
});
