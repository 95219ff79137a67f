/**
 * Members running their own membership by mail, through a real master with
 * every built-in runner, a real LMTP client and a saving SMTP sink:
 * subscribe with confirmation (by replying to the confirmation, and by
 * mailing the token to -confirm), an owner-moderated subscription approved
 * with `switchyard requests approve`, leaving with confirmation, a
 * preference set by mail; and the
 * safety rules: no reply to the null sender, to bulk mail or to the list's
 * own addresses, the per-day limits, and a forged -join for a victim.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { freePort } from '../ingress/harness.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, type LogLine, type MasterHandle } from '../master/harness.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { openStore, type Store } from '../../src/store/index.js';

const TEAM = 'team@lists.example.org';
const CLUB = 'club@lists.example.org';
const TIMEOUT = 180_000;

let sink: SmtpSink;
let home: string;
let master: MasterHandle;
let store: Store;
let lmtpPort: number;
let serial = 0;

function message(from: string, to: string, subject: string, body: string, extra = ''): Buffer {
  serial++;
  return Buffer.from(`From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <cmd-${serial}@example.org>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n${extra}\r\n${body.replace(/\n/g, '\r\n')}`, 'utf8');
}

async function deliver(from: string, to: string, raw: Buffer): Promise<void> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    const info = await transport.sendMail({ envelope: { from, to: [to] }, raw });
    expect(info.accepted).toEqual([to]);
  } finally {
    transport.close();
  }
}

function parsed(t: SinkTransaction): RawMessage {
  return RawMessage.parse(t.body!);
}

function to(address: string, subject: RegExp): (t: SinkTransaction) => boolean {
  return (t) => t.recipients.includes(address) && subject.test(parsed(t).decoded('Subject') ?? '');
}

async function arrival(predicate: (t: SinkTransaction) => boolean, what: string, count = 1): Promise<SinkTransaction[]> {
  await sink.until(() => sink.accepted.filter(predicate).length >= count, what, 120_000);
  return sink.accepted.filter(predicate);
}

const handled = (sender: string) => (line: LogLine) => line.msg === 'command message handled' && line.sender === sender;
const ignored = (envelopeSender: string) => (line: LogLine) => typeof line.msg === 'string' && line.msg.startsWith('command message ignored') && line.envelopeSender === envelopeSender;

/** A help from a fresh address whose reply has arrived: what was queued before it has had its chance to arrive too. */
async function sentinel(): Promise<void> {
  const address = `sentinel-${++serial}@example.com`;
  await deliver(address, 'team-request@lists.example.org', message(address, 'team-request@lists.example.org', 'help', ''));
  await arrival(to(address, /results of your email commands/), 'the sentinel reply');
}

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  lmtpPort = await freePort();
  // No bounce and no scheduled job takes part: two node processes fewer to start.
  home = await makeHome(testConfig(`[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n${builtInRunnersOff(['incoming', 'archive', 'outgoing', 'virgin', 'command', 'retry'])}\n${schedulerOff()}`));
  store = openStore(home);
  await store.createList({ address: TEAM, description: 'The team list.' });
  await store.createList({ address: CLUB, settings: { subscriptionPolicy: 'moderate' } });
  await store.addMembers(CLUB, [{ address: 'boss@example.com', role: 'owner' }]);
  await store.addMembers(TEAM, [{ address: 'boss@example.com', role: 'owner' }]);
  master = await startMaster(home);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await store?.close();
  await sink?.close();
  if (home) await removeHome(home);
});

it('join by mail to -join, confirmed by replying to the confirmation: a member, welcomed', async () => {
  await deliver('ann@example.org', 'team-join@lists.example.org', message('Ann <ann@example.org>', 'team-join@lists.example.org', 'please', ''));
  const [confirmation] = await arrival(to('ann@example.org', /^confirm [0-9a-f]{32}$/), 'the confirmation to ann');
  const mail = parsed(confirmation!);
  const token = mail.get('Subject')!.slice('confirm '.length);
  expect(mail.get('From')).toBe(`team-confirm+${token}@lists.example.org`);
  expect(mail.get('Reply-To')).toBe(`team-confirm+${token}@lists.example.org`);
  expect(confirmation!.recipients).toEqual(['ann@example.org']);
  expect(await store.findMember(TEAM, 'ann@example.org')).toBeNull();

  // What a mail client's Reply does: to the Reply-To, Subject "Re: ...", the original quoted.
  await deliver('ann@example.org', mail.get('Reply-To')!, message('Ann <ann@example.org>', mail.get('Reply-To')!, `Re: ${mail.get('Subject')}`, '> Someone, probably you, asked\n'));
  const [welcome] = await arrival(to('ann@example.org', /Welcome to the "Team" mailing list/), 'the welcome to ann');
  expect(parsed(welcome!).body.toString()).toContain('The team list.');
  expect((await store.getMember(TEAM, 'ann@example.org')).displayName).toBe('Ann');
}, TIMEOUT);

