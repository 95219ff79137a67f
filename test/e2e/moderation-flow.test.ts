/**
 * Moderation as a new operator meets it, through a real master and the
 * built-in runners a post, a notice and a reply go through, and retry for a
 * temporary failure on a loaded machine (bounces and the scheduler, which
 * none of them reaches, are off), LMTP in and a real SMTP sink out: a list created with
 * `lists create --owner`; a non-member's post held; the owner gets the hold
 * notice and the poster the "awaits moderator approval" notice; approved
 * with `switchyard held approve`, the post reaches the members. And the
 * stale case: the notices of a post approved while they still waited in
 * `virgin` (its runner not running) are dropped, never sent, once the
 * runner comes up. And the owner approving a held post by replying to its
 * notice (Reply-To name-confirm+TOKEN, the moderator password in Approved:),
 * through LMTP and the command runner.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { freePort } from '../ingress/harness.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, waitForEntries, type MasterHandle } from '../master/harness.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { Spool } from '../../queues/index.js';
import { withHomeStore } from '../support/home-store.js';

const LIST = 'team@lists.example.org';
const OWNER = 'owner@example.com';
const TIMEOUT = 180_000;

let sink: SmtpSink;
let home: string;
let master: MasterHandle | undefined;
let lmtpPort: number;
let config: string;

function post(from: string, subject: string, messageId: string): Buffer {
  return Buffer.from(
    `From: ${from}\r\nTo: Team <${LIST}>\r\nSubject: ${subject}\r\nMessage-ID: ${messageId}\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello team.\r\n`,
    'utf8',
  );
}

async function deliver(from: string, raw: Buffer, to = LIST): Promise<void> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    const info = await transport.sendMail({ envelope: { from, to: [to] }, raw });
    expect(info.accepted).toEqual([to]);
  } finally {
    transport.close();
  }
}

async function cli(...args: string[]) {
  const result = await runCli(['--home', home, ...args]);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** The id of the post held with this subject, read in the store (what `held list` shows): the CLI runs are kept for the approvals. */
async function heldId(subject: string): Promise<number> {
  const held = (await withHomeStore(home, (store) => store.heldMessages(LIST))).find((h) => h.subject === subject);
  expect(held).toBeDefined();
  return held!.id;
}

const text = (t: SinkTransaction): string => t.body?.toString('utf8') ?? '';
const withMessageId = (id: string) => (t: SinkTransaction) => t.body !== undefined && RawMessage.parse(t.body).get('message-id') === id;
/** The moderators' notice about a post with this subject. */
const holdNoticeOf = (subject: string) => (t: SinkTransaction) => t.recipients.includes(OWNER) && text(t).includes('is held for moderation') && text(t).includes(subject);
/** The poster's "awaits moderator approval" about a post with this subject. */
const posterNoticeOf = (poster: string, subject: string) => (t: SinkTransaction) =>
  t.recipients.includes(poster) && RawMessage.parse(t.body!).get('subject') === `Your post to ${LIST} awaits moderator approval` && text(t).includes(subject);

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  lmtpPort = await freePort();
  // Each runner off is a node process fewer at both starts.
  config = `[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n${builtInRunnersOff(['incoming', 'archive', 'outgoing', 'virgin', 'command', 'retry'])}\n${schedulerOff()}`;
  // First without the virgin runner: the notices of the first post wait in `virgin`.
  home = await makeHome(testConfig(`${config}\n[runner.virgin]\nenabled = false\n`));
  const created = await cli('lists', 'create', LIST, '--owner', OWNER);
  expect(created.stderr).toBe('');
  await withHomeStore(home, (store) => store.addMember(LIST, { address: 'ann@example.org' }));
  master = await startMaster(home);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home) await removeHome(home);
});

