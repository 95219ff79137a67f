/**
 * Scoring by reason (src/bounce/reasons.ts, scoring.ts, processor.ts) over
 * simulated days on a real SQLite store with a fake clock: what each kind of
 * reason adds, that the list's own problems are counted per destination
 * domain instead, and that the last reason is kept per member. Plus the
 * README's reason table kept in step with the code's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyBounce } from '../../src/bounce/processor.js';
import { BOUNCE_REASONS, REASON_NAMES } from '../../src/bounce/reasons.js';
import { DAY_MS } from '../../src/bounce/scoring.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/index.js';
import { diagnose } from '../../runners/bounce/reason-text.js';

const LIST = 'dev@lists.example.org';
const START = Date.parse('2025-03-03T09:00:00Z');

let dir: string;
let store: Store;
let clock: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-bounce-reasons-'));
  store = new SqliteStore({ file: join(dir, 'switchyard.db') });
  clock = START;
  await store.createList({ address: LIST });
  await store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'bob@big.example' }, { address: 'cleo@big.example' }]);
  await store.updateList(LIST, { settings: { bounceScoreThreshold: 3 } });
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function bounce(address: string, permanent: boolean, reason: string, replyText?: string) {
  const list = await store.getList(LIST);
  return applyBounce(store, list, { address, permanent, at: new Date(clock), source: `<b.${clock}.${address}@mx.example>`, reason, ...(replyText ? { replyText } : {}) });
}

describe('scoring by reason', () => {
  it('adds 1.0 for a permanent reason, 0.5 for a temporary one, and by class when the reason is undefined', async () => {
    await bounce('anne@example.org', true, 'userunknown');
    expect((await store.getMember(LIST, 'anne@example.org')).bounceScore).toBe(1);
    // A 5xx full mailbox is still only temporary trouble for the member.
    await bounce('bob@big.example', true, 'mailboxfull');
    expect((await store.getMember(LIST, 'bob@big.example')).bounceScore).toBe(0.5);
    clock += DAY_MS;
    await bounce('anne@example.org', false, 'expired');
    await bounce('bob@big.example', true, 'undefined');
    expect((await store.getMember(LIST, 'anne@example.org')).bounceScore).toBe(1.5);
    expect((await store.getMember(LIST, 'bob@big.example')).bounceScore).toBe(1.5);
  });

  it('never holds blocked, spamdetected, policyviolation or securityerror against the member, and counts them per destination domain', async () => {
    for (const reason of ['blocked', 'spamdetected', 'policyviolation', 'securityerror']) {
      for (let day = 0; day < 4; day++) {
        clock += DAY_MS;
        await bounce('bob@big.example', true, reason, '554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org');
      }
    }
    clock += DAY_MS;
    await bounce('cleo@big.example', true, 'blocked');
    const bob = await store.getMember(LIST, 'bob@big.example');
    expect(bob.bounceScore).toBe(0);
    expect(bob.deliveryStatus).toBe('enabled');
    expect(bob.lastBounceAt).toBeNull();
    const domains = await store.domainBounces(LIST);
    expect(domains.map((d) => [d.domain, d.reason, d.count]).sort()).toEqual([
      ['big.example', 'blocked', 5],
      ['big.example', 'policyviolation', 4],
      ['big.example', 'securityerror', 4],
      ['big.example', 'spamdetected', 4],
    ]);
    expect(domains.find((d) => d.reason === 'securityerror')?.lastReply).toContain('spamhaus');
  });

  it('counts the refusals of the last 24 hours per domain (what status and bounces show), leaving older ones out', async () => {
    await bounce('bob@big.example', true, 'blocked');
    clock += DAY_MS;
    for (let i = 0; i < 3; i++) {
      clock += 3600_000;
      await bounce(i === 0 ? 'cleo@big.example' : 'stranger@big.example', true, 'blocked');
    }
    await bounce('anne@example.org', true, 'spamdetected');
    const since = new Date(clock - DAY_MS + 1);
    expect(await store.domainRefusals(since, { list: LIST })).toEqual([
      { list: LIST, domain: 'big.example', reason: 'blocked', count: 3 },
      { list: LIST, domain: 'example.org', reason: 'spamdetected', count: 1 },
    ]);
    expect((await store.domainBounces(LIST)).find((d) => d.domain === 'big.example')?.count).toBe(4);
    const all = await store.domainRefusals(new Date(0));
    expect(all[0]).toEqual({ list: LIST, domain: 'big.example', reason: 'blocked', count: 4 });
  });

  it('keeps the reason of each bounce event and gives the last one per member', async () => {
    await bounce('anne@example.org', false, 'mailboxfull');
    clock += DAY_MS;
    await bounce('anne@example.org', true, 'userunknown');
    await bounce('bob@big.example', true, 'blocked');
    const events = await store.bounceEvents(LIST, { address: 'anne@example.org' });
    expect(events.map((e) => e.reason)).toEqual(['userunknown', 'mailboxfull']);
    const last = await store.lastBounceReasons(LIST);
    expect(Object.fromEntries(last)).toEqual({ 'anne@example.org': 'userunknown', 'bob@big.example': 'blocked' });
  });

  it('disables at the threshold on permanent reasons only as fast as the table says', async () => {
    for (let day = 0; day < 5; day++) {
      await bounce('anne@example.org', true, 'mailboxfull');
      clock += DAY_MS;
    }
    expect((await store.getMember(LIST, 'anne@example.org')).deliveryStatus).toBe('enabled');
    await bounce('anne@example.org', true, 'mailboxfull');
    expect((await store.getMember(LIST, 'anne@example.org')).deliveryStatus).toBe('by_bounces');
  });
});

describe('reasons from the words of a bounce', () => {
  it.each([
    ['550 5.1.1 <anne@example.org>: Recipient address rejected: User unknown in local recipient table', 'userunknown', '5.1.1', '550'],
    ['552 5.2.2 Mailbox full', 'mailboxfull', '5.2.2', '552'],
    ['554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org', 'blocked', '5.7.1', '554'],
    ['550 5.7.26 Unauthenticated email from example.org is not accepted due to domain\'s DMARC policy', 'securityerror', '5.7.26', '550'],
    ['550 Message rejected as spam by Content Filtering', 'spamdetected', undefined, '550'],
    ['Host or domain name not found. Name service error for name=nowhere.example type=A: Host not found', 'hostunknown', undefined, undefined],
    ['retry timeout exceeded', 'expired', undefined, undefined],
    ['554 5.3.4 Message too big for system', 'mesgtoobig', '5.3.4', '554'],
    ['421 4.7.0 Too many concurrent SMTP connections from this IP address', 'toomanyconn', '4.7.0', '421'],
    ['550 5.2.1 The email account that you tried to reach is disabled', 'suspend', '5.2.1', '550'],
    ['550 5.1.6 Recipient has moved', 'hasmoved', '5.1.6', '550'],
    ['556 5.1.10 Domain does not accept mail (null MX)', 'notaccept', '5.1.10', '556'],
    ['500 5.9.9 something no table knows', 'undefined', '5.9.9', '500'],
  ])('%s -> %s', (text, reason, status, reply) => {
    const diagnosis = diagnose(text);
    expect(diagnosis.reason).toBe(reason);
    expect(diagnosis.status).toBe(status);
    expect(diagnosis.reply).toBe(reply);
  });
});

describe('the reason table in the README', () => {
  it('lists every reason with the weight the code gives it', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url).pathname.replace(/\/dist\/README\.md$/, '/README.md'), 'utf8');
    for (const reason of REASON_NAMES) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${reason}\` |`));
      expect(row, reason).toBeDefined();
      expect(row).toContain(`| ${BOUNCE_REASONS[reason].weight} |`);
    }
  });
});
