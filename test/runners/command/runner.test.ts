/**
 * The command runner (runners/command.ts), real, over a real spool and
 * store: a -join entry finishes with its confirmation on `virgin`; an entry
 * naming no list goes to `shunt`; garbage finishes with a bounded reply and
 * the runner carries on with the next entry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import CommandRunner from '../../../runners/command.js';
import { RawMessage } from '../../../src/mail/raw-message.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { cleanup, makeSpool, runnerOptions, startRunner, type RunnerWatch, type Spool } from '../harness.js';

const LIST = 'dev@lists.example.org';
let store: Store | undefined;

afterEach(async () => {
  await cleanup();
  await store?.close();
  store = undefined;
});

async function setup(): Promise<{ spool: Spool; watch: RunnerWatch<CommandRunner> }> {
  const spool = await makeSpool();
  store = openStore(spool.dir);
  await store.createList({ address: LIST });
  const watch = startRunner(new CommandRunner(runnerOptions(spool, { name: 'command', queue: 'command', home: spool.dir })));
  await watch.whenReady();
  return { spool, watch };
}

const mail = (from: string, body: string | Buffer) => Buffer.concat([Buffer.from(`From: ${from}\r\nSubject: \r\n\r\n`), Buffer.isBuffer(body) ? body : Buffer.from(body)]);

describe('command runner', () => {
  it('a -join entry finishes with one confirmation on virgin to the sender; nobody is subscribed yet', async () => {
    const { spool, watch } = await setup();
    const id = await spool.switchboard('command').enqueue(mail('ann@example.org', ''), { listId: LIST, envelopeSender: 'ann@example.org', command: 'join' });
    expect((await watch.endOf(id)).outcome).toBe('finished');
    const [confirmation] = await spool.entries('virgin');
    expect(confirmation!.metadata).toMatchObject({ listId: LIST, recipients: ['ann@example.org'], notice: 'confirm-subscribe' });
    expect(RawMessage.parse(confirmation!.message).get('Subject')).toMatch(/^confirm [0-9a-f]{32}$/);
    expect(await store!.findMember(LIST, 'ann@example.org')).toBeNull();
  });

  it('an entry naming no list goes to shunt; binary garbage gets one bounded reply and the next entry is still served', async () => {
    const { spool, watch } = await setup();
    const lost = await spool.switchboard('command').enqueue(mail('ann@example.org', 'help'), { listId: 'nope@lists.example.org', envelopeSender: 'ann@example.org', command: 'request' });
    expect((await watch.endOf(lost)).outcome).toBe('shunt');
    const garbage = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 131) % 256));
    const bad = await spool.switchboard('command').enqueue(mail('bob@example.net', garbage), { listId: LIST, envelopeSender: 'bob@example.net', command: 'request' });
    expect((await watch.endOf(bad)).outcome).toBe('finished');
    const next = await spool.switchboard('command').enqueue(mail('cy@example.net', 'help'), { listId: LIST, envelopeSender: 'cy@example.net', command: 'request' });
    expect((await watch.endOf(next)).outcome).toBe('finished');
    const replies = await spool.entries('virgin');
    expect(replies.map((r) => r.metadata.recipients)).toEqual(expect.arrayContaining([['bob@example.net'], ['cy@example.net']]));
    for (const reply of replies) expect(reply.message.length).toBeLessThan(10_000);
  });
});
