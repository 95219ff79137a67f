/**
 * Scoring, disabling, warnings and removal over simulated days: a real list
 * store in a temp directory, a fake clock (a number the test advances), and
 * the notices collected as they would be enqueued on `virgin`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VirginNotice } from '../../src/bounce/notices.js';
import { applyBounce, type Bounce } from '../../src/bounce/processor.js';
import { DAY_MS } from '../../src/bounce/scoring.js';
import { runWarningsPass } from '../../src/bounce/warnings.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { ListSettings, Store } from '../../src/store/index.js';

const LIST = 'dev@lists.example.org';
const START = Date.parse('2025-03-03T09:00:00Z');

let dir: string;
let store: Store;
let clock: number;
let notices: VirginNotice[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-bounce-scoring-'));
  store = new SqliteStore({ file: join(dir, 'switchyard.db') });
  clock = START;
  notices = [];
  await store.createList({ address: LIST, displayName: 'Dev' });
  await store.addMember(LIST, { address: 'owner@example.org', role: 'owner' });
  await store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'bob@example.org' }]);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function settings(changes: Partial<ListSettings>): Promise<void> {
  await store.updateList(LIST, { settings: changes });
}

/** One bounce at the fake clock's time; the notices it causes are collected. */
async function bounce(address: string, permanent: boolean, source = `<bounce.${clock}.${Math.random()}@mx.example>`) {
  const list = await store.getList(LIST);
  const event: Bounce = { address, permanent, at: new Date(clock), source };
  const outcome = await applyBounce(store, list, event);
  if (outcome.kind === 'disabled') notices.push(...outcome.notices);
  return outcome;
}

async function warnings() {
  return runWarningsPass({ store, now: () => clock, enqueue: async (notice) => void notices.push(notice) });
}

async function member(address: string) {
  return store.getMember(LIST, address);
}

function days(n: number): void {
  clock += n * DAY_MS;
}

describe('bounce score', () => {
  it('adds 1.0 for a permanent bounce and 0.5 for a temporary one, on different days', async () => {
    await bounce('anne@example.org', true);
    expect((await member('anne@example.org')).bounceScore).toBe(1);
    days(1);
    await bounce('anne@example.org', false);
    expect((await member('anne@example.org')).bounceScore).toBe(1.5);
    expect((await member('anne@example.org')).lastBounceAt?.getTime()).toBe(clock);
  });

  it('counts at most one increment per member per day: the day counts as its worst bounce', async () => {
    await bounce('anne@example.org', false);
    clock += 3_600_000;
    await bounce('anne@example.org', false);
    expect((await member('anne@example.org')).bounceScore).toBe(0.5);
    clock += 3_600_000;
    await bounce('anne@example.org', true);
    expect((await member('anne@example.org')).bounceScore).toBe(1);
    clock += 3_600_000;
    await bounce('anne@example.org', true);
    expect((await member('anne@example.org')).bounceScore).toBe(1);
    // Every event is still recorded.
    expect(await store.bounceEvents(LIST, { address: 'anne@example.org' })).toHaveLength(4);
    // Bob's bounces are his own.
    await bounce('bob@example.org', true);
    expect((await member('bob@example.org')).bounceScore).toBe(1);
  });

  it('the same bounce processed twice (an entry re-run after a crash) is recorded and scored once', async () => {
    await bounce('anne@example.org', true, '<same@mx.example>');
    await bounce('anne@example.org', true, '<same@mx.example>');
    expect((await member('anne@example.org')).bounceScore).toBe(1);
    expect(await store.bounceEvents(LIST, { address: 'anne@example.org' })).toHaveLength(1);
  });

  it('resets the score when no bounce came for bounceInfoStaleAfter days', async () => {
    await settings({ bounceInfoStaleAfter: 7 });
    for (let i = 0; i < 3; i++) {
      await bounce('anne@example.org', true);
      days(1);
    }
    expect((await member('anne@example.org')).bounceScore).toBe(3);
    days(7); // 8 days after the last bounce
    await bounce('anne@example.org', false);
    expect((await member('anne@example.org')).bounceScore).toBe(0.5);
  });

  it('keeps the score when the gap is exactly bounceInfoStaleAfter days, and the warnings pass resets stale ones', async () => {
    await bounce('anne@example.org', true);
    days(7);
    await bounce('anne@example.org', true);
    expect((await member('anne@example.org')).bounceScore).toBe(2);
    await bounce('bob@example.org', true);
    days(7);
    clock += 1;
    const pass = await warnings();
    expect(pass.staleScoresReset).toBe(2);
    expect((await member('anne@example.org')).bounceScore).toBe(0);
    expect((await member('bob@example.org')).bounceScore).toBe(0);
  });

  it('a bounce for an address that is not a member records nothing', async () => {
    expect(await bounce('stranger@example.org', true)).toEqual({ kind: 'non-member' });
    expect(await bounce('owner@example.org', true)).toEqual({ kind: 'non-member' });
    expect(await store.bounceEvents(LIST)).toHaveLength(0);
  });

  it('temporary failures alone, one a day, disable only after twice as many days', async () => {
    for (let day = 1; day <= 9; day++) {
      await bounce('anne@example.org', false);
      days(1);
    }
    expect((await member('anne@example.org')).deliveryStatus).toBe('enabled');
    expect((await member('anne@example.org')).bounceScore).toBe(4.5);
    await bounce('anne@example.org', false);
    expect((await member('anne@example.org')).deliveryStatus).toBe('by_bounces');
  });

  it('with processBounces off, bounces are recorded but never scored', async () => {
    await settings({ processBounces: false });
    for (let day = 0; day < 10; day++) {
      await bounce('anne@example.org', true);
      days(1);
    }
    expect(await member('anne@example.org')).toMatchObject({ bounceScore: 0, deliveryStatus: 'enabled' });
    expect(await store.bounceEvents(LIST, { address: 'anne@example.org' })).toHaveLength(10);
  });
});

