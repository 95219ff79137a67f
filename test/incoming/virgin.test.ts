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
import { cleanup, makeSpool, runnerOptions, startRunner, type RunnerWatch, type Spool } from '../runners/harness.js';
import { LIST } from './fixtures/messages.js';

let store: Store | undefined;

afterEach(async () => {
  await cleanup();
  await store?.close();
  store = undefined;
});

async function setup(admins: { owners?: string[]; moderators?: string[] } = {}): Promise<{ spool: Spool; watch: RunnerWatch<VirginRunner> }> {
  const spool = await makeSpool();
  store = openStore(spool.dir);
  await store.createList({ address: LIST });
  await store.addMembers(LIST, (admins.owners ?? ['owner@example.org', 'Boss@Example.ORG']).map((address) => ({ address, role: 'owner' as const })));
  await store.addMembers(LIST, (admins.moderators ?? ['mod@example.org', 'owner@example.org']).map((address) => ({ address, role: 'moderator' as const })));
  const watch = startRunner(new VirginRunner(runnerOptions(spool, { name: 'virgin', queue: 'virgin', home: spool.dir })));
  await watch.whenReady();
  return { spool, watch };
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

  it('moves an entry with nobody to deliver to, or for an unknown list, to shunt with the reason', async () => {
    const { spool, watch } = await setup({ owners: [], moderators: [] });
    expect(await put(spool, watch, { listId: LIST, toOwners: true })).toBe('shunt');
    expect(await put(spool, watch, { listId: 'gone@lists.example.org', toOwners: true })).toBe('shunt');
    expect(await put(spool, watch, { recipients: ['a@example.com'] })).toBe('shunt');
    const errors = (await spool.entries('shunt')).map((entry) => (entry.control.error as { name: string }).name).sort();
    expect(errors).toEqual(['ListUnknownError', 'ListUnknownError', 'NoRecipientsError']);
    expect(await spool.entries('out')).toHaveLength(0);
  });
});
