/**
 * Deciding a held post by replying to its notice (src/app/moderation-by-reply.ts)
 * through the command handler, as the command runner calls it for mail to
 * name-confirm+TOKEN, on a real store with a fake clock: the notice carries
 * the token; approve, reject and discard by reply; the password and
 * moderator-address rules of moderateByReply; a second reply, another list's
 * token, and a reply that says nothing decide nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { handleCommandMessage } from '../../runners/command/handle.js';
import { readReply } from '../../src/app/moderation-by-reply.js';
import { sendHeldNotices } from '../../src/app/moderation.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { hashModeratorPassword, type HeldMessage, type ListSettings, type MailingList } from '../../src/store/index.js';
import { plainPost } from '../incoming/fixtures/messages.js';
import { LIST, testApp, type TestApp } from './harness.js';

const PASSWORD = 'correct horse battery';
let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

interface Setup {
  a: TestApp;
  list: MailingList;
  held: HeldMessage;
  token: string;
}

/** A list with owner boss@ and moderator mod@, a post held on it, and its notices sent (closing the test's earlier app, if any). */
async function setup(settings: Partial<ListSettings> = {}): Promise<Setup> {
  await app?.close();
  const a = (app = await testApp('2026-12-05T08:00:00Z'));
  await a.store.createList({
    address: LIST,
    settings: { moderatorPassword: hashModeratorPassword(PASSWORD), ...settings },
    members: [
      { address: 'boss@example.org', role: 'owner' },
      { address: 'mod@example.org', role: 'moderator' },
    ],
  });
  const list = await a.store.getList(LIST);
  const raw = plainPost({ from: 'guest@example.com', subject: 'May I post?', messageId: '<h1@example.com>' });
  const held = await a.store.holdMessage({ list: LIST, sender: 'guest@example.com', subject: 'May I post?', reason: 'post from a non-member', raw, messageId: '<h1@example.com>', metadata: { listId: LIST } });
  await sendHeldNotices(a, list, held, RawMessage.parse(raw));
  const notice = RawMessage.parse(a.enqueued.find((e) => e.metadata.notice === 'held')!.message);
  const replyTo = notice.get('Reply-To') ?? '';
  const token = /^dev-confirm\+([0-9a-f]{32})@lists\.example\.org$/.exec(replyTo)?.[1];
  if (token === undefined) throw new Error(`the hold notice has no reply address: ${replyTo}`);
  return { a, list, held, token };
}

