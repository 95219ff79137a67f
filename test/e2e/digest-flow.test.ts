/**
 * Digests through a real master and the built-in runners posts and digests
 * go through, and retry for a temporary failure on a loaded machine (bounces
 * and command, which none reaches, are off), LMTP in and a
 * saving SMTP sink out: a member in MIME digest mode and one in plain digest
 * mode (set with `members set`), two in regular mode. Three posts: the
 * regular members get each post as it is sent, the digest members none;
 * `switchyard digests send` then gives each digest member exactly one
 * digest, Vol 1 Issue 1, holding the three posts (the MIME one parsed back
 * with mailparser: three message/rfc822 parts); `digests status` shows the
 * numbering move on. Then the scheduler sends issue 2 by itself once the
 * posts waiting pass digestSizeThreshold, and issue 3 when the list's
 * digestSendPeriodic fires.
 */
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Switchboard } from '../../queues/index.js';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { freePort } from '../ingress/harness.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { withHomeStore } from '../support/home-store.js';
import type { ListSettings } from '../../src/store/list-settings.js';
import { RawMessage } from '../../src/mail/raw-message.js';

const LIST = 'team@lists.example.org';
const TIMEOUT = 180_000;

let sink: SmtpSink;
let home: string;
let master: MasterHandle | undefined;
let lmtpPort: number;

/**
 * A list setting changed in the store, as `lists set` does: the CLI runs are kept
 * for the commands this file is about (`members set`, `digests send`, `digests status`).
 */
async function setList(settings: Partial<ListSettings>): Promise<void> {
  await withHomeStore(home, (store) => store.updateList(LIST, { settings }));
}

async function cli(...args: string[]) {
  const result = await runCli(['--home', home, ...args]);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

function post(n: number): Buffer {
  return Buffer.from(
    `From: Ann <ann@example.org>\r\nTo: Team <${LIST}>\r\nSubject: topic ${n}\r\nMessage-ID: <digest-e2e-${n}@example.org>\r\nDate: Sat, 05 Dec 2026 10:00:0${n} +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBody of post ${n}.\r\n`,
  );
}

async function deliver(raw: Buffer): Promise<void> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    expect((await transport.sendMail({ envelope: { from: 'ann@example.org', to: [LIST] }, raw })).accepted).toEqual([LIST]);
  } finally {
    transport.close();
  }
}

const to = (address: string) => (t: SinkTransaction) => t.recipients.includes(address);
const subjectOf = (t: SinkTransaction) => RawMessage.parse(t.body!).get('subject') ?? '';

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  lmtpPort = await freePort();
  // The scheduler's digests job every second: the size and periodic triggers are seen at once.
  home = await makeHome(
    testConfig(`[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n[cron]\ndigests = "* * * * * *"\n\n${builtInRunnersOff(['incoming', 'archive', 'outgoing', 'virgin', 'retry'])}`),
  );
  await cli('lists', 'create', LIST, '--owner', 'owner@example.com');
  // No periodic send during the test (it could cross midnight): only `digests send`.
  await setList({ digestSendPeriodic: '', requireExplicitDestination: false });
  await withHomeStore(home, (store) => store.addMembers(LIST, ['ann@example.org', 'reg@example.org', 'mime@example.org', 'plain@example.org'].map((address) => ({ address }))));
  await cli('members', 'set', LIST, 'mime@example.org', 'deliveryMode=mime_digests');
  await cli('members', 'set', LIST, 'plain@example.org', 'deliveryMode=plain');
  master = await startMaster(home);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home) await removeHome(home);
});

