/**
 * The bounce runner (runners/bounce.ts) in this process, over a real spool
 * and list store in a temp directory, classifying in its real worker pool
 * (the compiled runners/bounce/classify-worker.js): entries go into
 * `bounces` as ingress and the outgoing runner write them, and the test
 * waits for the runner's entry-end events and reads the store and the
 * `virgin` queue.
 */
import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import BounceRunner from '../../runners/bounce.js';
import { DAY_MS } from '../../src/bounce/scoring.js';
import { openStore, type Store } from '../../src/store/index.js';
import { cleanup, makeSpool, runnerOptions, startRunner, type RunnerWatch, type Spool } from '../runners/harness.js';
import { CORPUS_DIR } from './corpus.js';

const LIST = 'dev@lists.example.org';
const START = Date.parse('2025-03-03T09:00:00Z');

let spool: Spool;
let store: Store;
let clock: number;
let watch: RunnerWatch<BounceRunner>;

function corpus(name: string): Buffer {
  return readFileSync(`${CORPUS_DIR}${name}`);
}

function ingress(envelopeRecipient = 'dev-bounces@lists.example.org', receivedAt = new Date(clock).toISOString()) {
  return { listId: LIST, envelopeSender: '', envelopeRecipient, receivedAt, receivedVia: 'lmtp' };
}

async function put(message: Buffer | string, metadata: Record<string, unknown>): Promise<string> {
  return spool.switchboard('bounces').enqueue(message, metadata as never);
}

async function settle(id: string): Promise<string> {
  return (await watch.endOf(id)).outcome;
}

beforeEach(async () => {
  spool = await makeSpool();
  store = openStore(spool.dir);
  clock = START;
  await store.createList({ address: LIST, displayName: 'Dev' });
  await store.addMember(LIST, { address: 'owner@example.org', role: 'owner' });
  await store.addMembers(LIST, [{ address: 'bob@example.com' }, { address: 'carl@example.com' }, { address: 'dirk@example.net' }, { address: 'anne@example.org' }]);
  watch = startRunner(new BounceRunner(runnerOptions(spool, { name: 'bounces', queue: 'bounces', home: spool.dir, now: () => clock })));
  await watch.whenReady();
});

afterEach(async () => {
  await cleanup();
  await store.close();
});