function reply(from: string, body: string, extraHeaders = ''): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: dev-confirm@lists.example.org\r\nSubject: Re: Dev post requires approval\r\nMessage-ID: <r-${Math.random()}@example.org>\r\n${extraHeaders}\r\n${body.replace(/\n/g, '\r\n')}`, 'utf8');
}

async function send(s: Setup, from: string, body: string, extraHeaders = '') {
  return handleCommandMessage(s.a, {}, { list: s.list, message: reply(from, body, extraHeaders), envelopeSender: from, implied: 'confirm', token: s.token });
}

function answers(s: Setup): string[] {
  return s.a.enqueued.filter((e) => e.metadata.notice === 'command-reply').map((e) => RawMessage.parse(e.message).body.toString('utf8'));
}

describe('deciding a held post by reply', () => {
  it('the hold notice points replies at name-confirm+TOKEN and says how to answer', async () => {
    const s = await setup();
    const notice = RawMessage.parse(s.a.enqueued.find((e) => e.metadata.notice === 'held')!.message);
    const text = notice.body.toString('utf8');
    expect(text).toContain('    approve\r\n    reject REASON\r\n    discard');
    expect(text).toContain("The reply must carry the list's moderator password");
    // The token is the post's, recorded once: asked again, the store gives the same one.
    expect(await s.a.store.heldReplyToken(s.held.id, 'f'.repeat(32))).toBe(s.token);
  });

  it('approve with the password in an Approved: header: the post goes back on `in` with an approval, the reply says so, the token is spent', async () => {
    const s = await setup();
    const handled = await send(s, 'anyone@example.net', 'approve\n\n> A post to dev@lists.example.org is held', `Approved: ${PASSWORD}\r\n`);
    expect(handled.outcome).toBe('handled');
    const back = s.a.enqueued.filter((e) => e.queue === 'in');
    expect(back).toHaveLength(1);
    expect((back[0]!.metadata.approval as { heldId: number; by: string }).heldId).toBe(s.held.id);
    expect((back[0]!.metadata.approval as { by: string }).by).toBe('anyone@example.net (reply by mail)');
    expect(await s.a.store.heldDecision(s.held.id)).toMatchObject({ decision: 'approve', decidedBy: 'anyone@example.net (reply by mail)' });
    expect(answers(s)[0]).toContain('Held post #1 ("May I post?" from guest@example.com) approved: it goes to the list.');
    expect(await s.a.store.heldByReplyToken(s.token)).toBeNull();

    // A second reply finds nothing: the token is now an unknown confirmation, and nothing more goes to `in`.
    await send(s, 'anyone@example.net', 'approve', `Approved: ${PASSWORD}\r\n`);
    expect(s.a.enqueued.filter((e) => e.queue === 'in')).toHaveLength(1);
    expect(answers(s)[1]).not.toContain('approved: it goes to the list');
  });

  it('`Approved: PASSWORD` as the first line and no action word approves, as Mailman 2.1 did', async () => {
    const s = await setup();
    await send(s, 'anyone@example.net', `Approved: ${PASSWORD}\n`);
    expect(await s.a.store.heldDecision(s.held.id)).toMatchObject({ decision: 'approve' });
  });

  it('reject REASON tells the poster the reason; discard tells nobody', async () => {
    const s = await setup();
    await send(s, 'x@example.net', 'reject  Off topic here, try the users list\n', `Approved: ${PASSWORD}\r\n`);
    expect(await s.a.store.heldDecision(s.held.id)).toMatchObject({ decision: 'reject', reason: 'Off topic here, try the users list' });
    const toPoster = s.a.enqueued.find((e) => e.metadata.notice !== 'command-reply' && e.metadata.notice !== 'held' && e.metadata.notice !== 'post-held' && e.queue === 'virgin');
    expect(toPoster?.metadata.recipients).toEqual(['guest@example.com']);
    expect(RawMessage.parse(toPoster!.message).body.toString('utf8')).toContain('Off topic here, try the users list');

    const t = await setup();
    const before = t.a.enqueued.length;
    await send(t, 'x@example.net', 'discard', `Approved: ${PASSWORD}\r\n`);
    expect(await t.a.store.heldDecision(t.held.id)).toMatchObject({ decision: 'discard' });
    expect(t.a.enqueued.slice(before).map((e) => e.metadata.notice)).toEqual(['command-reply']);
  });

  it('password mode: no password, a wrong one, or only a moderator address decide nothing, and the reply says why', async () => {
    const s = await setup();
    await send(s, 'mod@example.org', 'approve');
    await send(s, 'mod@example.org', 'approve', 'Approved: guess\r\n');
    expect(await s.a.store.getHeld(s.held.id)).toMatchObject({ id: s.held.id });
    expect(s.a.enqueued.filter((e) => e.queue === 'in')).toEqual([]);
    const [first, second] = answers(s);
    expect(first).toContain('was not decided: the reply carries no moderator password');
    expect(second).toContain('was not decided: the moderator password is wrong');
  });

  it('moderator-address mode: an owner or moderator From decides, a stranger does not', async () => {
    const s = await setup({ moderateByReply: 'moderator-address' });
    await send(s, 'stranger@example.net', 'discard');
    expect(answers(s)[0]).toContain('stranger@example.net is not an owner or moderator of dev@lists.example.org');
    expect(await s.a.store.getHeld(s.held.id)).toMatchObject({ id: s.held.id });
    await send(s, 'Mod@Example.org', 'discard');
    expect(await s.a.store.heldDecision(s.held.id)).toMatchObject({ decision: 'discard', decidedBy: 'Mod@example.org (reply by mail)' });
  });

  it('a reply that names no action leaves the post waiting and says how to answer; quoted lines are not read', async () => {
    const s = await setup({ moderateByReply: 'either' });
    await send(s, 'boss@example.org', 'Hi all,\napprove\n');
    await send(s, 'boss@example.org', '> approve\n> discard\n');
    expect(await s.a.store.getHeld(s.held.id)).toMatchObject({ id: s.held.id });
    for (const text of answers(s)) expect(text).toContain('still waits: the first line of your reply must be approve, reject REASON or discard');
  });

  it('off: no hold notice carries a reply address, and a reply to an old token decides nothing', async () => {
    const s = await setup();
    await s.a.store.updateList(LIST, { settings: { moderateByReply: 'off' } });
    const list = await s.a.store.getList(LIST);
    await send({ ...s, list }, 'boss@example.org', 'approve', `Approved: ${PASSWORD}\r\n`);
    expect(answers(s)[0]).toContain('does not take decisions by reply (moderateByReply is off)');
    expect(await s.a.store.getHeld(s.held.id)).toMatchObject({ id: s.held.id });

    const raw = plainPost({ from: 'guest@example.com', subject: 'Again', messageId: '<h2@example.com>' });
    const second = await s.a.store.holdMessage({ list: LIST, sender: 'guest@example.com', subject: 'Again', reason: 'post from a non-member', raw, metadata: { listId: LIST } });
    await sendHeldNotices(s.a, list, second, RawMessage.parse(raw));
    const notice = RawMessage.parse(s.a.enqueued.filter((e) => e.metadata.notice === 'held').at(-1)!.message);
    expect(notice.get('Reply-To')).toBeUndefined();
  });

  it("another list's token is no token here", async () => {
    const s = await setup();
    const other = await s.a.store.createList({ address: 'ops@lists.example.org' });
    const handled = await handleCommandMessage(s.a, {}, { list: other, message: reply('boss@example.org', 'approve', `Approved: ${PASSWORD}\r\n`), envelopeSender: 'boss@example.org', implied: 'confirm', token: s.token });
    expect(handled.outcome).toBe('handled');
    expect(await s.a.store.getHeld(s.held.id)).toMatchObject({ id: s.held.id });
    expect(s.a.enqueued.filter((e) => e.queue === 'in')).toEqual([]);
  });
});

describe('readReply', () => {
  it('reads an optional Approved: line, then the action; blank and quoted lines are skipped', () => {
    expect(readReply(['', '> quoted', 'Approved: pw', 'reject: spam, sorry'])).toEqual({ password: 'pw', action: { word: 'reject', rest: 'spam, sorry' } });
    expect(readReply(['Accept'])).toEqual({ action: { word: 'approve', rest: '' } });
    expect(readReply(['thanks', 'approve'])).toEqual({});
    expect(readReply(['approved?'])).toEqual({});
  });
});
