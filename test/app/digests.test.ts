/**
 * src/app/digests.ts on a real store and a real spool: posts are taken once
 * (the same entry again adds nothing), numbered into volumes and issues,
 * sent as one `out` entry per format with that format's members; and every
 * crash window of a send (killed after claiming, after staging, after
 * recording, after moving some entries in) is finished by the next send
 * without a second copy or a lost post; two senders at once send one copy.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEntry, Switchboard, type JsonObject } from '../../queues/index.js';
import { spoolDigestOutbox } from '../../src/app/digest-outbox.js';
import { addToDigest, digestsStatus, runDigestsPass, sendDigest, volumePeriod, type DigestContext, type DigestOutbox } from '../../src/app/digests.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import type { MailingList } from '../../src/store/index.js';
import { LIST, testApp, type TestApp } from './harness.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

interface Setup {
  a: TestApp;
  list: MailingList;
  ctx: DigestContext;
  outbox: DigestOutbox;
  out(): Promise<{ message: Buffer; metadata: JsonObject }[]>;
}

async function setup(): Promise<Setup> {
  const a = (app = await testApp('2026-12-05T08:00:00Z'));
  const list = await a.store.createList({ address: LIST, displayName: 'Team' });
  await a.store.addMembers(LIST, [{ address: 'mime@example.org' }, { address: 'plain@example.org' }, { address: 'mime2@example.org' }, { address: 'reg@example.org' }]);
  await a.store.updateMember(LIST, 'mime@example.org', 'member', { deliveryMode: 'mime_digests' });
  await a.store.updateMember(LIST, 'mime2@example.org', 'member', { deliveryMode: 'mime_digests' });
  await a.store.updateMember(LIST, 'plain@example.org', 'member', { deliveryMode: 'plain_digests' });
  const queues = join(a.dir, 'queues');
  const outbox = spoolDigestOutbox({ queues, staging: join(a.dir, 'digests') }, 'none');
  const board = new Switchboard({ root: queues, name: 'out', durability: 'none', hashKeyField: 'listId' });
  return {
    a,
    list,
    outbox,
    ctx: { store: a.store, now: a.now, log: a.log!, outbox },
    async out() {
      const entries = [];
      for (const listing of await board.list(['pck'])) entries.push(decodeEntry(await readFile(listing.path)));
      return entries.map((e) => ({ message: e.message, metadata: e.metadata }));
    },
  };
}

function post(n: number): Buffer {
  return Buffer.from(`From: ann@example.org\r\nSubject: post ${n}\r\nMessage-ID: <p${n}@example.org>\r\n\r\nbody ${n}\r\n`);
}

async function add(s: Setup, n: number, key = `k${n}`) {
  return addToDigest(s.a, s.list, () => ({ entryKey: key, message: post(n), sender: 'ann@example.org', subject: `post ${n}`, messageId: `<p${n}@example.org>` }));
}

/** The post numbers a digest entry holds (its table of contents). */
function postsIn(message: Buffer): number[] {
  return [...message.toString('utf8').matchAll(/\d+\. post (\d+) \(/g)].map((m) => Number(m[1]));
}

describe('digests', () => {
  it('a post is added once per entry; a list without digest members takes none', async () => {
    const s = await setup();
    expect(await add(s, 1)).toBe('added');
    expect(await add(s, 1)).toBe('repeat');
    expect(await add(s, 2)).toBe('added');
    const [status] = await digestsStatus(s.a);
    expect(status).toMatchObject({ list: LIST, volume: 1, nextIssue: 1, pendingPosts: 2, digestMembers: { mime_digests: 2, plain_digests: 1 } });
    expect(status!.pendingSize).toBe(post(1).length + post(2).length);
    for (const address of ['mime@example.org', 'mime2@example.org', 'plain@example.org']) await s.a.store.updateMember(LIST, address, 'member', { deliveryMode: 'regular' });
    expect(await add(s, 3)).toBe('no-digest-members');
  });

  it('send: one out entry per format to its members, numbered Vol 1 Issue 1 then 2; nothing waiting sends nothing', async () => {
    const s = await setup();
    for (const n of [1, 2, 3]) await add(s, n);
    const [sent] = await sendDigest(s.ctx, LIST);
    expect(sent).toMatchObject({ volume: 1, issue: 1, posts: 3, formats: { mime_digests: 2, plain_digests: 1 }, resumed: false });
    const out = await s.out();
    expect(out.map((e) => e.metadata.recipients).sort()).toEqual([['mime2@example.org', 'mime@example.org'].sort(), ['plain@example.org']].sort());
    for (const entry of out) {
      expect(entry.metadata).toMatchObject({ listId: LIST, sender: 'dev-bounces@lists.example.org', listPosting: LIST });
      expect(RawMessage.parse(entry.message).get('Subject')).toBe('Team Digest, Vol 1, Issue 1');
      expect(postsIn(entry.message)).toEqual([1, 2, 3]);
    }
    expect(await sendDigest(s.ctx, LIST)).toEqual([]);
    await add(s, 4);
    expect((await sendDigest(s.ctx, LIST))[0]).toMatchObject({ volume: 1, issue: 2, posts: 1 });
    expect((await digestsStatus(s.a))[0]).toMatchObject({ volume: 1, nextIssue: 3, pendingPosts: 0 });
  });

  it('a new volume starts when digestVolumeFrequency\'s period changes, and the issue number starts again at 1', async () => {
    const s = await setup();
    await add(s, 1);
    await sendDigest(s.ctx, LIST);
    await add(s, 2);
    await sendDigest(s.ctx, LIST);
    s.a.setNow('2027-01-02T08:00:00Z');
    await add(s, 3);
    expect((await sendDigest(s.ctx, LIST))[0]).toMatchObject({ volume: 2, issue: 1 });
    expect(volumePeriod('yearly', new Date('2026-12-31T23:00:00Z'))).toBe('2026');
    expect(volumePeriod('quarterly', new Date('2026-05-01T00:00:00Z'))).toBe('2026-Q2');
    expect(volumePeriod('weekly', new Date('2026-12-07T00:00:00Z'))).toBe(volumePeriod('weekly', new Date('2026-12-13T23:59:00Z')));
    expect(volumePeriod('weekly', new Date('2026-12-06T23:59:00Z'))).not.toBe(volumePeriod('weekly', new Date('2026-12-07T00:00:00Z')));
  });

  /** An outbox that dies (throws) at one step, as a SIGKILLed sender stops there. */
  function dying(outbox: DigestOutbox, at: 'stage' | 'release-second' | 'cleanup'): DigestOutbox {
    let released = 0;
    return {
      ...outbox,
      async stage(name, message, metadata) {
        if (at === 'stage') throw new Error('killed while staging');
        return outbox.stage(name, message, metadata);
      },
      async release(staged) {
        if (at === 'release-second' && ++released === 2) throw new Error('killed after moving the first entry');
        return outbox.release(staged);
      },
    };
  }

  it.each(['stage', 'release-second'] as const)('killed at %s: the next send finishes the same issue; each member gets it once, no post lost', async (at) => {
    const s = await setup();
    for (const n of [1, 2, 3]) await add(s, n);
    await expect(sendDigest({ ...s.ctx, outbox: dying(s.outbox, at) }, LIST)).rejects.toThrow(/killed/);
    const status = (await digestsStatus(s.a))[0]!;
    expect(status.unfinished).toMatchObject({ issue: 1, status: at === 'stage' ? 'claimed' : 'staged' });
    await add(s, 4);
    const sent = await sendDigest(s.ctx, LIST);
    // The interrupted issue 1 (posts 1-3), then issue 2 with the post that came meanwhile.
    expect(sent.map((i) => [i.issue, i.posts, i.resumed])).toEqual([[1, 3, true], [2, 1, false]]);
    const out = await s.out();
    const byRecipient = new Map<string, number[]>();
    for (const entry of out) for (const r of entry.metadata.recipients as string[]) byRecipient.set(r, [...(byRecipient.get(r) ?? []), ...postsIn(entry.message)]);
    expect(Object.fromEntries(byRecipient)).toEqual({ 'mime@example.org': [1, 2, 3, 4], 'mime2@example.org': [1, 2, 3, 4], 'plain@example.org': [1, 2, 3, 4] });
    expect(out).toHaveLength(4);
  });

  it('two senders at once: one copy of the issue', async () => {
    const s = await setup();
    for (const n of [1, 2]) await add(s, n);
    const results = await Promise.all([sendDigest(s.ctx, LIST), sendDigest(s.ctx, LIST)]);
    expect(results.flat().length).toBeGreaterThanOrEqual(1);
    expect(await s.out()).toHaveLength(2);
    expect((await digestsStatus(s.a))[0]).toMatchObject({ nextIssue: 2, unfinished: null });
  });

  it('the scheduler pass sends by size (digestSizeThreshold KB) or when digestSendPeriodic fires, and not otherwise', async () => {
    const s = await setup();
    await s.a.store.updateList(LIST, { settings: { digestSizeThreshold: 1, digestSendPeriodic: '0 0 * * *' } });
    await add(s, 1);
    const never = () => false;
    expect((await runDigestsPass(s.ctx, s.a.now(), never)).sent).toEqual([]);
    expect((await runDigestsPass(s.ctx, s.a.now(), () => true)).sent).toHaveLength(1);
    // Over 1 KB waiting: sent whatever the schedule.
    for (let n = 2; n < 40; n++) await add(s, n);
    expect((await digestsStatus(s.a))[0]!.pendingSize).toBeGreaterThan(1024);
    expect((await runDigestsPass(s.ctx, s.a.now(), never)).sent).toMatchObject([{ issue: 2, posts: 38 }]);
  });
});