it('notices still queued for a post approved meanwhile are dropped, not sent; a held post notifies the owner and the poster; approved from the CLI or by replying to the notice it reaches the members', async () => {
  // 1. Held while the virgin runner is down: its two notices wait in `virgin`; approved from the CLI meanwhile.
  await deliver('early@example.com', post('early@example.com', 'first question', '<mod-e2e-1@example.com>'));
  expect(await waitForEntries(home, 'virgin', 2)).toHaveLength(2);
  const first = await heldId('first question');
  await cli('held', 'approve', LIST, String(first));
  await sink.until(() => sink.accepted.some(withMessageId('<mod-e2e-1@example.com>')), 'the first post, approved, at the member');

  // 2. The virgin runner comes up: both notices about the approved post are stale.
  await master!.stop();
  await writeFile(join(home, 'switchyard.toml'), testConfig(config), { mode: 0o640 });
  master = await startMaster(home);
  const stale = (kind: string) => master!.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith(`stale notice about held post #${first}`) && line.notice === kind, `stale ${kind} notice dropped`);
  await Promise.all([stale('held'), stale('post-held')]);

  // 3. A post held with every runner up: the owner and the poster are told.
  await deliver('guest@example.com', post('Guest <guest@example.com>', 'may I post?', '<mod-e2e-2@example.com>'));
  await sink.until(() => sink.accepted.some(holdNoticeOf('may I post?')), 'the hold notice at the owner');
  await sink.until(() => sink.accepted.some(posterNoticeOf('guest@example.com', 'may I post?')), 'the awaits-approval notice at the poster');
  const second = await heldId('may I post?');
  expect(sink.accepted.filter(withMessageId('<mod-e2e-2@example.com>'))).toHaveLength(0);
  await cli('held', 'approve', LIST, String(second));
  await sink.until(() => sink.accepted.some(withMessageId('<mod-e2e-2@example.com>')), 'the approved post at the member');
  expect(sink.accepted.filter(withMessageId('<mod-e2e-2@example.com>')).flatMap((t) => t.recipients)).toEqual(['ann@example.org']);

  // 4. Approved by replying to the hold notice: the reply goes to its Reply-To through LMTP, with the moderator password.
  await cli('lists', 'set', LIST, 'moderatorPassword', 'team secret');
  await deliver('guest@example.com', post('Guest <guest@example.com>', 'third try', '<mod-e2e-3@example.com>'));
  await sink.until(() => sink.accepted.some(holdNoticeOf('third try')), 'the third hold notice at the owner');
  const notice = RawMessage.parse(sink.accepted.find(holdNoticeOf('third try'))!.body!);
  const replyTo = notice.get('reply-to') ?? '';
  expect(replyTo).toMatch(/^team-confirm\+[0-9a-f]{32}@lists\.example\.org$/);
  const answer = Buffer.from(
    `From: ${OWNER}\r\nTo: ${replyTo}\r\nSubject: Re: ${notice.get('subject')}\r\nMessage-ID: <mod-e2e-reply@example.com>\r\nApproved: team secret\r\n\r\napprove\r\n\r\n> A post to ${LIST} is held for moderation.\r\n`,
    'utf8',
  );
  await deliver(OWNER, answer, replyTo);
  await sink.until(() => sink.accepted.some(withMessageId('<mod-e2e-3@example.com>')), 'the post approved by reply at the member');
  await sink.until(() => sink.accepted.some((t) => t.recipients.includes(OWNER) && text(t).includes('approved: it goes to the list')), 'the reply to the owner');
  const third = sink.accepted.find(withMessageId('<mod-e2e-3@example.com>'))!;
  expect(third.recipients).toEqual(['ann@example.org']);
  // The password reached no member.
  expect(text(third)).not.toContain('team secret');
  expect(await withHomeStore(home, (store) => store.heldMessages(LIST))).toEqual([]);

  // The notices about the first post never left: `virgin` works oldest first, so they were settled before the second post's.
  expect(sink.accepted.filter(holdNoticeOf('first question'))).toHaveLength(0);
  expect(sink.accepted.filter((t) => t.recipients.includes('early@example.com'))).toHaveLength(0);
  const spool = new Spool({ root: join(home, 'queues') });
  const counts = await Promise.all(['bad', 'shunt', 'virgin'].map(async (queue) => [queue, await spool.count(queue)] as const));
  expect(counts.map(([queue, count]) => [queue, count.pck])).toEqual([
    ['bad', 0],
    ['shunt', 0],
    ['virgin', 0],
  ]);
  expect(counts[0]![1].psv).toBe(0);
}, TIMEOUT);
