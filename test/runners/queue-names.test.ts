/**
 * The one table of queue names (runners/queue-names.ts): the standard
 * queues a home starts with are the ones it always had, every built-in
 * runner consumes a queue of the table, what the writers write passes the
 * table's metadata schema of its queue, no source file outside the table
 * spells a queue name as a string literal, and queues/ lists no mail queue
 * of its own.
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool } from '../../queues/index.js';
import { BUILTIN_RUNNERS } from '../../runners/builtin.js';
import { IN_QUEUE, QUEUES, SPOOL_OPTIONS, STANDARD_QUEUES, VIRGIN_QUEUE, type QueueName } from '../../runners/queue-names.js';
import { IngressWriter } from '../../src/ingress/ingress-writer.js';
import { routeRecipient } from '../../src/ingress/routing.js';
import { holdNotice, rejectNotice } from '../../src/mail/moderation-notices.js';
import { openStore, type Store } from '../../src/store/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string | undefined;
let store: Store | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function sourceFiles(top: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(join(ROOT, top), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(relative(ROOT, join(entry.parentPath, entry.name)));
  }
  return files.sort();
}

function metadataProblems(queue: QueueName, metadata: unknown): string[] {
  const result = QUEUES[queue].metadata.safeParse(metadata);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('the queue table', () => {
  it('the standard queues are the ones a home always started with, in the same order', () => {
    expect(STANDARD_QUEUES).toEqual(['in', 'out', 'bounces', 'virgin', 'retry', 'shunt', 'bad']);
    // queue-ids.ts spells the list out (no zod for inject and queue count): it must stay the table's standard queues.
    expect([...STANDARD_QUEUES]).toEqual(Object.values(QUEUES).filter((queue) => queue.standard).map((queue) => queue.name));
    for (const [name, spec] of Object.entries(QUEUES)) {
      expect(spec.name).toBe(name);
      expect(spec.description.length).toBeGreaterThan(10);
    }
  });

  it('every built-in runner consumes a queue of the table', () => {
    for (const [name, runner] of Object.entries(BUILTIN_RUNNERS)) {
      if (runner.kind === 'service') continue;
      expect(Object.keys(QUEUES), name).toContain(runner.queue);
    }
  });

  it('what ingress and the moderation notices write passes their queue\'s metadata schema; a wrong type does not', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-queue-names-'));
    store = openStore(dir);
    const list = await store.createList({ address: 'dev@lists.example.org' });
    for (const recipient of ['dev@lists.example.org', 'dev-owner@lists.example.org', 'dev-bounces+anne=example.org@lists.example.org', 'dev-join@lists.example.org']) {
      const route = await routeRecipient(store, recipient);
      const metadata = IngressWriter.metadata(route, { sender: 'anne@example.org', recipient, via: 'lmtp' });
      expect(metadataProblems(route.queue, metadata), recipient).toEqual([]);
    }
    const held = { id: 7, sender: 'anne@example.org', subject: 'Hi', reason: 'post from a non-member', receivedAt: new Date() };
    const hold = holdNotice(list, held as Parameters<typeof holdNotice>[1], new Date());
    expect(metadataProblems(VIRGIN_QUEUE, hold.metadata)).toEqual([]);
    const reject = rejectNotice(list, { to: 'anne@example.org', subject: 'Hi', messageId: undefined, reason: 'no' }, new Date());
    expect(metadataProblems(VIRGIN_QUEUE, reject.metadata)).toEqual([]);
    expect(metadataProblems(IN_QUEUE, { listId: list.address, approval: { heldId: 'seven' } })).not.toEqual([]);
    expect(metadataProblems('out', { listId: list.address, sender: 'x', recipients: [] })).not.toEqual([]);
  });

  it('no source file outside the table spells a queue name as a string literal where a queue is meant', async () => {
    const names = Object.keys(QUEUES).filter((name) => name !== 'retry' && name !== 'shunt');
    // retry and shunt are also outcome names and config values; as queues they are checked in enqueue, forward and Switchboard calls.
    const literal = new RegExp(`(?:queue:\\s*|enqueue\\(|forward\\(|name:\\s*)'(${Object.keys(QUEUES).join('|')})'|'(${names.join('|')})'`);
    const callForm = new RegExp(`(?:queue:\\s*|enqueue\\(|forward\\()'(${Object.keys(QUEUES).join('|')})'`);
    const offenders: string[] = [];
    for (const file of [...(await sourceFiles('src')), ...(await sourceFiles('runners'))]) {
      // The table and its zod-free names (queue-ids.ts) are where queue names are spelled.
      if (file === 'runners/queue-names.ts' || file === 'runners/queue-ids.ts') continue;
      const source = await readFile(join(ROOT, file), 'utf8');
      // A bare 'bounces' or 'archive' can only mean a queue in a file that reaches the queue layer
      // (the spool or the table); elsewhere it is a page tab, a setting or a Mailman 2 attribute.
      // The call forms (queue:, enqueue(, forward() count in every file.
      const reachesQueues = /from '[^']*(?:queues\/|queue-names|queue-ids)[^']*'/.test(source);
      const pattern = reachesQueues ? literal : callForm;
      source.split('\n').forEach((line, index) => {
        const code = line.replace(/\/\/.*$/, '');
        // Command names (`new Command('bounces')`, the CLI's command table) are not queues.
        if (/^\s*\*/.test(code) || code.includes('new Command(') || code.includes('load: ')) return;
        if (pattern.test(code)) offenders.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('queues/ lists no queue of its own; a spool opened with the table lists the standard queues before they exist', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-queue-names-'));
    await mkdir(join(dir, 'digest'));
    expect(await new Spool({ root: dir }).queueNames()).toEqual(['digest']);
    expect(await new Spool({ root: dir, ...SPOOL_OPTIONS }).queueNames()).toEqual([...STANDARD_QUEUES, 'digest'].sort());
    const queuesSource = await Promise.all((await sourceFiles('queues')).map((file) => readFile(join(ROOT, file), 'utf8')));
    expect(queuesSource.join('\n')).not.toMatch(/'listId'|'virgin'|'bounces'|'shunt'/);
  });
});