it('subscribe in the body to -request, confirmed by mailing "confirm TOKEN" to -confirm', async () => {
  await deliver('bob@example.net', 'team-request@lists.example.org', message('bob@example.net', 'team-request@lists.example.org', 'hello', 'subscribe\n\nBob\n'));
  const [confirmation] = await arrival(to('bob@example.net', /^confirm /), 'the confirmation to bob');
  const token = parsed(confirmation!).get('Subject')!.slice('confirm '.length);
  await deliver('bob@example.net', 'team-confirm@lists.example.org', message('bob@example.net', 'team-confirm@lists.example.org', `confirm ${token}`, ''));
  await arrival(to('bob@example.net', /Welcome/), 'the welcome to bob');
  expect(await store.findMember(TEAM, 'bob@example.net')).not.toBeNull();
}, TIMEOUT);

it('a moderated list: the owner is told, `requests approve` makes the member and welcomes them', async () => {
  await deliver('carol@example.org', 'club-join@lists.example.org', message('carol@example.org', 'club-join@lists.example.org', '', ''));
  await arrival(to('boss@example.com', /membership request/), 'the owners notice');
  const listed = await runCli(['--home', home, 'requests', 'list', CLUB, '--json']);
  const [request] = (JSON.parse(listed.stdout) as { requests: { id: number; address: string; kind: string }[] }).requests;
  expect(request).toMatchObject({ address: 'carol@example.org', kind: 'subscription_approval' });
  expect(await store.findMember(CLUB, 'carol@example.org')).toBeNull();
  expect((await runCli(['--home', home, 'requests', 'approve', CLUB, String(request!.id)])).code).toBe(0);
  await arrival(to('carol@example.org', /Welcome to the "Club"/), 'the welcome to carol');
  expect(await store.findMember(CLUB, 'carol@example.org')).not.toBeNull();
}, TIMEOUT);

it('leave by mail to -leave, confirmed by reply: no longer a member, a goodbye', async () => {
  await store.addMember(TEAM, { address: 'dan@example.org' });
  await deliver('dan@example.org', 'team-leave@lists.example.org', message('dan@example.org', 'team-leave@lists.example.org', 'bye', ''));
  const [confirmation] = await arrival(to('dan@example.org', /^confirm /), 'the unsubscribe confirmation to dan');
  expect(parsed(confirmation!).body.toString()).toContain('unsubscribe dan@example.org from');
  expect(await store.findMember(TEAM, 'dan@example.org')).not.toBeNull();
  const replyTo = parsed(confirmation!).get('Reply-To')!;
  await deliver('dan@example.org', replyTo, message('dan@example.org', replyTo, `Re: ${parsed(confirmation!).get('Subject')}`, ''));
  await arrival(to('dan@example.org', /You have left/), 'the goodbye to dan');
  expect(await store.findMember(TEAM, 'dan@example.org')).toBeNull();
}, TIMEOUT);

it('set by mail: a member switches to MIME digests once they confirm it from their mailbox, and a post then reaches the list without a regular copy for them', async () => {
  await store.addMember(TEAM, { address: 'hal@example.org' });
  await store.addMember(TEAM, { address: 'ida@example.org' });
  await deliver('hal@example.org', 'team-request@lists.example.org', message('hal@example.org', 'team-request@lists.example.org', 'prefs', 'set digest mime\nset show\n'));
  const [reply] = await arrival(to('hal@example.org', /results of your email commands/), 'the reply to hal');
  const text = parsed(reply!).body.toString();
  expect(text).toContain('> set digest mime\r\n    a confirmation was mailed to hal@example.org; answer it to make this change:');
  expect(text).toContain('deliveryMode: regular');
  const [confirmation] = await arrival(to('hal@example.org', /^confirm /), 'the preference confirmation to hal');
  expect(parsed(confirmation!).body.toString()).toContain('deliveryMode: mime_digests');
  expect((await store.getMember(TEAM, 'hal@example.org')).deliveryMode).toBe('regular');
  const replyTo = parsed(confirmation!).get('Reply-To')!;
  await deliver('hal@example.org', replyTo, message('hal@example.org', replyTo, `Re: ${parsed(confirmation!).get('Subject')}`, ''));
  const [done] = await arrival((t) => t.recipients.includes('hal@example.org') && /done; your preferences now:/.test(parsed(t).body.toString()), 'the confirmation answered');
  expect(parsed(done!).body.toString()).toContain('deliveryMode: mime_digests');
  expect((await store.getMember(TEAM, 'hal@example.org')).deliveryMode).toBe('mime_digests');
  // A post from ida: the regular members get it, hal (digest) does not.
  await deliver('ida@example.org', TEAM, message('ida@example.org', TEAM, 'news for the team', 'hello all\n'));
  const copies = await arrival((t) => /news for the team/.test(parsed(t).decoded('Subject') ?? ''), 'the post to the members');
  await sentinel();
  const recipients = sink.accepted.filter((t) => /news for the team/.test(parsed(t).decoded('Subject') ?? '')).flatMap((t) => t.recipients);
  expect(copies.length).toBeGreaterThan(0);
  expect(recipients).toContain('ida@example.org');
  expect(recipients).not.toContain('hal@example.org');
}, TIMEOUT);

