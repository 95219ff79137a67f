/**
 * The bounce use cases (src/app/bounces.ts) on a real store with a fake
 * clock: scores as they stand now, and the warnings pass with its notices
 * enqueued on `virgin`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bounceScores, runBounceWarnings } from '../../src/app/bounces.js';
import { ListUnknownError } from '../../src/store/index.js';
import { LIST, testApp, type TestApp } from './harness.js';

const DAY = 86_400_000;
let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function withMembers(): Promise<TestApp> {
  app = await testApp('2024-06-01T00:00:00Z');
  await app.store.createList({ address: LIST, settings: { bounceInfoStaleAfter: 7, bounceYouAreDisabledWarnings: 2, bounceYouAreDisabledWarningsInterval: 7 } });
  await app.store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'bob@example.org' }, { address: 'carol@example.org' }]);
  return app;
}

describe('bounces', () => {
  it('bounceScores lists members with a bounce history, the score 0 once stale by the clock, and every member with all', async () => {
    const app = await withMembers();
    const start = app.now().getTime();
    await app.store.updateMember(LIST, 'anne@example.org', 'member', { bounceScore: 1.5, lastBounceAt: new Date(start - DAY) });
    await app.store.updateMember(LIST, 'bob@example.org', 'member', { deliveryStatus: 'by_bounces', bounceScore: 5, lastBounceAt: new Date(start - DAY), bounceWarningsSent: 1 });

    const scores = await bounceScores(app, LIST);
    expect(scores.threshold).toBe(5);
    expect(scores.members.map((row) => [row.address, row.score, row.state])).toEqual([
      ['anne@example.org', 1.5, 'enabled'],
      ['bob@example.org', 5, 'disabled by bounces (reminders 1/2)'],
    ]);
    app.setNow(new Date(start + 10 * DAY));
    expect((await bounceScores(app, LIST)).members.find((row) => row.address === 'anne@example.org')!.score).toBe(0);
    expect((await bounceScores(app, LIST, { all: true })).members).toHaveLength(3);
    await expect(bounceScores(app, 'nope@lists.example.org')).rejects.toBeInstanceOf(ListUnknownError);
  });

  it('runBounceWarnings reminds by the clock on virgin, removes after the last reminder, and logs what it did', async () => {
    const app = await withMembers();
    await app.store.addMember(LIST, { address: 'owner@example.org', role: 'owner' });
    const start = app.now().getTime();
    await app.store.updateMember(LIST, 'bob@example.org', 'member', { deliveryStatus: 'by_bounces', bounceScore: 5, lastBounceAt: new Date(start), lastBounceWarningAt: new Date(start) });

    expect(await runBounceWarnings(app)).toMatchObject({ warned: [], removed: [] });
    expect(app.enqueued).toEqual([]);

    app.setNow(new Date(start + 7 * DAY));
    expect((await runBounceWarnings(app)).warned).toEqual([`bob@example.org ${LIST}`]);
    expect(app.enqueued.map((e) => [e.queue, e.metadata.recipients])).toEqual([['virgin', ['bob@example.org']]]);
    // Run again at the same moment: nothing due.
    expect((await runBounceWarnings(app)).warned).toEqual([]);

    app.setNow(new Date(start + 14 * DAY));
    await runBounceWarnings(app);
    app.setNow(new Date(start + 21 * DAY));
    expect((await runBounceWarnings(app, { lists: [LIST] })).removed).toEqual([`bob@example.org ${LIST}`]);
    expect(app.enqueued.map((e) => e.metadata.toOwners ?? e.metadata.recipients)).toEqual([['bob@example.org'], ['bob@example.org'], true]);
    expect(await app.store.findMember(LIST, 'bob@example.org')).toBeNull();
    expect(app.logLines.filter((line) => line.msg === 'bounce warnings pass').map((line) => line.level)).toEqual([20, 30, 20, 30, 30]);
    await expect(runBounceWarnings(app, { lists: ['nope@lists.example.org'] })).rejects.toBeInstanceOf(ListUnknownError);
  });
});
