/**
 * One command message through runners/command/handle.ts on a real store
 * with a fake clock: the reply lists each command with its result and is
 * auto-replied; robots, bulk mail, the null sender and the list's own
 * addresses are neither read nor answered; maxAutoResponsesPerDay; a
 * forged -join for a victim; bad input gets a bounded reply.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { handleCommandMessage, type CommandMessage } from '../../../runners/command/handle.js';
import { RawMessage } from '../../../src/mail/raw-message.js';
import type { ListSettings, MailingList } from '../../../src/store/index.js';
import { LIST, testApp, type TestApp } from '../../app/harness.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup(settings: Partial<ListSettings> = {}): Promise<{ a: TestApp; list: MailingList }> {
  app = await testApp('2026-12-05T08:00:00Z');
  const list = await app.store.createList({ address: LIST, settings });
  return { a: app, list };
}

function mail(from: string, subject: string, body: string, extra = ''): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: dev-request@lists.example.org\r\nSubject: ${subject}\r\nMessage-ID: <m-${Math.random()}@example.org>\r\n${extra}\r\n${body.replace(/\n/g, '\r\n')}`, 'utf8');
}

function handle(a: TestApp, list: MailingList, input: Omit<CommandMessage, 'list'>) {
  return handleCommandMessage(a, {}, { list, ...input });
}

const replies = (a: TestApp) => a.enqueued.filter((e) => e.metadata.notice === 'command-reply').map((e) => RawMessage.parse(e.message));

describe('command messages', () => {
  it('the reply lists each command with its result, goes to the sender, Auto-Submitted: auto-replied, In-Reply-To the command mail', async () => {
    const { a, list } = await setup({ subscriptionPolicy: 'open', memberRosterVisibility: 'public' });
    const raw = mail('Ann <ann@example.org>', 'Re: help', 'join\ninfo\nwho\nset deliveryMode mime_digests\nThanks!\nleave\n');
    const handled = await handle(a, list, { message: raw, envelopeSender: 'ann@example.org', implied: 'request' });
    expect(handled.outcome).toBe('handled');
    const [reply] = replies(a);
    expect(reply!.get('To')).toBe('ann@example.org');
    expect(reply!.get('Auto-Submitted')).toBe('auto-replied');
    expect(reply!.get('In-Reply-To')).toBe(RawMessage.parse(raw).get('Message-ID'));
    const text = reply!.body.toString('utf8');
    expect(text).toContain('> help\r\n    Commands go in the Subject');
    expect(text).toContain('> join\r\n    ann@example.org is now a member of dev@lists.example.org');
    expect(text).toContain('> who\r\n    1 member of dev@lists.example.org:\r\n      ann@example.org');
    expect(text).toContain('> set deliveryMode mime_digests\r\n    a confirmation was mailed to ann@example.org; answer it to make this change:\r\n      deliveryMode: mime_digests');
    expect((await a.store.getMember(LIST, 'ann@example.org')).deliveryMode).toBe('regular');
    // "Thanks!" is no command: reading stops there, so leave is never run.
    expect(text).not.toContain('> leave');
    expect(await a.store.findMember(LIST, 'ann@example.org')).not.toBeNull();
    expect((await a.store.getMember(LIST, 'ann@example.org')).displayName).toBe('Ann');
  });

  it('join digest=mime on an open list makes a MIME digest member; who is refused when the roster is not public', async () => {
    const { a, list } = await setup({ subscriptionPolicy: 'open' });
    await handle(a, list, { message: mail('bob@example.net', 'join digest=mime', 'who\n'), envelopeSender: 'bob@example.net', implied: 'request' });
    const text = replies(a)[0]!.body.toString('utf8');
    expect(text).toContain('delivery: mime_digests');
    expect((await a.store.getMember(LIST, 'bob@example.net')).deliveryMode).toBe('mime_digests');
    expect(text).toContain('not given out by mail');
  });

  it('set: a change waits for the confirmation mailed to the member, whoever sent it; confirm applies it; set show answers at once; bad keys, non-members and owner-disabled delivery are refused', async () => {
    const { a, list } = await setup({ memberRosterVisibility: 'public' });
    await a.store.addMember(LIST, { address: 'ann@example.org' });
    await a.store.addMember(LIST, { address: 'bob@example.org' });
    // A forged From: the command names ann, but ann must confirm from her own mailbox before anything changes.
    await handle(a, list, { message: mail('ann@example.org', 'set digest plain', 'set myposts=off hide=on\nset colour blue\nset show\n'), envelopeSender: 'mallory@example.net', implied: 'request' });
    const text = replies(a)[0]!.body.toString('utf8');
    expect(text).toContain('> set digest plain\r\n    a confirmation was mailed to ann@example.org; answer it to make this change:\r\n      deliveryMode: plain_digests');
    expect(text).toContain('> set myposts=off hide=on\r\n    a confirmation was mailed to ann@example.org; answer it to make this change:\r\n      receiveOwnPostings: false\r\n      hideAddress: true');
    expect(text).toContain('> set colour blue\r\n    member preference colour: no such preference; the preferences are deliveryMode');
    expect(text).toContain('> set show\r\n    preferences of ann@example.org:\r\n      deliveryStatus: enabled\r\n      deliveryMode: regular');
    expect(await a.store.getMember(LIST, 'ann@example.org')).toMatchObject({ deliveryMode: 'regular', receiveOwnPostings: true, hideAddress: false });
    const confirmations = a.enqueued.filter((e) => e.metadata.notice === 'confirm-preferences').map((e) => RawMessage.parse(e.message));
    expect(confirmations.map((m) => m.get('To'))).toEqual(['ann@example.org', 'ann@example.org']);
    // Ann answers both (the reply's Subject carries the token).
    for (const confirmation of confirmations) {
      await handle(a, list, { message: mail('ann@example.org', `Re: ${confirmation.get('Subject')!}`, ''), envelopeSender: 'ann@example.org', implied: 'request' });
    }
    expect(replies(a)[2]!.body.toString('utf8')).toContain('done; your preferences now:');
    expect(await a.store.getMember(LIST, 'ann@example.org')).toMatchObject({ deliveryMode: 'plain_digests', receiveOwnPostings: false, hideAddress: true });
    // who leaves out (and does not count) a member with hideAddress.
    await handle(a, list, { message: mail('bob@example.org', 'who', ''), envelopeSender: 'bob@example.org', implied: 'request' });
    const roster = replies(a)[3]!.body.toString('utf8');
    expect(roster).toContain('1 member of dev@lists.example.org:\r\n      bob@example.org');
    expect(roster).not.toContain('ann@example.org');
    // Delivery turned off by the owner stays off whatever the member mails: refused at once, no confirmation.
    await a.store.updateMember(LIST, 'bob@example.org', 'member', { deliveryStatus: 'by_owner' });
    await handle(a, list, { message: mail('bob@example.org', 'set delivery on', ''), envelopeSender: 'bob@example.org', implied: 'request' });
    expect(replies(a)[4]!.body.toString('utf8')).toContain('was disabled by the list owner; the list owner can re-enable it');
    expect((await a.store.getMember(LIST, 'bob@example.org')).deliveryStatus).toBe('by_owner');
    expect(a.enqueued.filter((e) => e.metadata.notice === 'confirm-preferences')).toHaveLength(2);
    await handle(a, list, { message: mail('eve@example.net', 'set delivery off', ''), envelopeSender: 'eve@example.net', implied: 'request' });
    expect(replies(a)[5]!.body.toString('utf8')).toContain('eve@example.net is not a member of dev@lists.example.org: no preferences to set');
  });

  it.each([
    ['the null sender', { envelopeSender: '' }, ''],
    ['Auto-Submitted mail', { envelopeSender: 'ann@example.org' }, 'Auto-Submitted: auto-replied\r\n'],
    ['Precedence: bulk', { envelopeSender: 'ann@example.org' }, 'Precedence: bulk\r\n'],
    ['Precedence: list', { envelopeSender: 'ann@example.org' }, 'Precedence: list\r\n'],
  ])('%s: not read, not answered, nobody subscribed', async (_what, envelope, extra) => {
    const { a, list } = await setup({ subscriptionPolicy: 'open' });
    const handled = await handle(a, list, { message: mail('ann@example.org', 'join', 'help\n', extra), ...envelope, implied: 'request' });
    expect(handled.outcome).toBe('ignored');
    expect(a.enqueued).toEqual([]);
    expect(await a.store.findMember(LIST, 'ann@example.org')).toBeNull();
  });

  it("mail from the list's own addresses (a loop) and from robots is not answered", async () => {
    const { a, list } = await setup();
    for (const from of ['dev-request@lists.example.org', 'dev@lists.example.org', 'dev-bounces+x=y.org@lists.example.org', 'MAILER-DAEMON@mx.example.net']) {
      expect((await handle(a, list, { message: mail(from, 'help', ''), envelopeSender: from, implied: 'request' })).outcome).toBe('ignored');
    }
    expect(a.enqueued).toEqual([]);
  });

  it('at most maxAutoResponsesPerDay replies per address and list a day; counted per UTC day', async () => {
    const { a, list } = await setup({ maxAutoResponsesPerDay: 3 });
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(await handle(a, list, { message: mail('ann@example.org', 'help', ''), envelopeSender: 'ann@example.org', implied: 'request' }));
    expect(outcomes.map((o) => (o.outcome === 'handled' ? o.reply : o.outcome))).toEqual(['sent', 'sent', 'sent', 'limited', 'limited', 'limited']);
    expect(replies(a)).toHaveLength(3);
    a.setNow('2026-12-06T00:00:00Z');
    await handle(a, list, { message: mail('ann@example.org', 'help', ''), envelopeSender: 'ann@example.org', implied: 'request' });
    expect(replies(a)).toHaveLength(4);
  });

  it('a forged -join for a victim, 10 times: at most confirmationsPerDay confirmations, no other mail, never subscribed', async () => {
    const { a, list } = await setup();
    for (let i = 0; i < 10; i++) await handle(a, list, { message: mail('victim@example.com', 'anything', 'hello'), envelopeSender: 'attacker@example.net', implied: 'join' });
    const toVictim = a.enqueued.filter((e) => (e.metadata.recipients as string[]).includes('victim@example.com'));
    expect(toVictim.map((e) => e.metadata.notice)).toEqual(['confirm-subscribe', 'confirm-subscribe', 'confirm-subscribe']);
    expect(await a.store.findMember(LIST, 'victim@example.com')).toBeNull();
  });

  it('-confirm+TOKEN confirms without reading the body; -leave asks for a confirmation', async () => {
    const { a, list } = await setup();
    await handle(a, list, { message: mail('ann@example.org', '', ''), envelopeSender: 'ann@example.org', implied: 'join' });
    const confirmation = RawMessage.parse(a.enqueued[0]!.message);
    const token = confirmation.get('Subject')!.slice('confirm '.length);
    const handled = await handle(a, list, { message: mail('ann@example.org', `Re: ${confirmation.get('Subject')}`, '> Someone, probably you'), envelopeSender: 'ann@example.org', implied: 'confirm', token });
    expect(handled).toMatchObject({ outcome: 'handled', reply: 'not-needed' });
    expect(await a.store.findMember(LIST, 'ann@example.org')).not.toBeNull();
    expect(a.enqueued.map((e) => e.metadata.notice)).toEqual(['confirm-subscribe', 'welcome']);
    await handle(a, list, { message: mail('ann@example.org', '', ''), envelopeSender: 'ann@example.org', implied: 'leave' });
    expect(a.enqueued.map((e) => e.metadata.notice)).toEqual(['confirm-subscribe', 'welcome', 'confirm-unsubscribe']);
  });

  it('bad input gets one bounded reply: HTML only, no text part, binary garbage, 10,000 command lines, a 10 MB body', async () => {
    const { a, list } = await setup();
    const inputs = [
      mail('ann@example.org', 'hi', '<p>join</p>', 'Content-Type: text/html\r\n'),
      mail('ann@example.org', 'hi', 'xx', 'Content-Type: image/png\r\n'),
      Buffer.concat([Buffer.from('From: ann@example.org\r\n\r\n'), Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) % 256))]),
      mail('ann@example.org', '', Array.from({ length: 10_000 }, (_, i) => `confirm ${String(i).padStart(16, '0')}`).join('\n')),
      mail('ann@example.org', 'help', 'a'.repeat(10 * 1024 * 1024)),
    ];
    for (const message of inputs) expect((await handle(a, list, { message, envelopeSender: 'ann@example.org', implied: 'request' })).outcome).toBe('handled');
    const sent = replies(a);
    expect(sent).toHaveLength(5);
    for (const reply of sent) expect(reply.toBuffer().length).toBeLessThan(20_000);
    expect(sent[0]!.body.toString()).toContain('no text/plain part');
    expect(sent[3]!.body.toString()).toContain('more commands not run');
  });
});