it('regular members get each of three posts, digest members one MIME and one plain digest of the three after `digests send`', async () => {
  for (const n of [1, 2, 3]) await deliver(post(n));
  await sink.until(() => sink.accepted.filter(to('reg@example.org')).length >= 3, 'the three posts at the regular member');
  const status = async () => (JSON.parse((await cli('digests', 'status', '--json')).stdout) as { lists: Array<Record<string, unknown>> }).lists[0]!;
  expect(await status()).toMatchObject({ list: LIST, volume: 1, nextIssue: 1, pendingPosts: 3, digestMembers: { mime_digests: 1, plain_digests: 1 } });

  const sent = JSON.parse((await cli('digests', 'send', LIST, '--json')).stdout) as { sent: Array<Record<string, unknown>> };
  expect(sent.sent).toEqual([expect.objectContaining({ volume: 1, issue: 1, posts: 3, formats: { mime_digests: 1, plain_digests: 1 } })]);
  await sink.until(() => sink.accepted.some(to('mime@example.org')) && sink.accepted.some(to('plain@example.org')), 'the two digests');

  const mime = sink.accepted.filter(to('mime@example.org'));
  const plain = sink.accepted.filter(to('plain@example.org'));
  expect(mime.map(subjectOf)).toEqual(['Team Digest, Vol 1, Issue 1']);
  expect(plain.map(subjectOf)).toEqual(['Team Digest, Vol 1, Issue 1']);
  const parsed = await simpleParser(mime[0]!.body!);
  const parts = parsed.attachments.filter((a) => a.contentType === 'message/rfc822');
  // In the order they were accepted (incoming slices may take them in any order).
  expect(parts.map((p) => RawMessage.parse(p.content).get('message-id')).sort()).toEqual(['<digest-e2e-1@example.org>', '<digest-e2e-2@example.org>', '<digest-e2e-3@example.org>']);
  const plainText = plain[0]!.body!.toString('utf8');
  for (const n of [1, 2, 3]) expect(plainText).toContain(`Body of post ${n}.`);

  // Each regular member: each post once, no digest. Each digest member: nothing but the digest.
  for (const address of ['ann@example.org', 'reg@example.org']) {
    expect(sink.accepted.filter(to(address)).map(subjectOf).sort()).toEqual(['[Team] topic 1', '[Team] topic 2', '[Team] topic 3']);
  }
  expect(await status()).toMatchObject({ volume: 1, nextIssue: 2, pendingPosts: 0, unfinishedIssue: null });
  expect(JSON.parse((await cli('digests', 'send', LIST, '--json')).stdout)).toEqual({ list: LIST, sent: [] });
}, TIMEOUT);

it('the scheduler sends a digest once the waiting posts pass digestSizeThreshold, and when digestSendPeriodic fires', async () => {
  const issue = (n: number) => (t: SinkTransaction) => to('mime@example.org')(t) && subjectOf(t) === `Team Digest, Vol 1, Issue ${n}`;
  for (const n of [4, 5, 6]) await deliver(post(n));
  await sink.until(() => sink.accepted.filter(to('reg@example.org')).length >= 6, 'posts 4-6 at the regular member');
  const pending = (JSON.parse((await cli('digests', 'status', '--json')).stdout) as { lists: Array<{ pendingPosts: number; pendingSize: number }> }).lists[0]!;
  expect(pending.pendingPosts).toBe(3);
  expect(pending.pendingSize).toBeGreaterThan(1024);
  // Over 1 KB waiting: the next run of the scheduler's job sends it.
  await setList({ digestSizeThreshold: 1 });
  await sink.until(() => sink.accepted.some(issue(2)), 'issue 2, sent by size');
  const second = await simpleParser(sink.accepted.find(issue(2))!.body!);
  expect(second.attachments.filter((a) => a.contentType === 'message/rfc822')).toHaveLength(3);

  await setList({ digestSizeThreshold: 0 });
  await deliver(post(7));
  await sink.until(() => sink.accepted.filter(to('reg@example.org')).length >= 7, 'post 7 at the regular member');
  expect(sink.accepted.some(issue(3))).toBe(false);
  await setList({ digestSendPeriodic: '* * * * *' });
  const plainIssue3 = (t: SinkTransaction) => to('plain@example.org')(t) && subjectOf(t) === 'Team Digest, Vol 1, Issue 3';
  await sink.until(() => sink.accepted.some(issue(3)) && sink.accepted.some(plainIssue3), 'issue 3, sent by the periodic schedule');
  expect(sink.accepted.filter(to('plain@example.org')).map(subjectOf)).toEqual(['Team Digest, Vol 1, Issue 1', 'Team Digest, Vol 1, Issue 2', 'Team Digest, Vol 1, Issue 3']);
}, TIMEOUT);

it('an entry run again (same bytes and receivedAt: a .bak recovered after SIGKILL, or back from retry) adds nothing more to the digest', async () => {
  await setList({ digestSendPeriodic: '' });
  await cli('digests', 'send', LIST);
  const inbox = new Switchboard({ root: join(home, 'queues'), name: 'in', durability: 'none', hashKeyField: 'listId' });
  const metadata = { listId: LIST, envelopeSender: 'ann@example.org', receivedAt: '2026-12-05T12:00:00.000Z', receivedVia: 'test' };
  const bytes = post(8);
  const copies = () => sink.accepted.filter((t) => to('reg@example.org')(t) && subjectOf(t) === '[Team] topic 8').length;
  await inbox.enqueue(bytes, metadata);
  await sink.until(() => copies() >= 1, 'post 8 at the regular member');
  await inbox.enqueue(bytes, metadata);
  // The second run delivers the regular copy again (at-least-once), but the digest keeps one.
  await sink.until(() => copies() >= 2, 'post 8 again at the regular member');
  const status = (JSON.parse((await cli('digests', 'status', '--json')).stdout) as { lists: Array<{ pendingPosts: number }> }).lists[0]!;
  expect(status.pendingPosts).toBe(1);
  expect(master!.lines.some((line) => line.msg === 'post was in the digest already (entry run again)')).toBe(true);
}, TIMEOUT);
