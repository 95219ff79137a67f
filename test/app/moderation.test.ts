/**
 * The moderation use cases (src/app/moderation.ts) on a real store with a
 * fake clock: what a decision enqueues, what it records, and held-post
 * expiry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decideHeld, expireHeldPosts, listHeld, showHeld } from '../../src/app/moderation.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { HeldMessageUnknownError, HeldMessageUnreadableError, ListUnknownError, type HeldMessage } from '../../src/store/index.js';
import { plainPost } from '../incoming/fixtures/messages.js';
import { LIST, testApp, type TestApp } from './harness.js';

const DAY = 86_400_000;
let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function withHeld(fields: { from?: string; envelopeSender?: string; subject?: string } = {}): Promise<{ app: TestApp; held: HeldMessage }> {
  app = await testApp('2024-06-10T08:00:00Z');
  await app.store.createList({ address: LIST });
  const sender = fields.from ?? 'guest@example.com';
  const held = await app.store.holdMessage({
    list: LIST,
    sender,
    subject: fields.subject ?? 'Build broken on main',
    reason: 'post from a non-member',
    raw: plainPost({ from: sender, subject: fields.subject ?? 'Build broken on main', messageId: '<p1@example.com>' }),
    messageId: '<p1@example.com>',
    metadata: { listId: LIST, envelopeSender: fields.envelopeSender ?? sender, heldFromEntry: 'in/1', chain: { rule: 'nonmember' } },
  });
  return { app, held };
}

describe('moderation', () => {
  it('listHeld and showHeld show the post with its unfolded header fields; another list or id is unknown', async () => {
    const { app, held } = await withHeld();
    expect((await listHeld(app, LIST)).map((h) => h.id)).toEqual([held.id]);
    const view = await showHeld(app, LIST, held.id);
    expect(view.raw.equals(held.raw!)).toBe(true);
    expect(view.headers).toContainEqual({ name: 'Subject', value: 'Build broken on main' });
    expect(view.body.toString('utf8')).toContain('the build on main fails');
    await app.store.createList({ address: 'other@lists.example.org' });
    await expect(showHeld(app, 'other@lists.example.org', held.id)).rejects.toBeInstanceOf(HeldMessageUnknownError);
    await expect(listHeld(app, 'nope@lists.example.org')).rejects.toBeInstanceOf(ListUnknownError);
  });

  it('a post kept by a queue reference it cannot read is SY_HELD_UNREADABLE', async () => {
    app = await testApp();
    await app.store.createList({ address: LIST });
    const held = await app.store.holdMessage({ list: LIST, sender: 'x@example.org', subject: 's', reason: 'r', queueRef: 'held/elsewhere' });
    await expect(showHeld(app, LIST, held.id)).rejects.toBeInstanceOf(HeldMessageUnreadableError);
    await expect(decideHeld(app, LIST, held.id, { decision: 'approve', by: 'alice' })).rejects.toMatchObject({ code: 'SY_HELD_UNREADABLE' });
    expect(app.enqueued).toEqual([]);
    expect(await app.store.countHeld(LIST)).toBe(1);
  });

  it('approve puts the post back on `in` with an approval dated by the clock, then removes the hold and records it', async () => {
    const { app, held } = await withHeld();
    const result = await decideHeld(app, LIST, held.id, { decision: 'approve', by: 'alice' });
    expect(app.enqueued).toHaveLength(1);
    const [entry] = app.enqueued;
    expect(entry!.queue).toBe('in');
    expect(result.entry).toBe(entry!.id);
    expect(entry!.message.equals(held.raw!)).toBe(true);
    expect(entry!.metadata).toEqual({
      listId: LIST,
      envelopeSender: 'guest@example.com',
      chain: { rule: 'nonmember' },
      approval: { heldId: held.id, token: expect.stringMatching(/^[0-9a-f]{32}$/), by: 'alice', at: '2024-06-10T08:00:00.000Z' },
    });
    expect(result.record).toMatchObject({ heldId: held.id, decision: 'approve', decidedBy: 'alice' });
    expect(await app.store.countHeld(LIST)).toBe(0);
    await expect(decideHeld(app, LIST, held.id, { decision: 'approve', by: 'alice' })).rejects.toBeInstanceOf(HeldMessageUnknownError);
    expect(app.enqueued).toHaveLength(1);
  });

  it('reject queues a notice with the reason to the poster on `virgin`, dated by the clock, and records the reason', async () => {
    const { app, held } = await withHeld({ subject: 'Buy now' });
    const result = await decideHeld(app, LIST, held.id, { decision: 'reject', by: 'bob', reason: 'off topic' });
    expect(app.enqueued.map((e) => e.queue)).toEqual(['virgin']);
    const notice = app.enqueued[0]!;
    expect(result.notice).toEqual({ to: 'guest@example.com', entry: notice.id });
    expect(notice.metadata).toMatchObject({ listId: LIST, recipients: ['guest@example.com'], notice: 'rejected' });
    const message = RawMessage.parse(notice.message);
    expect(message.get('Date')).toBe('Mon, 10 Jun 2024 08:00:00 +0000');
    expect(message.get('In-Reply-To')).toBe('<p1@example.com>');
    expect(notice.message.toString('utf8')).toContain('off topic');
    expect(result.record).toMatchObject({ decision: 'reject', decidedBy: 'bob', reason: 'off topic' });
  });

  it('reject sends no notice to the null sender or a robot, and says why; the default reason is recorded', async () => {
    const { app, held } = await withHeld({ from: 'mailer-daemon@example.com', envelopeSender: '' });
    const result = await decideHeld(app, LIST, held.id, { decision: 'reject', by: 'bob' });
    expect(app.enqueued).toEqual([]);
    expect(result.notice).toEqual({ skipped: expect.stringContaining('null sender') });
    expect(result.record.reason).toBe('rejected by the list moderator');
  });

  it('discard removes the hold quietly and records it', async () => {
    const { app, held } = await withHeld();
    const result = await decideHeld(app, LIST, held.id, { decision: 'discard', by: 'carol' });
    expect(app.enqueued).toEqual([]);
    expect(result).toEqual({ record: expect.objectContaining({ decision: 'discard', decidedBy: 'carol' }) });
    expect(await app.store.countHeld(LIST)).toBe(0);
  });

  it('expireHeldPosts discards by the fake clock only posts older than maxDaysToHold, and logs each', async () => {
    app = await testApp('2024-06-30T12:00:00Z');
    await app.store.createList({ address: LIST, settings: { maxDaysToHold: 7 } });
    const now = app.now().getTime();
    const base = { list: LIST, sender: 'guest@example.com', reason: 'post from a non-member', raw: plainPost() };
    const old = await app.store.holdMessage({ ...base, subject: 'old', receivedAt: new Date(now - 8 * DAY) });
    const recent = await app.store.holdMessage({ ...base, subject: 'recent', receivedAt: new Date(now - 6 * DAY) });

    expect((await expireHeldPosts(app)).map((e) => e.id)).toEqual([old.id]);
    expect((await listHeld(app, LIST)).map((h) => h.id)).toEqual([recent.id]);
    expect(await app.store.heldDecision(old.id)).toMatchObject({ decision: 'expire', decidedBy: 'expiry', reason: 'held longer than 7 days' });
    expect(app.logLines.filter((line) => String(line.msg).includes('expired'))).toEqual([expect.objectContaining({ list: LIST, id: old.id, subject: 'old' })]);

    app.setNow(new Date(now + 2 * DAY));
    expect((await expireHeldPosts(app)).map((e) => e.id)).toEqual([recent.id]);
    expect(await app.store.countHeld(LIST)).toBe(0);
  });
});