describe('bounce runner', () => {
  it('scores a DSN bounce for its member and records the event with the bounce Message-ID', async () => {
    expect(await settle(await put(corpus('dsn-postfix-user-unknown.eml'), ingress()))).toBe('finished');
    expect(await store.getMember(LIST, 'bob@example.com')).toMatchObject({ bounceScore: 1, deliveryStatus: 'enabled' });
    const [event] = await store.bounceEvents(LIST);
    expect(event).toMatchObject({ address: 'bob@example.com', permanent: true, source: '<20250303093004.8C3F21A0B4@mail.example.com>', at: new Date(START) });
    expect(watch.runner.statusDetail()).toBeUndefined();
  });

  it('a delay warning is temporary (0.5), a VERP bounce names its recipient exactly', async () => {
    await settle(await put(corpus('dsn-postfix-delayed.eml'), ingress()));
    expect((await store.getMember(LIST, 'carl@example.com')).bounceScore).toBe(0.5);
    await settle(await put(corpus('verp-dsn-forwarded.eml'), ingress('dev-bounces+dirk=example.net@lists.example.org')));
    expect((await store.getMember(LIST, 'dirk@example.net')).bounceScore).toBe(1);
  });

  it('disables a member after five days of failures from the outgoing runner, and queues the notices on virgin', async () => {
    for (let day = 0; day < 5; day++) {
      const id = await put('', {
        type: 'bounce-event', listId: LIST, recipient: 'anne@example.org', permanent: true,
        smtpCode: 550, enhancedStatus: '5.1.1', response: '550 5.1.1 <anne@example.org>: User unknown', at: new Date(clock).toISOString(),
      });
      expect(await settle(id)).toBe('finished');
      clock += DAY_MS;
    }
    expect(await store.getMember(LIST, 'anne@example.org')).toMatchObject({ bounceScore: 5, deliveryStatus: 'by_bounces' });
    expect((await store.bounceEvents(LIST, { limit: 1 }))[0]?.source).toBe('SMTP 550 5.1.1 550 5.1.1 <anne@example.org>: User unknown');
    const virgin = await spool.entries('virgin');
    expect(virgin.map((entry) => entry.metadata)).toEqual(expect.arrayContaining([
      { listId: LIST, recipients: ['anne@example.org'] },
      { listId: LIST, toOwners: true },
    ]));
    expect(virgin).toHaveLength(2);
  });

  it('drops auto-replies and challenges without scoring anyone, and counts them in the status detail', async () => {
    await settle(await put(corpus('verp-vacation.eml'), ingress('dev-bounces+anne=example.org@lists.example.org')));
    await settle(await put(corpus('challenge-tmda.eml'), ingress()));
    expect((await store.getMember(LIST, 'anne@example.org')).bounceScore).toBe(0);
    expect(await spool.entries('virgin')).toHaveLength(0);
    expect(watch.runner.statusDetail()).toBe('unrecognised 0, non-member 0, not bounces (auto-replies, challenges) 2 since start');
  });

  it('forwards an unrecognised bounce to the owners, with the original attached', async () => {
    const id = await put(corpus('exchange-2003-display-name-only.eml'), ingress());
    expect(await settle(id)).toBe('finished');
    const [forward] = await spool.entries('virgin');
    expect(forward?.metadata).toEqual({ listId: LIST, toOwners: true });
    const parsed = await simpleParser(forward!.message);
    expect(parsed.subject).toBe(`Uncaught bounce notification for ${LIST}`);
    expect(parsed.attachments[0]?.contentType).toBe('message/rfc822');
    expect(parsed.attachments[0]?.content.toString()).toContain('Your message did not reach some or all of the intended recipients');
    expect(watch.runner.statusDetail()).toMatch(/^unrecognised 1, non-member 0/);
  });

  it('forwards a bounce naming no member, but never one about an owner, nor a bounce of its own forward', async () => {
    await settle(await put(corpus('qmail-permanent.eml'), ingress()));
    const forwards = await spool.entries('virgin');
    expect(forwards).toHaveLength(1);
    expect(watch.runner.statusDetail()).toMatch(/non-member 1/);
    // The owner's own mailbox bounces the forward: discarded, no loop.
    const ownerBounce = String(corpus('exim-no-header.eml')).replaceAll('pat@example.info', 'owner@example.org');
    await settle(await put(ownerBounce, ingress()));
    // A bounce quoting our forward (its marker field) is not forwarded again.
    const quoted = `${String(corpus('sendmail-fatal-errors.eml')).replace('Hello.', '')}\n${forwards[0]!.message.toString()}`;
    await settle(await put(quoted, ingress()));
    expect(await spool.entries('virgin')).toHaveLength(1);
  });

  it('discards them instead when the list says forwardUnrecognizedBouncesTo = discard', async () => {
    await store.updateList(LIST, { settings: { forwardUnrecognizedBouncesTo: 'discard' } });
    await settle(await put(corpus('human-reply.eml'), ingress()));
    await settle(await put(corpus('yahoo-failure-notice.eml'), ingress()));
    expect(await spool.entries('virgin')).toHaveLength(0);
    expect(watch.runner.statusDetail()).toMatch(/^unrecognised 1, non-member 1/);
  });

  it('discards bounces for a list that no longer exists, and shunts an entry without a listId', async () => {
    expect(await settle(await put(corpus('dsn-postfix-user-unknown.eml'), { ...ingress(), listId: 'gone@lists.example.org' }))).toBe('finished');
    expect(await settle(await put(corpus('dsn-postfix-user-unknown.eml'), { envelopeRecipient: 'x' }))).toBe('shunt');
    const [shunted] = await spool.entries('shunt');
    expect(String(shunted?.control.reason)).toContain('malformed bounces entry: no listId');
  });

  it('survives garbage: a message that is not MIME at all is unrecognised, not a crash', async () => {
    const garbage = Buffer.concat([Buffer.from('Content-Type: multipart/report; boundary="x"\n\n--x\nContent-Type: message/delivery-status\n\n'), Buffer.alloc(200_000, 0xff)]);
    expect(await settle(await put(garbage, ingress()))).toBe('finished');
    expect(watch.runner.statusDetail()).toMatch(/^unrecognised 1/);
  });
});
