/**
 * The virgin runner (runners/virgin.ts), real, over a real spool and store:
 * notices and -owner mail become one `out` entry each.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../queues/index.js';
import VirginRunner from '../../runners/virgin.js';
import { longestLine } from '../../src/mail/line-length.js';
import { buildNotice } from '../../src/mail/notice.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { decodeQuotedPrintable } from '../../src/mail/transfer-encoding.js';
import { openStore, type Store } from '../../src/store/index.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { decideHeld, sendHeldNotices } from '../../src/app/moderation.js';
import { spoolEnqueue } from '../../src/app/spool-enqueue.js';
import { runCli } from '../support/cli.js';
import { cleanup, makeSpool, runnerOptions, startRunner, type RunnerWatch, type Spool } from '../runners/harness.js';
import { LIST } from './fixtures/messages.js';

let store: Store | undefined;

afterEach(async () => {
  await cleanup();
  await store?.close();
  store = undefined;
});

async function setup(admins: { owners?: string[]; moderators?: string[]; config?: Config; noRunner?: boolean } = {}): Promise<{ spool: Spool; watch: RunnerWatch<VirginRunner>; start: () => Promise<RunnerWatch<VirginRunner>> }> {
  const spool = await makeSpool();
  store = openStore(spool.dir);
  await store.createList({ address: LIST });
  await store.addMembers(LIST, (admins.owners ?? ['owner@example.org', 'Boss@Example.ORG']).map((address) => ({ address, role: 'owner' as const })));
  await store.addMembers(LIST, (admins.moderators ?? ['mod@example.org', 'owner@example.org']).map((address) => ({ address, role: 'moderator' as const })));
  const start = async () => {
    const started = startRunner(new VirginRunner(runnerOptions(spool, { name: 'virgin', queue: 'virgin', home: spool.dir, ...(admins.config ? { config: admins.config } : {}) })));
    await started.whenReady();
    return started;
  };
  const watch = admins.noRunner ? (undefined as unknown as RunnerWatch<VirginRunner>) : await start();
  return { spool, watch, start };
}

const NOTICE = buildNotice({ from: `dev-owner@lists.example.org`, to: ['someone@example.com'], subject: 'A notice', text: 'Hello.' });

async function put(spool: Spool, watch: RunnerWatch<VirginRunner>, metadata: JsonObject) {
  const id = await spool.switchboard('virgin').enqueue(NOTICE, metadata);
  return (await watch.endOf(id)).outcome;
}

describe('virgin runner', () => {
  it('delivers toOwners to every owner and moderator once, from the list bounces address, as one out entry', async () => {
    const { spool, watch } = await setup();
    expect(await put(spool, watch, { listId: LIST, toOwners: true })).toBe('forwarded');
    const [out] = await spool.entries('out');
    expect(out!.metadata.sender).toBe('dev-bounces@lists.example.org');
    expect([...(out!.metadata.recipients as string[])].sort()).toEqual(['Boss@example.org', 'mod@example.org', 'owner@example.org']);
    expect(out!.message.equals(NOTICE)).toBe(true);
    expect(await spool.entries('virgin')).toHaveLength(0);
  });

  it('sends a notice with a line over 998 octets re-encoded (quoted-printable, same text) and keeps its notice kind on the out entry', async () => {
    const { spool, watch } = await setup();
    const reason = `Reason: ${'x'.repeat(1500)}`;
    const notice = buildNotice({ from: 'dev-owner@lists.example.org', to: ['someone@example.com'], subject: 'A long notice', text: `Hello.\n${reason}\n` });
    expect(longestLine(notice)).toBeGreaterThan(998);
    const id = await spool.switchboard('virgin').enqueue(notice, { listId: LIST, recipients: ['someone@example.com'], notice: 'rejected' });
    expect((await watch.endOf(id)).outcome).toBe('forwarded');
    const [out] = await spool.entries('out');
    expect(longestLine(out!.message)).toBeLessThanOrEqual(998);
    expect(out!.metadata.notice).toBe('rejected');
    const sent = RawMessage.parse(out!.message);
    expect(sent.get('Content-Transfer-Encoding')).toBe('quoted-printable');
    expect(decodeQuotedPrintable(sent.body).toString('utf8')).toBe(`Hello.\r\n${reason}\r\n`);
  });

  it('delivers to the recipients given, with the sender given, dropping invalid addresses', async () => {
    const { spool, watch } = await setup();
    await put(spool, watch, { listId: LIST, recipients: ['poster@example.com', 'not an address', 'POSTER@example.com'], sender: 'dev-owner@lists.example.org' });
    const [out] = await spool.entries('out');
    expect(out!.metadata).toMatchObject({ listId: LIST, sender: 'dev-owner@lists.example.org', recipients: ['poster@example.com'] });
  });

  it('moves an entry with nobody valid to deliver to, or for an unknown list, to shunt with the reason', async () => {
    const { spool, watch } = await setup({ owners: [], moderators: [] });
    expect(await put(spool, watch, { listId: LIST, recipients: ['not an address'] })).toBe('shunt');
    expect(await put(spool, watch, { listId: 'gone@lists.example.org', toOwners: true })).toBe('shunt');
    expect(await put(spool, watch, { recipients: ['a@example.com'] })).toBe('shunt');
    const errors = (await spool.entries('shunt')).map((entry) => (entry.control.error as { name: string }).name).sort();
    expect(errors).toEqual(['ListUnknownError', 'ListUnknownError', 'NoRecipientsError']);
    expect(await spool.entries('out')).toHaveLength(0);
  });

  it("sends a list's notices to postmaster of its domain when it has neither owners nor moderators, with a warning (was: shunt)", async () => {
    const { spool, watch } = await setup({ owners: [], moderators: [] });
    expect(await put(spool, watch, { listId: LIST, toOwners: true, notice: 'held' })).toBe('forwarded');
    const [out] = await spool.entries('out');
    expect(out!.metadata.recipients).toEqual(['postmaster@lists.example.org']);
    expect(await spool.entries('shunt')).toHaveLength(0);
    const warning = (await spool.log()).find((line) => typeof line.msg === 'string' && line.msg.includes('has no owners or moderators'));
    expect(warning).toMatchObject({ level: 40, siteOwner: 'postmaster@lists.example.org' });
  });

  it('sends them to [site] owner when it is configured', async () => {
    const config = configSchema.parse({ site: { owner: 'listmaster@example.net' } });
    const { spool, watch } = await setup({ owners: [], moderators: [], config });
    expect(await put(spool, watch, { listId: LIST, toOwners: true })).toBe('forwarded');
    const [out] = await spool.entries('out');
    expect(out!.metadata.recipients).toEqual(['listmaster@example.net']);
  });

  it('drops the queued notices of a held post approved before they were sent, with a log line, and sends those of a post still held', async () => {
    const { spool, start } = await setup({ noRunner: true });
    const app = { store: store!, now: () => new Date(), enqueue: spoolEnqueue(spool.queues, 'none') };
    const list = await store!.getList(LIST);
    const post = RawMessage.parse(Buffer.from('From: guest@example.com\r\nSubject: may I?\r\nMessage-ID: <q1@example.com>\r\n\r\nHello\r\n'));
    const hold = (subject: string) =>
      store!.holdMessage({ list: LIST, sender: 'guest@example.com', subject, reason: 'post from a non-member', raw: post.toBuffer(), metadata: { envelopeSender: 'guest@example.com' } });
    const decided = await hold('decided');
    const waiting = await hold('waiting');
    const stale = await sendHeldNotices(app, list, decided, post);
    const live = await sendHeldNotices(app, list, waiting, post);
    expect('entry' in stale.poster && 'entry' in live.poster).toBe(true);
    expect(await spool.entries('virgin', ['pck'])).toHaveLength(4);
    await decideHeld(app, LIST, decided.id, { decision: 'approve', by: 'mod' });

    const watch = await start();
    const ends = await watch.endsAtLeast(4);
    const outcome = new Map(ends.map((end) => [end.id, end.outcome]));
    expect(outcome.get(stale.moderators)).toBe('finished');
    expect(outcome.get((stale.poster as { entry: string }).entry)).toBe('finished');
    expect(outcome.get(live.moderators)).toBe('forwarded');
    expect(outcome.get((live.poster as { entry: string }).entry)).toBe('forwarded');
    const out = await spool.entries('out');
    expect(out.map((entry) => entry.metadata.notice).sort()).toEqual(['held', 'post-held']);
    expect(out.every((entry) => entry.message.toString('utf8').includes('waiting') && !entry.message.toString('utf8').includes('decided'))).toBe(true);
    const dropped = (await spool.log()).filter((line) => typeof line.msg === 'string' && line.msg.startsWith('stale notice about held post'));
    expect(dropped.map((line) => line.notice).sort()).toEqual(['held', 'post-held']);
    expect(dropped[0]).toMatchObject({ held: decided.id, why: expect.stringContaining('approve by mod') });
  });

  it('drops a hold notice requeued from shunt (`switchyard queue requeue`) after its post was approved', async () => {
    const { spool, start } = await setup({ noRunner: true });
    const app = { store: store!, now: () => new Date(), enqueue: spoolEnqueue(spool.queues, 'none') };
    const list = await store!.getList(LIST);
    const post = RawMessage.parse(Buffer.from('From: guest@example.com\r\nSubject: shunted\r\n\r\nHello\r\n'));
    const held = await store!.holdMessage({ list: LIST, sender: 'guest@example.com', subject: 'shunted', reason: 'post from a non-member', raw: post.toBuffer() });
    const { moderators } = await sendHeldNotices(app, list, held, post);
    // As the virgin runner of an earlier switchyard did for a list without owners: the notice went to shunt.
    const virgin = spool.switchboard('virgin');
    await virgin.dequeue(moderators);
    const shunted = await virgin.moveTo(moderators, 'shunt', { reason: 'NoRecipientsError' });
    await decideHeld(app, LIST, held.id, { decision: 'approve', by: 'mod' });
    const requeued = await runCli(['--home', spool.dir, 'queue', 'requeue', shunted]);
    expect(requeued.code, requeued.stderr).toBe(0);

    const watch = await start();
    const ends = await watch.endsAtLeast(2);
    expect(ends.map((end) => end.outcome)).toEqual(['finished', 'finished']);
    expect(await spool.entries('out')).toHaveLength(0);
    expect(await spool.entries('shunt')).toHaveLength(0);
    const dropped = (await spool.log()).filter((line) => typeof line.msg === 'string' && line.msg.startsWith(`stale notice about held post #${held.id}`));
    expect(dropped.map((line) => line.notice).sort()).toEqual(['held', 'post-held']);
  });
});
