/**
 * The whole path a list operator relies on, through a real master and every
 * built-in runner: a post delivered over LMTP reaches every member at the
 * smarthost (a real SMTP sink on loopback) with the list's headers; the same
 * message fed back to the list is discarded as a loop; a non-member's post is
 * held and, once approved with `switchyard held approve`, delivered; a
 * bounce to a member's VERP address scores that member; a post to the
 * -owner address reaches the owner. Nothing here is simulated but the
 * outside world's MTAs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { freePort } from '../ingress/harness.js';
import { makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { openStore, type Store } from '../../src/store/index.js';

const LIST = 'team@lists.example.org';
const TIMEOUT = 300_000;

let sink: SmtpSink;
let home: string;
let master: MasterHandle;
let store: Store;
let lmtpPort: number;

function post(from: string, subject: string, messageId: string, extra = ''): Buffer {
  return Buffer.from(
    `From: ${from}\r\nTo: Team <${LIST}>\r\nSubject: ${subject}\r\nMessage-ID: ${messageId}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n${extra}\r\nHello team,\r\nGrüße from the e2e test.\r\n`,
    'utf8',
  );
}

/** One LMTP transaction, as Postfix's lmtp client would make it. */
async function deliver(from: string, to: string[], raw: Buffer): Promise<void> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    const info = await transport.sendMail({ envelope: { from, to }, raw });
    expect(info.accepted).toEqual(to);
  } finally {
    transport.close();
  }
}

function withMessageId(id: string): (t: SinkTransaction) => boolean {
  return (t) => t.body !== undefined && RawMessage.parse(t.body).get('message-id') === id;
}

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  lmtpPort = await freePort();
  // No scheduled job takes part: the scheduler is one node process fewer to start.
  home = await makeHome(testConfig(`[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n${schedulerOff()}`));
  store = openStore(home);
  await store.createList({ address: LIST, settings: { verp: true } });
  await store.addMembers(LIST, [{ address: 'ann@example.org' }, { address: 'bob@example.net' }, { address: 'owner@example.com', role: 'owner' }]);
  master = await startMaster(home);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await store?.close();
  await sink?.close();
  if (home) await removeHome(home);
});

it('a member post over LMTP reaches every member with the list headers and subject prefix; fed back, it is discarded as a loop', async () => {
  await deliver('ann@example.org', [LIST], post('Ann <ann@example.org>', 'hello', '<e2e-1@example.org>'));
  const mine = withMessageId('<e2e-1@example.org>');
  await sink.until(() => sink.accepted.filter(mine).length === 2, 'the post at both members (VERP: one transaction each)');
  const copies = sink.accepted.filter(mine);
  expect(copies.map((t) => t.recipients).flat().sort()).toEqual(['ann@example.org', 'bob@example.net']);
  expect(copies.map((t) => t.from).sort()).toEqual(['team-bounces+ann=example.org@lists.example.org', 'team-bounces+bob=example.net@lists.example.org']);
  const delivered = RawMessage.parse(copies[0]!.body!);
  expect(delivered.get('subject')).toBe('[Team] hello');
  expect(delivered.get('list-id')).toContain('<team.lists.example.org>');
  expect(delivered.get('list-post')).toBe('<mailto:team@lists.example.org>');
  expect(delivered.get('x-beenthere')).toBe(LIST);
  expect(delivered.body.toString('utf8')).toBe('Hello team,\r\nGrüße from the e2e test.\r\n');

  // The copy a member's mail client would resend to the list: discarded, nobody gets it again.
  await deliver('bob@example.net', [LIST], copies[0]!.body!);
  await master.waitForLine((line) => line.msg === 'post discarded by rule loop', 'the loop rule discarding the echo');
  expect(sink.accepted.filter(mine)).toHaveLength(2);
}, TIMEOUT);

it('a non-member post is held, the moderators notified; approved with the CLI it reaches the members', async () => {
  await deliver('guest@example.com', [LIST], post('guest@example.com', 'may I post?', '<e2e-2@example.com>'));
  await sink.until(() => sink.accepted.some((t) => t.recipients.includes('owner@example.com') && /awaits|held|approval/i.test(t.body?.toString('utf8') ?? '')), 'the hold notice to the owner');
  const listed = JSON.parse((await runCli(['--home', home, 'held', 'list', LIST, '--json'])).stdout) as { held: Array<{ id: number; subject: string }> };
  const held = listed.held.find((h) => h.subject === 'may I post?');
  expect(held).toBeDefined();
  expect(sink.accepted.filter(withMessageId('<e2e-2@example.com>'))).toHaveLength(0);
  expect((await runCli(['--home', home, 'held', 'approve', LIST, String(held!.id)])).code).toBe(0);
  const approved = withMessageId('<e2e-2@example.com>');
  await sink.until(() => sink.accepted.filter(approved).length === 2, 'the approved post at both members');
  expect(sink.accepted.filter(approved).flatMap((t) => t.recipients).sort()).toEqual(['ann@example.org', 'bob@example.net']);
}, TIMEOUT);

it('a DSN to a member VERP address scores that member; mail to -owner reaches the owner', async () => {
  const dsn = Buffer.from(
    [
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
      'To: team-bounces+bob=example.net@lists.example.org',
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <dsn-1@mx.example.net>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--b1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      '',
      'Final-Recipient: rfc822; bob@example.net',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown',
      '--b1--',
      '',
    ].join('\r\n'),
  );
  await deliver('', ['team-bounces+bob=example.net@lists.example.org'], dsn);
  await master.waitForLine((line) => line.msg === 'bounce scored' && line.member === 'bob@example.net', 'the bounce scored');
  const bob = await store.getMember(LIST, 'bob@example.net');
  expect(bob.bounceScore).toBe(1);
  expect((await store.getMember(LIST, 'ann@example.org')).bounceScore).toBe(0);

  await deliver('someone@example.com', ['team-owner@lists.example.org'], post('someone@example.com', 'question for the owner', '<e2e-3@example.com>'));
  const toOwner = withMessageId('<e2e-3@example.com>');
  await sink.until(() => sink.accepted.some(toOwner), 'the -owner mail at the owner');
  expect(sink.accepted.filter(toOwner).flatMap((t) => t.recipients)).toEqual(['owner@example.com']);
}, TIMEOUT);
