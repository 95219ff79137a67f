/**
 * The built-in incoming and virgin runners under a real master (forked
 * runner processes, config from switchyard.toml): a member's post reaches
 * `out` for the members; a non-member's is held and its notice reaches `out`
 * for the owners through `virgin`; `held approve` sends it on to `out` too.
 * The outgoing runner is disabled so that `out` keeps what arrives. And the
 * incoming runner SIGKILLed in the middle of a backlog: every post reaches
 * `out` or the holds exactly once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { decodeEntry, Spool, Switchboard } from '../../queues/index.js';
import { openStore } from '../../src/store/index.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, waitForEntries, type MasterHandle } from '../master/harness.js';
import { runHomeCliInProcess } from '../support/cli.js';
import { LIST, plainPost } from './fixtures/messages.js';

let master: MasterHandle | undefined;
let home: string | undefined;

afterEach(async () => {
  await master?.stop();
  if (home) await removeHome(home);
  master = undefined;
  home = undefined;
});

async function outEntries(dir: string) {
  const out = new Switchboard({ root: join(dir, 'queues'), name: 'out' });
  return Promise.all((await out.list(['pck'])).map(async ({ path }) => decodeEntry(await readFile(path))));
}

it('incoming and virgin run under the master: posts, holds, notices and approvals reach out', async () => {
  // Only incoming and virgin (outgoing off so that `out` keeps what arrives; the others and the scheduler
  // would be a node process each to start and stop for nothing here).
  home = await makeHome(testConfig(`${builtInRunnersOff(['incoming', 'virgin'])}\n${schedulerOff()}\n[runner.incoming.options]\nparseTimeout = "20s"\n`));
  const store = openStore(home);
  await store.createList({ address: LIST });
  await store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'bob@example.net' }, { address: 'owner@example.org', role: 'owner' }]);
  await store.close();
  master = await startMaster(home);

  const inQueue = new Switchboard({ root: join(home, 'queues'), name: 'in' });
  const ingress = (sender: string) => ({ listId: LIST, envelopeSender: sender, envelopeRecipient: LIST, receivedAt: new Date().toISOString(), receivedVia: 'inject' });
  await inQueue.enqueue(plainPost({ subject: 'member post' }), ingress('anne@example.org'));
  await inQueue.enqueue(plainPost({ from: 'guest@example.com', subject: 'guest post' }), ingress('guest@example.com'));

  // The member's post, the owners' hold notice and the guest's "awaits approval" notice.
  await waitForEntries(home, 'out', 3);
  const out = await outEntries(home);
  const post = out.find((entry) => (entry.metadata.chain as { rule?: string } | undefined)?.rule === 'end-of-chain')!;
  expect([...(post.metadata.recipients as string[])].sort()).toEqual(['anne@example.org', 'bob@example.net']);
  const notice = out.find((entry) => entry.metadata.notice === 'held')!;
  expect(notice.metadata).toMatchObject({ recipients: ['owner@example.org'], sender: 'dev-bounces@lists.example.org' });
  expect(notice.message.toString('utf8')).toContain('requires approval');
  const toGuest = out.find((entry) => entry.metadata.notice === 'post-held')!;
  expect(toGuest.metadata).toMatchObject({ recipients: ['guest@example.com'] });

  // The list in this process (program.ts run(), what the binary runs); the approval through the built binary.
  const listed = JSON.parse((await runHomeCliInProcess(home, ['held', 'list', LIST, '--json'])).stdout) as { held: Array<{ id: number; subject: string }> };
  expect(listed.held.map((h) => h.subject)).toEqual(['guest post']);
  expect((await runCli(['--home', home, 'held', 'approve', LIST, String(listed.held[0]!.id)])).code).toBe(0);
  await waitForEntries(home, 'out', 4);
  const approved = (await outEntries(home)).find((entry) => (entry.metadata.chain as { rule?: string } | undefined)?.rule === 'moderator-approval');
  expect(approved?.message.toString('utf8')).toContain('guest post');
});

it('SIGKILL of the incoming runner mid-backlog: each post is forwarded or held exactly once', async () => {
  home = await makeHome(testConfig(`${builtInRunnersOff(['incoming', 'virgin'])}\n${schedulerOff()}\n[runner.incoming]\nconcurrency = 4\n`));
  const store = openStore(home);
  await store.createList({ address: LIST });
  await store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'owner@example.org', role: 'owner' }]);
  const inQueue = new Switchboard({ root: join(home, 'queues'), name: 'in' });
  const posts = 60;
  const ids = new Set<string>();
  for (let i = 0; i < posts; i++) {
    const member = i % 2 === 0;
    const from = member ? 'anne@example.org' : 'guest@example.com';
    const id = await inQueue.enqueue(plainPost({ from, subject: `post ${i}`, messageId: `<post-${i}@example.org>` }), {
      listId: LIST,
      envelopeSender: from,
      envelopeRecipient: LIST,
      receivedAt: new Date().toISOString(),
      receivedVia: 'inject',
    });
    ids.add(id);
  }
  master = await startMaster(home);
  await waitForEntries(home, 'out', 6);
  const victim = (await master.status()).runners.find((runner) => runner.name === 'incoming')!.pid!;
  process.kill(victim, 'SIGKILL');
  await master.waitForLine((line) => line.runner === 'incoming' && typeof line.pid === 'number' && line.pid !== victim, 'a new incoming runner');

  // Wait until every post is settled: none left on `in` (waiting or in flight),
  // 30 forwarded, 30 held. Re-checked after each `entry settled` line logged
  // since the previous check; a post the killed runner settled without living
  // to log it is found by the check itself.
  const running = master;
  const dir = home;
  const spool = new Spool({ root: join(dir, 'queues') });
  const forwardedPosts = async () => (await outEntries(dir)).filter((entry) => entry.metadata.chain !== undefined).length;
  const allSettled = async () => {
    const left = await spool.count('in');
    return left.pck + left.bak === 0 && (await forwardedPosts()) >= posts / 2 && (await store.countHeld(LIST)) >= posts / 2;
  };
  for (;;) {
    const seen = running.lines.length;
    if (await allSettled()) break;
    await running.waitForLine((line) => line.msg === 'entry settled' && running.lines.indexOf(line) >= seen, 'another post settled');
  }
  expect(await inQueue.files()).toEqual([]);
  const out = await outEntries(home);
  const forwarded = out.filter((entry) => entry.metadata.chain !== undefined).map((entry) => /^Message-ID: (\S+)/im.exec(entry.message.toString('latin1'))![1]);
  expect(new Set(forwarded).size).toBe(forwarded.length);
  expect(forwarded.length).toBe(posts / 2);
  const held = await store.heldMessages(LIST);
  expect(new Set(held.map((h) => h.messageId)).size).toBe(held.length);
  expect(held.length).toBe(posts / 2);
  await store.close();
});
