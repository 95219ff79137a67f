/**
 * Complaints (ARF feedback reports, RFC 5965; Amazon SES complaint
 * notifications): not bounces but their own event. The classifier names
 * the complainer (runners/bounce/complaint.ts); the bounce runner, over a
 * real spool and store and its real worker pool, records the complaint for
 * the member and does what the list's complaintAction says, once even if
 * the entry runs again; `switchyard bounces LIST` shows it.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import BounceRunner from '../../runners/bounce.js';
import { classifyMessage } from '../../runners/bounce/classify.js';
import { openStore, type Store } from '../../src/store/index.js';
import { cleanup, makeSpool, runnerOptions, startRunner, type RunnerWatch, type Spool } from '../runners/harness.js';
import { runCli } from '../support/cli.js';
import { CORPUS_DIR } from './corpus.js';

const LIST = 'dev@lists.example.org';
const START = Date.parse('2025-03-03T09:00:00Z');

/** An ARF report as a mailbox provider's feedback loop sends it; `fields` go into the machine-readable part. */
function arf(options: { fields: string; original: string; messageId?: string }): Buffer {
  return Buffer.from(
    [
      'From: Feedback Loop <fbl@isp.example.net>',
      'To: dev-bounces@lists.example.org',
      'Subject: Complaint about message from 192.0.2.10',
      'Date: Mon, 3 Mar 2025 10:00:00 +0000',
      `Message-ID: ${options.messageId ?? '<fbl-7@isp.example.net>'}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=feedback-report; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'This is an email abuse report for an email message received from IP 192.0.2.10.',
      '',
      '--b1',
      'Content-Type: message/feedback-report',
      '',
      options.fields,
      '',
      '--b1',
      'Content-Type: message/rfc822',
      'Content-Disposition: inline',
      '',
      options.original,
      '',
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

const REDACTED_ORIGINAL = ['Return-Path: <dev-bounces+anne=example.org@lists.example.org>', 'From: Bob <bob@example.com>', 'To: dev@lists.example.org', 'Subject: [Dev] notes', '', 'Hello.'].join('\r\n');

describe('complaint classification', () => {
  it('an ARF report is a complaint, not a bounce: its Feedback-Type and Original-Rcpt-To', async () => {
    const result = await classifyMessage(readFileSync(`${CORPUS_DIR}arf-complaint.eml`));
    expect(result).toMatchObject({ permanent: [], temporary: [], notBounce: 'complaint', complaint: { feedbackType: 'abuse', addresses: ['yara@isp.example.net'] } });
  });

  it('names the complainer from the VERP envelope recipient first, then Removal-Recipient, then the reported message', async () => {
    const message = arf({ fields: 'Feedback-Type: abuse\r\nVersion: 1\r\nRemoval-Recipient: carl@example.com', original: REDACTED_ORIGINAL });
    const verp = await classifyMessage(message, { envelopeRecipient: 'dev-bounces+dirk=example.net@lists.example.org' });
    expect(verp.complaint?.addresses).toEqual(['dirk@example.net', 'carl@example.com', 'anne@example.org', 'dev@lists.example.org']);
    expect(verp.detector).toBeNull();
    // The recipient redacted: the VERP Return-Path of the reported post still names the member.
    const redacted = await classifyMessage(arf({ fields: 'Feedback-Type: abuse\r\nVersion: 1\r\nOriginal-Rcpt-To: redacted', original: REDACTED_ORIGINAL }));
    expect(redacted.complaint?.addresses).toEqual(['anne@example.org', 'dev@lists.example.org']);
  });

  it('an Amazon SES complaint notification names its complainedRecipients', async () => {
    const body = JSON.stringify({
      notificationType: 'Complaint',
      complaint: { complainedRecipients: [{ emailAddress: 'bob@example.com' }], complaintFeedbackType: 'abuse', timestamp: '2025-03-03T10:00:00.000Z' },
      mail: { source: 'dev-bounces@lists.example.org' },
    });
    const message = Buffer.from(`From: no-reply@sns.amazonaws.com\r\nTo: dev-bounces@lists.example.org\r\nSubject: AWS Notification Message\r\n\r\n${body}\r\n`);
    expect(await classifyMessage(message)).toMatchObject({ notBounce: 'complaint', complaint: { feedbackType: 'abuse', addresses: ['bob@example.com'] } });
  });
});

describe('complaints in the bounce runner', () => {
  let spool: Spool;
  let store: Store;
  let watch: RunnerWatch<BounceRunner>;

  beforeEach(async () => {
    spool = await makeSpool();
    store = openStore(spool.dir);
    await store.createList({ address: LIST, displayName: 'Dev' });
    await store.addMember(LIST, { address: 'owner@example.org', role: 'owner' });
    await store.addMembers(LIST, [{ address: 'bob@example.com' }, { address: 'carl@example.com' }, { address: 'anne@example.org' }]);
    watch = startRunner(new BounceRunner(runnerOptions(spool, { name: 'bounces', queue: 'bounces', home: spool.dir, now: () => START })));
    await watch.whenReady();
  });

  afterEach(async () => {
    await cleanup();
    await store.close();
  });

  function ingress(envelopeRecipient = 'dev-bounces@lists.example.org') {
    return { listId: LIST, envelopeSender: '', envelopeRecipient, receivedAt: new Date(START).toISOString(), receivedVia: 'lmtp' };
  }

  async function run(message: Buffer, metadata = ingress()): Promise<string> {
    const id = await spool.switchboard('bounces').enqueue(message, metadata as never);
    return (await watch.endOf(id)).outcome;
  }

  it('unsubscribes the complaining member by default, records the complaint, scores nothing and sends no notice', async () => {
    const message = arf({ fields: 'Feedback-Type: abuse\r\nVersion: 1\r\nOriginal-Rcpt-To: bob@example.com', original: REDACTED_ORIGINAL });
    expect(await run(message)).toBe('finished');
    expect(await store.findMember(LIST, 'bob@example.com')).toBeNull();
    expect(await store.complaints(LIST)).toMatchObject([{ address: 'bob@example.com', feedbackType: 'abuse', action: 'unsubscribe', source: '<fbl-7@isp.example.net>', at: new Date(START) }]);
    expect(await store.bounceEvents(LIST)).toEqual([]);
    expect(await spool.entries('virgin')).toHaveLength(0);
    expect(watch.runner.statusDetail()).toMatch(/complaints 1 \(naming no member 0\)/);
    // The same report again (its entry re-run after a crash): recognised, not recorded twice.
    expect(await run(message)).toBe('finished');
    expect(await store.complaints(LIST)).toHaveLength(1);
  });

  it('disables delivery with complaintAction disable, only records with record or for a report that is no user complaint (auth-failure)', async () => {
    await store.updateList(LIST, { settings: { complaintAction: 'disable' } });
    await run(arf({ fields: 'Feedback-Type: abuse\r\nVersion: 1', original: REDACTED_ORIGINAL }));
    expect(await store.getMember(LIST, 'anne@example.org')).toMatchObject({ deliveryStatus: 'by_user' });
    await run(arf({ fields: 'Feedback-Type: auth-failure\r\nVersion: 1\r\nOriginal-Rcpt-To: carl@example.com', original: REDACTED_ORIGINAL, messageId: '<dmarc-1@isp.example.net>' }));
    expect(await store.getMember(LIST, 'carl@example.com')).toMatchObject({ deliveryStatus: 'enabled' });
    await store.updateList(LIST, { settings: { complaintAction: 'record' } });
    await run(arf({ fields: 'Feedback-Type: abuse\r\nVersion: 1\r\nOriginal-Rcpt-To: bob@example.com', original: REDACTED_ORIGINAL, messageId: '<fbl-8@isp.example.net>' }));
    expect(await store.getMember(LIST, 'bob@example.com')).toMatchObject({ deliveryStatus: 'enabled' });
    const complaints = (await store.complaints(LIST)).map((c) => [c.address, c.feedbackType, c.action]);
    expect(complaints).toEqual(expect.arrayContaining([
      ['anne@example.org', 'abuse', 'disable'],
      ['carl@example.com', 'auth-failure', 'record'],
      ['bob@example.com', 'abuse', 'record'],
    ]));
    expect(complaints).toHaveLength(3);
  });

  it('a complaint naming no member is counted, and nobody is touched', async () => {
    const original = ['From: Bob <bob@example.com>', 'To: dev@lists.example.org', 'Subject: [Dev] notes', '', 'Hello.'].join('\r\n');
    expect(await run(arf({ fields: 'Feedback-Type: abuse\r\nVersion: 1', original }))).toBe('finished');
    expect(await store.complaints(LIST)).toEqual([]);
    expect(await store.countMembers(LIST, { role: 'member' })).toBe(3);
    expect(watch.runner.statusDetail()).toMatch(/complaints 0 \(naming no member 1\)/);
  });

  it('`switchyard bounces LIST` shows the complaint (text and --json)', async () => {
    await run(arf({ fields: 'Feedback-Type: abuse\r\nVersion: 1\r\nOriginal-Rcpt-To: carl@example.com', original: REDACTED_ORIGINAL }));
    const json = await runCli(['--home', spool.dir, 'bounces', LIST, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).complaints).toEqual([{ address: 'carl@example.com', at: new Date(START).toISOString(), feedbackType: 'abuse', action: 'unsubscribe', source: '<fbl-7@isp.example.net>' }]);
    const text = await runCli(['--home', spool.dir, 'bounces', LIST]);
    expect(text.stdout).toMatch(/complaints \(not bounces; complaintAction unsubscribe\):\nADDRESS +AT +TYPE +ACTION\ncarl@example\.com +2025-03-03T09:00:00\.000Z +abuse +unsubscribe/);
  });
});