describe('disabling, warnings and removal', () => {
  it('disables at the threshold with a notice to the member and the owners, warns 3 times a week apart, then removes', async () => {
    for (let day = 1; day <= 4; day++) {
      expect((await bounce('anne@example.org', true)).kind).toBe('recorded');
      days(1);
    }
    const disabled = await bounce('anne@example.org', true);
    expect(disabled).toMatchObject({ kind: 'disabled', score: 5 });
    const disabledAt = clock;
    expect(await member('anne@example.org')).toMatchObject({ deliveryStatus: 'by_bounces', bounceWarningsSent: 0 });
    expect(notices.map((n) => n.metadata)).toEqual([
      { listId: LIST, recipients: ['anne@example.org'] },
      { listId: LIST, toOwners: true },
    ]);
    const toMember = await simpleParser(notices[0]!.message);
    expect(toMember.subject).toBe(`Your membership in ${LIST} has been disabled`);
    expect(toMember.headers.get('auto-submitted')).toBe('auto-generated');
    expect(toMember.from?.value[0]?.address).toBe('dev-owner@lists.example.org');
    notices = [];

    // A later bounce for a disabled member is recorded, and changes nothing else.
    days(1);
    expect(await bounce('anne@example.org', true)).toEqual({ kind: 'recorded', score: 5 });
    expect(notices).toHaveLength(0);

    clock = disabledAt + 6 * DAY_MS;
    expect((await warnings()).warned).toEqual([]);
    for (let warning = 1; warning <= 3; warning++) {
      clock = disabledAt + warning * 7 * DAY_MS;
      const pass = await warnings();
      expect(pass.warned).toEqual([`anne@example.org ${LIST}`]);
      expect(await member('anne@example.org')).toMatchObject({ bounceWarningsSent: warning });
      // Running the pass again at the same moment finds nothing due.
      expect((await warnings()).warned).toEqual([]);
    }
    expect(notices.map((n) => n.metadata.recipients)).toEqual([['anne@example.org'], ['anne@example.org'], ['anne@example.org']]);
    expect((await simpleParser(notices[2]!.message)).subject).toBe(`Reminder 3 of 3: your membership in ${LIST} is disabled`);
    notices = [];

    clock = disabledAt + 27 * DAY_MS;
    expect((await warnings()).removed).toEqual([]);
    clock = disabledAt + 28 * DAY_MS;
    expect((await warnings()).removed).toEqual([`anne@example.org ${LIST}`]);
    expect(await store.findMember(LIST, 'anne@example.org')).toBeNull();
    expect(notices.map((n) => n.metadata)).toEqual([{ listId: LIST, toOwners: true }]);
    expect((await simpleParser(notices[0]!.message)).subject).toBe(`anne@example.org removed from ${LIST} (bounces)`);
    // Bob, never bouncing, is untouched.
    expect(await member('bob@example.org')).toMatchObject({ deliveryStatus: 'enabled', bounceScore: 0 });
  });

  it('honours the list settings: threshold, warnings, interval, and no owner notices', async () => {
    await settings({ bounceScoreThreshold: 2, bounceYouAreDisabledWarnings: 1, bounceYouAreDisabledWarningsInterval: 2, bounceNotifyOwnerOnDisable: false, bounceNotifyOwnerOnRemoval: false });
    await bounce('bob@example.org', true);
    days(1);
    expect((await bounce('bob@example.org', true)).kind).toBe('disabled');
    expect(notices.map((n) => n.metadata)).toEqual([{ listId: LIST, recipients: ['bob@example.org'] }]);
    days(2);
    expect((await warnings()).warned).toHaveLength(1);
    days(2);
    expect((await warnings()).removed).toEqual([`bob@example.org ${LIST}`]);
    expect(notices).toHaveLength(2);
  });

  it('a notice lost to a crash after the store committed is sent when the bounce is processed again', async () => {
    await settings({ bounceScoreThreshold: 1, bounceNotifyOwnerOnDisable: false });
    const first = await bounce('anne@example.org', true, '<crash@mx.example>');
    expect(first.kind).toBe('disabled');
    notices = []; // as if killed before the notices were enqueued
    const again = await bounce('anne@example.org', true, '<crash@mx.example>');
    expect(again.kind).toBe('disabled');
    expect(notices).toHaveLength(1);
    // A different, later bounce of the disabled member sends nothing.
    days(1);
    notices = [];
    expect((await bounce('anne@example.org', true)).kind).toBe('recorded');
    expect(notices).toHaveLength(0);
  });

  it('a member re-enabled meanwhile is not removed', async () => {
    await settings({ bounceScoreThreshold: 1, bounceYouAreDisabledWarnings: 0 });
    await bounce('anne@example.org', true);
    await store.updateMember(LIST, 'anne@example.org', 'member', { deliveryStatus: 'enabled', bounceScore: 0, bounceWarningsSent: 0, lastBounceWarningAt: null });
    days(8);
    const pass = await warnings();
    expect(pass.removed).toEqual([]);
    expect(await member('anne@example.org')).toMatchObject({ deliveryStatus: 'enabled' });
  });
});
