/**
 * The order of an accepted post's durable steps (runners/incoming.ts
 * acceptWith): the out entry is written and fdatasynced while the archive
 * copy is written, and renamed out of `in` only once the copy is durable.
 * A real incoming runner process SIGKILLed again and again at varying
 * moments inside its entries: every post reaches `out` exactly once, and
 * every post in `out` has its archive copy. And a copy that cannot be
 * written keeps the post in `in`'s hands: nothing reaches `out`, and the out
 * entry written meanwhile leaves no temp file behind.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, expect, it } from 'vitest';
import { decodeEntry, Switchboard } from '../../queues/index.js';
import { openStore } from '../../src/store/index.js';
import { PROJECT_ROOT } from '../runners/harness.js';
import { alternativePost, LIST, plainPost } from './fixtures/messages.js';
import { cleanup, closeIncomingFile, closeStores, setupIncoming } from './harness.js';

const homes: string[] = [];

afterAll(closeIncomingFile);

afterEach(async () => {
  await cleanup();
  await closeStores();
  for (const home of homes.splice(0)) await rm(home, { recursive: true, force: true });
});

function messageIdOf(bytes: Buffer): string {
  return /^Message-ID: (\S+)/im.exec(bytes.toString('latin1'))![1]!;
}

it('a real incoming runner SIGKILLed again and again: every post reaches out exactly once, and each has its archive copy', async () => {
  const home = await mkdtemp(join(tmpdir(), 'switchyard-forward-order-'));
  homes.push(home);
  const store = openStore(home);
  await store.createList({ address: LIST, settings: { archive: true } });
  await store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'bob@example.net' }]);
  await store.close();
  const queues = join(home, 'queues');
  const inQueue = new Switchboard({ root: queues, name: 'in' });
  const posts = 40;
  const expected: string[] = [];
  for (let i = 0; i < posts; i++) {
    const fields = { subject: `post ${i}`, messageId: `<order-${i}@example.org>` };
    // Plain posts take the header scan; every third one is multipart and is parsed in the pool.
    await inQueue.enqueue(i % 3 === 0 ? alternativePost(fields) : plainPost(fields), {
      listId: LIST,
      envelopeSender: 'anne@example.org',
      envelopeRecipient: LIST,
      receivedAt: new Date().toISOString(),
      receivedVia: 'inject',
    });
    expected.push(fields.messageId);
  }
  const script = join(PROJECT_ROOT, 'dist/test/fixtures/incoming-runner.js');
  let kills = 0;
  for (let round = 0; round < 300; round++) {
    const child = spawn(process.execPath, [script, home], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const events = createInterface({ input: child.stdout! });
    const target = 1 + (round % 3);
    // 0 to 4 ms after an entry ended, with three more in flight: the kill lands in their chain, pipeline,
    // archive copy's write or forward's, wherever each stands.
    const delayMs = round % 5;
    let ends = 0;
    const outcome = await new Promise<'kill' | 'drained'>((resolve) => {
      events.on('line', (text) => {
        const event = (JSON.parse(text) as { event: string }).event;
        if (event === 'entry-end' && ++ends === target) setTimeout(() => resolve('kill'), delayMs);
        // Drained: nothing waiting or in flight once the runner is ready or has settled an entry.
        if (event === 'ready' || event === 'entry-end') {
          void inQueue.list(['pck', 'bak']).then((left) => {
            if (left.length === 0) resolve('drained');
          });
        }
      });
    });
    child.kill('SIGKILL');
    await exited;
    if (outcome === 'drained') break;
    kills++;
  }
  expect(kills).toBeGreaterThan(5);
  expect(await inQueue.list(['pck', 'bak'])).toEqual([]);
  const out = new Switchboard({ root: queues, name: 'out' });
  const forwarded = await Promise.all((await out.list(['pck'])).map(async ({ path }) => messageIdOf(decodeEntry(await readFile(path)).message)));
  expect(forwarded.sort()).toEqual([...expected].sort());
  // Copies may be there twice (an entry run again after a kill); none is missing.
  const archive = new Switchboard({ root: queues, name: 'archive' });
  const archived = new Set(await Promise.all((await archive.list(['pck'])).map(async ({ path }) => messageIdOf(decodeEntry(await readFile(path)).message))));
  expect([...archived].sort()).toEqual([...expected].sort());
});

it('an archive copy that cannot be written: the post does not reach out, and the out entry written meanwhile leaves no temp file', async () => {
  const setup = await setupIncoming({ settings: { archive: true } });
  // A file where the archive queue's directory should be: every enqueue into it fails.
  await mkdir(setup.spool.queues, { recursive: true });
  await writeFile(join(setup.spool.queues, 'archive'), '');
  const { outcome } = await setup.post(plainPost());
  expect(['shunt', 'retry']).toContain(outcome);
  expect(await setup.entries('out')).toEqual([]);
  const leftovers: string[] = [];
  for (const shard of await readdir(join(setup.spool.queues, 'in'))) {
    leftovers.push(...(await readdir(join(setup.spool.queues, 'in', shard))).filter((name) => name.endsWith('.tmp')));
  }
  expect(leftovers).toEqual([]);
});
