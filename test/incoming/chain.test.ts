/**
 * Every rule and action of the posting chain, through a real incoming runner
 * (real spool, real list store, the parse worker in a real pool), on posts
 * shaped like real mail.
 *
 * The tests share one runner, spool and store (resetIncoming(): the list made
 * again from each test's settings, the queues and the log emptied before each
 * test); the two that need runner options of their own start their own
 * (setupIncoming(), ended by cleanup() after each test).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { longestLine } from '../../src/mail/line-length.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { decodeQuotedPrintable } from '../../src/mail/transfer-encoding.js';
import { hashModeratorPassword } from '../../src/store/index.js';
import { alternativePost, attachmentPost, base64Post, LIST, plainPost, replyPost, signedPost } from './fixtures/messages.js';
import { cleanup, closeIncomingFile, closeStores, resetIncoming, setupIncoming, type IncomingSetup } from './harness.js';

afterAll(closeIncomingFile);

afterEach(async () => {
  await cleanup();
  await closeStores();
});

interface ChainRecord {
  rule: string;
  action: string;
  reason: string;
  at: string;
}

async function outEntries(setup: IncomingSetup) {
  return setup.entries('out');
}

async function onlyHeld(setup: IncomingSetup) {
  const held = await setup.store.heldMessages(LIST);
  expect(held).toHaveLength(1);
  return held[0]!;
}

describe('accept', () => {
  it('sends a member post through the pipeline to out, with the chain decision in its metadata', async () => {
    const setup = await resetIncoming();
    const { outcome } = await setup.post(plainPost());
    expect(outcome).toBe('forwarded');
    const [out] = await outEntries(setup);
    expect(out!.metadata.recipients).toEqual(expect.arrayContaining(['anne@example.org', 'bob@example.net', 'carol@example.com']));
    const chain = out!.metadata.chain as unknown as ChainRecord;
    expect(chain).toMatchObject({ rule: 'end-of-chain', action: 'accept' });
    expect(Date.parse(chain.at)).not.toBeNaN();
    const log = await setup.logLines('chain: accept');
    expect(log[0]).toMatchObject({ rule: 'end-of-chain', action: 'accept' });
  });

  it.each([
    ['multipart/alternative', alternativePost()],
    ['PGP/MIME signed', signedPost()],
    ['8-bit ISO-8859-1 reply with an encoded subject', replyPost()],
  ])('accepts a member %s post and keeps its body bytes', async (_, message) => {
    const setup = await resetIncoming();
    await setup.post(message);
    const [out] = await outEntries(setup);
    expect(out).toBeDefined();
    // Whatever the pipeline added to the header, the body reaches `out` byte for byte.
    expect(RawMessage.parse(out!.message).body.equals(RawMessage.parse(message).body)).toBe(true);
  });

  it('holds a post without From, recording the poster from Sender, else from the envelope (never delivered without a From)', async () => {
    const setup = await resetIncoming();
    await setup.post(plainPost({ from: null, sender: 'Bob <bob@example.net>' }), { envelopeSender: 'stranger@example.com' });
    await setup.post(plainPost({ from: null }), { envelopeSender: 'carol@example.com' });
    expect(await outEntries(setup)).toHaveLength(0);
    const held = await setup.store.heldMessages(LIST);
    expect(held.map((h) => [h.sender, h.reason])).toEqual([
      ['bob@example.net', 'the message has no From field'],
      ['carol@example.com', 'the message has no From field'],
    ]);
    expect(held[0]!.metadata.chain).toMatchObject({ rule: 'no-from', action: 'hold' });
  });
});

describe('moderation', () => {
  it('holds a non-member post, stores it with the reason, and notifies the moderators through virgin', async () => {
    const setup = await resetIncoming();
    const message = plainPost({ from: 'Mallory <mallory@example.com>', subject: 'Cheap watches' });
    const { outcome } = await setup.post(message, { envelopeSender: 'mallory@example.com' });
    expect(outcome).toBe('finished');
    expect(await outEntries(setup)).toHaveLength(0);
    const held = await onlyHeld(setup);
    expect(held).toMatchObject({ sender: 'mallory@example.com', subject: 'Cheap watches', reason: 'post from a non-member' });
    expect(held.raw!.equals(message)).toBe(true);
    expect(held.metadata.chain).toMatchObject({ rule: 'moderation', action: 'hold', reason: 'post from a non-member' });
    const notices = await setup.entries('virgin');
    expect(notices.map((n) => n.metadata.notice).sort()).toEqual(['held', 'post-held']);
    const notice = notices.find((n) => n.metadata.notice === 'held');
    expect(notice!.metadata).toMatchObject({ listId: LIST, toOwners: true, heldId: held.id });
    const text = RawMessage.parse(notice!.message);
    expect(text.get('Auto-Submitted')).toBe('auto-generated');
    expect(notice!.message.toString('utf8')).toContain(`switchyard held approve ${LIST} ${held.id}`);
    // The poster hears that the post awaits the moderators (Mailman's postheld.txt).
    const toPoster = notices.find((n) => n.metadata.notice === 'post-held');
    expect(toPoster!.metadata).toMatchObject({ listId: LIST, recipients: ['mallory@example.com'], heldId: held.id });
    expect(RawMessage.parse(toPoster!.message).get('Subject')).toBe(`Your post to ${LIST} awaits moderator approval`);
    const [line] = await setup.logLines('post held by rule moderation');
    expect(line).toMatchObject({ posterNotice: 'sent' });
  });

  it('applies the non-member lists (addresses and ^regex) before defaultNonmemberAction, in the order accept, hold, reject, discard', async () => {
    const setup = await resetIncoming({
      settings: {
        defaultNonmemberAction: 'discard',
        acceptTheseNonmembers: ['partner@example.com'],
        holdTheseNonmembers: ['^.*@newcomer\\.example$'],
        rejectTheseNonmembers: ['^.*@example\\.com$'],
      },
    });
    await setup.post(plainPost({ from: 'Partner@Example.com', messageId: '<n1@example.com>' }));
    await setup.post(plainPost({ from: 'ann@newcomer.example', messageId: '<n2@example.com>' }));
    await setup.post(plainPost({ from: 'other@example.com', messageId: '<n3@example.com>' }));
    await setup.post(plainPost({ from: 'unknown@example.org', messageId: '<n4@example.com>' }));
    const out = await outEntries(setup);
    expect(out.map((entry) => RawMessage.parse(entry.message).get('Message-ID'))).toEqual(['<n1@example.com>']);
    expect((await onlyHeld(setup)).reason).toBe('post from a non-member listed in holdTheseNonmembers (^.*@newcomer\\.example$)');
    const rejections = (await setup.entries('virgin')).filter((entry) => entry.metadata.notice === 'rejected');
    expect(rejections.map((entry) => entry.metadata.recipients)).toEqual([['other@example.com']]);
    expect(rejections[0]!.message.toString('utf8')).toContain('rejectTheseNonmembers');
    const [discarded] = await setup.logLines('post discarded by rule moderation');
    expect(discarded).toMatchObject({ sender: 'unknown@example.org', reason: 'post from a non-member' });
  });

  it('sends one address no more automatic replies a day than maxAutoResponsesPerDay (rejections and held-post notices together)', async () => {
    const setup = await resetIncoming({ settings: { maxAutoResponsesPerDay: 2, defaultNonmemberAction: 'hold', rejectTheseNonmembers: ['^troll@'] } });
    for (let i = 0; i < 2; i++) await setup.post(plainPost({ from: 'troll@example.com' }));
    for (let i = 0; i < 2; i++) await setup.post(plainPost({ from: 'guest@example.com' }));
    await setup.post(plainPost({ from: 'troll@example.com' }));
    await setup.post(plainPost({ from: 'guest@example.com' }));
    const notices = await setup.entries('virgin');
    const to = (address: string) => notices.filter((n) => (n.metadata.recipients as string[] | undefined)?.includes(address)).length;
    expect(to('troll@example.com')).toBe(2);
    expect(to('guest@example.com')).toBe(2);
    // The moderators hear of every hold.
    expect(notices.filter((n) => n.metadata.notice === 'held')).toHaveLength(3);
    const [limited] = await setup.logLines('post rejected by rule moderation').then((lines) => lines.slice(2));
    expect(String(limited!.notice)).toContain('maxAutoResponsesPerDay');
  });

  it("holds a member whose own moderation action is hold, and accepts a non-member when the list's action is accept", async () => {
    const setup = await resetIncoming({ settings: { defaultNonmemberAction: 'accept' } });
    await setup.store.updateMember(LIST, 'bob@example.net', 'member', { moderationAction: 'hold' });
    await setup.post(plainPost({ from: 'bob@example.net' }));
    await setup.post(plainPost({ from: 'someone@example.com' }));
    expect((await onlyHeld(setup)).reason).toBe('post from a member whose moderation action is hold');
    expect(await outEntries(setup)).toHaveLength(1);
  });

  it('lets owners and moderators post as members', async () => {
    const setup = await resetIncoming();
    await setup.post(plainPost({ from: 'owner@example.org' }));
    await setup.post(plainPost({ from: 'mod@example.org' }));
    expect(await outEntries(setup)).toHaveLength(2);
  });

  it('rejects with a notice to the sender giving the reason and quoting the subject', async () => {
    const setup = await resetIncoming({ settings: { defaultNonmemberAction: 'reject' } });
    const { outcome } = await setup.post(plainPost({ from: 'Stranger <stranger@example.com>', subject: 'Question about =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=', messageId: '<q1@example.com>' }));
    expect(outcome).toBe('finished');
    expect(await setup.store.countHeld(LIST)).toBe(0);
    const [notice] = await setup.entries('virgin');
    expect(notice!.metadata).toMatchObject({ listId: LIST, recipients: ['stranger@example.com'] });
    const message = RawMessage.parse(notice!.message);
    expect(message.get('In-Reply-To')).toBe('<q1@example.com>');
    const body = message.body.toString('utf8');
    expect(body).toContain('post from a non-member');
    expect(body).toContain('Question about Grüße');
  });

  it.each([
    ['the null sender', { from: 'stranger@example.com' }, { envelopeSender: '' }],
    ['a robot address', { from: 'MAILER-DAEMON@mx.example.com' }, {}],
    ['a noreply address', { from: 'noreply@shop.example.com' }, {}],
    ['another list\'s bounces address', { from: 'other-bounces@lists.example.net' }, {}],
    ['an auto-submitted post', { from: 'stranger@example.com', extraHeaders: ['Auto-Submitted: auto-replied'] }, {}],
  ])('rejects without any notice for %s (no mail loops)', async (_, fields, metadata) => {
    const setup = await resetIncoming({ settings: { defaultNonmemberAction: 'reject' } });
    const { outcome } = await setup.post(plainPost(fields), metadata);
    expect(outcome).toBe('finished');
    expect(await setup.entries('virgin')).toHaveLength(0);
    const [line] = await setup.logLines('post rejected by rule moderation');
    expect(String(line!.notice)).toMatch(/^not sent: /);
  });

  it('discards with a log line naming the rule', async () => {
    const setup = await resetIncoming({ settings: { defaultNonmemberAction: 'discard' } });
    const { outcome } = await setup.post(plainPost({ from: 'spammer@example.com' }));
    expect(outcome).toBe('finished');
    expect(await setup.entries('virgin')).toHaveLength(0);
    expect(await outEntries(setup)).toHaveLength(0);
    expect(await setup.store.countHeld(LIST)).toBe(0);
    const [line] = await setup.logLines('post discarded by rule moderation');
    expect(line).toMatchObject({ rule: 'moderation', reason: 'post from a non-member' });
  });
});

describe('approved', () => {
  const password = 'correct horse';

  it('accepts a non-member post with the right Approved: header, and removes the header', async () => {
    const setup = await resetIncoming({ settings: { moderatorPassword: hashModeratorPassword(password) } });
    await setup.post(plainPost({ from: 'guest@example.com', extraHeaders: [`Approved: ${password}`] }));
    const [out] = await outEntries(setup);
    expect(out!.metadata.chain).toMatchObject({ rule: 'approved', action: 'accept' });
    expect(RawMessage.parse(out!.message).has('Approved')).toBe(false);
  });

  it('holds on a wrong password, and removes that header too', async () => {
    const setup = await resetIncoming({ settings: { moderatorPassword: hashModeratorPassword(password) } });
    await setup.post(plainPost({ from: 'guest@example.com', extraHeaders: ['Approved: guess'] }));
    const held = await onlyHeld(setup);
    expect(held.reason).toBe('post from a non-member');
    expect(RawMessage.parse(held.raw!).has('Approved')).toBe(false);
  });

  it('accepts on an Approved: first body line and cuts that line out of the body', async () => {
    const setup = await resetIncoming({ settings: { moderatorPassword: hashModeratorPassword(password) } });
    await setup.post(plainPost({ from: 'guest@example.com' }, `\r\nApproved: ${password}\r\nThe real text.\r\n`));
    const [out] = await outEntries(setup);
    expect(out!.metadata.chain).toMatchObject({ rule: 'approved', reason: expect.stringContaining('body') });
    const body = out!.message.toString('utf8');
    expect(body).not.toContain(password);
    expect(body).toContain('The real text.');
  });

  it.each([
    ['a base64 body', () => base64Post({ from: 'guest@example.com' }, `Approved: ${password}\r\nText.\r\n`)],
    ['a multipart/alternative post (its HTML part repeats the line)', () => alternativePost({ from: 'guest@example.com' }, `Approved: ${password}\r\nText.\r\n`)],
  ])('holds when the right password is in %s, where it cannot surely be cut out', async (_, build) => {
    const setup = await resetIncoming({ settings: { moderatorPassword: hashModeratorPassword(password) } });
    await setup.post(build());
    expect((await onlyHeld(setup)).reason).toMatch(/cannot be removed from for sure/);
    expect(await outEntries(setup)).toHaveLength(0);
  });
});

describe('emergency', () => {
  it("holds even a member's post", async () => {
    const setup = await resetIncoming({ settings: { emergency: true } });
    await setup.post(plainPost());
    const held = await onlyHeld(setup);
    expect(held.metadata.chain).toMatchObject({ rule: 'emergency', action: 'hold' });
  });
});

describe('administrivia', () => {
  it.each([
    ['an unsubscribe subject', plainPost({ subject: 'unsubscribe' })],
    ['a "remove me" body', plainPost({ subject: 'please' }, 'remove me\r\n\r\nthanks\r\n')],
    ['a subscribe line in the text part of a multipart/alternative post', alternativePost({ subject: 'hello' }, 'subscribe anne@example.org\r\n')],
  ])('holds %s', async (_, message) => {
    const setup = await resetIncoming();
    await setup.post(message);
    expect((await onlyHeld(setup)).metadata.chain).toMatchObject({ rule: 'administrivia', action: 'hold' });
  });

  it('passes prose and quoted text that merely mention commands', async () => {
    const setup = await resetIncoming();
    await setup.post(plainPost({ subject: 'How do I unsubscribe from the digest?' }, 'I tried to unsubscribe twice.\r\n'));
    await setup.post(replyPost());
    expect(await outEntries(setup)).toHaveLength(2);
  });

  it('does nothing when the list turns it off', async () => {
    const setup = await resetIncoming({ settings: { administrivia: false } });
    await setup.post(plainPost({ subject: 'unsubscribe' }));
    expect(await outEntries(setup)).toHaveLength(1);
  });
});

describe('size', () => {
  it('holds a body over maxMessageSize (default 40 KB), naming its attachment', async () => {
    const setup = await resetIncoming();
    await setup.post(attachmentPost({}, 45_000));
    const held = await onlyHeld(setup);
    expect(held.reason).toMatch(/^the message body is \d+ KB, over the list's limit of 40 KB, 1 attachment\(s\) of 45000 bytes/);
  });

  it('accepts it with maxMessageSize 0 (no limit)', async () => {
    const setup = await resetIncoming({ settings: { maxMessageSize: 0 } });
    await setup.post(attachmentPost({}, 45_000));
    expect(await outEntries(setup)).toHaveLength(1);
  });

  it('holds a message over the parse limit even without a size limit: it was not inspected', async () => {
    const setup = await setupIncoming({ settings: { maxMessageSize: 0 }, options: { parseMaxSize: 10_000 } });
    await setup.post(attachmentPost({}, 20_000));
    expect((await onlyHeld(setup)).reason).toMatch(/larger than the parse limit and was not inspected/);
  });
});

describe('destination and recipients', () => {
  it('holds a post that does not name the list in To or Cc (Bcc)', async () => {
    const setup = await resetIncoming();
    await setup.post(plainPost({ to: 'friends@example.com' }));
    expect((await onlyHeld(setup)).metadata.chain).toMatchObject({ rule: 'implicit-destination' });
  });

  it('accepts the list named in Cc, and any destination when requireExplicitDestination is off', async () => {
    const setup = await resetIncoming();
    await setup.post(plainPost({ to: 'bob@example.net', cc: `"Dev list" <${LIST.toUpperCase()}>` }));
    await setup.store.updateList(LIST, { settings: { requireExplicitDestination: false } });
    await setup.post(plainPost({ to: 'friends@example.com' }));
    expect(await outEntries(setup)).toHaveLength(2);
  });

  it('holds a post with more To/Cc addresses than maxNumRecipients', async () => {
    const setup = await resetIncoming();
    const cc = Array.from({ length: 10 }, (_, i) => `user${i}@example.com`).join(', ');
    await setup.post(plainPost({ cc }));
    expect((await onlyHeld(setup)).reason).toBe("the message has 11 recipients in To and Cc, more than the list's limit of 10");
  });
});

describe('suspicious headers', () => {
  it("holds a post with a header matching one of the list's patterns", async () => {
    const setup = await resetIncoming({ settings: { suspiciousHeaders: ['^X-Spam-Flag: *yes'] } });
    await setup.post(plainPost({ extraHeaders: ['X-Spam-Flag: YES'] }));
    await setup.post(plainPost({ extraHeaders: ['X-Spam-Flag: NO'] }));
    expect((await onlyHeld(setup)).reason).toBe('header X-Spam-Flag matches the suspicious-header pattern "^X-Spam-Flag: *yes"');
    expect(await outEntries(setup)).toHaveLength(1);
  });
});

describe('no subject', () => {
  it('holds a post without a subject, or with only the prefix and Re:', async () => {
    const setup = await resetIncoming();
    await setup.post(plainPost({ subject: null }));
    await setup.post(plainPost({ subject: 'Re: [Dev] ' }));
    const held = await setup.store.heldMessages(LIST);
    expect(held.map((h) => h.reason)).toEqual(['the message has no Subject', 'the message has an empty Subject']);
  });

  it('accepts it when noSubjectAction is accept', async () => {
    const setup = await resetIncoming({ settings: { noSubjectAction: 'accept' } });
    await setup.post(plainPost({ subject: null }));
    expect(await outEntries(setup)).toHaveLength(1);
  });
});

describe('loop', () => {
  it('discards a post fed back through the list: the out message injected again on in', async () => {
    const setup = await resetIncoming();
    await setup.post(plainPost({ messageId: '<loop-1@example.org>' }));
    const [out] = await outEntries(setup);
    const sent = RawMessage.parse(out!.message);
    // A member's auto-forwarder sends the list's copy straight back to the list.
    const { outcome } = await setup.post(out!.message, { envelopeSender: 'anne@example.org' });
    expect(outcome).toBe('finished');
    expect(await outEntries(setup)).toHaveLength(1);
    expect(await setup.store.countHeld(LIST)).toBe(0);
    const [line] = await setup.logLines('post discarded by rule loop');
    expect(line).toMatchObject({ rule: 'loop' });
    expect(String(line!.reason)).toMatch(sent.has('X-BeenThere') ? /X-BeenThere/ : /List-Id/);
  });
});

describe('entries that name no list', () => {
  it('moves an entry without listId, or with an unknown list, to shunt with ListUnknownError (SY_LIST_UNKNOWN)', async () => {
    const setup = await resetIncoming();
    const first = await setup.post(plainPost(), { listId: 'nosuch@lists.example.org' });
    const second = await setup.post(plainPost(), { listId: null });
    const third = await setup.post(plainPost(), { listId: '../../etc/passwd' });
    expect([first.outcome, second.outcome, third.outcome]).toEqual(['shunt', 'shunt', 'shunt']);
    const shunted = await setup.entries('shunt');
    expect(shunted).toHaveLength(3);
    for (const entry of shunted) expect((entry.control.error as { name: string }).name).toBe('ListUnknownError');
    expect(shunted.map((entry) => (entry.control.error as { message: string }).message).join('\n')).toContain('no list nosuch@lists.example.org');
  });
});

describe('header sanity: From, hops, line length', () => {
  it('holds From: <> and a From with no address, as no-from', async () => {
    const setup = await resetIncoming();
    await setup.post(plainPost({ from: '<>' }));
    await setup.post(plainPost({ from: 'undisclosed-recipients:;' }));
    const held = await setup.store.heldMessages(LIST);
    expect(held.map((h) => h.reason)).toEqual(['the From field names no address (From: <>)', 'the From field names no address (From: undisclosed-recipients:;)']);
    expect(await outEntries(setup)).toHaveLength(0);
  });

  it('holds a From naming hundreds of addresses (more than maxFromAddresses), even from a member', async () => {
    const setup = await resetIncoming();
    const many = ['Anne <anne@example.org>', ...Array.from({ length: 300 }, (_, i) => `u${i}@example.com`)].join(', ');
    await setup.post(plainPost({ from: many }));
    await setup.post(plainPost({ from: 'anne@example.org, bob@example.net' }));
    expect((await onlyHeld(setup)).reason).toBe('the From field names 301 addresses, more than maxFromAddresses (10)');
    expect(await outEntries(setup)).toHaveLength(1);
  });

  it('discards a post with more Received fields than maxHops as a mail loop, with a log line; at the limit it passes', async () => {
    const setup = await setupIncoming({ options: { maxHops: 5 } });
    const received = (n: number) => Array.from({ length: n }, (_, i) => `Received: from relay${i}.example.net by mx.example.org; Tue, 14 May 2024 09:12:${String(i).padStart(2, '0')} +0200`);
    const { outcome } = await setup.post(plainPost({ extraHeaders: received(6) }));
    expect(outcome).toBe('finished');
    await setup.post(plainPost({ extraHeaders: received(5) }));
    expect(await outEntries(setup)).toHaveLength(1);
    expect(await setup.store.countHeld(LIST)).toBe(0);
    const [line] = await setup.logLines('post discarded by rule max-hops');
    expect(line).toMatchObject({ rule: 'max-hops', reason: 'mail loop: 6 Received fields, more than maxHops (5)' });
  });

  it('has maxHops 25 by default (Postfix hopcount_limit)', async () => {
    const setup = await resetIncoming();
    const received = Array.from({ length: 26 }, (_, i) => `Received: by hop${i}.example.net; Tue, 14 May 2024 09:12:33 +0200`);
    await setup.post(plainPost({ extraHeaders: received }));
    expect(await setup.logLines('post discarded by rule max-hops')).toHaveLength(1);
    expect(await outEntries(setup)).toHaveLength(0);
  });

  it('holds a post with a header line over 998 octets that has no white space to fold at', async () => {
    const setup = await resetIncoming();
    await setup.post(plainPost({ extraHeaders: [`X-Tracking: ${'A'.repeat(1200)}`] }));
    const held = await onlyHeld(setup);
    expect(held.metadata.chain).toMatchObject({ rule: 'overlong-lines', action: 'hold' });
    expect(held.reason).toContain('header X-Tracking has a line of 1212 octets');
  });

  it('sends a post with a 3,000-octet text line re-encoded as quoted-printable, every line within 998, decoding to the same text', async () => {
    const setup = await resetIncoming();
    const line = 'Grüße, '.repeat(430);
    const body = `Hi all,\r\n${line}\r\nAnne\r\n`;
    const references = Array.from({ length: 40 }, (_, i) => `<thread-${i}-0123456789@mail.example.org>`).join(' ');
    const message = plainPost({ extraHeaders: [`References: ${references}`] }, body);
    expect(longestLine(message)).toBeGreaterThan(998);
    await setup.post(message);
    const [out] = await outEntries(setup);
    expect(longestLine(out!.message)).toBeLessThanOrEqual(998);
    const sent = RawMessage.parse(out!.message);
    expect(sent.get('Content-Transfer-Encoding')).toBe('quoted-printable');
    expect(decodeQuotedPrintable(sent.body).toString('utf8')).toBe(body);
    expect(sent.get('References')).toBe(references);
  });

  it('gives a post without Message-ID one in the list domain, the same on the archive copy and the out entry', async () => {
    const setup = await resetIncoming();
    const message = Buffer.from(plainPost().toString('utf8').replace(/^Message-ID: .*\r\n/m, ''), 'utf8');
    expect(RawMessage.parse(message).has('Message-ID')).toBe(false);
    await setup.post(message);
    const [out] = await outEntries(setup);
    const id = RawMessage.parse(out!.message).get('Message-ID');
    expect(id).toMatch(/^<[^@<>\s]+@lists\.example\.org>$/);
    const [archived] = await setup.entries('archive');
    expect(RawMessage.parse(archived!.message).get('Message-ID')).toBe(id);
  });
});

describe('the chain a list names (postingChain)', () => {
  it('runs the chain the list names: with `approved`, a non-member post that `default` holds goes out', async () => {
    const held = await resetIncoming();
    await held.post(plainPost({ from: 'stranger@example.com' }), { envelopeSender: 'stranger@example.com' });
    expect(await held.store.countHeld(LIST)).toBe(1);

    const setup = await resetIncoming({ settings: { postingChain: 'approved' } });
    const { outcome } = await setup.post(plainPost({ from: 'stranger@example.com' }), { envelopeSender: 'stranger@example.com' });
    expect(outcome).toBe('forwarded');
    const [out] = await outEntries(setup);
    expect((out!.metadata.chain as unknown as ChainRecord).rule).toBe('end-of-chain');
  });

  it('sends the post to shunt with UnknownChainError, unchanged, when the stored chain name is not registered', async () => {
    // A value stored before `lists set` checked chain names.
    const setup = await resetIncoming({ settings: { postingChain: 'nosuch' } });
    const post = plainPost();
    const { outcome } = await setup.post(post);
    expect(outcome).toBe('shunt');
    const [shunted] = await setup.entries('shunt');
    expect(shunted!.control.error).toMatchObject({ name: 'UnknownChainError' });
    expect((shunted!.control.error as { message: string }).message).toMatch(/unknown chain "nosuch" in postingChain \(known: default, approved\)/);
    expect(shunted!.message.equals(post)).toBe(true);
  });
});