it('a command reply lists each command with its result, auto-replied', async () => {
  await deliver('eve@example.org', 'team-request@lists.example.org', message('eve@example.org', 'team-request@lists.example.org', 'info', 'who\nend\njoin\n'));
  const [reply] = await arrival(to('eve@example.org', /results of your email commands/), 'the reply to eve');
  const mail = parsed(reply!);
  expect(mail.get('Auto-Submitted')).toBe('auto-replied');
  const text = mail.body.toString();
  expect(text).toContain('> info\r\n    Team (team@lists.example.org)');
  expect(text).toContain('> who\r\n    the member list of this list is not given out by mail');
  expect(text).toContain('> end\r\n');
  expect(text).not.toContain('> join');
}, TIMEOUT);

it('no reply and nothing done for the null sender, bulk mail, or mail from the list\'s own address', async () => {
  await deliver('', 'team-request@lists.example.org', message('MAILER-DAEMON@mx.example.net', 'team-request@lists.example.org', 'join', ''));
  await master.waitForLine(ignored(''), 'the null-sender message ignored');
  await deliver('frank@example.org', 'team-join@lists.example.org', message('frank@example.org', 'team-join@lists.example.org', 'x', '', 'Precedence: bulk\r\n'));
  await master.waitForLine(ignored('frank@example.org'), 'the bulk message ignored');
  await deliver('team-bounces@lists.example.org', 'team-request@lists.example.org', message('team@lists.example.org', 'team-request@lists.example.org', 'help', ''));
  await master.waitForLine(ignored('team-bounces@lists.example.org'), 'the loop ignored');
  await sentinel();
  expect(sink.accepted.filter((t) => t.recipients.some((r) => ['frank@example.org', 'mailer-daemon@mx.example.net', 'team@lists.example.org', 'team-bounces@lists.example.org'].includes(r.toLowerCase())))).toEqual([]);
  expect(await store.findMember(TEAM, 'frank@example.org')).toBeNull();
}, TIMEOUT);

it('a forged -join for a victim, 5 times: 3 confirmations (confirmationsPerDay), nothing else, never subscribed', async () => {
  for (let i = 0; i < 5; i++) await deliver('attacker@example.net', 'team-join@lists.example.org', message('victim@example.com', 'team-join@lists.example.org', 'join', ''));
  await master.waitForLine((line) => master.lines.filter(handled('victim@example.com')).length >= 5 && line.msg === 'command message handled', 'five forged joins handled');
  await arrival(to('victim@example.com', /^confirm /), 'the confirmations to the victim', 3);
  await sentinel();
  expect(sink.accepted.filter((t) => t.recipients.includes('victim@example.com'))).toHaveLength(3);
  expect(await store.findMember(TEAM, 'victim@example.com')).toBeNull();
}, TIMEOUT);

it('at most maxAutoResponsesPerDay replies per address and list', async () => {
  await store.updateList(TEAM, { settings: { maxAutoResponsesPerDay: 2 } });
  for (let i = 0; i < 4; i++) await deliver('gus@example.org', 'team-request@lists.example.org', message('gus@example.org', 'team-request@lists.example.org', 'help', ''));
  await master.waitForLine((line) => master.lines.filter(handled('gus@example.org')).length >= 4 && line.msg === 'command message handled', 'four help messages handled');
  await arrival(to('gus@example.org', /results/), 'two replies to gus', 2);
  await store.updateList(TEAM, { settings: { maxAutoResponsesPerDay: 10 } });
  await sentinel();
  expect(sink.accepted.filter((t) => t.recipients.includes('gus@example.org'))).toHaveLength(2);
  expect(master.lines.filter((line) => line.msg === 'command reply not sent: maxAutoResponsesPerDay reached for this address' && line.sender === 'gus@example.org')).toHaveLength(2);
}, TIMEOUT);
