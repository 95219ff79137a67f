/**
 * The notices of a held post (src/app/moderation.ts sendHeldNotices,
 * holdState) on a real store with a fake clock: the moderators always hear
 * of it; the poster is told "awaits moderator approval" unless the list
 * turned that off, the post is a robot's, or the poster had the list's
 * maxAutoResponsesPerDay automatic replies that (UTC) day.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decideHeld, holdState, sendHeldNotices } from '../../src/app/moderation.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import type { HeldMessage, ListSettings } from '../../src/store/index.js';
import { plainPost } from '../incoming/fixtures/messages.js';
import { LIST, testApp, type TestApp } from './harness.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup(settings: Partial<ListSettings> = {}): Promise<TestApp> {
  app = await testApp('2024-06-10T08:00:00Z');
  await app.store.createList({ address: LIST, settings });
  return app;
}

async function hold(app: TestApp, options: { from?: string; envelopeSender?: string; extraHeaders?: string[]; subject?: string } = {}): Promise<{ held: HeldMessage; message: RawMessage }> {
  const from = options.from ?? 'guest@example.com';
  const raw = plainPost({ from, subject: options.subject ?? 'May I post?', messageId: '<h1@example.com>', extraHeaders: options.extraHeaders ?? [] });
  const held = await app.store.holdMessage({
    list: LIST,
    sender: from,
    subject: options.subject ?? 'May I post?',
    reason: 'post from a non-member',
    raw,
    messageId: '<h1@example.com>',
    metadata: { listId: LIST, envelopeSender: options.envelopeSender ?? from },
  });
  return { held, message: RawMessage.parse(raw) };
}

async function notify(app: TestApp, options: Parameters<typeof hold>[1] = {}) {
  const { held, message } = await hold(app, options);
  return { held, result: await sendHeldNotices(app, await app.store.getList(LIST), held, message) };
}

describe('held-post notices', () => {
  it('tells the moderators and the poster, both entries on virgin carrying the held id; the poster is told it awaits approval', async () => {
    const app = await setup();
    const { held, result } = await notify(app);
    expect(result.poster).toEqual({ to: 'guest@example.com', entry: app.enqueued[1]!.id });
    expect(app.enqueued.map((e) => [e.queue, e.metadata.notice, e.metadata.heldId])).toEqual([
      ['virgin', 'held', held.id],
      ['virgin', 'post-held', held.id],
    ]);
    const toPoster = app.enqueued[1]!;
    expect(toPoster.metadata.recipients).toEqual(['guest@example.com']);
    expect(toPoster.metadata.toOwners).toBeUndefined();
    const notice = RawMessage.parse(toPoster.message);
    expect(notice.get('Subject')).toBe(`Your post to ${LIST} awaits moderator approval`);
    expect(notice.get('To')).toBe('guest@example.com');
    expect(notice.get('In-Reply-To')).toBe('<h1@example.com>');
    expect(notice.get('Auto-Submitted')).toBe('auto-generated');
    const body = notice.body.toString('utf8');
    expect(body).toContain('May I post?');
    expect(body).toContain('post from a non-member');
  });

  it.each([
    ['the null sender (a bounce)', { envelopeSender: '' }, 'null sender'],
    ['Auto-Submitted mail', { extraHeaders: ['Auto-Submitted: auto-replied'] }, 'Auto-Submitted'],
    ['Precedence: bulk', { extraHeaders: ['Precedence: bulk'] }, 'Precedence: bulk'],
    ['Precedence: list', { extraHeaders: ['Precedence: list'] }, 'Precedence: list'],
    ['Precedence: junk', { extraHeaders: ['Precedence: junk'] }, 'Precedence: junk'],
    ['a robot address', { from: 'noreply@example.com' }, 'automated address'],
  ])('tells the moderators but not the poster of %s', async (_name, options, why) => {
    const app = await setup();
    const { result } = await notify(app, options);
    expect(result.poster).toEqual({ skipped: expect.stringContaining(why) });
    expect(app.enqueued.map((e) => e.metadata.notice)).toEqual(['held']);
  });

  it('tells the poster nothing when the list sets respondToPostRequests false', async () => {
    const app = await setup({ respondToPostRequests: false });
    const { result } = await notify(app);
    expect(result.poster).toEqual({ skipped: expect.stringContaining('respondToPostRequests') });
    expect(app.enqueued).toHaveLength(1);
  });

  it('sends one address at most maxAutoResponsesPerDay replies per UTC day, per list; the next day again', async () => {
    const app = await setup({ maxAutoResponsesPerDay: 3 });
    await app.store.createList({ address: 'other@lists.example.org', settings: { maxAutoResponsesPerDay: 3 } });
    const outcomes: boolean[] = [];
    for (let i = 0; i < 5; i++) outcomes.push('entry' in (await notify(app)).result.poster);
    expect(outcomes).toEqual([true, true, true, false, false]);
    const limited = (await notify(app)).result.poster;
    expect(limited).toEqual({ skipped: expect.stringContaining('had 3 automatic replies') });
    // Moderators hear of every hold.
    expect(app.enqueued.filter((e) => e.metadata.notice === 'held')).toHaveLength(6);
    // Another poster, and the same poster on another list, have their own counts.
    expect('entry' in (await notify(app, { from: 'someone@example.com' })).result.poster).toBe(true);
    const otherList = await app.store.getList('other@lists.example.org');
    const { held, message } = await hold(app);
    expect('entry' in (await sendHeldNotices(app, otherList, held, message)).poster).toBe(true);
    // The count is per UTC day: the limit holds until midnight UTC.
    app.setNow('2024-06-10T23:59:59Z');
    expect('skipped' in (await notify(app)).result.poster).toBe(true);
    app.setNow('2024-06-11T00:00:00Z');
    expect('entry' in (await notify(app)).result.poster).toBe(true);
  });

  it('maxAutoResponsesPerDay 0 means no limit, as in Mailman', async () => {
    const app = await setup({ maxAutoResponsesPerDay: 0 });
    for (let i = 0; i < 12; i++) expect('entry' in (await notify(app)).result.poster).toBe(true);
  });

  it('a sender no header field may carry loses only the poster notice: the moderators are told', async () => {
    const app = await setup();
    const { message } = await hold(app);
    const held = await app.store.holdMessage({ list: LIST, sender: 'odd\r\nBcc: victim@example.com', subject: 's', reason: 'r', raw: message.toBuffer(), metadata: {} });
    const result = await sendHeldNotices(app, await app.store.getList(LIST), held, message);
    expect(result.poster).toEqual({ skipped: expect.stringContaining('no notice can be written') });
    expect(app.enqueued.map((e) => e.metadata.notice)).toEqual(['held']);
  });

  it('holdState: waiting while held, then the decision', async () => {
    const app = await setup();
    const { held } = await hold(app);
    expect(await holdState(app, held.id)).toMatchObject({ waiting: true, held: { id: held.id } });
    await decideHeld(app, LIST, held.id, { decision: 'discard', by: 'mod' });
    expect(await holdState(app, held.id)).toMatchObject({ waiting: false, decision: { decision: 'discard', decidedBy: 'mod' } });
    expect(await holdState(app, 9999)).toEqual({ waiting: false, decision: null });
  });
});
