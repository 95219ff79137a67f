/**
 * The archive index the web pages read (src/app/archive-reader.ts) on real
 * mbox files written as the archive runner writes them (mboxrdRecord):
 * threads from References and In-Reply-To whatever order the posts were
 * archived in, a circle of References cut, months, and a message's bytes
 * back exactly (mboxrd quoting undone).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveIndex, archiveMessageId, archiveMonths, archivedMessage, monthThreads, threadPosts } from '../../src/app/archive-reader.js';
import { archiveKey, mboxrdRecord } from '../../src/mail/mboxrd.js';

const LIST = 'team@lists.example.org';
let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'sy-archive-'));
  await mkdir(join(home, 'archives'));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function post(id: string, subject: string, refs: string[] = [], body = 'text'): Buffer {
  const references = refs.length === 0 ? '' : `In-Reply-To: <${refs.at(-1)}>\nReferences: ${refs.map((r) => `<${r}>`).join(' ')}\n`;
  return Buffer.from(`From: a@example.org\nSubject: ${subject}\nMessage-ID: <${id}>\n${references}\n${body}\n`);
}

async function write(posts: [Buffer, string][]): Promise<void> {
  await writeFile(join(home, 'archives', `${LIST}.mbox`), Buffer.concat(posts.map(([message, date]) => mboxrdRecord(message, { sender: 'a@example.org', date: new Date(date), key: archiveKey(message) }))));
}

describe('archive index', () => {
  it('threads replies under their parents even when a reply was archived first; months newest first', async () => {
    await write([
      [post('r2', 'Re: Re: one', ['root', 'r1']), '2026-12-01T10:02:00Z'],
      [post('root', 'one'), '2026-12-01T10:00:00Z'],
      [post('r1', 'Re: one', ['root']), '2026-12-01T10:01:00Z'],
      [post('other', 'two'), '2026-11-30T09:00:00Z'],
    ]);
    const index = await archiveIndex(home, LIST);
    const root = index.byId.get(archiveMessageId('<root>'))!;
    expect(threadPosts(index, root.id).map((p) => [p.subject, p.depth])).toEqual([
      ['one', 0],
      ['Re: one', 1],
      ['Re: Re: one', 2],
    ]);
    expect(archiveMonths(index)).toEqual([
      { month: '2026-12', count: 3 },
      { month: '2026-11', count: 1 },
    ]);
    expect(monthThreads(index, '2026-12').map((t) => t.posts.length)).toEqual([3]);
  });

  it('cuts a circle of References instead of looping', async () => {
    await write([
      [post('x', 'x', ['y']), '2026-12-01T10:00:00Z'],
      [post('y', 'y', ['x']), '2026-12-01T10:01:00Z'],
    ]);
    const index = await archiveIndex(home, LIST);
    expect(index.posts.filter((p) => p.parentId === null)).toHaveLength(1);
    expect(new Set(index.posts.map((p) => p.threadId)).size).toBe(1);
  });

  it('gives a message back as it was, a "From " line in its body included', async () => {
    const message = post('q', 'quoting', [], 'From the start\n>From quoted');
    await write([[message, '2026-12-01T10:00:00Z']]);
    const index = await archiveIndex(home, LIST);
    expect((await archivedMessage(home, LIST, index.posts[0]!)).toString()).toBe(message.toString());
  });

  it('refuses a name that is not a list address before any path is made', async () => {
    await expect(archiveIndex(home, '../../switchyard.db')).rejects.toMatchObject({ code: 'SY_LIST_NAME_INVALID' });
  });
});
